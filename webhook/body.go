package webhook

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"time"
)

// DefaultBodyTimeout bounds the time to read a request body. The API server
// gives up on a webhook after at most 30 seconds (devgate's configurations say
// 5), so a body still arriving later only holds a goroutine and a connection.
const DefaultBodyTimeout = 10 * time.Second

// readBody reads at most MaxRequestBytes within the body timeout. Without a
// Content-Length (chunked), reading stops at the limit: the rest is never read
// and the connection is closed after the answer.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	timeout := s.BodyTimeout
	if timeout == 0 {
		timeout = DefaultBodyTimeout
	}
	// Not every ResponseWriter supports deadlines (httptest's recorder does
	// not); the real server does, over HTTP/1.1 and HTTP/2.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(timeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err != nil {
		// The rest of the body is not worth waiting for: close the connection
		// after the answer instead of draining it for the next request.
		w.Header().Set("Connection", "close")
		return nil, err
	}
	_ = rc.SetReadDeadline(time.Time{})
	return body, nil
}

// isJSON accepts application/json with parameters such as a charset.
func isJSON(contentType string) bool {
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
