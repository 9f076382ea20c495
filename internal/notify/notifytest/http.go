package notifytest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Request is one request an HTTP receiver got.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
	User, Pass   string // basic auth, if sent
}

// Receiver is a real HTTP server on loopback that records requests and answers with the
// status Status returns (200 by default).
type Receiver struct {
	URL     string
	Arrived chan Request
	// Status decides the answer to the n-th request (1-based).
	Status func(n int) int

	mu   sync.Mutex
	reqs []Request
}

// StartReceiver starts a receiver; it stops when the test ends.
func StartReceiver(t testing.TB) *Receiver {
	rc := &Receiver{Arrived: make(chan Request, 1000)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u, p, _ := r.BasicAuth()
		req := Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body, User: u, Pass: p}
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, req)
		n := len(rc.reqs)
		status := 200
		if rc.Status != nil {
			status = rc.Status(n)
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
		if status/100 == 2 {
			w.Write([]byte(`{"sid":"SM0000","status":"queued"}`))
			select {
			case rc.Arrived <- req:
			default:
			}
		}
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

// Requests returns every request so far, including refused ones.
func (rc *Receiver) Requests() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Request(nil), rc.reqs...)
}
