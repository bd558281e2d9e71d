package webhook

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// countingReader hands out n spaces and counts how many were read.
type countingReader struct {
	left, read int
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.left)
	copy(p, bytes.Repeat([]byte(" "), n))
	c.left -= n
	c.read += n
	return n, nil
}

// TestTenMiBBodyIsRejectedEarly sends 10 MiB with and without a
// Content-Length: 413 either way, and the body is read no further than the
// limit (not at all when the length is declared).
func TestTenMiBBodyIsRejectedEarly(t *testing.T) {
	const size = 10 << 20
	for _, declared := range []bool{true, false} {
		body := &countingReader{left: size}
		r := httptest.NewRequest(http.MethodPost, "/validate", body)
		r.Header.Set("Content-Type", "application/json")
		r.ContentLength = -1 // chunked: the length is unknown
		if declared {
			r.ContentLength = size
		}
		rec := httptest.NewRecorder()
		newTestServer(false).ServeHTTP(rec, r)
		if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "exceeds the limit") {
			t.Fatalf("declared=%v: status %d: %s", declared, rec.Code, rec.Body)
		}
		limit := MaxRequestBytes + 1
		if declared {
			limit = 0
		}
		if body.read > limit {
			t.Fatalf("declared=%v: read %d bytes of the body, want at most %d", declared, body.read, limit)
		}
	}
}

// TestStalledBodyTimesOut opens a real connection, announces a body and
// stops sending: the server answers 408 instead of waiting forever.
func TestStalledBodyTimesOut(t *testing.T) {
	s := newTestServer(false)
	s.BodyTimeout = 200 * time.Millisecond
	srv := httptest.NewServer(s)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The test's own bound: far above the body timeout, so only a hang hits it.
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"apiVersion\""); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status = %d, want 408", resp.StatusCode)
	}
}
