package slo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// ProbeSource gives the per-minute results of nines' own monitors, as the probe rollups keep
// them: how many checks ran and succeeded, and the latency percentiles of the minute.
type ProbeSource interface {
	ProbeMinutes(ctx context.Context, monitorID string, from, to time.Time) ([]ProbeMinute, error)
}

// ProbeMinute is one minute of a monitor.
type ProbeMinute struct {
	Start         time.Time
	Up, Total     int64
	P50, P95, P99 time.Duration
}

// probePoints turns monitor minutes into SLI counts: availability counts checks; a latency SLI
// counts the minute as one event, good when its percentile is below the bound.
func probePoints(src Source, mins []ProbeMinute) []Point {
	out := make([]Point, 0, len(mins))
	for _, m := range mins {
		if m.Total <= 0 {
			continue
		}
		p := Point{Timestamp: m.Start.Truncate(time.Minute), Good: float64(m.Up), Total: float64(m.Total)}
		if l := src.Latency; l != nil {
			q := map[float64]time.Duration{50: m.P50, 95: m.P95, 99: m.P99}[l.Percentile]
			p.Good, p.Total = 0, 1
			if q < l.Below.D() {
				p.Good = 1
			}
		}
		out = append(out, p)
	}
	return out
}

// PullInterval is how often pulled sources are read: with the minute in progress read too, a
// burst Prometheus has scraped reaches the burn-rate evaluation within about this long.
const PullInterval = 10 * time.Second

// maxRangePoints keeps a Prometheus range query under the server's 11,000-point limit.
const maxRangePoints = 10000

func (e *Engine) runPulls(ctx context.Context) {
	for {
		if err := e.Pull(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("slo pull", "err", err)
		}
		t := e.clock.NewTimer(PullInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// Pull reads new minutes from every SLO's Prometheus or probe source. It reads the last few
// minutes again each time, since a scrape or a probe may land late.
func (e *Engine) Pull(ctx context.Context) error {
	var errs []string
	for _, d := range e.Definitions() {
		if d.Source.Kind == "push" || (d.Source.Kind == "probe" && e.Probes == nil) {
			continue
		}
		if err := e.pullOne(ctx, d.ID); err != nil {
			errs = append(errs, fmt.Sprintf("slo %s: %v", d.ID, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func (e *Engine) pullOne(ctx context.Context, id string) error {
	t, _, ok := e.get(id)
	if !ok {
		return nil
	}
	d := t.d()
	now := e.clock.Now()
	end := unixMinute(now) // minutes before the one in progress are complete
	if d.Source.Kind == "probe" {
		end++ // rollups hold the minute in progress as far as it went; it is read again next time
	}
	t.mu.Lock()
	from := t.pulledTo
	t.mu.Unlock()
	if from == 0 {
		start, _ := d.Window.Period(now)
		from = min(unixMinute(start), unixMinute(now.Add(-d.Alerts.longest())))
	} else {
		from -= 5
	}
	for from < end {
		to := min(end, from+maxRangePoints)
		var pts []Point
		var err error
		switch d.Source.Kind {
		case "prometheus":
			pts, err = PrometheusPoints(ctx, http.DefaultClient, d.Source.Prometheus, time.Unix(from*60, 0), time.Unix(to*60, 0))
		case "probe":
			var mins []ProbeMinute
			mins, err = e.Probes.ProbeMinutes(ctx, d.Source.Probe, time.Unix(from*60, 0).UTC(), time.Unix(to*60, 0).UTC())
			pts = probePoints(d.Source, mins)
		}
		if err != nil {
			return err
		}
		if len(pts) > 0 {
			if err := e.write(ctx, t, pts); err != nil {
				return err
			}
		}
		from = to
		t.mu.Lock()
		t.pulledTo = to
		t.mu.Unlock()
	}
	// The minute in progress, so far; the range read replaces it once the minute is over.
	if d.Source.Kind == "prometheus" {
		p, ok, err := PrometheusPartial(ctx, http.DefaultClient, d.Source.Prometheus, now)
		if err != nil {
			return err
		}
		if ok {
			return e.write(ctx, t, []Point{p})
		}
	}
	return nil
}

// PrometheusPartial reads the counts of the minute in progress up to now. It reports false
// while the minute is too young to hold two scrapes, and for threshold metrics, which are
// judged on whole minutes.
func PrometheusPartial(ctx context.Context, hc *http.Client, p *config.PrometheusSLI, now time.Time) (Point, bool, error) {
	start := now.Truncate(time.Minute)
	secs := int(now.Sub(start) / time.Second)
	if p.Op != "" || secs < 5 {
		return Point{}, false, nil
	}
	window := strconv.Itoa(secs) + "s"
	total, okT, err := promInstant(ctx, hc, p.URL, PromQL(p.Total, window), now)
	if err != nil || !okT {
		return Point{}, false, err
	}
	q, bad := p.Good, false
	if q == "" {
		q, bad = p.Bad, true
	}
	part, _, err := promInstant(ctx, hc, p.URL, PromQL(q, window), now)
	if err != nil {
		return Point{}, false, err
	}
	total = max(total, 0)
	if bad {
		part = total - part
	}
	return Point{Timestamp: start.UTC(), Good: min(max(part, 0), total), Total: total}, true, nil
}

// promInstant runs query at t and sums the series it returns.
func promInstant(ctx context.Context, hc *http.Client, base, query string, t time.Time) (float64, bool, error) {
	v := url.Values{}
	v.Set("query", query)
	v.Set("time", strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64))
	var r struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	if err := promAPI(ctx, hc, base, "/api/v1/query", v, &r); err != nil {
		return 0, false, err
	}
	sum, found := 0.0, false
	for _, s := range r.Result {
		str, _ := s.Value[1].(string)
		if f, err := strconv.ParseFloat(str, 64); err == nil && finite(f) {
			sum += f
			found = true
		}
	}
	return sum, found, nil
}

var counterSelector = regexp.MustCompile(`^\s*[a-zA-Z_:][a-zA-Z0-9_:]*\s*(\{[^{}]*\})?\s*$`)

// PromQL returns a query for the number of events in a window (a PromQL duration such as 1m,
// 5m): a counter selector is wrapped in sum(increase(...)), an expression with {{.window}} gets
// the window written in, and any other expression is taken as a counter and read through a
// subquery.
func PromQL(q, window string) string {
	if strings.Contains(q, "{{.window}}") {
		return strings.ReplaceAll(q, "{{.window}}", window)
	}
	if counterSelector.MatchString(q) {
		return "sum(increase(" + strings.TrimSpace(q) + "[" + window + "]))"
	}
	// The subquery's step must leave several points in the window whatever the server's
	// evaluation interval.
	step := "1m"
	if window == "1m" || strings.HasSuffix(window, "s") {
		step = "15s"
	}
	return "sum(increase((" + strings.TrimSpace(q) + ")[" + window + ":" + step + "]))"
}

// PrometheusPoints reads per-minute good and total counts for minutes [from, to) with range
// queries: the value at the end of each minute is that minute's increase.
func PrometheusPoints(ctx context.Context, hc *http.Client, p *config.PrometheusSLI, from, to time.Time) ([]Point, error) {
	if p.Op != "" {
		vals, err := promRange(ctx, hc, p.URL, p.Good, from, to)
		if err != nil {
			return nil, err
		}
		out := make([]Point, 0, len(vals))
		for _, v := range sortedKeys(vals) {
			good := 0.0
			if compare(vals[v], p.Op, p.Threshold) {
				good = 1
			}
			out = append(out, Point{Timestamp: time.Unix(v*60, 0).UTC(), Good: good, Total: 1})
		}
		return out, nil
	}
	total, err := promRange(ctx, hc, p.URL, PromQL(p.Total, "1m"), from, to)
	if err != nil {
		return nil, fmt.Errorf("total: %w", err)
	}
	q, bad := p.Good, false
	if q == "" {
		q, bad = p.Bad, true
	}
	part, err := promRange(ctx, hc, p.URL, PromQL(q, "1m"), from, to)
	if err != nil {
		return nil, fmt.Errorf("good/bad: %w", err)
	}
	out := make([]Point, 0, len(total))
	for _, m := range sortedKeys(total) {
		t := max(total[m], 0)
		g := part[m]
		if bad {
			g = t - g
		}
		g = min(max(g, 0), t)
		out = append(out, Point{Timestamp: time.Unix(m*60, 0).UTC(), Good: g, Total: t})
	}
	return out, nil
}

func compare(v float64, op string, threshold float64) bool {
	switch op {
	case "lt":
		return v < threshold
	case "lte":
		return v <= threshold
	case "gt":
		return v > threshold
	case "gte":
		return v >= threshold
	}
	return false
}

func sortedKeys(m map[int64]float64) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// promRange runs query at the end of each minute [from, to) and returns, by minute, the value.
// A query returning several series is summed.
func promRange(ctx context.Context, hc *http.Client, base, query string, from, to time.Time) (map[int64]float64, error) {
	v := url.Values{}
	v.Set("query", query)
	v.Set("start", strconv.FormatInt(from.Unix()+60, 10))
	v.Set("end", strconv.FormatInt(to.Unix(), 10))
	v.Set("step", "60")
	var r struct {
		Result []struct {
			Values [][2]any `json:"values"`
		} `json:"result"`
	}
	if err := promAPI(ctx, hc, base, "/api/v1/query_range", v, &r); err != nil {
		return nil, err
	}
	out := map[int64]float64{}
	for _, series := range r.Result {
		for _, pair := range series.Values {
			ts, _ := pair[0].(float64)
			s, _ := pair[1].(string)
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || !finite(f) {
				continue
			}
			out[int64(ts)/60-1] += f
		}
	}
	return out, nil
}

// promAPI posts a query to Prometheus's HTTP API and decodes the answer's data into out.
func promAPI(ctx context.Context, hc *http.Client, base, path string, form url.Values, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+path, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("prometheus answered %s with something that is not its JSON", resp.Status)
	}
	if r.Status != "success" {
		return fmt.Errorf("prometheus: %s (query %s)", r.Error, form.Get("query"))
	}
	return json.Unmarshal(r.Data, out)
}
