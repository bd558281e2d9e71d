package devenv

import (
	"context"
	"slices"
	"testing"
)

func TestModuleCRDs(t *testing.T) {
	ctx := context.Background()
	gateway, err := GatewayAPICRDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, crd := range gateway {
		names = append(names, crd.Name)
		// The experimental channel: HTTPRoute's ExternalAuth filter is in it.
		if crd.Annotations["gateway.networking.k8s.io/channel"] != "experimental" {
			t.Errorf("%s: channel %q", crd.Name, crd.Annotations["gateway.networking.k8s.io/channel"])
		}
	}
	want := []string{"gatewayclasses.gateway.networking.k8s.io", "gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io", "referencegrants.gateway.networking.k8s.io"}
	if !slices.Equal(names, want) {
		t.Errorf("Gateway API CRDs %v, want %v", names, want)
	}

	certManager, err := CertManagerCRDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names = nil
	for _, crd := range certManager {
		names = append(names, crd.Name)
	}
	for _, name := range []string{"certificates.cert-manager.io", "issuers.cert-manager.io", "clusterissuers.cert-manager.io"} {
		if !slices.Contains(names, name) {
			t.Errorf("cert-manager CRDs %v lack %s", names, name)
		}
	}

	// The experimental channel also ships a ValidatingAdmissionPolicy,
	// which is no CRD: reading it as one is refused.
	if _, err := ModuleCRDs(ctx, GatewayAPIModule, "config/crd/experimental", []string{"gateway.networking.k8s.io_vap_safeupgrades.yaml"}); err == nil {
		t.Error("a ValidatingAdmissionPolicy was read as a CRD")
	}
}
