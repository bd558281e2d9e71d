// Package controller holds devgate's controller: it owns the Ingress that gives
// an annotated Service its endpoint (SPEC 2). The Ingress itself is computed by
// policies/service, the same code `devgate check` shows; this package only
// reconciles the cluster towards it.
package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/service"
	"devgate.dev/devgate/policies/text"
)

// Event reasons recorded on Services.
const (
	ReasonCreated  = "EndpointCreated"
	ReasonUpdated  = "EndpointUpdated"
	ReasonAdopted  = "EndpointAdopted"
	ReasonRemoved  = "EndpointRemoved"
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
}

// SetupWithManager registers the controller. Ingresses are mapped to the
// Service of the same name, which covers the owned Ingress, an Ingress to
// adopt and a foreign one to report as a conflict.
func (r *EndpointReconciler) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr).
		Named("endpoint").
		For(&corev1.Service{}, builder.WithPredicates()).
		Watches(&networkingv1.Ingress{}, handler.EnqueueRequestsFromMapFunc(
			func(_ context.Context, o client.Object) []reconcile.Request {
				return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}}}
			}))
	if r.ConfigChanged != nil {
		b = b.WatchesRawSource(source.Func(r.requeueAllOnConfigChange))
	}
	return b.Complete(r)
}

// requeueAllOnConfigChange runs in the controller (so only on the leader) and
// queues every Service after each configuration change.
func (r *EndpointReconciler) requeueAllOnConfigChange(ctx context.Context, queue workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.ConfigChanged():
			}
			var services corev1.ServiceList
			if err := r.Client.List(ctx, &services); err != nil {
				log.FromContext(ctx).Error(err, "cannot list Services to follow the new configuration")
				continue
			}
			for _, svc := range services.Items {
				queue.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}})
			}
		}
	}()
	return nil
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
		// A deleted Service's Ingress goes with it through its ownerReference
		// (garbage collection); nothing to do here.
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !svc.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	desired, err := service.DesiredIngress(&svc, cfg)
	if err != nil {
		// The webhook denies such Services; one admitted before devgate, or
		// under another configuration, gets an Event rather than a retry loop.
		r.Recorder.Eventf(&svc, nil, corev1.EventTypeWarning, ReasonInvalid, "Reconcile", "no endpoint: %v", err)
		return ctrl.Result{}, nil
	}
	var existing networkingv1.Ingress
	err = r.Client.Get(ctx, req.NamespacedName, &existing)
	found := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}

	switch {
	case desired == nil && !found:
		return ctrl.Result{}, nil
	case desired == nil:
		if !ownedBy(&existing, &svc) {
			return ctrl.Result{}, nil
		}
		if err := r.Client.Delete(ctx, &existing, client.Preconditions{UID: &existing.UID}); client.IgnoreNotFound(err) != nil {
			r.failed(&svc, &existing, "Delete", err)
			return ctrl.Result{}, err
		}
		r.Recorder.Eventf(&svc, &existing, corev1.EventTypeNormal, ReasonRemoved, "Delete", "deleted Ingress %s: the Service no longer asks for an endpoint", existing.Name)
		logger.Info("endpoint removed", "ingress", existing.Name)
		return ctrl.Result{}, nil
	}

	adopt := false
	if found && !ownedBy(&existing, &svc) {
		if !adoptable(&existing) {
			r.Recorder.Eventf(&svc, &existing, corev1.EventTypeWarning, ReasonConflict, "Reconcile",
				"Ingress %s already exists and is not managed by devgate: rename the Service or the Ingress, or delete the Ingress to get the endpoint", existing.Name)
			return ctrl.Result{}, nil
		}
		adopt = true
	}
	var live *networkingv1.Ingress
	if found {
		live = &existing
	}
	stored, err := r.apply(ctx, desired, live)
	action := "Update"
	if !found {
		action = "Create"
	}
	switch {
	case apierrors.IsConflict(err):
		// Nothing was written: another manager created an Ingress of that
		// name since the cache was read, or replaced the one there was (its
		// uid changed). The next look decides between adoption and a
		// conflict Event.
		return ctrl.Result{RequeueAfter: retryAfter}, nil
	case err != nil:
		r.failed(&svc, desired, action, err)
		return ctrl.Result{}, err
	}
	switch {
	case !found:
		r.Recorder.Eventf(&svc, stored, corev1.EventTypeNormal, ReasonCreated, "Create", "created Ingress %s for %s", stored.Name, urls(stored))
		logger.Info("endpoint created", "ingress", stored.Name, "url", urls(stored))
	case adopt:
		r.Recorder.Eventf(&svc, stored, corev1.EventTypeNormal, ReasonAdopted, "Update", "adopted Ingress %s for %s", stored.Name, urls(stored))
		logger.Info("endpoint adopted", "ingress", stored.Name)
	case changed(&existing, stored):
		r.Recorder.Eventf(&svc, stored, corev1.EventTypeNormal, ReasonUpdated, "Update", "updated Ingress %s for %s", stored.Name, urls(stored))
		logger.Info("endpoint updated", "ingress", stored.Name)
	}
	return ctrl.Result{}, nil
}

// FieldManager is the field manager of devgate's writes (SPEC 2).
const FieldManager = "devgate"

// apply writes desired with server-side apply under FieldManager and returns
// the Ingress as stored. devgate then owns exactly the fields it sets: the
// spec, its own labels and annotations and the owner reference. Another
// manager's labels and annotations (a GitOps tool's tracking label,
// external-dns's annotations) are left alone, and a field devgate set once
// and no longer sets (the auth annotations of an endpoint made public) is
// removed.
//
// live is the Ingress as read, nil when there is none. Its uid is a
// precondition of the apply: an Ingress deleted and recreated by someone
// else meanwhile is not taken over (the API server answers Conflict).
// Ownership of fields is forced then, so manual edits of devgate's fields are
// restored. Without live the Ingress is new: the apply is not forced, so that
// one created by another manager since the cache was read is never
// overwritten (the API server answers Conflict for every field that manager
// set).
func (r *EndpointReconciler) apply(ctx context.Context, desired, live *networkingv1.Ingress) (*networkingv1.Ingress, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(desired)
	if err != nil {
		return nil, err
	}
	// Fields that are not devgate's to own: status is the ingress
	// controller's, the creation timestamp the API server's.
	delete(m, "status")
	unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(networkingv1.SchemeGroupVersion.WithKind("Ingress"))
	opts := []client.ApplyOption{client.FieldOwner(FieldManager)}
	if live != nil {
		u.SetUID(live.UID)
		opts = append(opts, client.ForceOwnership)
	}
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), opts...); err != nil {
		return nil, err
	}
	var stored networkingv1.Ingress
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &stored); err != nil {
		return nil, err
	}
	return &stored, nil
}

// failed records a Warning Event on svc for a write of ing (action Create,
// Update or Delete) that the API server refused, naming its error: without it
// the tenant sees no endpoint and no reason, while the controller retries.
func (r *EndpointReconciler) failed(svc *corev1.Service, ing *networkingv1.Ingress, action string, err error) {
	msg := fmt.Sprintf("cannot %s Ingress %s: %v", strings.ToLower(action), ing.Name, err)
	r.Recorder.Eventf(svc, ing, corev1.EventTypeWarning, ReasonFailed, action, "%s", truncate(msg, noteLimit))
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

// ownedBy reports whether ing is the Ingress devgate generated for svc.
func ownedBy(ing *networkingv1.Ingress, svc *corev1.Service) bool {
	ref := metav1.GetControllerOf(ing)
	return ref != nil && ref.UID == svc.UID && ref.Kind == "Service"
}

// adoptable is an Ingress applied from `devgate check -o yaml`: it carries the
// managed-by label and no controller, so it is devgate's to take over.
func adoptable(ing *networkingv1.Ingress) bool {
	return ing.Labels[service.LabelManagedBy] == service.ManagedByValue && metav1.GetControllerOf(ing) == nil
}

// changed reports whether an apply changed what devgate writes on the
// Ingress: labels, annotations, owner references and spec. An apply changes
// nothing else, and a no-op apply may still move the resourceVersion.
func changed(before, after *networkingv1.Ingress) bool {
	return !equality.Semantic.DeepEqual(before.Labels, after.Labels) ||
		!equality.Semantic.DeepEqual(before.Annotations, after.Annotations) ||
		!equality.Semantic.DeepEqual(before.OwnerReferences, after.OwnerReferences) ||
		!equality.Semantic.DeepEqual(before.Spec, after.Spec)
}

func urls(ing *networkingv1.Ingress) string {
	var out []string
	for _, rule := range ing.Spec.Rules {
		out = append(out, "https://"+rule.Host)
	}
	if len(out) == 0 {
		return fmt.Sprintf("Ingress %s", ing.Name)
	}
	return strings.Join(out, ", ")
}
