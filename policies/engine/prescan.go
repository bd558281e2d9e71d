package engine

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// MaxObjectValues bounds the values of an object's JSON: the elements of
// all its arrays and the members of all its objects, at any depth. It is
// checked on the raw bytes, before the object is decoded, since decoding is
// what an object of 3 MiB costs most (a tenth of a second and 10 times its
// size for the 140,000-rule Ingress): beyond it the object is denied
// without being decoded. The largest objects the other caps admit (an Ingress
// of 1000 rules, 1000 paths, 1000 TLS entries and 500 annotations) hold about
// 26,000 values; real objects, a few hundred.
const MaxObjectValues = 65536

// scanned is what prescan learns of an object without decoding it.
type scanned struct {
	// values counts the array elements and object members.
	values int
	// namespace is the token of metadata.namespace when it is a string, as
	// it is in the document, quotes and escapes and all (see namespaceOf).
	namespace        []byte
	escapedNamespace bool
}

// namespaceOf is s.namespace unescaped, or "" if there is none.
func (s *scanned) namespaceOf() string {
	if len(s.namespace) < 2 {
		return ""
	}
	if !s.escapedNamespace {
		return string(s.namespace[1 : len(s.namespace)-1])
	}
	var v string
	if json.Unmarshal(s.namespace, &v) != nil {
		return ""
	}
	return v
}

// maxScanDepth is the nesting at which prescan gives up; the decoder refuses
// deeper documents anyway (10000).
const maxScanDepth = 10000

// prescan counts the values of raw, a JSON object, in one pass that
// allocates nothing for an object of usual depth (and without escaped keys at
// the top). ok is false for a document it cannot read: the decoder then
// reports what is wrong with it.
func prescan(raw []byte) (s scanned, ok bool) {
	type frame struct {
		array bool
		key   []byte // in an object: the key of the member being read, unescaped
	}
	var buf [32]frame
	stack := buf[:0]
	expectKey := false
	i, n := 0, len(raw)
	// readString returns the end of the string starting at raw[i] == '"'
	// and whether it holds escapes.
	readString := func(i int) (end int, escaped bool) {
		for j := i + 1; j < n; j++ {
			switch raw[j] {
			case '\\':
				escaped = true
				j++
			case '"':
				return j + 1, escaped
			}
		}
		return -1, false
	}
	// text is the string token tok without quotes, unescaped (which
	// allocates) when it holds escapes.
	text := func(tok []byte, escaped bool) ([]byte, bool) {
		if !escaped {
			return tok[1 : len(tok)-1], true
		}
		var v string
		if json.Unmarshal(tok, &v) != nil {
			return nil, false
		}
		return []byte(v), true
	}
	valueStarts := func() {
		if len(stack) > 0 && stack[len(stack)-1].array {
			s.values++
		}
	}
	for i < n {
		c := raw[i]
		switch c {
		case ' ', '\t', '\n', '\r', ':':
			i++
		case ',':
			if len(stack) == 0 {
				return s, false
			}
			expectKey = !stack[len(stack)-1].array
			i++
		case '{', '[':
			if len(stack) == maxScanDepth || (len(stack) == 0 && c != '{') {
				return s, false
			}
			valueStarts()
			stack = append(stack, frame{array: c == '['})
			expectKey = c == '{'
			i++
		case '}', ']':
			if len(stack) == 0 || stack[len(stack)-1].array != (c == ']') {
				return s, false
			}
			stack = stack[:len(stack)-1]
			expectKey = false
			i++
			if len(stack) == 0 {
				// The end of the document: only white space may follow.
				for ; i < n; i++ {
					if b := raw[i]; b != ' ' && b != '\t' && b != '\n' && b != '\r' {
						return s, false
					}
				}
				return s, true
			}
		case '"':
			end, escaped := readString(i)
			if end < 0 || len(stack) == 0 {
				return s, false
			}
			top := &stack[len(stack)-1]
			switch {
			case expectKey:
				s.values++
				expectKey = false
				// Only the keys of the top object and of metadata are kept:
				// they locate metadata.namespace.
				if len(stack) == 1 || (len(stack) == 2 && string(stack[0].key) == "metadata") {
					k, ok := text(raw[i:end], escaped)
					if !ok {
						return s, false
					}
					top.key = k
				}
			default:
				valueStarts()
				if len(stack) == 2 && !top.array && string(stack[0].key) == "metadata" && string(top.key) == "namespace" {
					s.namespace, s.escapedNamespace = raw[i:end], escaped
				}
			}
			i = end
		default:
			// A number or a literal: up to the next delimiter.
			if len(stack) == 0 {
				return s, false
			}
			valueStarts()
			for i < n {
				b := raw[i]
				if b == ',' || b == '}' || b == ']' || b == ' ' || b == '\t' || b == '\n' || b == '\r' {
					break
				}
				i++
			}
		}
	}
	return s, false // the document ended inside a value
}

// tooManyValues denies an object of n values beyond limit.
func tooManyValues(n, limit int) field.ErrorList {
	e := field.TooMany(field.NewPath(""), n, limit)
	e.Detail = fmt.Sprintf("the object's JSON holds %d values (array elements and object members): %s%s", n, e.Detail,
		capDetail("values per object, checked before the object is decoded"))
	return field.ErrorList{e}
}
