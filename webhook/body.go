package webhook

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"sync"
	"time"
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
