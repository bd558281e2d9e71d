package auth

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"devgate.dev/devgate/internal/gatewayapi"
	"devgate.dev/devgate/policies/httproute"
	ingresspolicy "devgate.dev/devgate/policies/ingress"
	servicepolicy "devgate.dev/devgate/policies/service"
)

// AnnotationHideFromUI on a Service or Ingress keeps its endpoints off the
// dashboard.
const AnnotationHideFromUI = "dev.okteto.com/hide-from-ui"

// Endpoint is one link of the dashboard.
type Endpoint struct {
	URL     string `json:"url"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Private bool   `json:"private"`
}

// EndpointSource is where the dashboard finds a namespace's endpoints: one
// per kind of object that carries them (Services and Ingresses today; a
// source over HTTPRoutes fits the same interface).
type EndpointSource interface {
	// NamespaceEndpoints are the endpoints of namespace's objects, sorted by
	// name then URL. The slice is shared: callers must not modify it.
	NamespaceEndpoints(namespace string) []Endpoint
}

// endpointIndex is an EndpointSource kept up to date by an informer's
// events: the endpoints of each object are parsed once, when it changes,
// and a namespace's sorted list is rebuilt on the first read after a change.
// A page thus costs a map lookup per namespace, whatever the cluster's size.
type endpointIndex struct {
	// parse returns an object's endpoints; nil when it shows none.
	parse func(*metav1.PartialObjectMetadata) []Endpoint

	mu     sync.RWMutex
	byName map[string]map[string][]Endpoint // namespace -> name -> endpoints
	sorted map[string][]Endpoint            // namespace -> all, sorted; absent: stale
}

func newEndpointIndex(parse func(*metav1.PartialObjectMetadata) []Endpoint) *endpointIndex {
	return &endpointIndex{parse: parse, byName: map[string]map[string][]Endpoint{}, sorted: map[string][]Endpoint{}}
}

// set records obj's endpoints, replacing what it had.
func (x *endpointIndex) set(obj *metav1.PartialObjectMetadata) {
	eps := x.parse(obj)
	x.mu.Lock()
	defer x.mu.Unlock()
	ns := x.byName[obj.Namespace]
	if len(eps) == 0 {
		if _, had := ns[obj.Name]; !had {
			return
		}
		delete(ns, obj.Name)
		if len(ns) == 0 {
			delete(x.byName, obj.Namespace)
		}
	} else {
		if ns == nil {
			ns = map[string][]Endpoint{}
			x.byName[obj.Namespace] = ns
		}
		ns[obj.Name] = eps
	}
	delete(x.sorted, obj.Namespace)
}

// remove forgets the object namespace/name.
func (x *endpointIndex) remove(namespace, name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if ns := x.byName[namespace]; ns != nil {
		delete(ns, name)
		if len(ns) == 0 {
			delete(x.byName, namespace)
		}
	}
	delete(x.sorted, namespace)
}

// NamespaceEndpoints implements EndpointSource.
func (x *endpointIndex) NamespaceEndpoints(namespace string) []Endpoint {
	x.mu.RLock()
	eps, ok := x.sorted[namespace]
	x.mu.RUnlock()
	if ok {
		return eps
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if eps, ok := x.sorted[namespace]; ok {
		return eps
	}
	var all []Endpoint
	for _, e := range x.byName[namespace] {
		all = append(all, e...)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Name != all[j].Name {
			return all[i].Name < all[j].Name
		}
		return all[i].URL < all[j].URL
	})
	x.sorted[namespace] = all
	return all
}

// eventHandler feeds the index from an informer.
func (x *endpointIndex) eventHandler() toolscache.ResourceEventHandler {
	upsert := func(obj any) {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			x.set(m)
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    upsert,
		UpdateFunc: func(_, obj any) { upsert(obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
				x.remove(m.Namespace, m.Name)
			}
		},
	}
}

// linkURL keeps an annotation's URL when it is an absolute http(s) URL: the
// value is the tenant's to write, and only a web address may become a link.
func linkURL(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", false
	}
	return u.String(), true
}

func hidden(obj metav1.Object) bool { return obj.GetAnnotations()[AnnotationHideFromUI] == "true" }

// serviceEndpoints: a Service's devgate.dev/endpoint, private when its
// auto-ingress is "private".
func serviceEndpoints(obj *metav1.PartialObjectMetadata) []Endpoint {
	a := obj.Annotations
	u, ok := linkURL(a[servicepolicy.AnnotationEndpoint])
	if !ok || hidden(obj) {
		return nil
	}
	return []Endpoint{{URL: u, Kind: "Service", Name: obj.Name, Private: a[servicepolicy.AnnotationAutoIngress] == servicepolicy.AutoIngressPrivate}}
}

// routeEndpoints reads an Ingress's or HTTPRoute's devgate.dev/endpoints,
// private when it has dev.okteto.com/private: "true" (the two kinds share
// both annotations). An object that a Service controls (the one devgate
// generates for it) is shown as that Service's endpoint, and hidden with it.
func routeEndpoints(kind string) func(*metav1.PartialObjectMetadata) []Endpoint {
	return func(obj *metav1.PartialObjectMetadata) []Endpoint {
		if hidden(obj) || serviceControlled(obj) {
			return nil
		}
		private := obj.Annotations[ingresspolicy.AnnotationPrivate] == "true"
		var out []Endpoint
		for _, raw := range strings.Split(obj.Annotations[ingresspolicy.AnnotationEndpoints], ",") {
			if u, ok := linkURL(raw); ok {
				out = append(out, Endpoint{URL: u, Kind: kind, Name: obj.Name, Private: private})
			}
		}
		return out
	}
}

// ingressEndpoints are an Ingress's endpoints.
var ingressEndpoints = routeEndpoints("Ingress")

// servesHTTPRoutes reports whether the API server serves HTTPRoutes; a
// failed discovery counts as no, so the dashboard still lists the rest.
func servesHTTPRoutes(cs kubernetes.Interface) bool {
	ok, err := gatewayapi.Serves(cs.Discovery(), "httproutes")
	return ok && err == nil
}

func serviceControlled(obj metav1.Object) bool {
	ref := metav1.GetControllerOfNoCopy(obj)
	return ref != nil && ref.Kind == "Service" && ref.APIVersion == "v1"
}

// endpointAnnotations are all the dashboard reads of an object.
var endpointAnnotations = []string{
	servicepolicy.AnnotationEndpoint, servicepolicy.AnnotationAutoIngress,
	ingresspolicy.AnnotationEndpoints, ingresspolicy.AnnotationPrivate, AnnotationHideFromUI,
}

// trimEndpointObject keeps of an object's metadata what the dashboard
// reads, so that the caches hold a few hundred bytes per object (no
// last-applied-configuration, no managed fields).
func trimEndpointObject(in any) (any, error) {
	obj, ok := in.(*metav1.PartialObjectMetadata)
	if !ok {
		return in, nil
	}
	out := &metav1.PartialObjectMetadata{TypeMeta: obj.TypeMeta}
	out.Name, out.Namespace, out.UID, out.ResourceVersion = obj.Name, obj.Namespace, obj.UID, obj.ResourceVersion
	for _, k := range endpointAnnotations {
		if v, ok := obj.Annotations[k]; ok {
			if out.Annotations == nil {
				out.Annotations = map[string]string{}
			}
			out.Annotations[k] = v
		}
	}
	if ref := metav1.GetControllerOfNoCopy(obj); ref != nil {
		out.OwnerReferences = []metav1.OwnerReference{*ref}
	}
	return out, nil
}

func metadataOf(gvk schema.GroupVersionKind) *metav1.PartialObjectMetadata {
	obj := &metav1.PartialObjectMetadata{}
	obj.SetGroupVersionKind(gvk)
	return obj
}

// endpointCache is the dashboard's informers: Services, Ingresses and
// HTTPRoutes as metadata only, feeding one index each. It is separate from the cache
// /verify needs, so that an auth service without the RBAC to list Services
// and Ingresses still serves /verify (and is ready), only without a
// dashboard.
type endpointCache struct {
	cache   cache.Cache
	sources []EndpointSource
	// watched are what the auth service must be allowed to list and watch.
	watched []schema.GroupVersionResource
	client  kubernetes.Interface
	state   atomic.Int32
}

// States of the endpoint cache.
const (
	endpointsLoading int32 = iota
	endpointsReady
	endpointsForbidden
	endpointsFailed
)

func newEndpointCache(cfg *rest.Config, scheme *runtime.Scheme, cs kubernetes.Interface) (*endpointCache, error) {
	type kind struct {
		obj   *metav1.PartialObjectMetadata
		gvr   schema.GroupVersionResource
		parse func(*metav1.PartialObjectMetadata) []Endpoint
	}
	kinds := []kind{
		{metadataOf(corev1.SchemeGroupVersion.WithKind("Service")), corev1.SchemeGroupVersion.WithResource("services"), serviceEndpoints},
		{metadataOf(networkingv1.SchemeGroupVersion.WithKind("Ingress")), networkingv1.SchemeGroupVersion.WithResource("ingresses"), ingressEndpoints},
	}
	// HTTPRoutes where the cluster serves them when the auth service
	// starts: an informer of a kind that is not served never syncs.
	if servesHTTPRoutes(cs) {
		kinds = append(kinds, kind{metadataOf(httproute.GVK), httproute.GVK.GroupVersion().WithResource("httproutes"), routeEndpoints("HTTPRoute")})
	}
	byObject := map[client.Object]cache.ByObject{}
	e := &endpointCache{client: cs}
	for _, k := range kinds {
		byObject[k.obj] = cache.ByObject{Transform: trimEndpointObject}
		e.watched = append(e.watched, k.gvr)
	}
	c, err := cache.New(cfg, cache.Options{Scheme: scheme, ByObject: byObject})
	if err != nil {
		return nil, err
	}
	e.cache = c
	for _, kind := range kinds {
		inf, err := c.GetInformer(context.Background(), kind.obj)
		if err != nil {
			return nil, err
		}
		idx := newEndpointIndex(kind.parse)
		if _, err := inf.AddEventHandler(idx.eventHandler()); err != nil {
			return nil, err
		}
		e.sources = append(e.sources, idx)
	}
	return e, nil
}

// run starts the informers once the auth service may list and watch what
// they watch, and serves them until ctx ends. Until then the dashboard says
// why it is off, and the permission is asked again every
// endpointsRecheck: RBAC granted later (a chart upgrade) takes effect
// without a restart.
func (e *endpointCache) run(ctx context.Context, log logr.Logger) error {
	var logged int32 = -1
	for {
		missing, err := e.missingPermission(ctx)
		state := endpointsLoading
		switch {
		case err != nil:
			state = endpointsFailed
			if logged != state {
				log.Error(err, "the dashboard's permission check failed: the endpoint list is off for now")
			}
		case missing != "":
			state = endpointsForbidden
			if logged != state {
				log.Info("the endpoint list is off: the auth service may not " + missing + " in all namespaces")
			}
		}
		if state == endpointsLoading {
			break
		}
		e.state.Store(state)
		logged = state
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(endpointsRecheck):
		}
	}
	e.state.Store(endpointsLoading)
	go func() {
		if e.cache.WaitForCacheSync(ctx) {
			e.state.Store(endpointsReady)
			log.V(1).Info("the endpoint list is ready")
		}
	}()
	if err := e.cache.Start(ctx); err != nil {
		return fmt.Errorf("endpoint cache: %w", err)
	}
	return nil
}

// endpointsRecheck is how often a missing permission is asked again.
const endpointsRecheck = time.Minute

// missingPermission is the first of list and watch on the watched resources
// that the auth service lacks ("list services"), "" when it has them all.
func (e *endpointCache) missingPermission(ctx context.Context) (string, error) {
	for _, gvr := range e.watched {
		for _, verb := range []string{"list", "watch"} {
			res, err := e.client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
				Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
					Verb: verb, Group: gvr.Group, Resource: gvr.Resource}},
			}, metav1.CreateOptions{})
			if err != nil {
				return "", err
			}
			if !res.Status.Allowed {
				return verb + " " + gvr.Resource, nil
			}
		}
	}
	return "", nil
}
