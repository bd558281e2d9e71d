package e2e

import (
	"context"
	"strings"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"devgate.dev/devgate/test/chartrender"
)

// TestCertManagerMode: the chart's Issuer and Certificate, and the rest of a
// cert-manager-mode or secret-mode install, are accepted by the API server
// with cert-manager's CRDs (a server-side dry run: full validation, nothing
// stored). The objects go to devgate's own namespace under another release
// name, so the running release's webhooks do not judge them.
func TestCertManagerMode(t *testing.T) {
	const rel = "devgate-cm"
	f := features.New("cert-manager mode renders objects the API server accepts").
		Assess("cert-manager certificate", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			out := dryRunChart(t, rel)
			for _, want := range []string{"issuer.cert-manager.io/" + rel + "-selfsigned", "certificate.cert-manager.io/" + rel + "-webhook"} {
				if !strings.Contains(out, want) {
					t.Errorf("dry run did not accept %s:\n%s", want, out)
				}
			}
			return ctx
		}).
		Assess("an existing issuer", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			out := dryRunChart(t, rel, "--set", "webhook.certificate.issuerRef.name=platform-ca", "--set", "webhook.certificate.issuerRef.kind=ClusterIssuer")
			if strings.Contains(out, "issuer.cert-manager.io/") || !strings.Contains(out, "certificate.cert-manager.io/"+rel+"-webhook") {
				t.Errorf("with issuerRef: want the Certificate and no Issuer:\n%s", out)
			}
			return ctx
		}).
		Assess("user-supplied certificate", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			out := dryRunChart(t, rel, "--set", "webhook.certificate.source=secret", "--set", "webhook.certificate.secretName=my-tls", "--set", "webhook.caBundle=Cg==")
			if strings.Contains(out, "cert-manager.io") {
				t.Errorf("secret mode renders cert-manager objects:\n%s", out)
			}
			return ctx
		}).
		Assess("the CRDs do validate: a broken Certificate is refused", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			_, errOut, ok := kubectl(t, `apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: broken, namespace: `+releaseNS+`}
spec:
  secretName: broken
  privateKey: {algorithm: DSA}
  issuerRef: {name: x}
`, "apply", "--dry-run=server", "-f", "-")
			if ok || !strings.Contains(errOut, "algorithm") {
				t.Errorf("a Certificate with privateKey.algorithm DSA was not refused by cert-manager's schema: %s", errOut)
			}
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

// dryRunChart renders the chart with helm template and applies it with
// kubectl apply --dry-run=server; it returns kubectl's output.
func dryRunChart(t *testing.T, rel string, args ...string) string {
	t.Helper()
	manifests, err := chartrender.Template(context.Background(), rel, releaseNS, args...)
	if err != nil {
		t.Fatal(err)
	}
	return mustKubectl(t, string(manifests), "apply", "--dry-run=server", "-f", "-")
}
