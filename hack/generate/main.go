// Command generate writes the webhook configurations of the Helm chart and of
// the kustomize bases from webhook.Configurations (internal/manifestgen):
// config/webhook/manifests.yaml and charts/devgate/templates/_webhook_rules.tpl.
// Run it from the repository root, as `make generate` does.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"devgate.dev/devgate/internal/manifestgen"
)

func main() {
	root := flag.String("root", ".", "the repository root")
	flag.Parse()
	if _, err := os.Stat(filepath.Join(*root, "go.mod")); err != nil {
		fatal(fmt.Errorf("%s is not the repository root: %w", *root, err))
	}
	files, err := manifestgen.Generate(*root)
	if err != nil {
		fatal(err)
	}
	changed, err := manifestgen.Write(*root, files)
	if err != nil {
		fatal(err)
	}
	for _, f := range files {
		state := "unchanged"
		for _, c := range changed {
			if c == f.Path {
				state = "written"
			}
		}
		fmt.Printf("generate: %s %s\n", f.Path, state)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "generate:", err)
	os.Exit(1)
}
