package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"sync"
	"time"

	sigsjson "sigs.k8s.io/json"
)

// DefaultBodyTimeout bounds the time to read a request body. The API server
// gives up on a webhook after at most 30 seconds (devgate's configurations say
// 5), so a body still arriving later only holds a goroutine and a connection.
const DefaultBodyTimeout = 10 * time.Second

// maxPooledBody bounds the body buffers kept for the next request: reviews
// are a few KiB, and a rare multi-MiB one must not pin that much in the pool.
const maxPooledBody = 64 << 10

// bodyBuffers recycles request body buffers: reading each body into a fresh
// slice cost several allocations and copies as the slice grew.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBodyBuffer() *bytes.Buffer { return bodyBuffers.Get().(*bytes.Buffer) }

// putBodyBuffer returns buf to the pool. Nothing may use its bytes afterwards.
func putBodyBuffer(buf *bytes.Buffer) {
	if buf.Cap() > maxPooledBody {
		return
	}
	buf.Reset()
	bodyBuffers.Put(buf)
}

// readBody reads at most MaxRequestBytes into buf within the body timeout.
// Without a Content-Length (chunked), reading stops at the limit: the rest is
// never read and the connection is closed after the answer.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer) error {
	timeout := s.BodyTimeout
	if timeout == 0 {
		timeout = DefaultBodyTimeout
	}
	// Not every ResponseWriter supports deadlines (httptest's recorder does
	// not); the real server does, over HTTP/1.1 and HTTP/2.
	rc := http.NewResponseController(w)
	deadline := rc.SetReadDeadline(time.Now().Add(timeout)) == nil
	if r.ContentLength > 0 && r.ContentLength <= maxPooledBody {
		// Room for the declared body and the read that sees its end, so the
		// buffer does not grow on the way. A larger declared length is not
		// trusted with memory before its bytes arrive.
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxRequestBytes)); err != nil {
		// The rest of the body is not worth waiting for: close the connection
		// after the answer instead of draining it for the next request.
		w.Header().Set("Connection", "close")
		return err
	}
	if deadline {
		_ = rc.SetReadDeadline(time.Time{})
	}
	return nil
}

// jsonDecoder is what the decoders of encoding/json and sigs.k8s.io/json
// have in common.
type jsonDecoder interface {
	Decode(v any) error
	InputOffset() int64
}

// decoderPool keeps JSON decoders between requests. Unmarshal builds a new
// decoder state, parse stack and field stack for every document, a third of
// the allocations of decoding a small review; a Decoder keeps them.
type decoderPool struct {
	pool      sync.Pool
	unmarshal func(data []byte, v any) error
}

type pooledDecoder struct {
	input *bytes.Reader
	dec   jsonDecoder
}

func newDecoderPool(newDecoder func(io.Reader) jsonDecoder, unmarshal func([]byte, any) error) *decoderPool {
	p := &decoderPool{unmarshal: unmarshal}
	p.pool.New = func() any {
		input := bytes.NewReader(nil)
		return &pooledDecoder{input: input, dec: newDecoder(input)}
	}
	return p
}

var (
	// reviewDecoders decode AdmissionReviews as json.Unmarshal does.
	reviewDecoders = newDecoderPool(
		func(r io.Reader) jsonDecoder { return json.NewDecoder(r) },
		json.Unmarshal)
	// objectDecoders decode objects case-sensitively, as the API server and
	// the engine do.
	objectDecoders = newDecoderPool(
		func(r io.Reader) jsonDecoder { return sigsjson.NewDecoderCaseSensitivePreserveInts(r) },
		sigsjson.UnmarshalCaseSensitivePreserveInts)
)

// maxPooledDecode bounds the documents a pooled decoder reads. A Decoder
// scans each byte a little slower than Unmarshal, which validates in a
// separate tighter loop (about 5 instructions a byte more, measured with Go
// 1.26), but it spares Unmarshal's ten or so allocations a document: past
// about 2 KiB the slower scan costs more than they do.
const maxPooledDecode = 2 << 10

// decode decodes data into v as the pool's Unmarshal does, and fails as it
// does. After an error, v holds whatever was decoded before it.
func (p *decoderPool) decode(data []byte, v any) error {
	if len(data) <= maxPooledDecode && p.decodePooled(data, v) {
		return nil
	}
	// A pooled decoder fails only on input Unmarshal rejects too; Unmarshal
	// words the error.
	return p.unmarshal(data, v)
}

// decodePooled decodes data, one JSON value and nothing but white space
// after it, with a pooled decoder. It reports false on any error.
func (p *decoderPool) decodePooled(data []byte, v any) bool {
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

// isJSON accepts application/json with parameters such as a charset. The
// plain type, which the API server sends, is taken without parsing.
func isJSON(contentType string) bool {
	if contentType == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// bodyError maps a failure to read the body to an HTTP status and message.
func bodyError(err error) (int, string) {
	var tooLarge *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds the limit of %d bytes", MaxRequestBytes)
	case errors.As(err, &netErr) && netErr.Timeout():
		return http.StatusRequestTimeout, "timed out reading the request body"
	default:
		return http.StatusBadRequest, "cannot read the request body: " + err.Error()
	}
}
