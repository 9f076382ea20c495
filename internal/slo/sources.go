package slo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
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
	chunk := int64(maxRangePoints)
	if d.Source.Kind == "prometheus" {
		chunk = rawChunkMinutes
	}
	for from < end {
		to := min(end, from+chunk)
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
// while nothing of the minute is known yet, and for threshold metrics, which are judged on
// whole minutes.
func PrometheusPartial(ctx context.Context, hc *http.Client, p *config.PrometheusSLI, now time.Time) (Point, bool, error) {
	start := now.Truncate(time.Minute)
	if p.Op != "" {
		return Point{}, false, nil
	}
	if !windowed(p) {
		pts, err := PrometheusPoints(ctx, hc, p, start, now)
		if err != nil || len(pts) == 0 {
			return Point{}, false, err
		}
		return pts[len(pts)-1], pts[len(pts)-1].Timestamp.Equal(start.UTC()), nil
	}
	secs := int(now.Sub(start) / time.Second)
	if secs < 5 {
		return Point{}, false, nil
	}
	window := strconv.Itoa(secs) + "s"
	total, okT, err := promInstant(ctx, hc, p.URL, windowQuery(p.Total, window), now)
	if err != nil || !okT {
		return Point{}, false, err
	}
	q, bad := p.Good, false
	if q == "" {
		q, bad = p.Bad, true
	}
	part, _, err := promInstant(ctx, hc, p.URL, windowQuery(q, window), now)
	if err != nil {
		return Point{}, false, err
	}
	total = max(total, 0)
	if bad {
		part = total - part
	}
	return Point{Timestamp: start.UTC(), Good: min(max(part, 0), total), Total: total}, true, nil
}

// windowQuery writes window into an expression with {{.window}}.
func windowQuery(q, window string) string { return strings.ReplaceAll(q, "{{.window}}", window) }

// windowed reports whether the source's queries count events in a window themselves
// ({{.window}}); nines then reads them at the end of each minute.
func windowed(p *config.PrometheusSLI) bool {
	return strings.Contains(p.Total, "{{.window}}") || strings.Contains(p.Good, "{{.window}}") || strings.Contains(p.Bad, "{{.window}}")
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

// PromQL returns a query for the number of events of q in a window (a PromQL duration such as
// 1m, 5m), as one series without labels: an expression with {{.window}} gets the window written
// in and is summed; counter selectors and sums of them (config.CounterSelectors) are counted
// selector by selector, series by series (see counterEvents), and added up.
func PromQL(q, window string) string {
	if strings.Contains(q, "{{.window}}") {
		return "sum(" + strings.ReplaceAll(q, "{{.window}}", window) + ")"
	}
	sels, ok := config.CounterSelectors(q)
	if !ok {
		// Refused by validation; kept readable for a caller that did not validate.
		return "sum(increase((" + strings.TrimSpace(q) + ")[" + window + ":]))"
	}
	if len(sels) == 1 {
		return "sum(" + counterEvents(sels[0], window) + ")"
	}
	terms := make([]string, len(sels))
	for i, sel := range sels {
		terms[i] = "(sum(" + counterEvents(sel, window) + ") or on() vector(0))"
	}
	return "(" + strings.Join(terms, " + ") + ")"
}

// counterEvents is PromQL for the events each series of the counter selector sel counted in the
// window ending at the evaluation time, as nines counts them wherever Prometheus can:
//
//   - a series there at the window's start and not reset in it counted its last value in the
//     window minus its value at the start: exact, nothing extrapolated (nines takes the same
//     two samples);
//   - a series born in the window, not reset, after its target was first scraped in it (it has
//     fewer samples in the window than up, or than the same metric with other labels, of the
//     same job and instance) counted its whole value, from zero: a client library creates a
//     labelled counter on its first event, and increase() would drop that first value;
//   - any other series (reset in the window, or there from its target's first scrape) counted
//     what increase() says: Prometheus's extrapolation, which PromQL cannot make exact.
func counterEvents(sel, w string) string {
	r := sel + "[" + w + "]"
	start := sel + " offset " + w
	scrapes := "count_over_time(up[" + w + "])"
	before := "up offset " + w
	if i := strings.IndexAny(sel, "{ \t"); i != 0 {
		name := sel
		if i > 0 {
			name = sel[:i]
		}
		scrapes = "(count_over_time(" + name + "[" + w + "]) or " + scrapes + ")"
		before = "(" + name + " offset " + w + " or " + before + ")"
	}
	reset := "resets(" + r + ") > 0"
	born := "(last_over_time(" + r + ") unless " + start + " unless " + reset + ")"
	return "((last_over_time(" + r + ") - " + start + ") unless " + reset + ")" +
		// Born after its target's first scrape in the window: fewer samples than its target's
		// scrapes, or the target was scraped at the window's start.
		" or (" + born + " and (count_over_time(" + r + ") < on(job, instance) group_left() max by (job, instance) " + scrapes + "))" +
		" or (" + born + " and on(job, instance) " + before + ")" +
		" or increase(" + r + ")"
}

// PrometheusPoints reads per-minute good and total counts for minutes [from, to); a to inside a
// minute reads that minute so far.
//
// Counters are read exactly as they count: nines fetches their raw samples and adds up the rise
// between each sample and the one before it, so the events over any stretch of minutes are the
// counters' own difference, whatever the scrape interval and however samples fall against
// minute boundaries (increase() extrapolates inside each window, and loses or invents events
// that straddle them). A counter that goes down was reset (a restart): its new value is what
// it counted since. A series that first appears while its target was already being scraped
// (a client library creates a labelled counter on its first event) counted its first value
// from zero. The rise between two samples belongs to the minute of the later one, with a sample
// on the minute counting for the minute it closes. A sum of selectors is read selector by
// selector and series by series, and added up after counting, so a series born inside it is
// seen being born; an expression with {{.window}} counts its own events and is read at the end
// of each minute.
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
	q, bad := p.Good, false
	if q == "" {
		q, bad = p.Bad, true
	}
	var total, part map[int64]float64
	var err error
	if windowed(p) {
		if total, err = promRange(ctx, hc, p.URL, windowQuery(p.Total, "1m"), from, to); err != nil {
			return nil, fmt.Errorf("total: %w", err)
		}
		if part, err = promRange(ctx, hc, p.URL, windowQuery(q, "1m"), from, to); err != nil {
			return nil, fmt.Errorf("good/bad: %w", err)
		}
	} else {
		r := counterReader{hc: hc, base: p.URL, from: from, to: to}
		if total, err = r.minutes(ctx, p.Total); err != nil {
			return nil, fmt.Errorf("total: %w", err)
		}
		if part, err = r.minutes(ctx, q); err != nil {
			return nil, fmt.Errorf("good/bad: %w", err)
		}
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

// counterLookback is how far before the first minute read counters are read too, for the
// sample each rise starts from: Prometheus's own lookback.
const counterLookback = 5 * time.Minute

// rawChunkMinutes bounds one read of raw samples: 6 hours are 1,440 samples a series at 15s.
const rawChunkMinutes = 6 * 60

// counterReader reads counters' per-minute rises over [from, to).
type counterReader struct {
	hc       *http.Client
	base     string
	from, to time.Time
	// first caches the earliest sample of each selector asked about.
	first map[string]int64
}

// minutes returns, by minute, the rise of query's counters summed over its series; a minute
// with samples and no rise is there with 0.
func (r *counterReader) minutes(ctx context.Context, query string) (map[int64]float64, error) {
	rng := r.to.Sub(r.from) + counterLookback
	secs := strconv.FormatInt(int64((rng+time.Second-1)/time.Second), 10) + "s"
	sels, ok := config.CounterSelectors(query)
	if !ok {
		return nil, fmt.Errorf("%q is neither a counter selector nor a sum of them; nines cannot count its events exactly", query)
	}
	var series []promSeries
	for _, sel := range sels {
		ss, err := promMatrix(ctx, r.hc, r.base, sel+"["+secs+"]", r.to)
		if err != nil {
			return nil, err
		}
		series = append(series, ss...)
	}
	fromM, toMs := unixMinute(r.from), r.to.UnixMilli()
	rangeStart := r.to.Add(-rng).UnixMilli()
	out := map[int64]float64{}
	for _, s := range series {
		if len(s.ts) == 0 {
			continue
		}
		for i := range s.ts {
			m := floorDiv(s.ts[i]-1, 60000) // a sample on the minute closes the minute before
			if m < fromM || s.ts[i] > toMs {
				continue
			}
			rise := 0.0
			switch {
			case i > 0 && s.vals[i] >= s.vals[i-1]:
				rise = s.vals[i] - s.vals[i-1]
			case i > 0:
				rise = s.vals[i] // reset: counted from zero since
			default:
				// The series' first sample after the range began: new if its target was scraped
				// before it without it.
				first, err := r.firstSeen(ctx, s.labels)
				if err != nil {
					return nil, err
				}
				if s.ts[0] > rangeStart && first > 0 && first < s.ts[0] {
					rise = s.vals[0]
				}
			}
			out[m] += rise
		}
	}
	return out, nil
}

// firstSeen is when the series' target (its job and instance) was first seen in the range
// read: its first scrape (up), or the first sample of another series of the same metric from
// it, whichever came first; 0 when that cannot be told.
func (r *counterReader) firstSeen(ctx context.Context, labels map[string]string) (int64, error) {
	job, okJ := labels["job"]
	inst, okI := labels["instance"]
	if !okJ || !okI {
		return 0, nil
	}
	target := fmt.Sprintf("{job=%s,instance=%s}", strconv.Quote(job), strconv.Quote(inst))
	var first int64
	for _, name := range []string{"up", labels["__name__"]} {
		if name == "" {
			continue
		}
		t, err := r.firstSample(ctx, name+target)
		if err != nil {
			return 0, err
		}
		if t > 0 && (first == 0 || t < first) {
			first = t
		}
	}
	return first, nil
}

// firstSample is the earliest sample of selector's series in the range read.
func (r *counterReader) firstSample(ctx context.Context, selector string) (int64, error) {
	if t, ok := r.first[selector]; ok {
		return t, nil
	}
	rng := r.to.Sub(r.from) + counterLookback
	series, err := promMatrix(ctx, r.hc, r.base, fmt.Sprintf("%s[%ds]", selector, int64((rng+time.Second-1)/time.Second)), r.to)
	if err != nil {
		return 0, err
	}
	var first int64
	for _, s := range series {
		if len(s.ts) > 0 && (first == 0 || s.ts[0] < first) {
			first = s.ts[0]
		}
	}
	if r.first == nil {
		r.first = map[string]int64{}
	}
	r.first[selector] = first
	return first, nil
}

// promSeries is one series of a matrix: its labels and samples (unix milliseconds).
type promSeries struct {
	labels map[string]string
	ts     []int64
	vals   []float64
}

// promMatrix runs an instant query that returns a range vector (raw samples) at t.
func promMatrix(ctx context.Context, hc *http.Client, base, query string, t time.Time) ([]promSeries, error) {
	v := url.Values{}
	v.Set("query", query)
	v.Set("time", strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64))
	var r struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	}
	if err := promAPI(ctx, hc, base, "/api/v1/query", v, &r); err != nil {
		return nil, err
	}
	if r.ResultType != "matrix" {
		return nil, fmt.Errorf("prometheus: %s gave a %s, not samples", query, r.ResultType)
	}
	out := make([]promSeries, 0, len(r.Result))
	for _, res := range r.Result {
		s := promSeries{labels: res.Metric}
		for _, pair := range res.Values {
			ts, _ := pair[0].(float64)
			str, _ := pair[1].(string)
			f, err := strconv.ParseFloat(str, 64)
			if err != nil || !finite(f) {
				continue
			}
			s.ts = append(s.ts, int64(math.Round(ts*1000)))
			s.vals = append(s.vals, f)
		}
		out = append(out, s)
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
