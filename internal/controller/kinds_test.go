package controller

import (
	"context"
	"slices"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/httproute"
)

func routesConfig(t *testing.T) *config.Config {
	cfg := config.Default()
	cfg.Endpoints.Kind = config.EndpointsKindHTTPRoute
	cfg.Endpoints.Gateway = config.GatewayRef{Namespace: "gateways", Name: "public"}
	cfg.Endpoints.AuthService.Namespace, cfg.Endpoints.AuthService.Name = "devgate", "devgate-auth"
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs.ToAggregate())
	}
	return cfg
}

// TestEndpointsKindChange: when endpoints.kind changes, the Service's object
// of the old kind that devgate owns goes, and one of the new kind comes; an
// object of the old kind that is not devgate's stays.
func TestEndpointsKindChange(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := gatewayv1.Install(scheme); err != nil {
		t.Fatal(err)
	}
	cl := fake.NewClientBuilder().WithScheme(scheme).WithObjects(webService("true")).Build()
	rec := events.NewFakeRecorder(20)
	cfg := &staticConfig{config.Default()}
	r := &EndpointReconciler{Client: cl, Config: cfg, Recorder: rec, HTTPRoutes: true}
	key := types.NamespacedName{Namespace: "team-a", Name: "web"}
	reconcileOnce := func() {
		t.Helper()
		if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: key}); err != nil {
			t.Fatal(err)
		}
	}
	reconcileOnce()
	if err := cl.Get(context.Background(), key, &networkingv1.Ingress{}); err != nil {
		t.Fatalf("ingress mode: %v", err)
	}

	cfg.cfg = routesConfig(t)
	reconcileOnce()
	if err := cl.Get(context.Background(), key, &networkingv1.Ingress{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Ingress is still there in httproute mode: %v", err)
	}
	var route gatewayv1.HTTPRoute
	if err := cl.Get(context.Background(), key, &route); err != nil {
		t.Fatalf("httproute mode: %v", err)
	}
	if ref := metav1.GetControllerOf(&route); ref == nil || ref.UID != "svc-uid" || string(route.Spec.Hostnames[0]) != host {
		t.Errorf("route %+v", route.ObjectMeta)
	}

	// Back to ingress mode, with a foreign HTTPRoute of the name meanwhile:
	// it is not devgate's to delete.
	if err := cl.Delete(context.Background(), &route); err != nil {
		t.Fatal(err)
	}
	foreign := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a"}}
	if err := cl.Create(context.Background(), foreign); err != nil {
		t.Fatal(err)
	}
	cfg.cfg = config.Default()
	reconcileOnce()
	if err := cl.Get(context.Background(), key, &gatewayv1.HTTPRoute{}); err != nil {
		t.Errorf("a foreign HTTPRoute was deleted: %v", err)
	}
	if err := cl.Get(context.Background(), key, &networkingv1.Ingress{}); err != nil {
		t.Errorf("no Ingress back in ingress mode: %v", err)
	}
}

// TestPrivateRouteNamespaces: the grant lists exactly the managed namespaces
// whose routes carry devgate's filter for their own namespace.
func TestPrivateRouteNamespaces(t *testing.T) {
	cfg := routesConfig(t)
	withFilter := func(ns, filterNS string) gatewayv1.HTTPRoute {
		return gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "r"}, Spec: gatewayv1.HTTPRouteSpec{
			Rules: []gatewayv1.HTTPRouteRule{{}, {Filters: []gatewayv1.HTTPRouteFilter{httproute.ExternalAuthFilter(filterNS, cfg)}}}}}
	}
	routes := []gatewayv1.HTTPRoute{
		withFilter("zeta", "zeta"),
		withFilter("alpha", "alpha"),
		withFilter("alpha", "alpha"),             // once
		withFilter("mallory", "alpha"),           // another namespace's decision: not devgate's filter
		withFilter("kube-system", "kube-system"), // unmanaged
		withFilter("devgate", "devgate"),         // the auth Service's own namespace needs no grant
		{ObjectMeta: metav1.ObjectMeta{Namespace: "public", Name: "r"}},
	}
	if got := privateRouteNamespaces(routes, cfg); !slices.Equal(got, []string{"alpha", "zeta"}) {
		t.Errorf("namespaces %v, want [alpha zeta]", got)
	}
	grant := DesiredReferenceGrant("devgate", "devgate-auth", []string{"alpha", "zeta"})
	if grant.Namespace != "devgate" || grant.Name != ReferenceGrantName || len(grant.Spec.From) != 2 ||
		grant.Spec.From[1].Namespace != "zeta" || grant.Spec.From[0].Kind != "HTTPRoute" || grant.Spec.From[0].Group != gatewayv1.GroupName ||
		len(grant.Spec.To) != 1 || grant.Spec.To[0].Kind != "Service" || *grant.Spec.To[0].Name != "devgate-auth" {
		t.Errorf("grant %+v", grant)
	}
}
