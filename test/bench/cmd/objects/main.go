// Command objects writes the benchmark workload (package objects) as YAML, for
// tools outside Go's benchmarks such as hack/bench-peers.sh.
package main

import (
	"flag"
	"os"

	"devgate.dev/devgate/test/bench/objects"
)

func main() {
	n := flag.Int("n", 1000, "number of objects")
	flag.Parse()
	if _, err := os.Stdout.Write(objects.YAML(*n)); err != nil {
		os.Exit(1)
	}
}
