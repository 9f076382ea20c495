package web

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/probe"
)

// Agents need the responder role: their results open and resolve incidents, and their
// assignments carry the monitors' request headers, which may hold credentials of the targets.
func (s *Server) monitorsRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/ping/{uuid}", Access: Public, Handle: s.ping, API: true},
		{Method: "POST", Pattern: "/ping/{uuid}", Access: Public, Handle: s.ping, API: true},
		{Method: "GET", Pattern: "/ping/{uuid}/{suffix}", Access: Public, Handle: s.ping, API: true},
		{Method: "POST", Pattern: "/ping/{uuid}/{suffix}", Access: Public, Handle: s.ping, API: true},
		{Method: "GET", Pattern: "/api/v1/monitors", Role: auth.Viewer, Handle: s.listMonitors, API: true},
		{Method: "GET", Pattern: "/api/v1/monitors/{id}", Role: auth.Viewer, Handle: s.getMonitor, API: true},
		{Method: "GET", Pattern: "/api/v1/probe/assignments", Role: auth.Responder, Handle: s.probeAssignments, API: true},
		{Method: "POST", Pattern: "/api/v1/probe/results", Role: auth.Responder, Handle: s.probeResults, API: true},
		{Method: "GET", Pattern: "/monitors", Role: auth.Viewer, Handle: s.monitorsPage},
		{Method: "GET", Pattern: "/monitors/{id}", Role: auth.Viewer, Handle: s.monitorPage},
	}
}

// ping takes healthchecks.io-shaped pings. It answers in plain text, as cron wrappers expect,
// and records at most probe.MaxPingBody bytes of the body as the run's log.
func (s *Server) ping(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	kind, code, err := probe.ParsePingPath(r.PathValue("suffix"))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "bad ping URL: %v\n", err)
		return nil
	}
	var body []byte
	if r.Method == http.MethodPost {
		body, _ = io.ReadAll(io.LimitReader(r.Body, probe.MaxPingBody))
	}
	err = s.Monitors.Ping(r.Context(), strings.ToLower(r.PathValue("uuid")), probe.Ping{Kind: kind, ExitCode: code, Body: string(body), Remote: r.RemoteAddr})
	if errors.Is(err, probe.ErrUnknownHeartbeat) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "not found: no heartbeat has this uuid\n")
		return nil
	}
	if err != nil {
		return err
	}
	io.WriteString(w, "OK\n")
	return nil
}

// monitorJSON is a monitor as the API shows it.
type monitorJSON struct {
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

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (s *Server) monitorView(mon *config.Monitor, sum *probe.Summary) monitorJSON {
	v, _ := s.Monitors.View(mon.ID)
	out := monitorJSON{ID: mon.ID, Name: mon.Name, ServiceID: mon.Service, Type: mon.Type, Status: v.Status,
		LastCheckedAt: v.LastCheckedAt, Cause: v.Cause, Message: v.Message, Locations: v.Locations}
	if !v.Since.IsZero() {
		out.Since = &v.Since
	}
	if len(mon.Locations) > 1 {
		out.Quorum = mon.Quorum
	}
	if sum != nil && sum.Checks > 0 {
		up, p95 := sum.Uptime, ms(sum.P95)
		out.Uptime24h, out.LatencyP95MS = &up, &p95
	}
	return out
}

// summaries24h are every monitor's figures over the last 24 hours.
func (s *Server) summaries24h(r *http.Request) (map[string]*probe.Summary, error) {
	now := s.Clock.Now()
	return s.Monitors.History.Summaries(r.Context(), now.Add(-24*time.Hour), now)
}

func (s *Server) listMonitors(w http.ResponseWriter, r *http.Request) error {
	cfg := s.Config.Get()
	sums, err := s.summaries24h(r)
	if err != nil {
		return err
	}
	status := r.URL.Query().Get("status")
	switch status {
	case "", probe.StatusUp, probe.StatusDown, probe.StatusPending, probe.StatusPaused:
	default:
		return errorf(http.StatusBadRequest, "status: %q is not one of up, down, pending, paused", status)
	}
	out := make([]monitorJSON, 0, len(cfg.Monitors))
	for i := range cfg.Monitors {
		m := s.monitorView(&cfg.Monitors[i], sums[cfg.Monitors[i].ID])
		if status == "" || m.Status == status {
			out = append(out, m)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"monitors": out})
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
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return from, to, errorf(http.StatusBadRequest, "%s: %q is not an RFC 3339 time such as 2026-03-01T00:00:00Z", f.name, v)
			}
			*f.dst = t
		}
	}
	if !to.After(from) {
		return from, to, errorf(http.StatusBadRequest, "to must be after from")
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

func (s *Server) getMonitor(w http.ResponseWriter, r *http.Request) error {
	mon := s.Config.Get().Monitor(r.PathValue("id"))
	if mon == nil {
		return errorf(http.StatusNotFound, "monitor %q not found", r.PathValue("id"))
	}
	now := s.Clock.Now()
	from, to, err := parseRange(r, now)
	if err != nil {
		return err
	}
	ctx := r.Context()
	day, err := s.Monitors.History.Range(ctx, mon.ID, now.Add(-24*time.Hour), now)
	if err != nil {
		return err
	}
	rng, err := s.Monitors.History.Range(ctx, mon.ID, from, to)
	if err != nil {
		return err
	}
	recent, err := s.Monitors.History.Recent(ctx, mon.ID, 20, true)
	if err != nil {
		return err
	}
	failures := make([]failureJSON, 0, len(recent))
	for _, f := range recent {
		failures = append(failures, failureJSON{At: f.At, Location: f.Location, Cause: f.Cause, Message: f.Message, LatencyMS: ms(f.Latency)})
	}
	body := struct {
		monitorJSON
		Range          rangeJSON     `json:"range"`
		RecentFailures []failureJSON `json:"recent_failures"`
		Pings          any           `json:"pings,omitempty"`
	}{monitorJSON: s.monitorView(mon, &day), RecentFailures: failures, Range: rangeJSON{From: rng.From, To: rng.To, Checks: rng.Checks,
		Failures: rng.Failures, Uptime: rng.Uptime, LatencyP50MS: ms(rng.P50), LatencyP95MS: ms(rng.P95), LatencyP99MS: ms(rng.P99)}}
	if mon.Type == config.MonitorHeartbeat {
		pings, err := s.Monitors.Pings(ctx, mon.ID, 20)
		if err != nil {
			return err
		}
		body.Pings = pings
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) probeAssignments(w http.ResponseWriter, r *http.Request) error {
	loc := r.URL.Query().Get("location")
	if loc == "" {
		return errorf(http.StatusBadRequest, "location is required, e.g. ?location=eu-west")
	}
	writeJSON(w, http.StatusOK, map[string]any{"location": loc, "monitors": s.Monitors.Assignments(loc)})
	return nil
}

// probeResults takes a batch of results from an agent. Every result is checked before any is
// recorded, so a bad batch changes nothing.
func (s *Server) probeResults(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Location string         `json:"location"`
		Results  []probe.Result `json:"results"`
	}
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	if in.Location == "" {
		return errorf(http.StatusBadRequest, "location is required")
	}
	if len(in.Results) > 5000 {
		return errorf(http.StatusRequestEntityTooLarge, "results: %d in one batch; send at most 5000", len(in.Results))
	}
	cfg := s.Config.Get()
	now := s.Clock.Now()
	var problems []string
	for i := range in.Results {
		res := &in.Results[i]
		res.Location = in.Location
		mon := cfg.Monitor(res.MonitorID)
		switch {
		case mon == nil:
			problems = append(problems, fmt.Sprintf("results[%d]: unknown monitor %q", i, res.MonitorID))
		case mon.Type == config.MonitorHeartbeat:
			problems = append(problems, fmt.Sprintf("results[%d]: monitor %q is a heartbeat; it is pinged, not probed", i, res.MonitorID))
		case !containsString(mon.Locations, in.Location):
			problems = append(problems, fmt.Sprintf("results[%d]: monitor %q does not run from location %q", i, res.MonitorID, in.Location))
		case res.At.IsZero() || res.At.After(now.Add(5*time.Minute)):
			problems = append(problems, fmt.Sprintf("results[%d]: at is missing or in the future", i))
		case res.Latency < 0:
			problems = append(problems, fmt.Sprintf("results[%d]: latency_ns is negative", i))
		}
	}
	if len(problems) > 0 {
		return &Error{Status: http.StatusBadRequest, Msg: problems[0], Errors: problems}
	}
	sort.SliceStable(in.Results, func(i, j int) bool { return in.Results[i].At.Before(in.Results[j].At) })
	for i := range in.Results {
		in.Results[i].Message = truncateString(in.Results[i].Message, 500)
	}
	if err := s.Monitors.Accept(r.Context(), in.Results); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"accepted": len(in.Results)})
	return nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func truncateString(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// monitorRow is one line of the monitors page.
type monitorRow struct {
	monitorJSON
	Uptime  string
	Latency string
}

func (s *Server) monitorsPage(w http.ResponseWriter, r *http.Request) error {
	cfg := s.Config.Get()
	sums, err := s.summaries24h(r)
	if err != nil {
		return err
	}
	rows := make([]monitorRow, 0, len(cfg.Monitors))
	for i := range cfg.Monitors {
		m := s.monitorView(&cfg.Monitors[i], sums[cfg.Monitors[i].ID])
		row := monitorRow{monitorJSON: m, Uptime: "–", Latency: "–"}
		if m.Uptime24h != nil {
			row.Uptime = fmt.Sprintf("%.3f%%", *m.Uptime24h*100)
			row.Latency = fmt.Sprintf("%.1f ms", *m.LatencyP95MS)
		}
		rows = append(rows, row)
	}
	// Down first, then pending, so what needs attention is on top.
	rank := map[string]int{probe.StatusDown: 0, probe.StatusPending: 1, probe.StatusUp: 2, probe.StatusPaused: 3}
	sort.SliceStable(rows, func(i, j int) bool { return rank[rows[i].Status] < rank[rows[j].Status] })
	return s.render(w, r, http.StatusOK, "monitors_list.html", "Monitors", map[string]any{"Monitors": rows})
}

func (s *Server) monitorPage(w http.ResponseWriter, r *http.Request) error {
	mon := s.Config.Get().Monitor(r.PathValue("id"))
	if mon == nil {
		return errorf(http.StatusNotFound, "monitor %q not found", r.PathValue("id"))
	}
	ctx := r.Context()
	now := s.Clock.Now()
	day, err := s.Monitors.History.Range(ctx, mon.ID, now.Add(-24*time.Hour), now)
	if err != nil {
		return err
	}
	bars, err := s.Monitors.History.Days(ctx, mon.ID, 90)
	if err != nil {
		return err
	}
	points, err := s.Monitors.History.Hourly(ctx, mon.ID, 48)
	if err != nil {
		return err
	}
	recent, err := s.Monitors.History.Recent(ctx, mon.ID, 20, true)
	if err != nil {
		return err
	}
	m := s.monitorView(mon, &day)
	var locs []map[string]any
	for name, lv := range m.Locations {
		locs = append(locs, map[string]any{"Name": name, "View": lv})
	}
	sort.Slice(locs, func(i, j int) bool { return locs[i]["Name"].(string) < locs[j]["Name"].(string) })
	var checks, fails int64
	for _, b := range bars {
		checks += b.Checks
		fails += b.Failures
	}
	uptime90 := "no data"
	if checks > 0 {
		uptime90 = fmt.Sprintf("%.3f%%", float64(checks-fails)/float64(checks)*100)
	}
	var pings []probe.HeartbeatPing
	if mon.Type == config.MonitorHeartbeat {
		if pings, err = s.Monitors.Pings(ctx, mon.ID, 20); err != nil {
			return err
		}
	}
	return s.render(w, r, http.StatusOK, "monitors_monitor.html", mon.Name, map[string]any{
		"Monitor": m, "Config": mon, "Bars": uptimeBars(bars), "Uptime90": uptime90, "Chart": latencyChart(points),
		"Failures": recent, "Locations": locs, "Heartbeat": mon.Type == config.MonitorHeartbeat, "Pings": pings})
}

// uptimeBars draws 90 days as one SVG: a bar a day, coloured by that day's uptime, each with a
// title for its figures.
func uptimeBars(bars []probe.DayBar) template.HTML {
	const w, gap, h = 8, 2, 34
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="bars" viewBox="0 0 %d %d" role="img" aria-label="Uptime per day, last %d days" preserveAspectRatio="none">`, len(bars)*(w+gap)-gap, h, len(bars))
	for i, d := range bars {
		class, label := "nodata", "no data"
		if d.Checks > 0 {
			up := float64(d.Checks-d.Failures) / float64(d.Checks)
			label = fmt.Sprintf("%.3f%% up, %d of %d checks failed", up*100, d.Failures, d.Checks)
			switch {
			case up >= 0.999:
				class = "good"
			case up >= 0.99:
				class = "warn"
			default:
				class = "bad"
			}
		}
		fmt.Fprintf(&b, `<rect class="%s" x="%d" y="0" width="%d" height="%d" rx="1"><title>%s: %s</title></rect>`,
			class, i*(w+gap), w, h, d.Day.Format("2006-01-02"), template.HTMLEscapeString(label))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// latencyChart draws p50 and p95 per hour as two lines over the hours given.
func latencyChart(points []probe.LatencyPoint) template.HTML {
	if len(points) == 0 {
		return template.HTML(`<p class="hint">No latency recorded yet.</p>`)
	}
	const w, h, pad = 600, 160, 4
	var max time.Duration
	for _, p := range points {
		if p.P95 > max {
			max = p.P95
		}
	}
	if max <= 0 {
		max = time.Millisecond
	}
	x := func(i int) float64 {
		if len(points) == 1 {
			return w / 2
		}
		return pad + float64(i)*(w-2*pad)/float64(len(points)-1)
	}
	y := func(d time.Duration) float64 { return h - pad - float64(d)/float64(max)*(h-2*pad) }
	line := func(get func(probe.LatencyPoint) time.Duration) string {
		var pts []string
		for i, p := range points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(get(p))))
		}
		return strings.Join(pts, " ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="Latency per hour: p50 and p95, up to %.1f ms">`, w, h, ms(max))
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, pad, h-pad, w-pad, h-pad)
	fmt.Fprintf(&b, `<polyline class="p95" points="%s"/>`, line(func(p probe.LatencyPoint) time.Duration { return p.P95 }))
	fmt.Fprintf(&b, `<polyline class="p50" points="%s"/>`, line(func(p probe.LatencyPoint) time.Duration { return p.P50 }))
	// A dot per hour, so a single hour still shows and each has its figures on hover.
	for i, p := range points {
		fmt.Fprintf(&b, `<circle class="p95" cx="%.1f" cy="%.1f" r="3"><title>%s: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, %d checks</title></circle>`,
			x(i), y(p.P95), p.At.Format("2006-01-02 15:04Z"), ms(p.P50), ms(p.P95), ms(p.P99), p.Checks)
	}
	fmt.Fprintf(&b, `<text x="%d" y="14">%.1f ms</text>`, pad+2, ms(max))
	fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`, pad+2, h-pad-4, points[0].At.Format("Jan 2 15:04Z"))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, w-pad-2, h-pad-4, points[len(points)-1].At.Format("Jan 2 15:04Z"))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
