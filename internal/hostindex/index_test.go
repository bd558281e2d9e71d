package hostindex

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	"devgate.dev/devgate/policies"
)

func TestCandidates(t *testing.T) {
	got := Candidates("web-team-a.okteto.example.com")
	if want := []string{"web-team-a", "team-a", "a"}; !slices.Equal(got, want) {
		t.Fatalf("Candidates = %q, want %q", got, want)
	}
	if got := Candidates("web-.example.com"); !slices.Equal(got, []string{"web-"}) {
		t.Fatalf("trailing dash: %q", got)
	}
	if got := Candidates(""); got != nil {
		t.Fatalf("empty host: %q", got)
	}
}

// TestIndex runs the index functions on client-go's own indexers, as the
// informers do: an Ingress is found by every namespace name its hosts fit,
// through rules, TLS hosts and server aliases, and forgotten when deleted.
func TestIndex(t *testing.T) {
	ingresses := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{indexName: fitsIndexFunc})
	namespaces := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{})
	idx := &Index{namespaces: namespaces, ingresses: ingresses}

	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "a", Annotations: map[string]string{
			"nginx.ingress.kubernetes.io/server-alias": "alias-team-a.okteto.example.com, other-b.okteto.example.com"}},
		Spec: networkingv1.IngressSpec{
			Rules: []networkingv1.IngressRule{{Host: "web-team-a.okteto.example.com"}},
			TLS:   []networkingv1.IngressTLS{{Hosts: []string{"tls-team-a.okteto.example.com"}}},
		},
	}
	if err := ingresses.Add(ing); err != nil {
		t.Fatal(err)
	}
	if err := namespaces.Add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}}); err != nil {
		t.Fatal(err)
	}
	want := []policies.HostUse{
		{Host: "web-team-a.okteto.example.com", Kind: "Ingress", Namespace: "a", Name: "web"},
		{Host: "tls-team-a.okteto.example.com", Kind: "Ingress", Namespace: "a", Name: "web"},
		{Host: "alias-team-a.okteto.example.com", Kind: "Ingress", Namespace: "a", Name: "web"},
	}
	if got := idx.HostsFitting("team-a"); !slices.Equal(got, want) {
		t.Fatalf("HostsFitting(team-a) = %v, want %v", got, want)
	}
	if got := idx.HostsFitting("b"); len(got) != 1 || got[0].Host != "other-b.okteto.example.com" {
		t.Fatalf("HostsFitting(b) = %v", got)
	}
	if got := idx.HostsFitting("eam-a"); len(got) != 0 {
		t.Fatalf("a part of a name is no fit: %v", got)
	}
	if !idx.NamespaceExists("a") || idx.NamespaceExists("team-a") {
		t.Fatal("NamespaceExists disagrees with the store")
	}
	if err := ingresses.Delete(ing); err != nil {
		t.Fatal(err)
	}
	if got := idx.HostsFitting("team-a"); len(got) != 0 {
		t.Fatalf("after delete: %v", got)
	}
}
