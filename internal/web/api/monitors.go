package api

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/maintenance"
	"github.com/nines-dev/nines/internal/probe"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// Monitor is a monitor as the API shows it.
type Monitor struct {
	ID            string                         `json:"id"`
	Name          string                         `json:"name"`
	ServiceID     string                         `json:"service_id"`
	Type          string                         `json:"type"`
	Status        string                         `json:"status"`
	Since         *time.Time                     `json:"since,omitempty"`
	LastCheckedAt *time.Time                     `json:"last_checked_at"`
	Cause         probe.Cause                    `json:"cause,omitempty"`
	Message       string                         `json:"message,omitempty"`
	Uptime24h     *float64                       `json:"uptime_24h"`
	LatencyP95MS  *float64                       `json:"latency_p95_ms"`
	Locations     map[string]*probe.LocationView `json:"locations,omitempty"`
	Quorum        int                            `json:"quorum,omitempty"`
	Heartbeat     *heartbeatJSON                 `json:"heartbeat,omitempty"`
	// Pause is the pause in force: who paused the monitor, when, and until when.
	Pause *probe.Pause `json:"pause,omitempty"`
}

// heartbeatJSON is how a heartbeat is pinged and when it is next expected. The ping URL holds
// the heartbeat's secret, so only responders and above see it.
type heartbeatJSON struct {
	PingURL     string  `json:"ping_url,omitempty"`
	SlugPingURL string  `json:"slug_ping_url,omitempty"`
	Slug        string  `json:"slug,omitempty"`
	PeriodS     float64 `json:"period_s,omitempty"`
	Cron        string  `json:"cron,omitempty"`
	TimeZone    string  `json:"time_zone,omitempty"`
	GraceS      float64 `json:"grace_s"`
	probe.Expectation
	PeriodText, GraceText string `json:"-"` // for the page
}

type rangeJSON struct {
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	Checks       int64     `json:"checks"`
	Failures     int64     `json:"failures"`
	Uptime       float64   `json:"uptime"`
	LatencyP50MS float64   `json:"latency_p50_ms"`
	LatencyP95MS float64   `json:"latency_p95_ms"`
	LatencyP99MS float64   `json:"latency_p99_ms"`
}

// Millis is d in milliseconds, to the microsecond.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// HeartbeatView says how a heartbeat is pinged and when it is next expected. base is the URL
// nines is reached at: server.base_url, or else the request's own host.
func (s *Handler) HeartbeatView(r *http.Request, mon *config.Monitor) (*heartbeatJSON, error) {
	cfg := s.Config.Get()
	e, err := s.Monitors.Expected(r.Context(), mon)
	if err != nil {
		return nil, err
	}
	hb := &heartbeatJSON{Slug: mon.Slug, PeriodS: mon.Period.D().Seconds(), Cron: mon.Cron, GraceS: mon.Grace.D().Seconds(), Expectation: e,
		PeriodText: mon.Period.D().String(), GraceText: mon.Grace.D().String()}
	if mon.Cron != "" {
		hb.TimeZone = mon.Zone().String()
	}
	if p, ok := httpx.PrincipalFrom(r.Context()); ok && p.Role >= auth.Responder {
		base := strings.TrimRight(cfg.Server.BaseURL, "/")
		if base == "" {
			scheme := "http"
			if r.TLS != nil {
				scheme = "https"
			}
			base = scheme + "://" + r.Host
		}
		hb.PingURL = base + "/ping/" + mon.UUID
		// A scoped principal is shown only its own teams' keys: the install-wide one pings the
		// heartbeats of every team without a key.
		if key, team := cfg.PingKeyOf(mon); key != "" && mon.Slug != "" && (!p.Scoped() || team != "" && p.InTeam(team)) {
			hb.SlugPingURL = base + "/ping/" + key + "/" + mon.Slug
		}
	}
	return hb, nil
}

// MonitorView is a monitor as the API shows it, with its figures of sum (the last 24 hours).
func (s *Handler) MonitorView(mon *config.Monitor, sum *probe.Summary) Monitor {
	v, _ := s.Monitors.View(mon.ID)
	out := Monitor{ID: mon.ID, Name: mon.Name, ServiceID: mon.Service, Type: mon.Type, Status: v.Status,
		LastCheckedAt: v.LastCheckedAt, Cause: v.Cause, Message: v.Message, Locations: v.Locations}
	if !v.Since.IsZero() {
		out.Since = &v.Since
	}
	if len(mon.Locations) > 1 {
		out.Quorum = mon.Quorum
	}
	if p, ok := s.Monitors.Paused(mon.ID); ok {
		out.Pause = &p
	}
	if sum != nil && sum.Checks > 0 {
		up, p95 := sum.Uptime, Millis(sum.P95)
		out.Uptime24h, out.LatencyP95MS = &up, &p95
	}
	return out
}

// Summaries24h are every monitor's figures over the last 24 hours, time under maintenance and
// paused left out of their uptime.
func (s *Handler) Summaries24h(r *http.Request) (map[string]*probe.Summary, error) {
	now := s.Clock.Now()
	sums, err := s.Monitors.History.Summaries(r.Context(), now.Add(-24*time.Hour), now)
	if err != nil {
		return nil, err
	}
	windows, err := s.Services.Maintenance.Windows(r.Context(), now.Add(-24*time.Hour))
	if err != nil {
		return nil, err
	}
	paused, err := s.Monitors.PausedIntervals(r.Context(), "", now.Add(-24*time.Hour), now)
	if err != nil || len(windows) == 0 && len(paused) == 0 {
		return sums, err
	}
	cfg := s.Config.Get()
	for id, sum := range sums {
		if mon := cfg.Monitor(id); mon != nil {
			skip := maintenance.Merge(append(maintenance.IntervalsOf(windows, scopeOf(mon), sum.From, sum.To), paused[id]...))
			if err := s.Monitors.History.Outside(r.Context(), mon.ID, sum, skip); err != nil {
				return nil, err
			}
		}
	}
	return sums, nil
}

// scopeOf is what maintenance windows cover mon: the monitor, and its service.
func scopeOf(mon *config.Monitor) maintenance.Scope {
	sc := maintenance.Scope{Monitors: []string{mon.ID}}
	if mon.Service != "" {
		sc.Services = []string{mon.Service}
	}
	return sc
}

// MaintenanceOf is the time a monitor (or its service) was under maintenance, or the monitor
// paused, in [from, to): time its uptime leaves out.
func (s *Handler) MaintenanceOf(ctx context.Context, mon *config.Monitor, from, to time.Time) ([]config.Interval, error) {
	ivs, err := s.Services.Maintenance.Intervals(ctx, scopeOf(mon), from, to)
	if err != nil {
		return nil, err
	}
	paused, err := s.Monitors.PausedIntervals(ctx, mon.ID, from, to)
	if err != nil || len(paused[mon.ID]) == 0 {
		return ivs, err
	}
	return maintenance.Merge(append(ivs, paused[mon.ID]...)), nil
}

// OutsideMaintenance leaves the time mon was under maintenance or paused out of sum's uptime:
// it is not downtime.
func (s *Handler) OutsideMaintenance(ctx context.Context, mon *config.Monitor, sum *probe.Summary) error {
	skip, err := s.MaintenanceOf(ctx, mon, sum.From, sum.To)
	if err != nil {
		return err
	}
	return s.Monitors.History.Outside(ctx, mon.ID, sum, skip)
}

// Range is a monitor's figures over [from, to), time under maintenance or paused left out of its
// uptime.
func (s *Handler) Range(ctx context.Context, mon *config.Monitor, from, to time.Time) (probe.Summary, error) {
	sum, err := s.Monitors.History.Range(ctx, mon.ID, from, to)
	if err != nil {
		return sum, err
	}
	return sum, s.OutsideMaintenance(ctx, mon, &sum)
}

// ListMonitors answers GET /api/v1/monitors.
func (s *Handler) ListMonitors(w http.ResponseWriter, r *http.Request) error {
	cfg, rc := s.Config.Get(), s.guard.Reach(r)
	sums, err := s.Summaries24h(r)
	if err != nil {
		return err
	}
	status := r.URL.Query().Get("status")
	switch status {
	case "", probe.StatusUp, probe.StatusDown, probe.StatusPending, probe.StatusPaused, probe.StatusUnknown:
	default:
		return invalid.Field("status", "%q is not one of up, down, unknown, pending, paused", status)
	}
	out := make([]Monitor, 0, len(cfg.Monitors))
	for i := range cfg.Monitors {
		mon := &cfg.Monitors[i]
		if !rc.Monitor(mon) {
			continue
		}
		m := s.MonitorView(mon, sums[mon.ID])
		if status != "" && m.Status != status {
			continue
		}
		if mon.Type == config.MonitorHeartbeat {
			if m.Heartbeat, err = s.HeartbeatView(r, mon); err != nil {
				return err
			}
		}
		out = append(out, m)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"monitors": out})
	return nil
}

// parseRange reads ?from= and ?to= (RFC 3339); the default is the last 24 hours.
func parseRange(r *http.Request, now time.Time) (time.Time, time.Time, error) {
	from, to := now.Add(-24*time.Hour), now
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := r.URL.Query().Get(f.name); v != "" {
			t, err := clock.ParseInstant(f.name, v)
			if err != nil {
				return from, to, err
			}
			*f.dst = t
		}
	}
	if !to.After(from) {
		return from, to, invalid.Field("to", "must be after from")
	}
	return from, to, nil
}

type failureJSON struct {
	At        time.Time   `json:"at"`
	Location  string      `json:"location"`
	Cause     probe.Cause `json:"cause"`
	Message   string      `json:"message"`
	LatencyMS float64     `json:"latency_ms"`
}

// GetMonitor answers GET /api/v1/monitors/{id}.
func (s *Handler) GetMonitor(w http.ResponseWriter, r *http.Request) error {
	mon := s.Config.Get().Monitor(r.PathValue("id"))
	if mon == nil {
		return httpx.Errorf(http.StatusNotFound, "monitor %q not found", r.PathValue("id"))
	}
	now := s.Clock.Now()
	from, to, err := parseRange(r, now)
	if err != nil {
		return err
	}
	ctx := r.Context()
	day, err := s.Range(ctx, mon, now.Add(-24*time.Hour), now)
	if err != nil {
		return err
	}
	rng, err := s.Range(ctx, mon, from, to)
	if err != nil {
		return err
	}
	recent, err := s.Monitors.History.Recent(ctx, mon.ID, 20, true)
	if err != nil {
		return err
	}
	failures := make([]failureJSON, 0, len(recent))
	for _, f := range recent {
		failures = append(failures, failureJSON{At: f.At, Location: f.Location, Cause: f.Cause, Message: f.Message, LatencyMS: Millis(f.Latency)})
	}
	body := struct {
		Monitor
		Range          rangeJSON     `json:"range"`
		RecentFailures []failureJSON `json:"recent_failures"`
		Pings          any           `json:"pings,omitempty"`
		Pauses         []probe.Pause `json:"pauses"`
	}{Monitor: s.MonitorView(mon, &day), RecentFailures: failures, Range: rangeJSON{From: rng.From, To: rng.To, Checks: rng.Checks,
		Failures: rng.Failures, Uptime: rng.Uptime, LatencyP50MS: Millis(rng.P50), LatencyP95MS: Millis(rng.P95), LatencyP99MS: Millis(rng.P99)}}
	if body.Pauses, err = s.Monitors.Pauses(ctx, mon.ID, from, to); err != nil {
		return err
	}
	if body.Pauses == nil {
		body.Pauses = []probe.Pause{}
	}
	if mon.Type == config.MonitorHeartbeat {
		pings, err := s.Monitors.Pings(ctx, mon.ID, 20)
		if err != nil {
			return err
		}
		body.Pings = pings
		if body.Heartbeat, err = s.HeartbeatView(r, mon); err != nil {
			return err
		}
	}
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}

// agentLocation is the location of the agent a request comes from: its token's. A location the
// request names must be that one.
func agentLocation(r *http.Request, named string) (string, error) {
	p, _ := httpx.PrincipalFrom(r.Context())
	if named != "" && named != p.Location {
		return "", httpx.Errorf(http.StatusForbidden, "forbidden: %s probes from location %q, not %q", p.Actor(), p.Location, named)
	}
	return p.Location, nil
}

// ProbeAssignments answers an agent what to probe: the monitors of its location that its token
// reaches, with what a probe needs and nothing of the config's internals. Asking is a contact:
// the agent is watched as a heartbeat.
func (s *Handler) ProbeAssignments(w http.ResponseWriter, r *http.Request) error {
	loc, err := agentLocation(r, r.URL.Query().Get("location"))
	if err != nil {
		return err
	}
	if err := s.Monitors.AgentSeen(r.Context(), loc); err != nil {
		return err
	}
	rc := s.guard.Reach(r)
	out := []probe.Assignment{}
	for _, mon := range s.Monitors.Assignments(loc) {
		if rc.Monitor(&mon) {
			out = append(out, probe.NewAssignment(&mon))
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"location": loc, "monitors": out})
	return nil
}

// ProbeAgents lists the remote agents, each watched as a heartbeat. A scoped principal sees
// the agents that probe a monitor it reaches or page a service it reaches, each with only the
// monitors it reaches, and the service an agent pages only when it reaches it.
func (s *Handler) ProbeAgents(w http.ResponseWriter, r *http.Request) error {
	agents, err := s.Monitors.Agents(r.Context())
	if err != nil {
		return err
	}
	if rc := s.guard.Reach(r); !rc.All() {
		cfg, kept := s.Config.Get(), agents[:0]
		for _, a := range agents {
			mons := []string{}
			for _, id := range a.Monitors {
				if m := cfg.Monitor(id); m != nil && rc.Monitor(m) {
					mons = append(mons, id)
				}
			}
			a.Monitors = mons
			if a.ServiceID != "" && !rc.Service(a.ServiceID) {
				a.ServiceID = ""
			}
			if len(a.Monitors) > 0 || a.ServiceID != "" {
				kept = append(kept, a)
			}
		}
		agents = kept
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"agents": agents})
	return nil
}

// ProbeResults takes a batch of results from an agent. Every result is checked before any is
// recorded, so a bad batch changes nothing.
func (s *Handler) ProbeResults(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Location string         `json:"location"`
		Results  []probe.Result `json:"results"`
	}
	if err := httpx.ReadIngestJSON(w, r, &in, httpx.MaxBody); err != nil {
		return err
	}
	loc, err := agentLocation(r, in.Location)
	if err != nil {
		return err
	}
	in.Location = loc
	if len(in.Results) > 5000 {
		return httpx.Errorf(http.StatusRequestEntityTooLarge, "results: %d in one batch; send at most 5000", len(in.Results))
	}
	for i := range in.Results {
		in.Results[i].Location = in.Location
	}
	if err := s.Monitors.CheckResults(s.Config.Get(), in.Results); err != nil {
		return err
	}
	sort.SliceStable(in.Results, func(i, j int) bool { return in.Results[i].At.Before(in.Results[j].At) })
	for i := range in.Results {
		in.Results[i].Message = truncateString(in.Results[i].Message, 500)
	}
	// Any batch, an empty one too, tells that the agent is alive.
	if err := s.Monitors.AgentSeen(r.Context(), in.Location); err != nil {
		return err
	}
	if err := s.Monitors.Accept(r.Context(), in.Results); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]int{"accepted": len(in.Results)})
	return nil
}

func truncateString(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
