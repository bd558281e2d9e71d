package webhook

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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

// largeBodyBuffers recycles the buffers of large bodies (declared over
// LargeReviewBytes), which the large-body budget bounds: a client sending
// large objects would otherwise have every review allocate its body anew,
// and the garbage collector run for it. A sync.Pool drops what two
// collections in a row find unused, so after such a client stops the
// buffers do not stay.
var largeBodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getLargeBodyBuffer() *bytes.Buffer { return largeBodyBuffers.Get().(*bytes.Buffer) }

func putLargeBodyBuffer(buf *bytes.Buffer) {
	buf.Reset()
	largeBodyBuffers.Put(buf)
}

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
// never read and the connection is closed after the answer. A body over
// LargeReviewBytes takes its bytes from lim's budget of large bodies, all at
// once when its length is declared, as it is read otherwise; it returns the
// bytes it took (for lim.unreserve), and errLargeBodies when the budget has
// no room: the body is then left unread, never waited for.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, buf *bytes.Buffer, lim *Limiter) (reserved int64, err error) {
	timeout := s.BodyTimeout
	if timeout == 0 {
		timeout = DefaultBodyTimeout
	}
	fail := func(err error) (int64, error) {
		// The rest of the body is not worth waiting for: close the connection
		// after the answer instead of draining it for the next request.
		w.Header().Set("Connection", "close")
		return reserved, err
	}
	if r.ContentLength > LargeReviewBytes && r.ContentLength <= MaxRequestBytes {
		if !lim.reserve(r.ContentLength) {
			return fail(errLargeBodies)
		}
		reserved = r.ContentLength
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
	src := http.MaxBytesReader(w, r.Body, MaxRequestBytes)
	if reserved > 0 {
		// The budget holds the declared length: so may the buffer, rather
		// than double its way up to it.
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
		if _, err := buf.ReadFrom(src); err != nil {
			return fail(err)
		}
		return reserved, s.bodyDone(rc, deadline)
	}
	// A declared small body, or one of unknown length: LargeReviewBytes at a
	// time, each chunk past the first taken from the budget before it is read.
	for chunk := 0; ; chunk++ {
		if chunk > 0 {
			if !lim.reserve(LargeReviewBytes) {
				return fail(errLargeBodies)
			}
			reserved += LargeReviewBytes
		}
		n, err := buf.ReadFrom(io.LimitReader(src, LargeReviewBytes))
		if err != nil {
			return fail(err)
		}
		if n < LargeReviewBytes {
			return reserved, s.bodyDone(rc, deadline)
		}
	}
}

// bodyDone clears the read deadline of a body read in full.
func (s *Server) bodyDone(rc *http.ResponseController, deadline bool) error {
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
