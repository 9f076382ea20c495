package slo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/slo"
	"github.com/nines-dev/nines/internal/storetest"
)

// replayExporter serves counters with explicit timestamps, one step of a prepared timeline per
// scrape, so a real Prometheus stores minutes of history in a few seconds.
type replayExporter struct {
	mu    sync.Mutex
	steps []string
	next  int
}

func (e *replayExporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	i := min(e.next, len(e.steps)-1)
	e.next++
	e.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprint(w, e.steps[i])
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startPrometheus runs /usr/bin/prometheus on a free loopback port, scraping target.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is not installed (Debian package prometheus); ./scripts/test installs it")
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 150ms
  scrape_timeout: 100ms
scrape_configs:
  - job_name: app
    honor_timestamps: true
    static_configs:
      - targets: [%q]
`, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("prometheus did not become ready in 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitForTimeline waits until Prometheus has stored the replayed timeline up to its last sample.
func waitForTimeline(t *testing.T, prom string, last time.Time) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if v, found := instant(t, prom, "max(timestamp(app_requests_total))", last.Add(time.Second)); found && int64(v) == last.Unix() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("prometheus did not store the whole timeline in 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func instant(t *testing.T, base, query string, at time.Time) (float64, bool) {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?" + url.Values{"query": {query}, "time": {strconv.FormatInt(at.Unix(), 10)}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&r)
	if len(r.Data.Result) == 0 {
		return 0, false
	}
	f, _ := strconv.ParseFloat(r.Data.Result[0].Value[1].(string), 64)
	return f, true
}

func TestPrometheusSourceReadsPerMinuteCountsFromARealServer(t *testing.T) {
	// Ten minutes of a service taking 1,000 requests a minute; in minutes 6 and 7, 300 fail.
	start := time.Now().UTC().Truncate(time.Minute).Add(-20 * time.Minute)
	failures := map[int]float64{6: 300, 7: 300}
	const minutesOfData = 10
	exp := &replayExporter{}
	var ok, bad float64
	for s := 0; s <= minutesOfData*4; s++ { // a sample every 15 s
		ts := start.Add(time.Duration(s) * 15 * time.Second)
		exp.steps = append(exp.steps, fmt.Sprintf("# TYPE app_requests_total counter\napp_requests_total{code=\"200\"} %g %d\napp_requests_total{code=\"500\"} %g %d\n",
			ok, ts.UnixMilli(), bad, ts.UnixMilli()))
		m := s / 4
		ok += (1000 - failures[m]) / 4
		bad += failures[m] / 4
	}
	hs := httptest.NewServer(exp)
	defer hs.Close()
	prom := startPrometheus(t, hs.Listener.Addr().String())

	end := start.Add(minutesOfData * time.Minute)
	waitForTimeline(t, prom, end)

	src := &config.PrometheusSLI{URL: prom, Good: `app_requests_total{code!~"5.."}`, Total: "app_requests_total"}
	pts, err := slo.PrometheusPoints(context.Background(), http.DefaultClient, src, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != minutesOfData {
		t.Fatalf("%d points, want %d: %+v", len(pts), minutesOfData, pts)
	}
	for i, p := range pts {
		want := 1000 - failures[i]
		if !p.Timestamp.Equal(start.Add(time.Duration(i) * time.Minute)) {
			t.Errorf("point %d at %s, want %s", i, p.Timestamp, start.Add(time.Duration(i)*time.Minute))
		}
		near(t, fmt.Sprintf("minute %d total", i), p.Total, 1000)
		near(t, fmt.Sprintf("minute %d good", i), p.Good, want)
	}

	// A threshold metric (OpenSLO thresholdMetric): each minute is one event, good while fewer
	// than 100 requests a minute fail.
	thr := &config.PrometheusSLI{URL: prom, Good: `sum(increase(app_requests_total{code="500"}[1m]))`, Op: "lt", Threshold: 100}
	tpts, err := slo.PrometheusPoints(context.Background(), http.DefaultClient, thr, start, end)
	if err != nil {
		t.Fatal(err)
	}
	goodMinutes := 0.0
	for _, p := range tpts {
		goodMinutes += p.Good
	}
	if len(tpts) != minutesOfData || goodMinutes != minutesOfData-2 {
		t.Errorf("threshold metric: %d minutes, %v good; want %d and %d", len(tpts), goodMinutes, minutesOfData, minutesOfData-2)
	}

	// The docs' window expression: counter differences over {{.window}}, read at each minute's
	// end, are exact for series that live through the minute: the same counts, minute by minute.
	win := &config.PrometheusSLI{URL: prom, Good: `sum(app_requests_total{code!~"5.."} - app_requests_total{code!~"5.."} offset {{.window}})`,
		Total: `sum(app_requests_total - app_requests_total offset {{.window}})`}
	wpts, err := slo.PrometheusPoints(context.Background(), http.DefaultClient, win, start, end)
	if err != nil {
		t.Fatal(err)
	}
	if len(wpts) != minutesOfData {
		t.Fatalf("window expression: %d points, want %d: %+v", len(wpts), minutesOfData, wpts)
	}
	for i, p := range wpts {
		if p.Total != 1000 || p.Good != 1000-failures[i] {
			t.Errorf("window expression, minute %d: %v good of %v; want %v of 1000", i, p.Good, p.Total, 1000-failures[i])
		}
	}

	// Half-way through minute 6 (300 failures a minute), the minute so far: 500 requests, 150 bad.
	partial, found, err := slo.PrometheusPartial(context.Background(), http.DefaultClient, src, start.Add(6*time.Minute+30*time.Second))
	if err != nil || !found {
		t.Fatalf("partial minute: %v, %v", found, err)
	}
	if !partial.Timestamp.Equal(start.Add(6 * time.Minute)) {
		t.Errorf("partial minute at %s, want %s", partial.Timestamp, start.Add(6*time.Minute))
	}
	near(t, "partial total", partial.Total, 500)
	near(t, "partial good", partial.Good, 350)

	// The same through the engine: a pull, then the budget. The query for bad events instead of
	// good gives the same answer.
	db := storetest.SQLite(t, schemas)
	h := newHarness(t, db, end.Add(30*time.Second), `
slos:
  - id: app
    service: checkout
    objective: 99
    window: 1d
    sli:
      prometheus:
        url: `+prom+`
        bad: app_requests_total{code="500"}
        total: sum(app_requests_total)
`)
	if err := h.engine.Pull(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := h.status(t, "app")
	near(t, "events_total", st.EventsTotal, 10000)
	// 600 bad of 10,000: six budgets of 1% spent.
	near(t, "error_budget_remaining", st.ErrorBudgetRemaining, 1-0.06/0.01)
	// Pulling again reads the last minutes again without counting them twice.
	if err := h.engine.Pull(context.Background()); err != nil {
		t.Fatal(err)
	}
	near(t, "events_total after a second pull", h.status(t, "app").EventsTotal, 10000)
}

// TestPrometheusSourceCountsWhatTheCountersSay reads a timeline whose scrapes fall 7 s past each
// minute, through a real Prometheus, and expects the counters' own figures, worked by hand:
//
//	scrape k at 7 s + 15 s × k (k = 0..44): minute m holds scrapes 4m..4m+3, and minute 0 the
//	rises of scrapes 1-3 (scrape 0 is where counting starts).
//	code="200": +250 each scrape; the process restarts at scrape 30, which reads 250 (a reset).
//	code="500": no series until scrape 20, which reads 300 (created by its first event); 600
//	at scrape 21 and after; 0 from scrape 30 (the new process creates it at start).
//
// Minutes 0-9: 200s 3 × 250 + 9 × 1000 = 9,750; 500s 600, all in minute 5. Read through
// increase() at minute ends the burst and the restart lose and invent events.
func TestPrometheusSourceCountsWhatTheCountersSay(t *testing.T) {
	start := time.Now().UTC().Truncate(time.Minute).Add(-20 * time.Minute)
	exp := &replayExporter{}
	ok, bad := 0.0, 0.0
	for k := 0; k <= 44; k++ {
		ts := start.Add(7*time.Second + time.Duration(k)*15*time.Second).UnixMilli()
		switch {
		case k == 30:
			ok = 250
		case k > 0:
			ok += 250
		}
		switch k {
		case 20:
			bad = 300
		case 21:
			bad = 600
		case 30:
			bad = 0
		}
		step := fmt.Sprintf("# TYPE app_requests_total counter\napp_requests_total{code=\"200\"} %g %d\n", ok, ts)
		if k >= 20 {
			step += fmt.Sprintf("app_requests_total{code=\"500\"} %g %d\n", bad, ts)
		}
		exp.steps = append(exp.steps, step)
	}
	hs := httptest.NewServer(exp)
	defer hs.Close()
	prom := startPrometheus(t, hs.Listener.Addr().String())
	last := start.Add(7*time.Second + 44*15*time.Second)
	waitForTimeline(t, prom, last)

	end := start.Add(10 * time.Minute)
	sources := []struct {
		name string
		src  *config.PrometheusSLI
	}{
		{"good and total selectors", &config.PrometheusSLI{URL: prom, Good: `app_requests_total{code!~"5.."}`, Total: "app_requests_total"}},
		{"a bad selector and a total sum", &config.PrometheusSLI{URL: prom, Bad: `app_requests_total{code="500"}`, Total: "sum(app_requests_total)"}},
		// The sum of the 500s has no series until the first burst: its birth is visible only
		// on the series inside it, which nines reads and counts before adding them up.
		{"sums with and without grouping", &config.PrometheusSLI{URL: prom, Bad: `sum(app_requests_total{code=~"5.."})`,
			Total: `sum by (code) (app_requests_total{code="200"}) + sum without (instance) (app_requests_total{code!="200"})`}},
	}
	for _, c := range sources {
		t.Run(c.name, func(t *testing.T) {
			pts, err := slo.PrometheusPoints(context.Background(), http.DefaultClient, c.src, start, end)
			if err != nil {
				t.Fatal(err)
			}
			var good, total float64
			byMinute := map[int][2]float64{}
			for _, p := range pts {
				good += p.Good
				total += p.Total
				byMinute[int(p.Timestamp.Sub(start)/time.Minute)] = [2]float64{p.Good, p.Total}
			}
			if good != 9750 || total != 10350 {
				t.Errorf("minutes 0-9: %v good of %v; want 9750 of 10350 (600 bad)", good, total)
			}
			if byMinute[5] != [2]float64{1000, 1600} || byMinute[0] != [2]float64{750, 750} || byMinute[7] != [2]float64{1000, 1000} {
				t.Errorf("minutes 0, 5, 7 = %v, %v, %v; want 750/750, 1000/1600 and the restart's 1000/1000", byMinute[0], byMinute[5], byMinute[7])
			}
		})
	}

	// The same through the engine: the budget is the counters' own.
	db := storetest.SQLite(t, schemas)
	h := newHarness(t, db, end, `
slos:
  - id: app
    service: checkout
    objective: 99
    window: 1d
    sli:
      prometheus:
        url: `+prom+`
        good: app_requests_total{code!~"5.."}
        total: app_requests_total
`)
	if err := h.engine.Pull(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := h.status(t, "app")
	near(t, "events_total", st.EventsTotal, 10350)
	near(t, "events_good", st.EventsGood, 9750)
	// 600 bad of 10,350 against a 1% budget.
	near(t, "error_budget_remaining", st.ErrorBudgetRemaining, 1-(600.0/10350)/0.01)
}
