package tokenindex

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	fcache "k8s.io/client-go/tools/cache/testing"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// serviceAccount is a ServiceAccount as the metadata API returns it, with
// fields and labels besides the token ones for the transform to drop.
func serviceAccount(ns, name, token string) *metav1.PartialObjectMetadata {
	sa := ServiceAccountMetadata()
	sa.Namespace, sa.Name = ns, name
	sa.UID = types.UID("uid-" + ns + "-" + name)
	sa.Labels = map[string]string{"app.kubernetes.io/name": "ci", LabelExternalID: "user-" + name}
	if token != "" {
		sa.Labels[LabelToken] = token
	}
	sa.Annotations = map[string]string{"devgate.dev/owner": "ci-bot"}
	sa.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}
	return sa
}

func mapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper([]schema.GroupVersion{corev1.SchemeGroupVersion})
	m.Add(corev1.SchemeGroupVersion.WithKind("ServiceAccount"), meta.RESTScopeNamespace)
	return m
}

// startIndex runs devgate's ServiceAccount cache, as internal/server sets it
// up, over a real client-go informer that lists and watches src instead of an
// API server, and returns its synced index.
func startIndex(t *testing.T, src *fcache.FakeControllerSource) *Index {
	t.Helper()
	c, err := cache.New(&rest.Config{Host: "http://127.0.0.1:1"}, cache.Options{
		Scheme: clientgoscheme.Scheme,
		Mapper: mapper(),
		ByObject: map[client.Object]cache.ByObject{
			ServiceAccountMetadata(): CacheOptions(),
		},
		NewInformer: func(_ toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, ix toolscache.Indexers) toolscache.SharedIndexInformer {
			return toolscache.NewSharedIndexInformer(src, obj, resync, ix)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	index, err := Setup(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	syncCtx, done := context.WithTimeout(ctx, 30*time.Second)
	defer done()
	if !c.WaitForCacheSync(syncCtx) {
		t.Fatal("the cache did not sync")
	}
	return index
}

// expect waits for the index to answer want for token.
func expect(t *testing.T, index *Index, token string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	var got []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if got = index.ServiceAccountsWithToken(token); slices.Equal(got, want) {
			return
		}
	}
	t.Fatalf("ServiceAccountsWithToken(%q) = %q, want %q", token, got, want)
}

func TestIndexFollowsTheInformer(t *testing.T) {
	src := fcache.NewFakeControllerSource()
	t.Cleanup(src.Shutdown)
	src.Add(serviceAccount("team-b", "ci", "tok-1"))
	src.Add(serviceAccount("team-b", "plain", ""))
	index := startIndex(t, src)

	expect(t, index, "tok-1", "team-b/ci")
	expect(t, index, "tok-2")
	expect(t, index, "") // ServiceAccounts without a token are not indexed

	// Add: a second ServiceAccount with the same token; the answer is sorted.
	src.Add(serviceAccount("team-a", "ci", "tok-1"))
	expect(t, index, "tok-1", "team-a/ci", "team-b/ci")

	// Update: the token moves, and a ServiceAccount gains one.
	src.Modify(serviceAccount("team-b", "ci", "tok-2"))
	src.Modify(serviceAccount("team-b", "plain", "tok-2"))
	expect(t, index, "tok-1", "team-a/ci")
	expect(t, index, "tok-2", "team-b/ci", "team-b/plain")

	// Update: the label is removed.
	src.Modify(serviceAccount("team-b", "plain", ""))
	expect(t, index, "tok-2", "team-b/ci")

	// Delete.
	src.Delete(serviceAccount("team-a", "ci", "tok-1"))
	expect(t, index, "tok-1")
	expect(t, index, "tok-2", "team-b/ci")

	// The cache holds ServiceAccounts trimmed by CacheOptions.
	obj, ok, err := index.indexer.GetByKey("team-b/ci")
	if err != nil || !ok {
		t.Fatalf("GetByKey: %v, %v", ok, err)
	}
	sa := obj.(*metav1.PartialObjectMetadata)
	if len(sa.Labels) != 2 || sa.Labels[LabelToken] != "tok-2" || sa.Labels[LabelExternalID] != "user-ci" ||
		sa.Annotations != nil || sa.ManagedFields != nil || sa.UID == "" || sa.ResourceVersion == "" {
		t.Errorf("cached object not trimmed: %+v", sa.ObjectMeta)
	}
}

// The index is keyed by the raw label value: a value that looks like the
// namespaced keys controller-runtime's field indexes use matches only itself.
func TestIndexKeyIsTheRawValue(t *testing.T) {
	src := fcache.NewFakeControllerSource()
	t.Cleanup(src.Shutdown)
	src.Add(serviceAccount("team-a", "one", "__all_namespaces"))
	src.Add(serviceAccount("team-a", "two", "team-a"))
	index := startIndex(t, src)
	expect(t, index, "__all_namespaces", "team-a/one")
	expect(t, index, "team-a", "team-a/two")
	expect(t, index, "__all_namespaces/team-a")
	expect(t, index, "team-a/team-a")
}

func TestLookupAllocations(t *testing.T) {
	src := fcache.NewFakeControllerSource()
	t.Cleanup(src.Shutdown)
	for i, ns := range []string{"a", "b", "c"} {
		src.Add(serviceAccount(ns, "sa", []string{"one", "two", "two"}[i]))
	}
	index := startIndex(t, src)
	expect(t, index, "one", "a/sa")
	expect(t, index, "two", "b/sa", "c/sa")
	for token, want := range map[string]float64{"one": 1, "two": 1, "none": 0} {
		if n := testing.AllocsPerRun(100, func() { index.ServiceAccountsWithToken(token) }); n > want {
			t.Errorf("lookup of %q: %v allocations, want at most %v", token, n, want)
		}
	}
}

// A cache restricted to namespaces hands out an informer per namespace, with
// no single store to read: Setup says so instead of answering wrongly.
func TestSetupRejectsANamespacedCache(t *testing.T) {
	c, err := cache.New(&rest.Config{Host: "http://127.0.0.1:1"}, cache.Options{
		Scheme:            clientgoscheme.Scheme,
		Mapper:            mapper(),
		DefaultNamespaces: map[string]cache.Config{"team-a": {}, "team-b": {}},
		ByObject: map[client.Object]cache.ByObject{
			ServiceAccountMetadata(): CacheOptions(),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Setup(context.Background(), c); err == nil {
		t.Fatal("Setup accepted a namespaced cache")
	}
}
