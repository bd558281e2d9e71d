// Package controller holds devgate's controllers: the endpoint controller owns
// the Ingress, or in HTTPRoute mode the HTTPRoute, that gives an annotated
// Service its endpoint; the object itself is computed by policies/service,
// the same code `devgate check` shows, and this package only reconciles the
// cluster towards it. The ReferenceGrant controller lets private HTTPRoutes
// reach the auth service.
package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/service"
	"devgate.dev/devgate/policies/text"
)

// Event reasons recorded on Services.
const (
	ReasonCreated = "EndpointCreated"
	ReasonUpdated = "EndpointUpdated"
	ReasonAdopted = "EndpointAdopted"
	ReasonRemoved = "EndpointRemoved"
	// ReasonConflict is "IngressConflict" or "HTTPRouteConflict": an object
	// of the Service's name that devgate does not manage.
	ReasonConflict = "IngressConflict"
	ReasonInvalid  = "EndpointInvalid"
	// ReasonFailed is a write of the Ingress that the API server refused
	// (other than a lost race, which is retried silently): the Event names
	// its error, and the write is retried with backoff.
	ReasonFailed = "EndpointFailed"
)

// retryAfter is how soon a write that lost a race (the Ingress was created,
// or changed, meanwhile) is tried again.
const retryAfter = time.Second

// ConfigSource returns the configuration in force.
type ConfigSource interface{ Current() *config.Config }

// EndpointReconciler keeps each Service's generated Ingress equal to the one
// policies/service says it should have.
type EndpointReconciler struct {
	Client   client.Client
	Config   ConfigSource
	Recorder events.EventRecorder
	// ConfigChanged returns a channel closed at the next configuration change;
	// every Service is then reconciled again, so endpoints follow a new domain
	// or TLS mode without a restart.
	ConfigChanged func() <-chan struct{}
	// HTTPRoutes is set when the cluster serves Gateway API's HTTPRoutes:
	// the controller then watches them, writes them in httproute mode, and
	// removes the one it owns when the mode goes back to ingress. Without
	// the CRD there is nothing to watch.
	HTTPRoutes bool
}

// SetupWithManager registers the controller. Ingresses and HTTPRoutes are
// mapped to the Service of the same name, which covers the owned object, one
// to adopt and a foreign one to report as a conflict.
func (r *EndpointReconciler) SetupWithManager(mgr ctrl.Manager) error {
	toService := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}}}
	})
	b := ctrl.NewControllerManagedBy(mgr).
		Named("endpoint").
		For(&corev1.Service{}, builder.WithPredicates()).
		Watches(&networkingv1.Ingress{}, toService)
	if r.HTTPRoutes {
		b = b.Watches(&gatewayv1.HTTPRoute{}, toService)
	}
	if r.ConfigChanged != nil {
		b = b.WatchesRawSource(onConfigChange(r.ConfigChanged, r.everyService))
	}
	return b.Complete(r)
}

// everyService is a request for each Service: endpoints follow a new domain
// or TLS mode without a restart.
func (r *EndpointReconciler) everyService(ctx context.Context) []reconcile.Request {
	var services corev1.ServiceList
	if err := r.Client.List(ctx, &services); err != nil {
		log.FromContext(ctx).Error(err, "cannot list Services to follow the new configuration")
		return nil
	}
	requests := make([]reconcile.Request, 0, len(services.Items))
	for _, svc := range services.Items {
		requests = append(requests, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}})
	}
	return requests
}

// Reconcile implements reconcile.Reconciler.
func (r *EndpointReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	logger := log.FromContext(ctx)
	cfg := r.Config.Current()
	if !cfg.Managed(req.Namespace) {
		return ctrl.Result{}, nil
	}
	var svc corev1.Service
	if err := r.Client.Get(ctx, req.NamespacedName, &svc); err != nil {
		// A deleted Service's object goes with it through its ownerReference
		// (garbage collection); nothing to do here.
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !svc.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	kind, other := ingressKind, httpRouteKind
	if cfg.HTTPRoutes() {
		kind, other = httpRouteKind, ingressKind
	}
	if !other.gatewayAPI || r.HTTPRoutes {
		// The object of the other kind, left from before endpoints.kind
		// changed, goes: one endpoint is served one way.
		if err := r.removeOwned(ctx, &svc, other, "endpoints.kind is now "+cfg.Endpoints.Kind); err != nil {
			return ctrl.Result{}, err
		}
	}
	desired, err := service.DesiredEndpoint(&svc, cfg)
	if err != nil {
		// The webhook denies such Services; one admitted before devgate, or
		// under another configuration, gets an Event rather than a retry loop.
		r.Recorder.Eventf(&svc, nil, corev1.EventTypeWarning, ReasonInvalid, "Reconcile", "no endpoint: %v", err)
		return ctrl.Result{}, nil
	}
	if desired == nil {
		return ctrl.Result{}, r.removeOwned(ctx, &svc, kind, "the Service no longer asks for an endpoint")
	}
	existing := kind.newObject()
	err = r.Client.Get(ctx, req.NamespacedName, existing)
	found := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}

	adopt := false
	if found && !ownedBy(existing, &svc) {
		if !adoptable(existing) {
			r.Recorder.Eventf(&svc, existing, corev1.EventTypeWarning, kind.name+"Conflict", "Reconcile",
				"%[1]s %[2]s already exists and is not managed by devgate: rename the Service or the %[1]s, or delete the %[1]s to get the endpoint", kind.name, existing.GetName())
			return ctrl.Result{}, nil
		}
		adopt = true
	}
	var live client.Object
	if found {
		live = existing
	}
	stored, err := r.apply(ctx, kind, desired, live)
	action := "Update"
	if !found {
		action = "Create"
	}
	switch {
	case apierrors.IsConflict(err):
		// Nothing was written: another manager created an object of that
		// name since the cache was read, or replaced the one there was (its
		// uid changed). The next look decides between adoption and a
		// conflict Event.
		return ctrl.Result{RequeueAfter: retryAfter}, nil
	case err != nil:
		r.failed(&svc, kind, desired, action, err)
		return ctrl.Result{}, err
	}
	switch {
	case !found:
		r.Recorder.Eventf(&svc, stored, corev1.EventTypeNormal, ReasonCreated, "Create", "created %s %s for %s", kind.name, stored.GetName(), kind.urls(stored))
		logger.Info("endpoint created", "kind", kind.name, "name", stored.GetName(), "url", kind.urls(stored))
	case adopt:
		r.Recorder.Eventf(&svc, stored, corev1.EventTypeNormal, ReasonAdopted, "Update", "adopted %s %s for %s", kind.name, stored.GetName(), kind.urls(stored))
		logger.Info("endpoint adopted", "kind", kind.name, "name", stored.GetName())
	case kind.changed(existing, stored):
		r.Recorder.Eventf(&svc, stored, corev1.EventTypeNormal, ReasonUpdated, "Update", "updated %s %s for %s", kind.name, stored.GetName(), kind.urls(stored))
		logger.Info("endpoint updated", "kind", kind.name, "name", stored.GetName())
	}
	return ctrl.Result{}, nil
}

// removeOwned deletes svc's object of kind if devgate owns it; an object of
// the name that devgate does not own is left alone.
func (r *EndpointReconciler) removeOwned(ctx context.Context, svc *corev1.Service, kind endpointKind, why string) error {
	existing := kind.newObject()
	if err := r.Client.Get(ctx, client.ObjectKeyFromObject(svc), existing); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !ownedBy(existing, svc) {
		return nil
	}
	uid := existing.GetUID()
	if err := r.Client.Delete(ctx, existing, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
		r.failed(svc, kind, existing, "Delete", err)
		return err
	}
	r.Recorder.Eventf(svc, existing, corev1.EventTypeNormal, ReasonRemoved, "Delete", "deleted %s %s: %s", kind.name, existing.GetName(), why)
	log.FromContext(ctx).Info("endpoint removed", "kind", kind.name, "name", existing.GetName())
	return nil
}

// FieldManager is the field manager of devgate's writes (SPEC 2).
const FieldManager = "devgate"

// apply writes desired with server-side apply under FieldManager and returns
// the object as stored. devgate then owns exactly the fields it sets: the
// spec, its own labels and annotations and the owner reference. Another
// manager's labels and annotations (a GitOps tool's tracking label,
// external-dns's annotations) are left alone, and a field devgate set once
// and no longer sets (the auth annotations of an endpoint made public) is
// removed.
//
// live is the object as read, nil when there is none. Its uid is a
// precondition of the apply: an object deleted and recreated by someone
// else meanwhile is not taken over (the API server answers Conflict).
// Ownership of fields is forced then, so manual edits of devgate's fields are
// restored. Without live the object is new: the apply is not forced, so that
// one created by another manager since the cache was read is never
// overwritten (the API server answers Conflict for every field that manager
// set).
func (r *EndpointReconciler) apply(ctx context.Context, kind endpointKind, desired, live client.Object) (client.Object, error) {
	u, err := applyObject(desired, kind.gvk)
	if err != nil {
		return nil, err
	}
	opts := []client.ApplyOption{client.FieldOwner(FieldManager)}
	if live != nil {
		u.SetUID(live.GetUID())
		opts = append(opts, client.ForceOwnership)
	}
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), opts...); err != nil {
		return nil, err
	}
	stored := kind.newObject()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, stored); err != nil {
		return nil, err
	}
	return stored, nil
}

// applyObject is obj as an apply configuration of kind gvk: without the
// fields that are not devgate's to own (status is the ingress controller's or
// the Gateway's, the creation timestamp the API server's).
func applyObject(obj client.Object, gvk schema.GroupVersionKind) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	delete(m, "status")
	unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	return u, nil
}

// failed records a Warning Event on svc for a write of obj (action Create,
// Update or Delete) that the API server refused, naming its error: without it
// the tenant sees no endpoint and no reason, while the controller retries.
func (r *EndpointReconciler) failed(svc *corev1.Service, kind endpointKind, obj client.Object, action string, err error) {
	msg := fmt.Sprintf("cannot %s %s %s: %v", strings.ToLower(action), kind.name, obj.GetName(), err)
	r.Recorder.Eventf(svc, obj, corev1.EventTypeWarning, ReasonFailed, action, "%s", truncate(msg, noteLimit))
}

// noteLimit is the longest Event note the API server stores.
const noteLimit = 1024

// truncate shortens s to at most n bytes, on a character boundary, marking
// the cut with "...".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return text.Truncate(s, n-len("...")) + "..."
}

// ownedBy reports whether obj is the object devgate generated for svc.
func ownedBy(obj metav1.Object, svc *corev1.Service) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.UID == svc.UID && ref.Kind == "Service"
}

// adoptable is an object applied from `devgate check -o yaml`: it carries the
// managed-by label and no controller, so it is devgate's to take over.
func adoptable(obj metav1.Object) bool {
	return obj.GetLabels()[service.LabelManagedBy] == service.ManagedByValue && metav1.GetControllerOf(obj) == nil
}
