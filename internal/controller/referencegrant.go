package controller

import (
	"context"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/httproute"
	"devgate.dev/devgate/policies/service"
)

// ReferenceGrantName is the one ReferenceGrant devgate keeps, in the auth
// Service's namespace.
const ReferenceGrantName = "devgate-auth"

// ReferenceGrantReconciler keeps the ReferenceGrant that lets the
// ExternalAuth filters of private HTTPRoutes name the auth Service, which
// lives in another namespace: Gateway API refuses a cross-namespace
// backendRef without one. It grants exactly the namespaces whose HTTPRoutes
// carry devgate's filter, so no other namespace's routes can use the auth
// Service as a backend, and it is removed when none does.
type ReferenceGrantReconciler struct {
	Client        client.Client
	Config        ConfigSource
	ConfigChanged func() <-chan struct{}
}

// grantRequest is the one work item: every event leads to the same decision.
var grantRequest = reconcile.Request{NamespacedName: types.NamespacedName{Name: ReferenceGrantName}}

// SetupWithManager registers the controller; it needs the HTTPRoute and
// ReferenceGrant CRDs.
func (r *ReferenceGrantReconciler) SetupWithManager(mgr ctrl.Manager) error {
	one := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{grantRequest}
	})
	b := ctrl.NewControllerManagedBy(mgr).
		Named("referencegrant").
		Watches(&gatewayv1.HTTPRoute{}, one).
		Watches(&gatewayv1.ReferenceGrant{}, one)
	if r.ConfigChanged != nil {
		b = b.WatchesRawSource(onConfigChange(r.ConfigChanged, func(context.Context) []reconcile.Request {
			return []reconcile.Request{grantRequest}
		}))
	}
	return b.Complete(r)
}

// Reconcile implements reconcile.Reconciler.
func (r *ReferenceGrantReconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	cfg := r.Config.Current()
	auth := cfg.Endpoints.AuthService
	var want *gatewayv1.ReferenceGrant
	if cfg.HTTPRoutes() && httproute.AuthConfigured(cfg) {
		var routes gatewayv1.HTTPRouteList
		if err := r.Client.List(ctx, &routes); err != nil {
			return ctrl.Result{}, err
		}
		if namespaces := privateRouteNamespaces(routes.Items, cfg); len(namespaces) > 0 {
			want = DesiredReferenceGrant(auth.Namespace, auth.Name, namespaces)
		}
	}
	// devgate's grants elsewhere (the auth Service moved) or no longer
	// needed go.
	var grants gatewayv1.ReferenceGrantList
	if err := r.Client.List(ctx, &grants, client.MatchingLabels{service.LabelManagedBy: service.ManagedByValue}); err != nil {
		return ctrl.Result{}, err
	}
	for i := range grants.Items {
		g := &grants.Items[i]
		if g.Name != ReferenceGrantName || (want != nil && g.Namespace == want.Namespace) {
			continue
		}
		uid := g.UID
		if err := r.Client.Delete(ctx, g, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
		log.FromContext(ctx).Info("ReferenceGrant removed", "namespace", g.Namespace)
	}
	if want == nil {
		return ctrl.Result{}, nil
	}
	u, err := applyObject(want, gatewayv1.SchemeGroupVersion.WithKind("ReferenceGrant"))
	if err != nil {
		return ctrl.Result{}, err
	}
	// Forced: the grant is devgate's alone, so an edit is undone.
	return ctrl.Result{}, r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership)
}

// privateRouteNamespaces are the managed namespaces, sorted, other than the
// auth Service's own, with an HTTPRoute whose rules carry devgate's
// ExternalAuth filter for its namespace.
func privateRouteNamespaces(routes []gatewayv1.HTTPRoute, cfg *config.Config) []string {
	var out []string
	for i := range routes {
		route := &routes[i]
		ns := route.Namespace
		if ns == cfg.Endpoints.AuthService.Namespace || !cfg.Managed(ns) || slices.Contains(out, ns) {
			continue
		}
		if slices.ContainsFunc(route.Spec.Rules, func(rule gatewayv1.HTTPRouteRule) bool {
			return slices.ContainsFunc(rule.Filters, func(f gatewayv1.HTTPRouteFilter) bool { return httproute.IsExternalAuthFilter(f, ns, cfg) })
		}) {
			out = append(out, ns)
		}
	}
	slices.Sort(out)
	return out
}

// DesiredReferenceGrant is the grant in namespace that lets HTTPRoutes of
// the namespaces refer to the Service authService there.
func DesiredReferenceGrant(namespace, authService string, namespaces []string) *gatewayv1.ReferenceGrant {
	name := gatewayv1.ObjectName(authService)
	grant := &gatewayv1.ReferenceGrant{
		TypeMeta: metav1.TypeMeta{APIVersion: gatewayv1.GroupVersion.String(), Kind: "ReferenceGrant"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      ReferenceGrantName,
			Namespace: namespace,
			Labels:    map[string]string{service.LabelManagedBy: service.ManagedByValue},
		},
		Spec: gatewayv1.ReferenceGrantSpec{
			To: []gatewayv1.ReferenceGrantTo{{Group: "", Kind: "Service", Name: &name}},
		},
	}
	for _, ns := range namespaces {
		grant.Spec.From = append(grant.Spec.From, gatewayv1.ReferenceGrantFrom{
			Group: gatewayv1.GroupName, Kind: "HTTPRoute", Namespace: gatewayv1.Namespace(ns),
		})
	}
	return grant
}
