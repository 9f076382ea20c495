package ui

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/probe"
	"github.com/nines-dev/nines/internal/web/api"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// monitorRow is one line of the monitors page.
type monitorRow struct {
	api.Monitor
	Uptime  string
	Latency string
}

// MonitorsPage answers GET /monitors.
func (s *Handler) MonitorsPage(w http.ResponseWriter, r *http.Request) error {
	cfg, rc := s.Config.Get(), s.guard.Reach(r)
	sums, err := s.api.Summaries24h(r)
	if err != nil {
		return err
	}
	rows := make([]monitorRow, 0, len(cfg.Monitors))
	for i := range cfg.Monitors {
		if !rc.Monitor(&cfg.Monitors[i]) {
			continue
		}
		m := s.api.MonitorView(&cfg.Monitors[i], sums[cfg.Monitors[i].ID])
		row := monitorRow{Monitor: m, Uptime: "–", Latency: "–"}
		if m.Uptime24h != nil {
			row.Uptime = fmt.Sprintf("%.3f%%", *m.Uptime24h*100)
			row.Latency = fmt.Sprintf("%.1f ms", *m.LatencyP95MS)
		}
		rows = append(rows, row)
	}
	// Down first, then pending, so what needs attention is on top.
	rank := map[string]int{probe.StatusDown: 0, probe.StatusUnknown: 1, probe.StatusPending: 2, probe.StatusUp: 3, probe.StatusPaused: 4}
	sort.SliceStable(rows, func(i, j int) bool { return rank[rows[i].Status] < rank[rows[j].Status] })
	return s.pages.Render(w, r, http.StatusOK, "monitors.html", "Monitors", map[string]any{"Monitors": rows})
}

// MonitorPage answers GET /monitors/{id}.
func (s *Handler) MonitorPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderMonitor(w, r, http.StatusOK, nil, "")
}

// CheckMonitor answers POST /monitors/{id}/check: the monitor is checked once now (its result
// recorded, as the API's) and the page shows what the check saw.
func (s *Handler) CheckMonitor(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, 4<<10); err != nil {
		return err
	}
	res, err := s.api.CheckNowLimited(r, r.PathValue("id"))
	if e, known := httpx.ErrorOf(err); err != nil && known && e.Status < 500 && e.Status != http.StatusNotFound {
		return s.renderMonitor(w, r, e.Status, nil, err.Error())
	}
	if err != nil {
		return err
	}
	return s.renderMonitor(w, r, http.StatusOK, &res, "")
}

// PauseMonitor answers POST /monitors/{id}/pause; until, optional, is a local time of the
// viewer's zone (datetime-local).
func (s *Handler) PauseMonitor(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, 4<<10); err != nil {
		return err
	}
	zone := s.viewerZone(r)
	until, err := s.api.PauseUntil("until", r.PostForm.Get("until"), func(field, v string) (time.Time, error) {
		return clock.ParseIn(field, v, clock.Local, zone)
	})
	if err == nil {
		_, err = s.Monitors.PauseMonitor(r.Context(), r.PathValue("id"), httpx.Actor(r, "web").Name, until)
	}
	return s.monitorActionDone(w, r, err)
}

// ResumeMonitor answers POST /monitors/{id}/resume.
func (s *Handler) ResumeMonitor(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, 4<<10); err != nil {
		return err
	}
	_, err := s.Monitors.ResumeMonitor(r.Context(), r.PathValue("id"), httpx.Actor(r, "web").Name)
	return s.monitorActionDone(w, r, err)
}

// monitorActionDone shows the monitor again: with what was wrong, or after a redirect.
func (s *Handler) monitorActionDone(w http.ResponseWriter, r *http.Request, err error) error {
	if e, known := httpx.ErrorOf(err); err != nil && known && e.Status < 500 && e.Status != http.StatusNotFound {
		return s.renderMonitor(w, r, e.Status, nil, err.Error())
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/monitors/"+url.PathEscape(r.PathValue("id")), http.StatusSeeOther)
	return nil
}

func (s *Handler) renderMonitor(w http.ResponseWriter, r *http.Request, status int, check *api.CheckResult, problem string) error {
	mon := s.Config.Get().Monitor(r.PathValue("id"))
	if mon == nil {
		return httpx.Errorf(http.StatusNotFound, "monitor %q not found", r.PathValue("id"))
	}
	ctx := r.Context()
	now := s.Clock.Now()
	day, err := s.api.Range(ctx, mon, now.Add(-24*time.Hour), now)
	if err != nil {
		return err
	}
	skip, err := s.api.MaintenanceOf(ctx, mon, now.AddDate(0, 0, -90), now.Add(24*time.Hour))
	if err != nil {
		return err
	}
	bars, err := s.Monitors.History.Days(ctx, mon.ID, 90, skip)
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
	m := s.api.MonitorView(mon, &day)
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
		if m.Heartbeat, err = s.api.HeartbeatView(r, mon); err != nil {
			return err
		}
	}
	pauses, err := s.Monitors.Pauses(ctx, mon.ID, now.AddDate(0, 0, -90), now.Add(time.Millisecond))
	if err != nil {
		return err
	}
	slices.Reverse(pauses)
	p, _ := httpx.PrincipalFrom(ctx)
	return s.pages.Render(w, r, status, "monitor.html", mon.Name, map[string]any{
		"Monitor": m, "Bars": uptimeBars(bars), "Uptime90": uptime90, "Chart": latencyChart(points),
		"Failures": recent, "Locations": locs, "Heartbeat": mon.Type == config.MonitorHeartbeat, "Pings": pings,
		"Check": check, "Problem": problem, "Pauses": pauses, "ConfigPaused": mon.Paused,
		"CanCheck": p.Role >= auth.Manager && mon.Type != config.MonitorHeartbeat, "CanPause": p.Role >= auth.Responder})
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
	// The labels are HTML around the SVG, so they keep the page's size on a phone.
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chartbox"><p class="chart-labels"><span>Top: %.1f ms</span><span>p95 solid, p50 grey</span></p>`, api.Millis(max))
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="Latency per hour: p50 and p95, up to %.1f ms">`, w, h, api.Millis(max))
	fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, pad, h-pad, w-pad, h-pad)
	fmt.Fprintf(&b, `<polyline class="p95" points="%s"/>`, line(func(p probe.LatencyPoint) time.Duration { return p.P95 }))
	fmt.Fprintf(&b, `<polyline class="p50" points="%s"/>`, line(func(p probe.LatencyPoint) time.Duration { return p.P50 }))
	// A dot per hour, so a single hour still shows and each has its figures on hover.
	for i, p := range points {
		fmt.Fprintf(&b, `<circle class="p95" cx="%.1f" cy="%.1f" r="3"><title>%s: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, %d checks</title></circle>`,
			x(i), y(p.P95), p.At.Format("2006-01-02 15:04Z"), api.Millis(p.P50), api.Millis(p.P95), api.Millis(p.P99), p.Checks)
	}
	fmt.Fprintf(&b, `</svg><p class="chart-labels"><span>%s</span><span>%s</span></p></figure>`, points[0].At.Format("Jan 2 15:04Z"), points[len(points)-1].At.Format("Jan 2 15:04Z"))
	return template.HTML(b.String())
}
