package api

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/probe"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// MaxChecksPerCaller bounds the checks of monitors on request one caller has in flight at once:
// each may hold a connection to a target for up to probe.MaxCheckTimeout.
const MaxChecksPerCaller = 3

// checkLimit counts the checks each caller has in flight.
type checkLimit struct {
	mu      sync.Mutex
	running map[string]int
}

// take reserves a check for caller, or says that it has too many running.
func (l *checkLimit) take(caller string) (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running == nil {
		l.running = map[string]int{}
	}
	if l.running[caller] >= MaxChecksPerCaller {
		return nil, &httpx.Error{Status: http.StatusTooManyRequests, RetryAfter: 5,
			Msg: "too many checks at once: " + caller + " has " + strconv.Itoa(MaxChecksPerCaller) + " running; wait for one to finish"}
	}
	l.running[caller]++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.running[caller]--; l.running[caller] <= 0 {
			delete(l.running, caller)
		}
	}, nil
}

// CheckResult is what a check of a monitor made on request saw.
type CheckResult struct {
	MonitorID string      `json:"monitor_id"`
	Location  string      `json:"location"`
	At        time.Time   `json:"at"`
	Status    string      `json:"status"` // up or down
	Up        bool        `json:"up"`
	LatencyMS float64     `json:"latency_ms"`
	Cause     probe.Cause `json:"cause,omitempty"`
	// CauseText says the cause in words ("DNS failure: the name did not resolve"); Message
	// what the probe saw ("status 503, want 2xx").
	CauseText string `json:"cause_text,omitempty"`
	Message   string `json:"message,omitempty"`
	// Recorded says the result was recorded as the monitor's own (a monitor of the config,
	// run from the server's location); a definition checked once is never recorded.
	Recorded bool `json:"recorded"`
}

// NewCheckResult is r as the API and the monitor page show it.
func NewCheckResult(r probe.Result, recorded bool) CheckResult {
	out := CheckResult{MonitorID: r.MonitorID, Location: r.Location, At: r.At, Status: probe.StatusDown, Up: r.OK,
		LatencyMS: Millis(r.Latency), Cause: r.Cause, CauseText: probe.CauseText(r.Cause), Message: r.Message, Recorded: recorded}
	if r.OK {
		out.Status = probe.StatusUp
	}
	return out
}

// CheckNowLimited runs a monitor of the config once now and records the result, within the
// caller's share of checks in flight.
func (s *Handler) CheckNowLimited(r *http.Request, id string) (CheckResult, error) {
	p, _ := httpx.PrincipalFrom(r.Context())
	release, err := s.checks.take(p.Actor())
	if err != nil {
		return CheckResult{}, err
	}
	defer release()
	res, recorded, err := s.Monitors.CheckNow(r.Context(), id)
	if err != nil {
		return CheckResult{}, err
	}
	return NewCheckResult(res, recorded), nil
}

// CheckMonitorDefinition answers POST /api/v1/monitors/check: the body is a monitor as the
// config writes one (JSON), checked with the config's rules and run once, now; nothing is stored.
func (s *Handler) CheckMonitorDefinition(w http.ResponseWriter, r *http.Request) error {
	body, err := httpx.ReadBodyUpTo(w, r, 64<<10)
	if err != nil {
		return err
	}
	res, err := s.CheckDefinition(r, body)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

// CheckDefinition reads a monitor written as the config writes one (YAML or JSON), checks it
// with the config's rules and runs it once, now, within the caller's share of checks in
// flight; nothing is stored. The API and the monitor form's "Check now" share it.
func (s *Handler) CheckDefinition(r *http.Request, doc []byte) (CheckResult, error) {
	mon, problems := s.Config.Get().ReadMonitor(doc)
	if len(problems) > 0 {
		bad := &invalid.Error{}
		for _, p := range problems {
			bad.Add(p.Field, "%s", p.Msg)
		}
		bad.Summary = bad.Problems[0].String()
		return CheckResult{}, bad
	}
	p, _ := httpx.PrincipalFrom(r.Context())
	release, err := s.checks.take(p.Actor())
	if err != nil {
		return CheckResult{}, err
	}
	defer release()
	res, err := s.Monitors.CheckOnce(r.Context(), mon)
	if err != nil {
		return CheckResult{}, err
	}
	return NewCheckResult(res, false), nil
}

// CheckMonitor answers POST /api/v1/monitors/{id}/check: the monitor is checked once now and
// the result recorded as any of its results.
func (s *Handler) CheckMonitor(w http.ResponseWriter, r *http.Request) error {
	res, err := s.CheckNowLimited(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

// PauseRequest is the body of POST /api/v1/monitors/{id}/pause (it may be empty).
type PauseRequest struct {
	// Until, when set (RFC 3339), is when the monitor resumes by itself.
	Until string `json:"until"`
}

// PauseUntil reads when a pause ends ("" for never), which must be after now.
func (s *Handler) PauseUntil(field, value string, parse func(string, string) (time.Time, error)) (time.Time, error) {
	if value == "" {
		return time.Time{}, nil
	}
	t, err := parse(field, value)
	if err != nil {
		return t, err
	}
	if !t.After(s.Clock.Now()) {
		return t, invalid.Field(field, "%s is not in the future", t.UTC().Format(time.RFC3339))
	}
	return t, nil
}

// PauseMonitor answers POST /api/v1/monitors/{id}/pause.
func (s *Handler) PauseMonitor(w http.ResponseWriter, r *http.Request) error {
	var req PauseRequest
	if body, err := httpx.ReadBodyUpTo(w, r, httpx.MaxBody); err != nil {
		return err
	} else if len(body) > 0 {
		if err := httpx.ReadJSON(w, r, &req); err != nil {
			return err
		}
	}
	until, err := s.PauseUntil("until", req.Until, clock.ParseInstant)
	if err != nil {
		return err
	}
	p, err := s.Monitors.PauseMonitor(r.Context(), r.PathValue("id"), httpx.Actor(r, "api").Name, until)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"pause": p})
	return nil
}

// ResumeMonitor answers POST /api/v1/monitors/{id}/resume.
func (s *Handler) ResumeMonitor(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Monitors.ResumeMonitor(r.Context(), r.PathValue("id"), httpx.Actor(r, "api").Name)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"pause": p})
	return nil
}
