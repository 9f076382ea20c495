package probe

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
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

// An agent that starts while nines is down retries often enough to be heard again within the
// shortest grace nines allows (10 s) of nines coming back: its waits between tries never pass
// 5 s, however long the outage, so an outage of nines pages no agent.
func TestAnAgentRetriesWithinTheShortestGraceThroughALongOutage(t *testing.T) {
	var logs safeBuffer
	c := clock.NewFake(time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC))
	a := &Agent{Server: "http://127.0.0.1:1", Token: "nines_x", Location: "eu-west", Clock: c,
		Client: &http.Client{Timeout: time.Second}, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	for i := 0; i < 400 && strings.Count(logs.String(), "retry_in=") < 12; i++ {
		time.Sleep(5 * time.Millisecond)
		c.Advance(time.Second)
	}
	cancel()
	<-done
	waits := regexp.MustCompile(`retry_in=(\S+)`).FindAllStringSubmatch(logs.String(), -1)
	if len(waits) < 12 {
		t.Fatalf("%d tries over the outage, want at least 12:\n%s", len(waits), logs.String())
	}
	for _, w := range waits {
		if d, err := time.ParseDuration(w[1]); err != nil || d > 5*time.Second {
			t.Errorf("an agent waited %s between tries; past 5 s it may be heard too late after nines comes back", w[1])
		}
	}
}

// safeBuffer is a bytes.Buffer for a log written by one goroutine and read by another.
type safeBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
