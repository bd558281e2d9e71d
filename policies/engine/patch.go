package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
)

// diffRaw appends to patch the operations that turn a into b at path, for
// the values createPatch compares by their encodings. Both come from
// encoding/json, whose encoding is canonical and compact: equal values have
// equal bytes.
func diffRaw(a, b json.RawMessage, path string, patch []jsonpatch.Operation) ([]jsonpatch.Operation, error) {
	switch {
	case a[0] == '{' && b[0] == '{':
		return diffObjects(a, b, path, patch)
	case a[0] == '[' && b[0] == '[':
		return diffArrays(a, b, path, patch)
	}
	// Scalars, or a change of type: replaced whole, as jsonpatch does.
	v, err := decodeValue(b)
	if err != nil {
		return nil, err
	}
	return append(patch, jsonpatch.NewOperation("replace", path, v)), nil
}

func diffObjects(a, b json.RawMessage, path string, patch []jsonpatch.Operation) ([]jsonpatch.Operation, error) {
	var abuf, bbuf [16]member
	am, err := split(a, abuf[:0])
	if err != nil {
		return nil, err
	}
	bm, err := split(b, bbuf[:0])
	if err != nil {
		return nil, err
	}
	// Objects are small and come in the same key order on both sides (struct
	// field order, sorted map keys), so a search from the last match is
	// nearly always one step; a map would cost more than it saves.
	var seenBuf [16]bool
	seen := seenBuf[:]
	if len(am) > len(seen) {
		seen = make([]bool, len(am))
	}
	next := 0
	for _, bv := range bm {
		k := find(am, bv.key, next)
		switch {
		case k < 0:
			v, err := decodeValue(bv.val)
			if err != nil {
				return nil, err
			}
			patch = append(patch, jsonpatch.NewOperation("add", memberPath(path, bv.key), v))
			continue
		case !bytes.Equal(am[k].val, bv.val):
			if patch, err = diffRaw(am[k].val, bv.val, memberPath(path, bv.key), patch); err != nil {
				return nil, err
			}
		}
		seen[k] = true
		next = k + 1
	}
	for k, av := range am {
		if !seen[k] {
			patch = append(patch, jsonpatch.NewOperation("remove", memberPath(path, av.key), nil))
		}
	}
	return patch, nil
}

// diffArrays follows jsonpatch: remove the surplus from the end, add the new
// tail, then diff the common prefix element by element.
func diffArrays(a, b json.RawMessage, path string, patch []jsonpatch.Operation) ([]jsonpatch.Operation, error) {
	var abuf, bbuf [16]member
	as, err := split(a, abuf[:0])
	if err != nil {
		return nil, err
	}
	bs, err := split(b, bbuf[:0])
	if err != nil {
		return nil, err
	}
	n := min(len(as), len(bs))
	for i := len(as) - 1; i >= n; i-- {
		patch = append(patch, jsonpatch.NewOperation("remove", path+"/"+strconv.Itoa(i), nil))
	}
	for i := n; i < len(bs); i++ {
		v, err := decodeValue(bs[i].val)
		if err != nil {
			return nil, err
		}
		patch = append(patch, jsonpatch.NewOperation("add", path+"/"+strconv.Itoa(i), v))
	}
	for i := range n {
		if !bytes.Equal(as[i].val, bs[i].val) {
			if patch, err = diffRaw(as[i].val, bs[i].val, path+"/"+strconv.Itoa(i), patch); err != nil {
				return nil, err
			}
		}
	}
	return patch, nil
}

// member is an object member (its key still quoted-form, escapes and all) or
// an array element (no key), both slices of the encoded document.
type member struct{ key, val []byte }

var errMalformed = errors.New("malformed JSON from the encoder")

// split appends the members of an encoded object, or the elements of an
// encoded array, to ms without decoding or copying them.
func split(doc []byte, ms []member) ([]member, error) {
	isObject := doc[0] == '{'
	i := 1
	for i < len(doc) && doc[i] != '}' && doc[i] != ']' {
		if doc[i] == ',' {
			i++
		}
		var m member
		if isObject {
			end, err := skip(doc, i)
			if err != nil || end >= len(doc) || doc[end] != ':' {
				return nil, errMalformed
			}
			m.key = doc[i+1 : end-1]
			i = end + 1
		}
		end, err := skip(doc, i)
		if err != nil {
			return nil, err
		}
		m.val = doc[i:end]
		ms = append(ms, m)
		i = end
	}
	return ms, nil
}

// skip returns the end of the value that starts at doc[i].
func skip(doc []byte, i int) (int, error) {
	if i >= len(doc) {
		return 0, errMalformed
	}
	switch doc[i] {
	case '"':
		for j := i + 1; j < len(doc); j++ {
			switch doc[j] {
			case '\\':
				j++
			case '"':
				return j + 1, nil
			}
		}
	case '{', '[':
		depth := 0
		for j := i; j < len(doc); j++ {
			switch doc[j] {
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, nil
				}
			case '"':
				end, err := skip(doc, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			}
		}
	default:
		j := i
		for j < len(doc) && doc[j] != ',' && doc[j] != '}' && doc[j] != ']' {
			j++
		}
		return j, nil
	}
	return 0, errMalformed
}

// find returns the index of the member with key in ms, searching from
// start first, or -1.
func find(ms []member, key []byte, start int) int {
	for k := range ms {
		if i := (start + k) % len(ms); string(ms[i].key) == string(key) {
			return i
		}
	}
	return -1
}

// memberPath is path extended by an encoded member name, unescaped and then
// escaped for a JSON pointer (RFC 6901).
func memberPath(path string, key []byte) string {
	name := string(key)
	if bytes.IndexByte(key, '\\') >= 0 {
		quoted := make([]byte, 0, len(key)+2)
		quoted = append(append(append(quoted, '"'), key...), '"')
		_ = json.Unmarshal(quoted, &name)
	}
	return path + "/" + escapeKey(name)
}

// decodeValue decodes a patch value as jsonpatch does, numbers as json.Number
// so they are written back exactly as they came. Strings, the usual case,
// skip the generic decoder.
func decodeValue(raw json.RawMessage) (any, error) {
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case 't', 'f', 'n':
		var v any
		err := json.Unmarshal(raw, &v)
		return v, err
	case '{', '[':
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var v any
		err := d.Decode(&v)
		return v, err
	}
	return json.Number(raw), nil
}

// escapeKey escapes a member name for a JSON pointer (RFC 6901).
var escapeKey = strings.NewReplacer("~", "~0", "/", "~1").Replace
