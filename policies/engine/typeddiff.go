package engine

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"gomodules.xyz/jsonpatch/v2"
	"k8s.io/apimachinery/pkg/runtime"
)

// createPatch returns the RFC 6902 operations that turn before's JSON encoding
// into after's, the operations jsonpatch.CreatePatch would compute from the two
// encodings. A mutator changes a few fields of an object, so encoding both
// objects whole to compare them was most of a mutation's cost: instead the two
// typed objects are walked side by side as encoding/json would encode them, and
// only what differs is encoded. What the walk does not model (types with their
// own JSON encoding, interfaces, maps other than string to string, embedded
// pointers) is encoded on both sides and compared as JSON by diffRaw.
func createPatch(before, after runtime.Object) ([]jsonpatch.Operation, error) {
	a, b := reflect.ValueOf(before), reflect.ValueOf(after)
	w := walker{path: make([]byte, 0, 128)}
	if a.Type() != b.Type() {
		w.encoded(a, b)
	} else {
		w.value(a, b)
	}
	return w.patch, w.err
}

// walker compares two values of one type and appends the operations that turn
// the first into the second.
type walker struct {
	// path is the JSON pointer (RFC 6901) of the values being compared; it
	// grows and shrinks with the walk and becomes a string only in an
	// operation.
	path  []byte
	patch []jsonpatch.Operation
	err   error
}

// value compares a and b, both of the same type and both present in their
// encodings.
func (w *walker) value(a, b reflect.Value) {
	if w.err != nil {
		return
	}
	info := typeInfoOf(a.Type())
	switch info.shape {
	case shapeScalar:
		switch {
		case a.Equal(b):
		case a.Kind() == reflect.String && !(utf8.ValidString(a.String()) && utf8.ValidString(b.String())):
			// Invalid UTF-8 is encoded as U+FFFD: different strings can
			// encode alike.
			w.encoded(a, b)
		default:
			w.add("replace", b.Interface())
		}
	case shapeStruct:
		w.structs(a, b, info)
	case shapePointer:
		switch {
		case a.IsNil() && b.IsNil():
		case a.IsNil() || b.IsNil():
			w.encoded(a, b) // null on one side: replaced whole
		default:
			w.value(a.Elem(), b.Elem())
		}
	case shapeStringMap:
		w.stringMaps(a, b)
	case shapeBytesMap:
		w.bytesMaps(a, b)
	case shapeBytes:
		if a.IsNil() != b.IsNil() || !bytes.Equal(a.Bytes(), b.Bytes()) {
			w.encoded(a, b)
		}
	case shapeSlice:
		w.slices(a, b)
	default: // shapeEncoded
		if info.comparable && a.Equal(b) {
			return
		}
		w.encoded(a, b)
	}
}

// structs compares the fields of two structs member by member: a field only
// one side encodes is added or removed, one both encode is compared.
func (w *walker) structs(a, b reflect.Value, info *typeInfo) {
	for i := range info.fields {
		f := &info.fields[i]
		fa, fb := f.value(a), f.value(b)
		inA, inB := f.present(fa), f.present(fb)
		if !inA && !inB {
			continue
		}
		n := len(w.path)
		w.path = append(append(w.path, '/'), f.pointerName...)
		switch {
		case !inA:
			w.addValue(fb)
		case !inB:
			w.add("remove", nil)
		case f.quoted:
			if !fa.Equal(fb) {
				w.encoded(fa, fb)
			}
		default:
			w.value(fa, fb)
		}
		w.path = w.path[:n]
	}
}

// stringMaps compares two maps of strings to strings key by key.
func (w *walker) stringMaps(a, b reflect.Value) {
	if a.IsNil() != b.IsNil() {
		w.encoded(a, b) // null on one side: replaced whole
		return
	}
	diffMaps(w, a, b,
		a.Convert(stringMapType).Interface().(map[string]string),
		b.Convert(stringMapType).Interface().(map[string]string),
		func(x, y string) bool { return x == y },
		utf8.ValidString,
		func(v string) any { return v })
}

// bytesMaps compares two maps of strings to byte strings (a Secret's data)
// key by key.
func (w *walker) bytesMaps(a, b reflect.Value) {
	if a.IsNil() != b.IsNil() {
		w.encoded(a, b) // null on one side: replaced whole
		return
	}
	diffMaps(w, a, b,
		a.Convert(bytesMapType).Interface().(map[string][]byte),
		b.Convert(bytesMapType).Interface().(map[string][]byte),
		func(x, y []byte) bool { return (x == nil) == (y == nil) && bytes.Equal(x, y) },
		func([]byte) bool { return true }, // base64 is ASCII
		func(v []byte) any {
			if v == nil {
				return nil // encoded as null
			}
			return base64.StdEncoding.EncodeToString(v)
		})
}

// diffMaps compares two maps with string keys key by key, in sorted key
// order as they are encoded. value is a map value as an operation carries
// it. When a changed key or value is invalid UTF-8 (valid says false), which
// is encoded as U+FFFD so that different strings can encode alike, the maps
// are compared by their encodings instead.
func diffMaps[V any](w *walker, a, b reflect.Value, ma, mb map[string]V, equal func(V, V) bool, valid func(V) bool, value func(V) any) {
	if maps.EqualFunc(ma, mb, equal) {
		return
	}
	var changed []string
	for k, v := range mb {
		if old, ok := ma[k]; !ok || !equal(old, v) {
			changed = append(changed, k)
		}
	}
	for k := range ma {
		if _, ok := mb[k]; !ok {
			changed = append(changed, k)
		}
	}
	for _, k := range changed {
		if !utf8.ValidString(k) || !valid(ma[k]) || !valid(mb[k]) {
			w.encoded(a, b)
			return
		}
	}
	slices.Sort(changed)
	for _, k := range changed {
		n := len(w.path)
		w.path = appendPointerName(append(w.path, '/'), k)
		_, inA := ma[k]
		v, inB := mb[k]
		switch {
		case !inA:
			w.add("add", value(v))
		case !inB:
			w.add("remove", nil)
		default:
			w.add("replace", value(v))
		}
		w.path = w.path[:n]
	}
}

// slices compares two lists as jsonpatch does: remove the surplus from the
// end, add the new tail, then compare the common prefix element by element.
func (w *walker) slices(a, b reflect.Value) {
	if a.IsNil() != b.IsNil() {
		w.encoded(a, b) // null on one side: replaced whole
		return
	}
	n := min(a.Len(), b.Len())
	for i := a.Len() - 1; i >= n; i-- {
		end := w.pushIndex(i)
		w.add("remove", nil)
		w.path = w.path[:end]
	}
	for i := n; i < b.Len(); i++ {
		end := w.pushIndex(i)
		w.addValue(b.Index(i))
		w.path = w.path[:end]
	}
	for i := range n {
		end := w.pushIndex(i)
		w.value(a.Index(i), b.Index(i))
		w.path = w.path[:end]
	}
}

// pushIndex extends the path by a list index and returns its length before,
// to cut it back to.
func (w *walker) pushIndex(i int) int {
	n := len(w.path)
	w.path = strconv.AppendInt(append(w.path, '/'), int64(i), 10)
	return n
}

// addValue adds v, absent before, at the current path.
func (w *walker) addValue(v reflect.Value) {
	if info := typeInfoOf(v.Type()); info.shape == shapeScalar {
		w.add("add", v.Interface())
		return
	}
	raw, err := encode(v)
	if err != nil {
		w.err = err
		return
	}
	w.add("add", json.RawMessage(raw))
}

// encoded compares a and b by their encodings, for the values the walk does
// not model.
func (w *walker) encoded(a, b reflect.Value) {
	ra, err := encode(a)
	if err != nil {
		w.err = err
		return
	}
	rb, err := encode(b)
	if err != nil {
		w.err = err
		return
	}
	if !bytes.Equal(ra, rb) {
		w.patch, w.err = diffRaw(ra, rb, string(w.path), w.patch)
	}
}

func (w *walker) add(op string, value any) {
	if w.patch == nil {
		// A mutation is usually a handful of operations: one allocation
		// instead of growing from one.
		w.patch = make([]jsonpatch.Operation, 0, 8)
	}
	w.patch = append(w.patch, jsonpatch.NewOperation(op, string(w.path), value))
}

// encode encodes v as encoding/json encodes it in place: an addressable value
// through its address, so methods on the pointer (MarshalJSON) apply as they
// do inside the object.
func encode(v reflect.Value) ([]byte, error) {
	if v.CanAddr() {
		return json.Marshal(v.Addr().Interface())
	}
	return json.Marshal(v.Interface())
}

// shape is how the walk treats a type.
type shape int

const (
	shapeEncoded   shape = iota // compared by its encoding
	shapeScalar                 // string, bool or number, compared by value
	shapeStruct                 // compared field by field
	shapePointer                // compared by what it points to
	shapeStringMap              // map of strings to strings, compared key by key
	shapeBytesMap               // map of strings to []byte, compared key by key
	shapeBytes                  // []byte, a base64 string
	shapeSlice                  // compared element by element
)

type typeInfo struct {
	shape shape
	// fields of a struct, in encoding order.
	fields []fieldInfo
	// comparable is true when reflect.Value.Equal can tell two values of the
	// type equal (it holds no slice, map, func or interface), so equal values
	// of a shapeEncoded type need not be encoded.
	comparable bool
}

// fieldInfo is a struct field as encoding/json encodes it.
type fieldInfo struct {
	index       []int  // through embedded structs
	pointerName []byte // the member name escaped for a JSON pointer
	omitEmpty   bool
	omitZero    bool
	isZero      func(reflect.Value) bool // the type's IsZero, with omitzero
	quoted      bool                     // the ",string" option
}

func (f *fieldInfo) value(v reflect.Value) reflect.Value {
	for _, i := range f.index {
		v = v.Field(i)
	}
	return v
}

// present reports whether encoding/json writes the field, as its
// structEncoder decides.
func (f *fieldInfo) present(v reflect.Value) bool {
	if f.omitEmpty && isEmptyValue(v) {
		return false
	}
	if f.omitZero {
		if f.isZero != nil {
			return !f.isZero(v)
		}
		return !v.IsZero()
	}
	return true
}

// isEmptyValue is encoding/json's test for omitempty.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

var (
	typeInfos       sync.Map // reflect.Type → *typeInfo
	stringMapType   = reflect.TypeFor[map[string]string]()
	bytesMapType    = reflect.TypeFor[map[string][]byte]()
	marshalerType   = reflect.TypeFor[json.Marshaler]()
	textMarshalType = reflect.TypeFor[encoding.TextMarshaler]()
	isZeroerType    = reflect.TypeFor[interface{ IsZero() bool }]()
)

func typeInfoOf(t reflect.Type) *typeInfo {
	if info, ok := typeInfos.Load(t); ok {
		return info.(*typeInfo)
	}
	info, _ := typeInfos.LoadOrStore(t, newTypeInfo(t))
	return info.(*typeInfo)
}

func newTypeInfo(t reflect.Type) *typeInfo {
	info := &typeInfo{comparable: equalComparable(t)}
	if hasOwnEncoding(t) {
		return info
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		info.shape = shapeScalar
	case reflect.Pointer:
		info.shape = shapePointer
	case reflect.Map:
		// Only maps whose key and element types are exactly these (or
		// named maps of them) are walked: convertible, without methods.
		switch {
		case t.ConvertibleTo(stringMapType) && !hasOwnEncoding(t.Key()) && !hasOwnEncoding(t.Elem()):
			info.shape = shapeStringMap
		case t.ConvertibleTo(bytesMapType) && !hasOwnEncoding(t.Key()) && !hasOwnEncoding(t.Elem()):
			info.shape = shapeBytesMap
		}
	case reflect.Slice:
		switch {
		case t.Elem().Kind() == reflect.Uint8 && !hasOwnEncoding(t.Elem()) && !hasOwnEncoding(reflect.PointerTo(t.Elem())):
			info.shape = shapeBytes
		case t.Elem().Kind() != reflect.Uint8:
			info.shape = shapeSlice
		}
	case reflect.Struct:
		if fields, ok := structFields(t); ok {
			info.shape, info.fields = shapeStruct, fields
		}
	}
	return info
}

// hasOwnEncoding reports whether encoding/json encodes t (or *t, inside an
// addressable value) through a method rather than by its shape.
func hasOwnEncoding(t reflect.Type) bool {
	for _, m := range []reflect.Type{marshalerType, textMarshalType} {
		if t.Implements(m) || (t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(m)) {
			return true
		}
	}
	return false
}

// equalComparable reports whether reflect.Value.Equal compares values of t
// without panicking and equal values encode alike.
func equalComparable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			if !equalComparable(t.Field(i).Type) {
				return false
			}
		}
		return true
	case reflect.Array:
		return equalComparable(t.Elem())
	case reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return false
	case reflect.Pointer:
		// Equal pointers point to the same value.
		return true
	}
	return true
}

// structFields lists t's fields as encoding/json encodes them. It models
// named fields and embedded structs without a JSON name (such as TypeMeta),
// and declines (false) what it does not: embedded pointers, embedded
// non-structs and names that collide, whose encoding depends on Go's rules
// for promoted fields.
func structFields(t reflect.Type) ([]fieldInfo, bool) {
	var fields []fieldInfo
	seen := map[string]bool{}
	var walk func(t reflect.Type, index []int) bool
	walk = func(t reflect.Type, index []int) bool {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			at := append(slices.Clip(index), i)
			if sf.Anonymous && !sf.IsExported() && name != "" {
				return false // encoding/json's handling of these is its own
			}
			if sf.Anonymous && name == "" {
				if sf.Type.Kind() != reflect.Struct {
					return false
				}
				if !walk(sf.Type, at) {
					return false
				}
				continue
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" || !validTagName(name) {
				name = sf.Name
			}
			if seen[name] {
				return false
			}
			seen[name] = true
			f := fieldInfo{
				index:       at,
				pointerName: appendPointerName(nil, name),
				omitEmpty:   hasOption(opts, "omitempty"),
				omitZero:    hasOption(opts, "omitzero"),
				quoted:      hasOption(opts, "string") && quotable(sf.Type),
			}
			if f.omitZero {
				f.isZero = isZeroFunc(sf.Type)
			}
			fields = append(fields, f)
		}
		return true
	}
	if !walk(t, nil) {
		return nil, false
	}
	return fields, true
}

// validTagName is encoding/json's test of a name in a json tag.
func validTagName(s string) bool {
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c > 0x7f):
			return false
		}
	}
	return true
}

func hasOption(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}

// quotable reports whether the ",string" option applies to t, as in
// encoding/json: strings, booleans and numbers, through one pointer.
func quotable(t reflect.Type) bool {
	if t.Name() == "" && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// isZeroFunc is encoding/json's omitzero test through a type's own IsZero
// method, or nil when it has none.
func isZeroFunc(t reflect.Type) func(reflect.Value) bool {
	type isZeroer interface{ IsZero() bool }
	switch {
	case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() || (v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil()) || v.Interface().(isZeroer).IsZero()
		}
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.IsNil() || v.Interface().(isZeroer).IsZero() }
	case t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.Interface().(isZeroer).IsZero() }
	case reflect.PointerTo(t).Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				c := reflect.New(v.Type()).Elem()
				c.Set(v)
				v = c
			}
			return v.Addr().Interface().(isZeroer).IsZero()
		}
	}
	return nil
}

// appendPointerName appends a member name escaped for a JSON pointer
// (RFC 6901): "~" as "~0" and "/" as "~1".
func appendPointerName(dst []byte, name string) []byte {
	for i := range len(name) {
		switch c := name[i]; c {
		case '~':
			dst = append(dst, '~', '0')
		case '/':
			dst = append(dst, '~', '1')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
