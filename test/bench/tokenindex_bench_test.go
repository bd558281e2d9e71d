package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"devgate.dev/devgate/internal/tokenindex"
	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/all"
	"devgate.dev/devgate/policies/config"
)

// metadataServer is the slice of kube-apiserver a metadata-only
// ServiceAccount informer talks to: a LIST of n ServiceAccounts as
// PartialObjectMetadata, then a watch that stays open and quiet. Each
// ServiceAccount carries what a real one does besides the token labels (an
// unrelated label, an annotation, managed fields), so the cache's transform
// has something to drop.
func metadataServer(n int) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case q.Get("watch") != "" && q.Get("sendInitialEvents") == "true":
			// No streaming lists here: the reflector falls back to LIST.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"BadRequest","code":400}`)
		case q.Get("watch") != "":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		default:
			w.Header().Set("Content-Type", "application/json")
			bw := bufio.NewWriter(w)
			fmt.Fprint(bw, `{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"1000"},"items":[`)
			for i := range n {
				if i > 0 {
					bw.WriteByte(',')
				}
				fmt.Fprintf(bw, `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{`+
					`"name":"sa-%[1]d","namespace":"team-%[2]d","uid":"00000000-0000-0000-0000-%012[1]d","resourceVersion":"%[1]d",`+
					`"creationTimestamp":"2026-01-01T00:00:00Z",`+
					`"labels":{"app.kubernetes.io/name":"ci","dev.okteto.com/token":"%[3]s","dev.okteto.com/external-id":"user-%[1]d"},`+
					`"annotations":{"devgate.dev/owner":"ci-bot-%[1]d"},`+
					`"managedFields":[{"manager":"kubectl","operation":"Apply","apiVersion":"v1","time":"2026-01-01T00:00:00Z","fieldsType":"FieldsV1",`+
					`"fieldsV1":{"f:metadata":{"f:labels":{"f:app.kubernetes.io/name":{},"f:dev.okteto.com/token":{},"f:dev.okteto.com/external-id":{}}}}}]}}`,
					i, i%1000, token(i))
			}
			fmt.Fprint(bw, `]}`)
			bw.Flush()
		}
	}))
}

// token is the label of the i-th cached ServiceAccount, distinct from the
// tokens of the objects package so the workload never collides with it.
func token(i int) string { return fmt.Sprintf("Kx7pQ2wR9tY4uI1o-%d", i) }

// tokenCache is devgate's ServiceAccount cache and token index (as internal/server
// sets them up) synced from a metadataServer with n ServiceAccounts. heap is
// the live heap it added.
type tokenCache struct {
	index *tokenindex.Index
	heap  uint64
}

func newTokenCache(b *testing.B, n int) *tokenCache {
	b.Helper()
	tc, stop, err := startTokenCache(n)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(stop)
	return tc
}

// startTokenCache syncs a token cache with n ServiceAccounts; stop ends it.
func startTokenCache(n int) (_ *tokenCache, stop func(), err error) {
	srv := metadataServer(n)
	ctx, cancel := context.WithCancel(context.Background())
	stop = func() {
		cancel()
		srv.Close()
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{corev1.SchemeGroupVersion})
	mapper.Add(corev1.SchemeGroupVersion.WithKind("ServiceAccount"), meta.RESTScopeNamespace)

	before := liveHeap()
	c, err := cache.New(&rest.Config{Host: srv.URL}, cache.Options{
		Scheme: clientgoscheme.Scheme,
		Mapper: mapper,
		ByObject: map[client.Object]cache.ByObject{
			tokenindex.ServiceAccountMetadata(): tokenindex.CacheOptions(),
		},
	})
	if err != nil {
		return nil, stop, err
	}
	index, err := tokenindex.Setup(ctx, c)
	if err != nil {
		return nil, stop, err
	}
	go func() { _ = c.Start(ctx) }()
	syncCtx, done := context.WithTimeout(ctx, 2*time.Minute)
	defer done()
	if !c.WaitForCacheSync(syncCtx) {
		return nil, stop, errors.New("the token cache did not sync")
	}
	// The store is complete once the token of the last ServiceAccount is found.
	if got := index.ServiceAccountsWithToken(token(n - 1)); len(got) != 1 {
		return nil, stop, fmt.Errorf("lookup of the last token: %v", got)
	}
	return &tokenCache{index: index, heap: liveHeap() - before}, stop, nil
}

func liveHeap() uint64 {
	var m runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkTokenIndex is the uniqueness check of SPEC 5.3 with 100 and with
// 100,000 labelled ServiceAccounts in the cache: a lookup of a token one
// ServiceAccount holds, and the whole validation of a labelled ServiceAccount
// through the engine with the index as its lookup. Both sizes are timed in
// alternating batches in one run; size-ratio is the large cache's cost over
// the small one's. An op is one lookup (or validation) in each cache, so
// allocs/op and B/op are those of two. heap-KiB/1000SA is the live heap the
// metadata-only cache (store, index, informer) holds per 1,000 ServiceAccounts.
func BenchmarkTokenIndex(b *testing.B) {
	small, large := newTokenCache(b, 100), newTokenCache(b, 100_000)
	b.Logf("heap: %d KiB for 100 ServiceAccounts, %d KiB for 100,000", small.heap>>10, large.heap>>10)

	// The tokens are built once: an op's allocations are the two lookups'.
	smallToken, largeToken := token(42), token(42_042)
	eng := all.Engine()
	cfg := config.Default()
	validate := func(ix *tokenindex.Index, i int) func() {
		sa := &corev1.ServiceAccount{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("sa-%d", i), Namespace: fmt.Sprintf("team-%d", i%1000),
				Labels: map[string]string{"dev.okteto.com/token": token(i), "dev.okteto.com/external-id": fmt.Sprintf("user-%d", i)}},
		}
		in := EngineInput(sa)
		return func() {
			if out := eng.Validate(in, cfg, tokensOnly{ix}); !out.Allowed() {
				b.Fatalf("denied: %v", out.Denials)
			}
		}
	}
	for _, bench := range []struct {
		name         string
		small, large func()
	}{
		{"lookup",
			func() { small.index.ServiceAccountsWithToken(smallToken) },
			func() { large.index.ServiceAccountsWithToken(largeToken) }},
		{"validate",
			validate(small.index, 42),
			validate(large.index, 42_042)},
	} {
		b.Run(bench.name, func(b *testing.B) {
			const batch = 100
			var tSmall, tLarge time.Duration
			b.ReportAllocs()
			for i := 0; i < b.N; i += batch {
				n := min(batch, b.N-i)
				t0 := time.Now()
				for range n {
					bench.small()
				}
				t1 := time.Now()
				for range n {
					bench.large()
				}
				tSmall += t1.Sub(t0)
				tLarge += time.Since(t1)
			}
			b.ReportMetric(float64(tSmall.Nanoseconds())/float64(b.N), "ns/op-100SA")
			b.ReportMetric(float64(tLarge.Nanoseconds())/float64(b.N), "ns/op-100000SA")
			b.ReportMetric(float64(tLarge)/float64(tSmall), "size-ratio")
			b.ReportMetric(float64(large.heap)/1024/100, "heap-KiB/1000SA")
		})
	}
}

// tokensOnly is a policies.Lookup of the token index alone: the benchmark
// measures token uniqueness, no namespace or host is known.
type tokensOnly struct{ *tokenindex.Index }

func (tokensOnly) NamespaceExists(string) bool { return false }

func (tokensOnly) HostsFitting(string) []policies.HostUse { return nil }
