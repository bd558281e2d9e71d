package controller

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/ingress"
	"devgate.dev/devgate/policies/service"
)

// The Reconcile table, in the manner of cert-manager's certificate-shim
// sync tests: each case starts from a cluster state, runs steps that other
// actors take (a GitOps tool, kubectl edit), reconciles once more and
// asserts the exact Events and the Ingress left behind. The fake client
// implements server-side apply with managed fields, so field ownership is
// what a real API server would decide.

const (
	host      = "web-team-a.okteto.example.com"
	argoLabel = "argocd.argoproj.io/instance"
	dnsTarget = "external-dns.alpha.kubernetes.io/target"
)

type world struct {
	t   *testing.T
	cl  client.Client
	rec *events.FakeRecorder
	r   *EndpointReconciler
}

func newWorld(t *testing.T, objs ...client.Object) *world {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cl := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithReturnManagedFields().Build()
	rec := events.NewFakeRecorder(20)
	return &world{t: t, cl: cl, rec: rec, r: &EndpointReconciler{Client: cl, Config: staticConfig{config.Default()}, Recorder: rec}}
}

// reconcile runs Reconcile for team-a/web and returns the Events it recorded.
func (w *world) reconcile() []string {
	w.t.Helper()
	if _, err := w.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "web"}}); err != nil {
		w.t.Fatalf("Reconcile: %v", err)
	}
	var evs []string
	for {
		select {
		case e := <-w.rec.Events:
			evs = append(evs, e)
		default:
			return evs
		}
	}
}

func (w *world) ingress() *networkingv1.Ingress {
	w.t.Helper()
	var ing networkingv1.Ingress
	err := w.cl.Get(context.Background(), types.NamespacedName{Namespace: "team-a", Name: "web"}, &ing)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return &ing
}

// applyAs applies a partial Ingress as another field manager, as a GitOps
// tool or external-dns would.
func (w *world) applyAs(manager string, labels, annotations map[string]string) {
	w.t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("networking.k8s.io/v1")
	u.SetKind("Ingress")
	u.SetNamespace("team-a")
	u.SetName("web")
	u.SetLabels(labels)
	u.SetAnnotations(annotations)
	if err := w.cl.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(manager)); err != nil {
		w.t.Fatalf("apply as %s: %v", manager, err)
	}
}

// edit changes the Ingress with an update, as `kubectl edit` does.
func (w *world) edit(change func(*networkingv1.Ingress)) {
	w.t.Helper()
	ing := w.ingress()
	change(ing)
	if err := w.cl.Update(context.Background(), ing, client.FieldOwner("kubectl-edit")); err != nil {
		w.t.Fatalf("edit: %v", err)
	}
}

func (w *world) setService(mode string) {
	w.t.Helper()
	var svc corev1.Service
	if err := w.cl.Get(context.Background(), types.NamespacedName{Namespace: "team-a", Name: "web"}, &svc); err != nil {
		w.t.Fatal(err)
	}
	if mode == "" {
		delete(svc.Annotations, service.AnnotationAutoIngress)
	} else {
		svc.Annotations[service.AnnotationAutoIngress] = mode
	}
	if err := w.cl.Update(context.Background(), &svc); err != nil {
		w.t.Fatal(err)
	}
}

func foreignIngress(labels map[string]string) *networkingv1.Ingress {
	return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a", UID: "foreign-uid", Labels: labels},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "web-team-a.okteto.example.com"}}}}
}

const (
	created = "Normal EndpointCreated created Ingress web for https://" + host
	updated = "Normal EndpointUpdated updated Ingress web for https://" + host
)

func TestReconcile(t *testing.T) {
	for _, c := range []struct {
		name string
		objs []client.Object
		// before runs before the last reconcile; the events of any earlier
		// reconcile it runs are not asserted.
		before func(w *world)
		events []string
		check  func(t *testing.T, ing *networkingv1.Ingress)
	}{
		{
			name:   "create",
			objs:   []client.Object{webService("true")},
			events: []string{created},
			check: func(t *testing.T, ing *networkingv1.Ingress) {
				wantOwned(t, ing)
				if ing.Spec.Rules[0].Host != host || ing.Annotations[ingress.AnnotationEndpoints] != "https://"+host {
					t.Errorf("ingress %+v", ing)
				}
			},
		},
		{
			name:   "nothing to do the second time",
			objs:   []client.Object{webService("true")},
			before: func(w *world) { w.reconcile() },
			check:  wantOwned,
		},
		{
			name:   "update: the Service becomes private",
			objs:   []client.Object{webService("true")},
			before: func(w *world) { w.reconcile(); w.setService("private") },
			events: []string{updated},
			check: func(t *testing.T, ing *networkingv1.Ingress) {
				if ing.Annotations[ingress.AnnotationAuthURL] == "" || ing.Annotations[ingress.AnnotationPrivate] != "true" {
					t.Errorf("auth annotations missing: %v", ing.Annotations)
				}
			},
		},
		{
			name:   "update: public again drops the auth annotations devgate set",
			objs:   []client.Object{webService("private")},
			before: func(w *world) { w.reconcile(); w.setService("true") },
			events: []string{updated},
			check: func(t *testing.T, ing *networkingv1.Ingress) {
				for k := range ing.Annotations {
					if strings.HasPrefix(k, ingress.NginxPrefix+"auth-") || k == ingress.AnnotationPrivate {
						t.Errorf("%s left behind on a public endpoint", k)
					}
				}
			},
		},
		{
			name: "another manager's label and annotation are kept",
			objs: []client.Object{webService("private")},
			before: func(w *world) {
				w.reconcile()
				w.applyAs("argocd-controller", map[string]string{argoLabel: "shop"}, map[string]string{dnsTarget: "lb.example.com"})
				w.setService("true")
			},
			events: []string{updated},
			check: func(t *testing.T, ing *networkingv1.Ingress) {
				if ing.Labels[argoLabel] != "shop" || ing.Annotations[dnsTarget] != "lb.example.com" {
					t.Errorf("another manager's metadata was removed: labels %v, annotations %v", ing.Labels, ing.Annotations)
				}
				wantOwned(t, ing)
			},
		},
		{
			name: "a manual edit of devgate's fields is restored",
			objs: []client.Object{webService("private")},
			before: func(w *world) {
				w.reconcile()
				w.edit(func(ing *networkingv1.Ingress) {
					ing.Spec.Rules[0].Host = "evil-team-a.okteto.example.com"
					delete(ing.Annotations, ingress.AnnotationAuthURL)
					ing.Labels["team"] = "a"
				})
			},
			events: []string{updated},
			check: func(t *testing.T, ing *networkingv1.Ingress) {
				if ing.Spec.Rules[0].Host != host || ing.Annotations[ingress.AnnotationAuthURL] == "" {
					t.Errorf("the edit was not undone: host %s, annotations %v", ing.Spec.Rules[0].Host, ing.Annotations)
				}
				if ing.Labels["team"] != "a" {
					t.Errorf("a label devgate does not set was removed: %v", ing.Labels)
				}
			},
		},
		{
			name:   "adopt an Ingress applied from devgate check -o yaml",
			objs:   []client.Object{webService("true"), foreignIngress(map[string]string{service.LabelManagedBy: service.ManagedByValue, argoLabel: "shop"})},
			events: []string{"Normal EndpointAdopted adopted Ingress web for https://" + host},
			check: func(t *testing.T, ing *networkingv1.Ingress) {
				wantOwned(t, ing)
				if ing.Labels[argoLabel] != "shop" {
					t.Errorf("labels %v", ing.Labels)
				}
			},
		},
		{
			name:   "a foreign Ingress is never touched",
			objs:   []client.Object{webService("true"), foreignIngress(map[string]string{"app": "mine"})},
			events: []string{"Warning IngressConflict Ingress web already exists and is not managed by devgate: rename the Service or the Ingress, or delete the Ingress to get the endpoint"},
			check: func(t *testing.T, ing *networkingv1.Ingress) {
				if metav1.GetControllerOf(ing) != nil || len(ing.Annotations) != 0 || !maps.Equal(ing.Labels, map[string]string{"app": "mine"}) {
					t.Errorf("the foreign Ingress was changed: %+v", ing.ObjectMeta)
				}
			},
		},
		{
			name:   "an impossible endpoint: Warning Event, no Ingress",
			objs:   []client.Object{udpOnly(webService("true"))},
			events: []string{`Warning EndpointInvalid no endpoint: spec.ports: Invalid value: "80/UDP (name 80-8080)": no port is HTTP: dev.okteto.com/auto-ingress: "true" needs an HTTP port: protocol TCP or unset, appProtocol unset or one of http, https, kubernetes.io/h2c, kubernetes.io/ws, kubernetes.io/wss, and a name that does not start with grpc, tcp, udp; or set dev.okteto.com/auto-ingress: "false"`},
			check: func(t *testing.T, ing *networkingv1.Ingress) {
				if ing != nil {
					t.Errorf("an Ingress was made: %+v", ing.ObjectMeta)
				}
			},
		},
		{
			name:   "annotation removed: the Ingress goes",
			objs:   []client.Object{webService("true")},
			before: func(w *world) { w.reconcile(); w.setService("") },
			events: []string{"Normal EndpointRemoved deleted Ingress web: the Service no longer asks for an endpoint"},
			check: func(t *testing.T, ing *networkingv1.Ingress) {
				if ing != nil {
					t.Errorf("the Ingress is still there: %+v", ing.ObjectMeta)
				}
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, c.objs...)
			if c.before != nil {
				c.before(w)
			}
			if got := w.reconcile(); !slices.Equal(got, c.events) && !(len(got) == 0 && len(c.events) == 0) {
				t.Errorf("events:\n got %q\nwant %q", got, c.events)
			}
			if c.check != nil {
				c.check(t, w.ingress())
			}
		})
	}
}

// wantOwned: the Ingress is devgate's, written by its field manager with
// server-side apply.
func wantOwned(t *testing.T, ing *networkingv1.Ingress) {
	t.Helper()
	if ing == nil {
		t.Fatal("no Ingress")
	}
	if ref := metav1.GetControllerOf(ing); ref == nil || ref.UID != "svc-uid" {
		t.Errorf("owner %v", ing.OwnerReferences)
	}
	if ing.Labels[service.LabelManagedBy] != service.ManagedByValue {
		t.Errorf("labels %v", ing.Labels)
	}
	applied := false
	for _, f := range ing.ManagedFields {
		if f.Manager == FieldManager && f.Operation == metav1.ManagedFieldsOperationApply {
			applied = true
		}
	}
	if !applied {
		t.Errorf("no server-side apply by %q in managedFields %+v", FieldManager, ing.ManagedFields)
	}
}

func udpOnly(svc *corev1.Service) *corev1.Service {
	svc.Spec.Ports[0].Protocol = corev1.ProtocolUDP
	return svc
}
