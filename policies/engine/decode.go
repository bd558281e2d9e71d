package engine

import (
	"bytes"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsjson "sigs.k8s.io/json"
)

// decode reads raw into the typed object of gvk, case-sensitively as the API
// server does, and puts it in namespace when it names none.
func decode(gvk schema.GroupVersionKind, raw []byte, namespace string) (client.Object, error) {
	obj := newObject(gvk)
	if obj == nil {
		return nil, fmt.Errorf("devgate does not handle %s", gvk)
	}
	if !decodePooled(raw, obj) {
		// The reference decode, which also words the error: the pooled path
		// is only an optimisation of it.
		obj = newObject(gvk)
		if err := sigsjson.UnmarshalCaseSensitivePreserveInts(raw, obj); err != nil {
			return nil, fmt.Errorf("cannot decode %s: %v", gvk.Kind, err)
		}
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

// pooledDecoder is a sigs.k8s.io/json decoder kept between objects: Unmarshal
// builds a new decoder state and parse stack for every object, a sixth of a
// small object's allocations.
type pooledDecoder struct {
	input *bytes.Reader
	dec   sigsjson.Decoder
}

var decoders = sync.Pool{New: func() any {
	input := bytes.NewReader(nil)
	return &pooledDecoder{input: input, dec: sigsjson.NewDecoderCaseSensitivePreserveInts(input)}
}}

// maxPooledObject bounds the objects decoded with a pooled decoder, which
// keeps a copy of its largest input in its buffer.
const maxPooledObject = 64 << 10

// decodePooled decodes raw, one JSON value and nothing after it, into obj
// with a pooled decoder. It reports false on any error, leaving the error to
// the reference decode.
func decodePooled(raw []byte, obj any) bool {
	if len(raw) > maxPooledObject {
		return false
	}
	pd := decoders.Get().(*pooledDecoder)
	pd.input.Reset(raw)
	start := pd.dec.InputOffset()
	if err := pd.dec.Decode(obj); err != nil {
		return false // a decoder that failed keeps its error: dropped
	}
	// More looks past the value: anything but the end of input is trailing
	// data, an error. It stops before trailing spaces, which stay buffered
	// and would shift the next object's offset: only a decoder that read
	// its input to the last byte goes back to the pool.
	more := pd.dec.More()
	used := int(pd.dec.InputOffset() - start)
	if more || len(bytes.TrimLeft(raw[used:], " \t\r\n")) > 0 {
		return false
	}
	if used == len(raw) {
		pd.input.Reset(nil)
		decoders.Put(pd)
	}
	return true
}
