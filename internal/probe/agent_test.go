package probe

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/storetest"
)

// agentServer is the agent's side of nines: assignments, and a results endpoint that can be
// made to fail.
type agentServer struct {
	mu       sync.Mutex
	results  []Result
	failWith atomic.Int32 // status to answer results with; 0 for 200
	tokenOK  bool
}

func (s *agentServer) handler(tcpAddr string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/probe/assignments", func(w http.ResponseWriter, r *http.Request) {
		if !s.tokenOK {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"monitors":[{"id":"db","type":"tcp","address":"`+tcpAddr+`","interval_ns":1000000000,"timeout_ns":500000000}]}`)
	})
	mux.HandleFunc("POST /api/v1/probe/results", func(w http.ResponseWriter, r *http.Request) {
		if code := s.failWith.Load(); code != 0 {
			w.WriteHeader(int(code))
			return
		}
		var in struct {
			Location string   `json:"location"`
			Results  []Result `json:"results"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		s.mu.Lock()
		s.results = append(s.results, in.Results...)
		s.mu.Unlock()
	})
	return mux
}

func (s *agentServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.results)
}

func TestAnAgentKeepsResultsWhileTheServerIsAwayAndDropsRejectedOnes(t *testing.T) {
	s := &agentServer{tokenOK: true}
	srv := httptest.NewServer(s.handler(tcpListener(t)))
	defer srv.Close()
	s.failWith.Store(http.StatusServiceUnavailable)
	a := &Agent{Server: srv.URL, Token: "nines_x", Location: "eu-west", Refresh: time.Hour, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	outage := time.Now()
	time.Sleep(2500 * time.Millisecond) // two or three checks while the server answers 503
	s.failWith.Store(0)
	storetest.Eventually(t, 5*time.Second, "the buffered results to arrive", func() bool { return s.count() >= 3 })
	s.mu.Lock()
	first := s.results[0]
	s.mu.Unlock()
	if first.At.After(outage.Add(2500*time.Millisecond)) || first.MonitorID != "db" || !first.OK {
		t.Fatalf("first result %+v: want an up check of db made during the outage", first)
	}

	// A batch the server refuses (400) is dropped, not retried forever.
	rejFrom := time.Now()
	s.failWith.Store(http.StatusBadRequest)
	time.Sleep(3500 * time.Millisecond)
	s.failWith.Store(0)
	rejTo := time.Now()
	before := s.count()
	storetest.Eventually(t, 5*time.Second, "new results after the rejection", func() bool { return s.count() > before })
	time.Sleep(1500 * time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.results {
		if r.At.After(rejFrom.Add(1100*time.Millisecond)) && r.At.Before(rejTo.Add(-1100*time.Millisecond)) {
			t.Fatalf("a result of %s, checked while the server refused batches, arrived later: rejected batches are retried", r.At)
		}
	}
}

func TestAnAgentWithABadTokenStopsAtOnce(t *testing.T) {
	s := &agentServer{}
	srv := httptest.NewServer(s.handler("127.0.0.1:1"))
	defer srv.Close()
	a := &Agent{Server: srv.URL, Token: "nines_bad", Location: "eu-west", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := a.Run(context.Background()); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("got %v, want ErrUnauthorized", err)
	}
}

// TestAnAgentDropsResultsTooOldForTheServer: the server refuses a batch holding a result more
// than a day old, and a refused batch is dropped whole. An agent that kept results through a
// long outage sends those the server takes, and drops (and says so) those it would refuse.
func TestAnAgentDropsResultsTooOldForTheServer(t *testing.T) {
	s := &agentServer{tokenOK: true}
	srv := httptest.NewServer(s.handler(tcpListener(t)))
	defer srv.Close()
	var log logLines
	a := &Agent{Server: srv.URL, Token: "nines_x", Location: "eu-west", Client: srv.Client(), Log: slog.New(slog.NewTextHandler(&log, nil))}
	now := time.Now()
	for _, age := range []time.Duration{25 * time.Hour, ResultMaxAge, time.Hour, time.Second} {
		a.enqueue(context.Background(), Result{MonitorID: "db", Location: "eu-west", At: now.Add(-age), OK: true})
	}
	a.flush(context.Background())
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.results) != 2 || s.results[0].At.Before(now.Add(-2*time.Hour)) {
		t.Errorf("the server got %d results (%+v), want the two of the last hour", len(s.results), s.results)
	}
	if !log.has("results dropped: older than the server takes") || !log.has("count=2") {
		t.Errorf("the agent does not say it dropped two results:\n%s", log.String())
	}
}

type logLines struct {
	mu sync.Mutex
	b  []byte
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *logLines) String() string { l.mu.Lock(); defer l.mu.Unlock(); return string(l.b) }

func (l *logLines) has(s string) bool { return strings.Contains(l.String(), s) }
