package check

import (
	"sync"
	"sync/atomic"
)

// forEach calls fn(i) for every i in [0, n) on up to workers goroutines. Each
// call writes only its own slot of the caller's slices, so results keep the
// input order whatever order the calls finish in.
func forEach(n, workers int, fn func(i int)) {
	if workers <= 1 || n <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}
