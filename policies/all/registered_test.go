package all

import (
	"slices"
	"testing"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/httproute"
)

func names(ps []policies.Policy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name())
	}
	return out
}

func handlesHTTPRoutes(ps []policies.Policy) bool {
	for _, p := range ps {
		for _, r := range p.Handles() {
			if r.GroupVersionKind == httproute.GVK {
				return true
			}
		}
	}
	return false
}

// TestRegisteredFollowsEndpointsKind: the webhooks register HTTPRoutes only
// in HTTPRoute mode, while the engine checks them in every mode.
func TestRegisteredFollowsEndpointsKind(t *testing.T) {
	ingressMode := config.Default()
	routeMode := config.Default()
	routeMode.Endpoints.Kind = config.EndpointsKindHTTPRoute

	if handlesHTTPRoutes(Policies()) {
		t.Errorf("Policies() registers HTTPRoutes: %v", names(Policies()))
	}
	for name, cfg := range map[string]*config.Config{"nil": nil, "ingress": ingressMode} {
		if got := names(Registered(cfg)); !slices.Equal(got, names(Policies())) {
			t.Errorf("Registered(%s) = %v, want Policies() %v", name, got, names(Policies()))
		}
	}
	got := Registered(routeMode)
	if !handlesHTTPRoutes(got) || len(got) != len(Policies())+1 {
		t.Errorf("Registered(httproute) = %v, want Policies() and the HTTPRoute policy", names(got))
	}
	if !handlesHTTPRoutes(Every()) || !Engine().Handles(httproute.GVK) {
		t.Error("the engine does not check HTTPRoutes")
	}
	if !slices.Equal(names(Every()), names(got)) {
		t.Errorf("Every() = %v, want %v", names(Every()), names(got))
	}
}
