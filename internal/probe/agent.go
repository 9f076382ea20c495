package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
)

// Agent runs the probes of one location away from the server and reports their results. It
// asks the server which monitors list its location, runs them with the same scheduler and
// checkers as the server, and posts results in batches; results wait in a bounded buffer while
// the server cannot be reached.
type Agent struct {
	Server   string
	Token    string
	Location string
	Workers  int
	// Refresh is how often the agent asks for its monitors again (config reloads reach it so).
	Refresh time.Duration
	Log     *slog.Logger
	Client  *http.Client
	Options Options
	// Clock times the probes, the batches and the refreshes; the wall clock when nil.
	Clock clock.Clock

	mu       sync.Mutex
	buf      []Result
	dropped  int // results the full buffer had no room for
	expired  int // results too old for the server to take
	lastSent time.Time
}

// maxBuffered bounds the results an agent keeps while the server is away.
const maxBuffered = 50000

// AgentBeat is how often an agent with nothing to report posts an empty batch, so that the
// server, which watches each agent as a heartbeat, knows it is alive.
const AgentBeat = 10 * time.Second

// ErrUnauthorized is returned when the server refuses the agent's token.
var ErrUnauthorized = errors.New("the server refused the token: it needs an agent token of this location (nines token create --role agent --location L)")

// Run probes until ctx is done. It fails at once if the server refuses the token, and otherwise
// keeps going through outages of the server.
func (a *Agent) Run(ctx context.Context) error {
	if a.Client == nil {
		a.Client = &http.Client{Timeout: 30 * time.Second}
	}
	a.Clock = a.clock()
	if a.Refresh <= 0 {
		a.Refresh = 30 * time.Second
	}
	if a.Workers <= 0 {
		a.Workers = 256
	}
	if a.Options.UserAgent == "" {
		a.Options.UserAgent = "nines-monitor (" + a.Location + ")"
	}
	// The server may still be starting (or restarting): wait for it, but not for a token it
	// refuses, which no amount of waiting fixes. The waits stay under half the shortest grace
	// nines allows an agent (10 s), so an agent is heard again well within its grace of nines
	// coming back, however long nines was down.
	var mons []config.Monitor
	for wait := time.Second; ; wait = min(2*wait, maxRetryWait) {
		var err error
		mons, err = a.assignments(ctx)
		if err == nil {
			break
		}
		if errors.Is(err, ErrUnauthorized) || ctx.Err() != nil {
			return err
		}
		a.Log.Warn("cannot reach the server yet; retrying", "err", err, "retry_in", wait)
		if !a.sleep(ctx, wait) {
			return nil
		}
	}
	sched := NewScheduler(a.Clock, a.Workers, a.Location, a.enqueue)
	sched.Set(jobsFor(mons, a.Options, a.Log))
	a.Log.Info("agent probing", "location", a.Location, "monitors", len(mons), "server", a.Server)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sched.Run(ctx) }()
	go func() { defer wg.Done(); a.sendLoop(ctx) }()
	for {
		if !a.sleep(ctx, a.Refresh) {
			wg.Wait()
			return nil
		}
		mons, err := a.assignments(ctx)
		if err != nil {
			if ctx.Err() == nil {
				a.Log.Warn("could not refresh monitors; keeping the current ones", "err", err)
			}
			continue
		}
		sched.Set(jobsFor(mons, a.Options, a.Log))
	}
}

func (a *Agent) enqueue(_ context.Context, r Result) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.buf) >= maxBuffered {
		a.buf = a.buf[1:]
		a.dropped++
	}
	a.buf = append(a.buf, r)
}

func (a *Agent) sendLoop(ctx context.Context) {
	for a.sleep(ctx, time.Second) {
		a.flush(ctx)
	}
	// Hand in what the last second measured, briefly, before stopping.
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	a.flush(fctx)
	cancel()
}

// sleep waits d on the agent's clock; false when ctx ended first.
func (a *Agent) sleep(ctx context.Context, d time.Duration) bool {
	t := a.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// maxRetryWait is the longest an agent waits between tries to reach nines.
const maxRetryWait = 5 * time.Second

// clock is the agent's clock: Clock, or the wall clock when it is nil.
func (a *Agent) clock() clock.Clock {
	if a.Clock == nil {
		return clock.Real{}
	}
	return a.Clock
}

// flush posts up to one batch of buffered results. Results the server would refuse as too old
// (ResultMaxAge, less a margin for the two clocks) are dropped first, so that they do not make
// it refuse the batch that holds them.
func (a *Agent) flush(ctx context.Context) {
	a.mu.Lock()
	cutoff, kept := a.clock().Now().Add(-ResultMaxAge+ResultMaxAhead), a.buf[:0]
	for _, r := range a.buf {
		if r.At.Before(cutoff) {
			a.expired++
		} else {
			kept = append(kept, r)
		}
	}
	a.buf = kept
	expired := a.expired
	a.expired = 0
	batch := a.buf
	if len(batch) > 5000 {
		batch = batch[:5000]
	}
	dropped := a.dropped
	a.dropped = 0
	quiet := a.clock().Now().Sub(a.lastSent) < AgentBeat
	a.mu.Unlock()
	if dropped > 0 {
		a.Log.Warn("results dropped while the server was away", "count", dropped)
	}
	if expired > 0 {
		a.Log.Warn("results dropped: older than the server takes", "count", expired, "max_age", ResultMaxAge)
	}
	if len(batch) == 0 && quiet {
		return
	}
	err := a.post(ctx, batch)
	var rej *rejectedError
	if errors.As(err, &rej) {
		// The server will never take this batch (a monitor removed meanwhile): retrying
		// would block every later result behind it.
		a.Log.Warn("server rejected results; dropping them", "results", len(batch), "err", err)
		err = nil
	}
	if err != nil {
		if ctx.Err() == nil {
			a.Log.Warn("could not report results; will retry", "results", len(batch), "err", err)
		}
		return
	}
	a.mu.Lock()
	a.buf = a.buf[len(batch):]
	a.lastSent = a.clock().Now()
	a.mu.Unlock()
}

func (a *Agent) url(path string) string { return strings.TrimRight(a.Server, "/") + path }

func (a *Agent) do(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.url(path), rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w (%s)", ErrUnauthorized, strings.TrimSpace(string(data)))
	case resp.StatusCode/100 == 4:
		return &rejectedError{fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))}
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func (a *Agent) assignments(ctx context.Context) ([]config.Monitor, error) {
	var out struct {
		Monitors []Assignment `json:"monitors"`
	}
	err := a.do(ctx, "GET", "/api/v1/probe/assignments?location="+a.Location, nil, &out)
	mons := make([]config.Monitor, len(out.Monitors))
	for i, as := range out.Monitors {
		mons[i] = as.Monitor()
	}
	return mons, err
}

func (a *Agent) post(ctx context.Context, rs []Result) error {
	body, err := json.Marshal(map[string]any{"location": a.Location, "results": rs})
	if err != nil {
		return err
	}
	return a.do(ctx, "POST", "/api/v1/probe/results", body, nil)
}

// rejectedError is a 4xx answer other than 401/403: the request will not succeed as it is.
type rejectedError struct{ msg string }

func (e *rejectedError) Error() string { return e.msg }
