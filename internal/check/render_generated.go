package check

import (
	"bytes"
	"encoding/json"
	"strings"

	"gomodules.xyz/jsonpatch/v2"

	"devgate.dev/devgate/policies/tokens"
)

// GeneratedPlaceholder stands in, in the patch of the -o json output, for a
// token the mutation generated (SPEC 5.1, 5.2). The value check drew is never
// stored: the cluster generates its own when the object is admitted, so
// showing one would only invite copying a value that is not the token.
const GeneratedPlaceholder = "<generated at admission>"

// hideGenerated takes the tokens the mutation generated out of the result:
// in the patch they become GeneratedPlaceholder; in the mutated object
// (-o yaml and -o json) the key is left empty, so that applying the output
// has the cluster generate the token, as for the manifest itself. The
// warnings (tokens.GeneratedNote) say where a token is generated; the text
// output shows them and never a value. Calling it again changes nothing.
func (r *Result) hideGenerated() {
	ptrs := tokens.GeneratedPointers(r.Warnings)
	if len(ptrs) == 0 {
		return
	}
	patch := make([]jsonpatch.Operation, len(r.Patch))
	for i, op := range r.Patch {
		patch[i] = op
		for _, p := range ptrs {
			patch[i].Value = replaceAt(op.Path, patch[i].Value, p, GeneratedPlaceholder)
		}
	}
	r.Patch = patch
	if len(r.Object) == 0 {
		return
	}
	blank := make([]jsonpatch.Operation, 0, len(ptrs))
	for _, p := range ptrs {
		blank = append(blank, jsonpatch.NewOperation("replace", p, ""))
	}
	if doc, err := applyPatch(r.Object, blank); err == nil {
		r.Object = doc
		return
	}
	// A pointer the object does not have (there should be none): blank what
	// it has, one by one, rather than show a generated value.
	for _, op := range blank {
		if doc, err := applyPatch(r.Object, []jsonpatch.Operation{op}); err == nil {
			r.Object = doc
		}
	}
}

// replaceAt returns the value of a patch operation at path with the value at
// pointer ptr replaced by with: the value itself when ptr is path, or the
// member of an object value ("add /data {...}") when ptr is inside it. The
// object is copied, never changed in place.
func replaceAt(path string, value any, ptr, with string) any {
	if ptr == path {
		return with
	}
	rest, ok := strings.CutPrefix(ptr, path+"/")
	if !ok {
		return value
	}
	m, ok := asObject(value)
	if !ok {
		return value
	}
	key, tail, nested := strings.Cut(rest, "/")
	key = strings.NewReplacer("~1", "/", "~0", "~").Replace(key)
	e, ok := m[key]
	if !ok {
		return value
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	if nested {
		out[key] = replaceAt("", e, "/"+tail, with)
	} else {
		out[key] = with
	}
	return out
}

// asObject returns an operation's value as a JSON object, whatever Go type the
// engine gave it (a decoded object, a typed map, raw JSON): as it encodes.
func asObject(value any) (map[string]any, bool) {
	if m, ok := value.(map[string]any); ok {
		return m, true
	}
	b, err := json.Marshal(value)
	if err != nil || len(b) == 0 || b[0] != '{' {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if d.Decode(&m) != nil {
		return nil, false
	}
	return m, true
}
