// Package chartrender renders devgate's Helm chart and kustomize bases with
// the helm and kubectl binaries the Makefile builds, and decodes what they
// print. The tests that hold the chart and config/ to the code use it, and so
// does the e2e suite that installs the chart.
package chartrender

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"devgate.dev/devgate/internal/controlplane"
	"devgate.dev/devgate/internal/devenv"
)

// RepoRoot is the directory of devgate's go.mod, found above the working
// directory (tests run in their package's directory).
func RepoRoot() (string, error) { return devenv.RepoRoot() }

// ChartDir is charts/devgate in the repository.
func ChartDir() (string, error) {
	root, err := RepoRoot()
	return filepath.Join(root, "charts", "devgate"), err
}

// FindHelm returns the helm binary: $DEVGATE_HELM (the Makefile exports it),
// else the newest bin/helm-*/helm of the repository.
func FindHelm() (string, error) {
	if p := os.Getenv("DEVGATE_HELM"); p != "" {
		return p, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	matches, _ := filepath.Glob(filepath.Join(root, "bin", "helm-*", "helm"))
	if len(matches) == 0 {
		return "", errors.New("helm not found: run `make tools` or set DEVGATE_HELM")
	}
	sort.Strings(matches)
	return matches[len(matches)-1], nil
}

// FindKubectl returns the kubectl built with the control plane.
func FindKubectl() (string, error) {
	dir, err := controlplane.FindAssets()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "kubectl"), nil
}

// Template runs `helm template RELEASE charts/devgate --namespace NS ARGS...`
// and returns the rendered manifests.
func Template(ctx context.Context, release, namespace string, args ...string) ([]byte, error) {
	helm, err := FindHelm()
	if err != nil {
		return nil, err
	}
	chart, err := ChartDir()
	if err != nil {
		return nil, err
	}
	return run(ctx, helm, append([]string{"template", release, chart, "--namespace", namespace}, args...)...)
}

// Kustomize runs `kubectl kustomize` on a directory under config/ (e.g.
// "default") and returns the built manifests.
func Kustomize(ctx context.Context, base string) ([]byte, error) {
	kubectl, err := FindKubectl()
	if err != nil {
		return nil, err
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	return run(ctx, kubectl, "kustomize", filepath.Join(root, "config", base))
}

func run(ctx context.Context, bin string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Decode splits a multi-document YAML stream into objects; empty documents
// are skipped.
func Decode(manifests []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// Find returns the object of that kind and name, or nil.
func Find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// OfKind returns the objects of that kind.
func OfKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// Convert turns an unstructured object into its typed form.
func Convert(o *unstructured.Unstructured, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, into, true)
}

// Webhooks returns the one MutatingWebhookConfiguration and the one
// ValidatingWebhookConfiguration among objs.
func Webhooks(objs []*unstructured.Unstructured) (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	ms, vs := OfKind(objs, "MutatingWebhookConfiguration"), OfKind(objs, "ValidatingWebhookConfiguration")
	if len(ms) != 1 || len(vs) != 1 {
		return nil, nil, fmt.Errorf("want one mutating and one validating webhook configuration, got %d and %d", len(ms), len(vs))
	}
	m := &admissionregistrationv1.MutatingWebhookConfiguration{}
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := Convert(ms[0], m); err != nil {
		return nil, nil, fmt.Errorf("mutating webhook configuration: %w", err)
	}
	if err := Convert(vs[0], v); err != nil {
		return nil, nil, fmt.Errorf("validating webhook configuration: %w", err)
	}
	return m, v, nil
}

// ConfigFile returns the configuration file (key config.yaml) of the
// ConfigMap of that name.
func ConfigFile(objs []*unstructured.Unstructured, configMap string) ([]byte, error) {
	cm := Find(objs, "ConfigMap", configMap)
	if cm == nil {
		return nil, fmt.Errorf("no ConfigMap %s", configMap)
	}
	data, ok, err := unstructured.NestedString(cm.Object, "data", "config.yaml")
	if err != nil || !ok {
		return nil, fmt.Errorf("ConfigMap %s has no data[config.yaml]", configMap)
	}
	return []byte(data), nil
}
