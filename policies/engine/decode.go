package engine

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"devgate.dev/devgate/policies/pooledjson"
)

// decode reads raw into the typed object of gvk, case-sensitively as the API
// server does, and puts it in namespace when it names none. The decoders are
// pooled (package pooledjson): a small object allocates a third less than
// with Unmarshal, with the same result and the same error.
func decode(gvk schema.GroupVersionKind, raw []byte, namespace string) (client.Object, error) {
	obj := newObject(gvk)
	if obj == nil {
		return nil, fmt.Errorf("devgate does not handle %s", gvk)
	}
	if err := pooledjson.CaseSensitive.Unmarshal(raw, obj); err != nil {
		return nil, fmt.Errorf("cannot decode %s: %v", gvk.Kind, err)
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace(namespace)
	}
	// Objects from the API server name their kind already; setting it again
	// would build the apiVersion string anew.
	if obj.GetObjectKind().GroupVersionKind() != gvk {
		obj.GetObjectKind().SetGroupVersionKind(gvk)
	}
	return obj, nil
}
