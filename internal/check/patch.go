package check

import (
	"encoding/json"
	"fmt"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	"gomodules.xyz/jsonpatch/v2"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// applyOptions make a patch computed on the typed form of an object apply to
// the object as written: the typed form has empty parents (`spec: {}`) that a
// manifest may leave out, so "add" creates missing parents and "remove" of
// something already absent is no error.
var applyOptions = func() *jsonpatchapply.ApplyOptions {
	o := jsonpatchapply.NewApplyOptions()
	o.EnsurePathExistsOnAdd = true
	o.AllowMissingPathOnRemove = true
	return o
}()

// applyPatch applies RFC 6902 operations to a JSON document. Applying to the
// manifest's own JSON, rather than re-encoding the typed object, keeps fields
// the typed form does not know and adds no `creationTimestamp: null`.
func applyPatch(doc []byte, ops []jsonpatch.Operation) ([]byte, error) {
	if len(ops) == 0 {
		return doc, nil
	}
	encoded, err := json.Marshal(ops)
	if err != nil {
		return nil, err
	}
	p, err := jsonpatchapply.DecodePatch(encoded)
	if err != nil {
		return nil, err
	}
	return p.ApplyWithOptions(doc, applyOptions)
}

// renderTyped encodes a typed object as a manifest: apiVersion and kind set,
// no `creationTimestamp: null`, and, with dropStatus, no status (a generated
// object has none to apply). Otherwise an empty status is dropped.
func renderTyped(obj client.Object, dropStatus bool) (json.RawMessage, schema.GroupVersionKind, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Empty() {
		var err error
		if gvk, err = apiutil.GVKForObject(obj, clientgoscheme.Scheme); err != nil {
			return nil, gvk, fmt.Errorf("cannot tell the kind of %T: %v", obj, err)
		}
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, gvk, err
	}
	m["apiVersion"], m["kind"] = gvk.GroupVersion().String(), gvk.Kind
	if md, ok := m["metadata"].(map[string]any); ok {
		if md["creationTimestamp"] == nil {
			delete(md, "creationTimestamp")
		}
	}
	if dropStatus || isEmpty(m["status"]) {
		delete(m, "status")
	}
	doc, err := json.Marshal(m)
	return doc, gvk, err
}

// isEmpty reports whether v holds no value: nil, or maps of nothing but empty values.
func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		for _, e := range v {
			if !isEmpty(e) {
				return false
			}
		}
		return true
	}
	return false
}
