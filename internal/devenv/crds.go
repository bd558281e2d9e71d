package devenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// Module is devgate's Go module; its root holds go.mod, charts/ and config/.
const Module = "devgate.dev/devgate"

// The CustomResourceDefinitions of other projects that the local control
// plane installs come from their Go modules, at the versions devgate's go.mod
// pins, so the API server validates their objects exactly as a cluster with
// those projects would, without running them.
const (
	CertManagerModule = "github.com/cert-manager/cert-manager"
	GatewayAPIModule  = "sigs.k8s.io/gateway-api"
)

// GatewayAPIKinds are the Gateway API resources devgate reads or writes, from
// the experimental channel: HTTPRoute's ExternalAuth filter is experimental.
var GatewayAPIKinds = []string{"gatewayclasses", "gateways", "httproutes", "referencegrants"}

// RepoRoot is the directory of devgate's go.mod, found above the working
// directory (tests run in their package's directory, `make run` in the root).
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module "+Module+"\n")) {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod of %s above %s", Module, wd)
		}
	}
}

// CertManagerCRDs are cert-manager's CRDs (its deploy/crds).
func CertManagerCRDs(ctx context.Context) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	return ModuleCRDs(ctx, CertManagerModule, "deploy/crds", nil)
}

// GatewayAPICRDs are the experimental channel's CRDs of GatewayAPIKinds.
func GatewayAPICRDs(ctx context.Context) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	files := make([]string, 0, len(GatewayAPIKinds))
	for _, kind := range GatewayAPIKinds {
		files = append(files, "gateway.networking.k8s.io_"+kind+".yaml")
	}
	return ModuleCRDs(ctx, GatewayAPIModule, "config/crd/experimental", files)
}

// ModuleCRDs reads the CRDs in dir of module, as the module cache holds the
// version go.mod pins: the files named, or every *.yaml file when files is
// nil. Every file must hold one CustomResourceDefinition and nothing else.
func ModuleCRDs(ctx context.Context, module, dir string, files []string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("locating %s in the module cache (go mod download): %w", module, err)
	}
	crdDir := filepath.Join(strings.TrimSpace(string(out)), filepath.FromSlash(dir))
	paths := make([]string, 0, len(files))
	for _, f := range files {
		paths = append(paths, filepath.Join(crdDir, f))
	}
	if files == nil {
		if paths, err = filepath.Glob(filepath.Join(crdDir, "*.yaml")); err != nil || len(paths) == 0 {
			return nil, fmt.Errorf("no CRDs in %s", crdDir)
		}
	}
	crds := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(paths))
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, crd); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if crd.Kind != "CustomResourceDefinition" {
			return nil, fmt.Errorf("%s holds a %s, not a CustomResourceDefinition", path, crd.Kind)
		}
		crds = append(crds, crd)
	}
	return crds, nil
}
