package hostindex

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// TestUsesFittingHTTPRoutes: an HTTPRoute's hostnames are hosts in use, as an
// Ingress's are, each once and named after the route.
func TestUsesFittingHTTPRoutes(t *testing.T) {
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "web"}}
	route.Spec.Hostnames = []gatewayv1.Hostname{"web-team-a.okteto.example.com", "web-team-a.okteto.example.com", "api-b.okteto.example.com"}
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "docs"},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "docs-team-a.okteto.example.com"}}}}
	var got []string
	for _, u := range UsesFitting("team-a", []any{route, ing, "not an object"}) {
		got = append(got, u.String())
	}
	want := []string{
		"HTTPRoute a/web serves web-team-a.okteto.example.com",
		"Ingress a/docs serves docs-team-a.okteto.example.com",
	}
	if !slices.Equal(got, want) {
		t.Errorf("UsesFitting = %q, want %q", got, want)
	}
}

// stubCache answers GetInformer with informer or err; nothing else is called.
type stubCache struct {
	cache.Cache
	informer cache.Informer
	err      error
	calls    int
}

func (s *stubCache) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	s.calls++
	return s.informer, s.err
}

// TestWatchHTTPRoutes: before WatchHTTPRoutes, and when it fails (no CRD),
// only Ingresses are hosts in use; after it, the routes of the informer's
// store count too, those already there included; a second call adds nothing.
func TestWatchHTTPRoutes(t *testing.T) {
	ingresses := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{indexName: fitsIndexFunc})
	namespaces := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{})
	idx := &Index{namespaces: namespaces, ingresses: ingresses}
	if err := ingresses.Add(&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "docs"},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "docs-team-a.okteto.example.com"}}}}); err != nil {
		t.Fatal(err)
	}
	informer := toolscache.NewSharedIndexInformer(&toolscache.ListWatch{}, &gatewayv1.HTTPRoute{}, 0, toolscache.Indexers{})
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "web"}}
	route.Spec.Hostnames = []gatewayv1.Hostname{"web-team-a.okteto.example.com"}
	if err := informer.GetIndexer().Add(route); err != nil {
		t.Fatal(err)
	}
	uses := func() []string {
		var out []string
		for _, u := range idx.HostsFitting("team-a") {
			out = append(out, u.String())
		}
		return out
	}
	onlyIngress := []string{"Ingress a/docs serves docs-team-a.okteto.example.com"}
	if got := uses(); !slices.Equal(got, onlyIngress) {
		t.Fatalf("before: %q", got)
	}
	noCRD := &stubCache{err: errors.New(`no matches for kind "HTTPRoute" in version "gateway.networking.k8s.io/v1"`)}
	if err := idx.WatchHTTPRoutes(context.Background(), noCRD); err == nil || !strings.Contains(err.Error(), "no matches for kind") {
		t.Fatalf("without the CRD: %v", err)
	}
	if got := uses(); !slices.Equal(got, onlyIngress) {
		t.Fatalf("after a failed watch: %q", got)
	}
	withCRD := &stubCache{informer: informer}
	if err := idx.WatchHTTPRoutes(context.Background(), withCRD); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(onlyIngress), "HTTPRoute a/web serves web-team-a.okteto.example.com")
	if got := uses(); !slices.Equal(got, want) {
		t.Fatalf("after the watch: %q, want %q", got, want)
	}
	if err := idx.WatchHTTPRoutes(context.Background(), withCRD); err != nil || withCRD.calls != 1 {
		t.Fatalf("second call: %v, %d GetInformer calls", err, withCRD.calls)
	}
}
