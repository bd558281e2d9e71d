package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"devgate.dev/devgate/internal/check"
	"devgate.dev/devgate/policies/config"
	"devgate.dev/devgate/test/kubetest"
)

// parityManifests are fed both to `devgate check` and, one by one, to the
// webhook behind the API server. They cover every policy, allowed, mutated and
// denied. %[1]s is the namespace.
const parityManifests = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: %[1]s, annotations: {dev.okteto.com/auto-ingress: "true"}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: %[1]s, annotations: {dev.okteto.com/auto-ingress: private}}
spec:
  selector: {app: api}
  ports:
  - {name: grpc, port: 9090}
  - {name: web, port: 8443, appProtocol: https}
---
apiVersion: v1
kind: Service
metadata: {name: shop, namespace: %[1]s}
spec:
  type: LoadBalancer
  selector: {app: shop}
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: bad, namespace: %[1]s, annotations: {dev.okteto.com/auto-ingress: "yes"}}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: docs, namespace: %[1]s, annotations: {dev.okteto.com/generate-host: "true", dev.okteto.com/private: "true"}}
spec:
  rules:
  - http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: docs, port: {number: 80}}}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: catchall, namespace: %[1]s}
spec:
  rules:
  - host: shop-%[1]s.okteto.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: shop, port: {number: 80}}}}]
  - http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: steal, namespace: %[1]s}
spec:
  rules:
  - host: web-other.okteto.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 8080}}}}]
---
apiVersion: v1
kind: Secret
metadata: {name: ci-token, namespace: %[1]s}
type: devgate.dev/token
data: {token: azNKOXghUW03cEwydlo4dw==}
---
apiVersion: v1
kind: Secret
metadata: {name: long-token, namespace: %[1]s}
type: devgate.dev/token
data: {token: azNKOXghUW03cEwydlo4dw==, ttl: Nzc3NjAwMDAwMQ==}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: robot, namespace: %[1]s, labels: {dev.okteto.com/token: k3J9x-Qm7pL2vZ8w, dev.okteto.com/external-id: robot}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: untouched, namespace: %[1]s}
data: {a: b}
`

// TestCheckMatchesTheWebhook feeds the same manifests to `devgate check` and to
// the webhook behind the real API server (server-side dry runs, as alice) and
// compares the outcomes: the same objects allowed and denied, the denials
// naming the same fields, and the same mutated objects. The Ingresses check
// says the controller would generate are compared with the ones the running
// controller creates for the real Services.
func TestCheckMatchesTheWebhook(t *testing.T) {
	ns := namespace(t, "parity")
	cfg, err := config.Load(configPath)
	if err != nil {
		t.Fatal(err)
	}
	report, docs := kubetest.CheckManifests(t, fmt.Sprintf(parityManifests, ns), cfg)
	for i, doc := range docs {
		r := report.Results[i]
		t.Run(r.Kind+"/"+r.Name, func(t *testing.T) {
			out, errOut, ok := kubectl(t, doc, as(asAlice, "create", "--dry-run=server", "-o", "json", "-f", "-")...)
			if ok != r.Allowed {
				t.Fatalf("webhook allowed=%v (%s), check allowed=%v %v", ok, errOut, r.Allowed, r.Denials)
			}
			if !ok {
				// The API server prefixes the webhook's message; every field
				// check names must be in it.
				for _, d := range r.Denials {
					fieldPath, _, _ := strings.Cut(d, ": ")
					if !strings.Contains(errOut, fieldPath) {
						t.Errorf("webhook denial %q does not name %q (check: %q)", errOut, fieldPath, d)
					}
				}
				return
			}
			var live, checked map[string]any
			mustUnmarshal(t, []byte(out), &live)
			mustUnmarshal(t, r.Object, &checked)
			compareAdmitted(t, checked, live)
		})
	}

	// The generated Ingresses: create the Services for real and compare what the
	// controller makes with what check printed.
	for i, r := range report.Results {
		if r.Kind != "Service" || len(r.Generated) == 0 {
			continue
		}
		mustKubectl(t, docs[i], as(asAlice, "apply", "-f", "-")...)
		var want map[string]any
		mustUnmarshal(t, r.Generated[0], &want)
		var got map[string]any
		eventually(t, 15*time.Second, func() error {
			out, errOut, ok := kubectl(t, "", "-n", ns, "get", "ingress", r.Name, "-o", "json")
			if !ok {
				return fmt.Errorf("ingress %s: %s", r.Name, errOut)
			}
			return json.Unmarshal([]byte(out), &got)
		})
		// check's Ingress has no ownerReference (its Service has no uid yet);
		// the controller's has one. Everything else is the same.
		for _, path := range [][]string{{"spec"}, {"metadata", "labels"}, {"metadata", "annotations"}} {
			if g, w := dig(got, path...), dig(want, path...); !reflect.DeepEqual(g, w) {
				t.Errorf("Ingress %s %s: controller %v, check %v", r.Name, strings.Join(path, "."), g, w)
			}
		}
	}
}

// compareAdmitted compares an object as check mutated it with the object the
// API server returned from a dry run. Annotations and labels must be equal;
// every other field check has must have the same value on the server, which
// fills in defaults (clusterIP, uid, ...) that check cannot know.
func compareAdmitted(t *testing.T, checked, live map[string]any) {
	t.Helper()
	for _, path := range [][]string{{"metadata", "annotations"}, {"metadata", "labels"}} {
		if c, l := dig(checked, path...), dig(live, path...); !reflect.DeepEqual(c, l) {
			t.Errorf("%s: check %v, webhook %v", strings.Join(path, "."), c, l)
		}
	}
	if diff := subsetDiff("", checked, live); diff != "" {
		t.Errorf("check's object differs from the webhook's: %s\ncheck:   %s\nwebhook: %s", diff, compact(checked), compact(live))
	}
	// A converted Service keeps no node ports: the server must not have
	// allocated any either.
	if strings.Contains(compact(dig(live, "spec", "ports")), "nodePort") {
		t.Errorf("the webhook's Service has node ports: %s", compact(dig(live, "spec")))
	}
}

var (
	subsetDiff    = kubetest.SubsetDiff
	dig           = kubetest.Dig
	compact       = kubetest.Compact
	mustUnmarshal = kubetest.MustUnmarshal
)

// TestCheckYAMLOutputApplies pipes `devgate check -o yaml` into kubectl apply:
// the mutated objects and the generated Ingress are accepted by the webhook
// unchanged, and the controller adopts the Ingress. Server-side apply, because
// the running controller may create the Ingress between the Service and the
// Ingress documents; a server-side apply then patches it (with the same
// values, so without conflict) where a client-side one fails to create it.
func TestCheckYAMLOutputApplies(t *testing.T) {
	ns := namespace(t, "checkyaml")
	cfg, err := config.Load(configPath)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	report, err := check.Run(check.Options{
		Filenames: []string{"-"}, Config: cfg, Output: check.OutputYAML, Namespace: ns,
		Stdin: strings.NewReader(service("", "web", "private")), Stdout: &out,
		User: authenticationv1.UserInfo{Username: "alice"},
	})
	if err != nil || report.ExitCode() != check.ExitAllowed {
		t.Fatalf("check: %v %+v", err, report)
	}
	applied, errOut, ok := kubectl(t, out.String(), "apply", "--server-side", "-f", "-")
	if !ok {
		t.Fatalf("kubectl apply of check's output failed:\nstdout: %s\nstderr: %s\ninput:\n%s", applied, errOut, out.String())
	}
	for _, want := range []string{"service/web serverside-applied", "ingress.networking.k8s.io/web serverside-applied"} {
		if !strings.Contains(applied, want) {
			t.Fatalf("kubectl apply of check's output: %s", applied)
		}
	}
	eventually(t, 15*time.Second, func() error {
		ing, err := getIngress("web", ns)
		if err != nil {
			return err
		}
		if ref := metav1.GetControllerOf(ing); ref == nil || ref.Name != "web" {
			return fmt.Errorf("generated Ingress not adopted: %v", ing.OwnerReferences)
		}
		return nil
	})
	// The live Ingress still carries check's auth annotations: the webhooks
	// and the controller agree with what check printed.
	var want map[string]any
	docs := strings.Split(out.String(), "\n---\n")
	mustUnmarshal(t, mustJSON(t, docs[len(docs)-1]), &want)
	ing, err := getIngress("web", ns)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range dig(want, "metadata", "annotations").(map[string]any) {
		if ing.Annotations[k] != v {
			t.Errorf("annotation %s: live %q, check %q", k, ing.Annotations[k], v)
		}
	}
}

func mustJSON(t *testing.T, doc string) []byte {
	t.Helper()
	b, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
