package controller

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/policies/service"
)

type staticConfig struct{ cfg *config.Config }

func (s staticConfig) Current() *config.Config { return s.cfg }

var ingressGR = schema.GroupResource{Group: "networking.k8s.io", Resource: "ingresses"}

// webService is Service team-a/web as `kubectl create service clusterip web
// --tcp=80:8080` makes it, with auto-ingress value mode ("" for none).
func webService(mode string) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a", UID: "svc-uid"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{
			Name: "80-8080", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080),
		}}},
	}
	if mode != "" {
		svc.Annotations = map[string]string{service.AnnotationAutoIngress: mode}
	}
	return svc
}

// ownedIngress is an Ingress devgate generated for web, out of date.
func ownedIngress() *networkingv1.Ingress {
	yes := true
	return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{
		Name: "web", Namespace: "team-a", UID: "ing-uid",
		Labels:          map[string]string{service.LabelManagedBy: service.ManagedByValue},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: "web", UID: "svc-uid", Controller: &yes, BlockOwnerDeletion: &yes}},
	}}
}

type reconcileCase struct {
	name    string
	objs    []client.Object
	funcs   interceptor.Funcs
	wantErr string // a fragment of Reconcile's error; "" for none
	want    ctrl.Result
	events  []string // exact, as the fake recorder formats them
}

func runReconcile(t *testing.T, c reconcileCase) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cl := interceptor.NewClient(fake.NewClientBuilder().WithScheme(scheme).WithObjects(c.objs...).Build(), c.funcs)
	rec := events.NewFakeRecorder(10)
	r := &EndpointReconciler{Client: cl, Config: staticConfig{config.Default()}, Recorder: rec}
	got, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "web"}})
	switch {
	case c.wantErr == "" && err != nil:
		t.Fatalf("Reconcile error: %v", err)
	case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
		t.Fatalf("Reconcile error %v, want one containing %q (returned for retry)", err, c.wantErr)
	}
	if got != c.want {
		t.Errorf("Result = %+v, want %+v", got, c.want)
	}
	close(rec.Events)
	var evs []string
	for e := range rec.Events {
		evs = append(evs, e)
	}
	if strings.Join(evs, "\n") != strings.Join(c.events, "\n") {
		t.Errorf("events:\n got %q\nwant %q", evs, c.events)
	}
	return cl
}

// TestWriteFailuresRecordAWarning: every Ingress write the API server refuses
// gives the Service a Warning Event naming the error, and the error is
// returned so that the write is retried; a lost race is retried after a
// second, silently.
func TestWriteFailuresRecordAWarning(t *testing.T) {
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}, "web", field.ErrorList{
		field.Invalid(field.NewPath("spec", "rules").Index(0).Child("http", "paths").Index(0).Child("backend", "service", "port", "name"), "80-8080", "must contain at least one letter"),
	})
	denied := errors.New(`admission webhook "validate.devgate.dev" denied the request: metadata.name: Invalid value: "web": the host is not allowed`)
	// Every write but a delete is one server-side apply.
	failApply := func(err error) interceptor.Funcs {
		return interceptor.Funcs{Apply: func(context.Context, client.WithWatch, runtime.ApplyConfiguration, ...client.ApplyOption) error {
			return err
		}}
	}
	failCreate, failUpdate := failApply, failApply
	for _, c := range []reconcileCase{
		{
			name:    "create rejected as invalid",
			objs:    []client.Object{webService("private")},
			funcs:   failCreate(invalid),
			wantErr: "must contain at least one letter",
			events:  []string{"Warning EndpointFailed cannot create Ingress web: " + invalid.Error()},
		},
		{
			name:    "create denied by a webhook",
			objs:    []client.Object{webService("true")},
			funcs:   failCreate(denied),
			wantErr: "denied the request",
			events:  []string{"Warning EndpointFailed cannot create Ingress web: " + denied.Error()},
		},
		{
			name:  "create lost the race: retried, no event",
			objs:  []client.Object{webService("true")},
			funcs: failCreate(apierrors.NewConflict(ingressGR, "web", errors.New("Apply failed with 1 conflict: conflict with \"kubectl\": .spec.rules"))),
			want:  ctrl.Result{RequeueAfter: time.Second},
		},
		{
			name:    "update forbidden",
			objs:    []client.Object{webService("true"), ownedIngress()},
			funcs:   failUpdate(apierrors.NewForbidden(ingressGR, "web", errors.New("quota exceeded"))),
			wantErr: "quota exceeded",
			events:  []string{`Warning EndpointFailed cannot update Ingress web: ingresses.networking.k8s.io "web" is forbidden: quota exceeded`},
		},
		{
			name:  "update conflict: retried, no event",
			objs:  []client.Object{webService("true"), ownedIngress()},
			funcs: failUpdate(apierrors.NewConflict(ingressGR, "web", errors.New("changed"))),
			want:  ctrl.Result{RequeueAfter: time.Second},
		},
		{
			name: "delete refused",
			objs: []client.Object{webService(""), ownedIngress()},
			funcs: interceptor.Funcs{Delete: func(context.Context, client.WithWatch, client.Object, ...client.DeleteOption) error {
				return apierrors.NewServiceUnavailable("etcd is down")
			}},
			wantErr: "etcd is down",
			events:  []string{"Warning EndpointFailed cannot delete Ingress web: etcd is down"},
		},
		{
			name: "delete of an Ingress already gone: no event",
			objs: []client.Object{webService(""), ownedIngress()},
			funcs: interceptor.Funcs{Delete: func(context.Context, client.WithWatch, client.Object, ...client.DeleteOption) error {
				return apierrors.NewNotFound(ingressGR, "web")
			}},
			events: []string{"Normal EndpointRemoved deleted Ingress web: the Service no longer asks for an endpoint"},
		},
	} {
		t.Run(c.name, func(t *testing.T) { runReconcile(t, c) })
	}
}

// TestIngressBackendByNumber: the Ingress of a Service whose port is named
// "80-8080" (kubectl create service) names its backend port by number.
func TestIngressBackendByNumber(t *testing.T) {
	cl := runReconcile(t, reconcileCase{
		name:   "created",
		objs:   []client.Object{webService("private")},
		events: []string{"Normal EndpointCreated created Ingress web for https://web-team-a.okteto.example.com"},
	})
	var ing networkingv1.Ingress
	if err := cl.Get(context.Background(), types.NamespacedName{Namespace: "team-a", Name: "web"}, &ing); err != nil {
		t.Fatal(err)
	}
	port := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port
	if port != (networkingv1.ServiceBackendPort{Number: 80}) {
		t.Fatalf("backend port %+v, want number 80", port)
	}
}

func TestTruncate(t *testing.T) {
	long := strings.Repeat("é", 600) // 1200 bytes
	got := truncate(long, noteLimit)
	if len(got) > noteLimit || !strings.HasSuffix(got, "...") || !strings.HasPrefix(long, strings.TrimSuffix(got, "...")) {
		t.Fatalf("truncate: %d bytes %q", len(got), got[len(got)-8:])
	}
	if truncate("short", noteLimit) != "short" {
		t.Fatal("a short note was changed")
	}
}
