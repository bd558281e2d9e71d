package authe2e

import (
	"context"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"devgate.dev/devgate/policies"
	"devgate.dev/devgate/policies/tokens"
	"devgate.dev/devgate/test/chartrender"
)

// TestChartRendersConnectors: auth.connectors become connector Secrets in
// the release namespace, where the auth service reads them, that pass the
// very policy it checks them with; redirect_uri defaults to the callback.
func TestChartRendersConnectors(t *testing.T) {
	if _, err := chartrender.FindHelm(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := chartrender.Template(ctx, "devgate", "platform",
		"--set", "auth.connectors[0].id=okta", "--set", "auth.connectors[0].name=Okta",
		"--set", "auth.connectors[0].issuer=https://example.okta.com",
		"--set", "auth.connectors[0].clientID=0oa1b2c3", "--set", "auth.connectors[0].clientSecret=okta-secret",
		"--set", "auth.connectors[0].groupsPrefix=okta:",
		"--set", "auth.connectors[1].id=dex", "--set", "auth.connectors[1].issuer=https://dex.example.com/dex",
		"--set", "auth.connectors[1].clientID=devgate", "--set", "auth.connectors[1].clientSecret=dex-secret",
		"--set", "auth.connectors[1].redirectURI=https://login.example.com/auth/callback",
		"--set", "auth.connectors[1].ignoreEmailVerified=true")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := chartrender.Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"okta": {"name": "Okta", "redirect_uri": "https://okteto.example.com/auth/callback", "groups_prefix": "okta:"},
		"dex":  {"name": "dex", "redirect_uri": "https://login.example.com/auth/callback", "ignore_email_verified": "true"},
	}
	for name, keys := range want {
		var s corev1.Secret
		o := chartrender.Find(objs, "Secret", name)
		if o == nil {
			t.Fatalf("no connector Secret %s", name)
		}
		if err := chartrender.Convert(o, &s); err != nil {
			t.Fatal(err)
		}
		if s.Type != tokens.TypeOIDCConnector || s.Namespace != "platform" {
			t.Errorf("%s: type %q in %q", name, s.Type, s.Namespace)
		}
		s.Data = map[string][]byte{}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
		for k, v := range keys {
			if s.StringData[k] != v {
				t.Errorf("%s: %s = %q, want %q", name, k, s.StringData[k], v)
			}
		}
		if res := tokens.NewOIDCConnectorPolicy().Validate(&policies.Request{Operation: policies.Create, Object: &s}); len(res.Denials) > 0 {
			t.Errorf("%s: the rendered Secret is refused: %v", name, res.Denials)
		}
	}
	if _, err := chartrender.Template(ctx, "devgate", "platform", "--set", "auth.connectors[0].id=x",
		"--set", "auth.connectors[0].issuer=https://x.example", "--set", "auth.connectors[0].clientID=c",
		"--set", "auth.connectors[0].clientSecret=s", "--set", "auth.connectors[0].usernamePrefix=system:"); err == nil {
		t.Error("a system: username prefix renders")
	}
}
