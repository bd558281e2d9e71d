package webhook

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/runtime/schema"
	sigsjson "sigs.k8s.io/json"

	"devgate.dev/devgate/policies/pooledjson"
)

// envelope is the part of an object every handled kind shares, read before
// the engine decodes the object itself.
type envelope struct {
	APIVersion string                     `json:"apiVersion"`
	Kind       string                     `json:"kind"`
	Metadata   json.RawMessage            `json:"metadata"`
	Data       map[string]json.RawMessage `json:"data"`
}

var secretKind = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}

// checkObject rejects an object the API server would never send for a
// request of kind gvk: not a JSON object, without metadata, of another kind
// than the request says, or a Secret whose data is not base64. The error
// names the field (where is "request.object" or "request.oldObject") and
// never the value, which may be a token.
func checkObject(where string, raw []byte, gvk schema.GroupVersionKind) error {
	if len(raw) == 0 {
		return nil
	}
	// The API server serializes an object with its kind, apiVersion and
	// metadata first, in that order: that prefix settles the kind and the
	// metadata checks without parsing the object a second time (the engine's
	// typed decode parses and validates all of it). Secrets still take a
	// full look, for their data.
	if gvk != secretKind && hasServerPrefix(raw, gvk) {
		return nil
	}
	if gvk == secretKind && secretLooksFine(raw, gvk) {
		return nil
	}
	return findObjectError(where, raw, gvk)
}

// secretEnvelope decodes a Secret's data as the engine's typed decode does:
// a value that is not a base64 string fails it.
type secretEnvelope struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   presence          `json:"metadata"`
	Data       map[string][]byte `json:"data"`
}

// presence records whether a field holds anything but null, without
// keeping a copy of it.
type presence bool

func (p *presence) UnmarshalJSON(b []byte) error {
	*p = string(b) != "null"
	return nil
}

// secretLooksFine reports whether raw passes findObjectError's checks, in
// one decode that allocates little: a Secret the API server sends does. On
// false, findObjectError finds and words the problem, if there is one.
func secretLooksFine(raw []byte, gvk schema.GroupVersionKind) bool {
	var env secretEnvelope
	if pooledjson.CaseSensitive.Unmarshal(raw, &env) != nil {
		return false
	}
	if env.Kind != "" || env.APIVersion != "" {
		if schema.FromAPIVersionAndKind(env.APIVersion, env.Kind) != gvk {
			return false
		}
	}
	return bool(env.Metadata)
}

// findObjectError is checkObject's full look at an object.
func findObjectError(where string, raw []byte, gvk schema.GroupVersionKind) error {
	var env envelope
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(raw, &env); err != nil {
		// The engine names the field that does not decode; only a value that
		// is not an object at all is this layer's to report.
		if raw[0] != '{' {
			return fmt.Errorf("%s is not a JSON object", where)
		}
		return nil
	}
	if env.Kind != "" || env.APIVersion != "" {
		if got := schema.FromAPIVersionAndKind(env.APIVersion, env.Kind); got != gvk {
			return fmt.Errorf("%s is %s %q but request.kind is %s %q",
				where, env.APIVersion, env.Kind, gvk.GroupVersion(), gvk.Kind)
		}
	}
	if len(env.Metadata) == 0 || string(env.Metadata) == "null" {
		return fmt.Errorf("%s.metadata is missing", where)
	}
	if gvk == secretKind {
		keys := make([]string, 0, len(env.Data))
		for k := range env.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			var s string
			if json.Unmarshal(env.Data[k], &s) != nil || !isBase64(s) {
				return fmt.Errorf("%s.data[%s] is not a base64 string", where, k)
			}
		}
	}
	return nil
}

// hasServerPrefix reports whether raw starts as the API server writes an
// object of kind gvk: {"kind":"K","apiVersion":"V","metadata":{ .
func hasServerPrefix(raw []byte, gvk schema.GroupVersionKind) bool {
	parts := [...]string{`{"kind":"`, gvk.Kind, `","apiVersion":"`, gvk.Group, "/", gvk.Version, `","metadata":{`}
	rest := raw
	for i, part := range parts {
		if gvk.Group == "" && (i == 3 || i == 4) {
			continue // the core group's apiVersion is the version alone
		}
		var ok bool
		if rest, ok = cutPrefix(rest, part); !ok {
			return false
		}
	}
	return true
}

// cutPrefix is bytes.CutPrefix for a string prefix, without converting it.
func cutPrefix(b []byte, prefix string) ([]byte, bool) {
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return b, false
	}
	return b[len(prefix):], true
}

func isBase64(s string) bool {
	_, err := base64.StdEncoding.DecodeString(s)
	return err == nil
}
