// Package pooledjson decodes JSON documents with decoders kept between
// documents. json.Unmarshal (and sigs.k8s.io/json's) builds a new decoder
// state, parse stack and field stack for every document, a third of the
// allocations of decoding a small AdmissionReview or object; a Decoder keeps
// them. Results and errors are exactly Unmarshal's: any document a pooled
// decoder does not take cleanly is handed to Unmarshal.
package pooledjson

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"

	sigsjson "sigs.k8s.io/json"
)

// Decoder is what the decoders of encoding/json and sigs.k8s.io/json have in
// common.
type Decoder interface {
	Decode(v any) error
	InputOffset() int64
}

// Pool keeps decoders of one kind between documents.
type Pool struct {
	pool      sync.Pool
	unmarshal func(data []byte, v any) error
}

type pooledDecoder struct {
	input *bytes.Reader
	dec   Decoder
}

// New returns a pool of the decoders newDecoder makes, whose results and
// errors are those of unmarshal.
func New(newDecoder func(io.Reader) Decoder, unmarshal func([]byte, any) error) *Pool {
	p := &Pool{unmarshal: unmarshal}
	p.pool.New = func() any {
		input := bytes.NewReader(nil)
		return &pooledDecoder{input: input, dec: newDecoder(input)}
	}
	return p
}

var (
	// Standard decodes as encoding/json's Unmarshal does (AdmissionReviews).
	Standard = New(func(r io.Reader) Decoder { return json.NewDecoder(r) }, json.Unmarshal)
	// CaseSensitive decodes as sigs.k8s.io/json's
	// UnmarshalCaseSensitivePreserveInts does: Kubernetes objects, as the API
	// server decodes them.
	CaseSensitive = New(
		func(r io.Reader) Decoder { return sigsjson.NewDecoderCaseSensitivePreserveInts(r) },
		sigsjson.UnmarshalCaseSensitivePreserveInts)
)

// MaxPooled bounds the documents a pooled decoder reads. A Decoder scans each
// byte a little slower than Unmarshal, which validates in a separate tighter
// loop (about 5 instructions a byte more, measured with Go 1.26), but it
// spares Unmarshal's ten or so allocations a document: past about 2 KiB the
// slower scan costs more than they do. It also keeps a copy of its largest
// input in its buffer, which this bounds too.
const MaxPooled = 2 << 10

// Unmarshal decodes data into v as the pool's Unmarshal does, and fails as
// it does. After an error, v holds whatever was decoded before it.
func (p *Pool) Unmarshal(data []byte, v any) error {
	if len(data) <= MaxPooled && p.decodePooled(data, v) {
		return nil
	}
	// A pooled decoder fails only on input Unmarshal rejects too; Unmarshal
	// words the error.
	return p.unmarshal(data, v)
}

// decodePooled decodes data, one JSON value and nothing but white space
// after it, with a pooled decoder. It reports false on any error.
func (p *Pool) decodePooled(data []byte, v any) bool {
	// The API server ends a review with a newline. Without it, the value ends
	// the input: the decoder keeps nothing buffered for the next document.
	data = bytes.TrimRight(data, " \t\r\n")
	pd := p.pool.Get().(*pooledDecoder)
	pd.input.Reset(data)
	start := pd.dec.InputOffset()
	if err := pd.dec.Decode(v); err != nil {
		return false // a decoder that failed keeps its error: dropped
	}
	// Whatever follows the value is trailing data, an error for Unmarshal;
	// and a decoder holding unread input would start the next document there.
	if pd.dec.InputOffset()-start != int64(len(data)) {
		return false
	}
	pd.input.Reset(nil)
	p.pool.Put(pd)
	return true
}
