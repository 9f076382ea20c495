package slo_test

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/slo"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

func TestDefaultRulesSpendTheWorkbookShareOfBudget(t *testing.T) {
	// The SRE workbook's table 5-8: budget consumed before each alert fires, for 30 days.
	cases := []struct {
		severity    string
		long, short time.Duration
		threshold   float64
		budgetShare float64
	}{
		{"page", time.Hour, 5 * time.Minute, 14.4, 0.02},
		{"page", 6 * time.Hour, 30 * time.Minute, 6, 0.05},
		{"ticket", 24 * time.Hour, 2 * time.Hour, 3, 0.10},
		{"ticket", 72 * time.Hour, 6 * time.Hour, 1, 0.10},
	}
	for i, c := range cases {
		r := slo.WorkbookRules[i]
		if r.Severity != c.severity || r.Long != c.long || r.Short != c.short || r.Threshold != c.threshold {
			t.Errorf("rule %d = %+v, want %s at %v× over %s/%s", i, r, c.severity, c.threshold, c.long, c.short)
		}
		share := r.Threshold * r.Long.Hours() / (30 * 24)
		near(t, "budget share of rule "+r.Pair(), share, c.budgetShare)
		if r.Short*12 != r.Long {
			t.Errorf("rule %s: short window is not a twelfth of the long one", r.Pair())
		}
	}
}

func TestRulesScaleWithTheWindowAndStayReachable(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string // pair@threshold
	}{
		{"a 30-day window keeps the workbook's windows", "window: 30d\n    objective: 99.9",
			[]string{"1h/5m@14.4", "6h/30m@6", "1d/2h@3", "3d/6h@1"}},
		{"a 7-day window shrinks the windows and keeps the thresholds", "window: 7d\n    objective: 99.9",
			[]string{"14m/1m@14.4", "84m/7m@6", "336m/28m@3", "1008m/84m@1"}},
		{"a calendar month counts as the workbook's 30 days", "calendar: month\n    objective: 99.9",
			[]string{"1h/5m@14.4", "6h/30m@6", "1d/2h@3", "3d/6h@1"}},
		// Every event failing burns at most 1/0.1 = 10×: 14.4× is out of reach, so it becomes
		// half the maximum, 5×: the page fires when half the events fail.
		{"a 90% objective gets page thresholds it can reach", "window: 30d\n    objective: 90",
			[]string{"1h/5m@5", "6h/30m@6", "1d/2h@3", "3d/6h@1"}},
		{"a 50% objective lowers every unreachable threshold", "window: 30d\n    objective: 50",
			[]string{"1h/5m@1", "6h/30m@1", "1d/2h@1", "3d/6h@1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := config.Parse("x.yaml", []byte(services+"slos:\n  - id: s\n    service: checkout\n    sli: {events: {source: push}}\n    "+c.yaml+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			d := slo.FromConfig(&cfg.SLOs[0])
			var got []string
			for _, r := range d.Alerts.Rules {
				got = append(got, r.Pair()+"@"+ftoa(r.Threshold))
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("rules = %v, want %v", got, c.want)
			}
		})
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// fastBurnConfig pages on the workbook's defaults for a 99.9% SLO.
const fastBurnConfig = `
slos:
  - id: checkout-availability
    service: checkout
    objective: 99.9
    window: 30d
    sli: {events: {source: push}}
`

func minutes(start time.Time, n int, good, total float64) []slo.Point {
	pts := make([]slo.Point, n)
	for i := range pts {
		pts[i] = slo.Point{Timestamp: start.Add(time.Duration(i) * time.Minute), Good: good, Total: total}
	}
	return pts
}

func openAlerts(t *testing.T, h *harness) map[string]alert.Alert {
	t.Helper()
	incs, _, err := h.incidents.List(context.Background(), incident.Filter{ServiceIDs: []string{"checkout"}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]alert.Alert{}
	for _, inc := range incs {
		as, err := h.pipeline.ForIncident(context.Background(), inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			out[a.DedupKey] = a
		}
	}
	return out
}

func TestFastBurnPagesAndResolvesWhenTheBurnStops(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		start := at("2026-11-22T09:00:00Z")
		h := newHarness(t, db, start.Add(65*time.Minute), fastBurnConfig)
		ctx := context.Background()
		// An hour of clean traffic, then five minutes where half the requests fail.
		h.push(t, "checkout-availability", minutes(start, 60, 1000, 1000)...)
		h.push(t, "checkout-availability", minutes(start.Add(60*time.Minute), 5, 500, 1000)...)
		if err := h.engine.Round(ctx, false); err != nil {
			t.Fatal(err)
		}
		alerts := openAlerts(t, h)
		page, ok := alerts["slo/checkout-availability/page"]
		if !ok || page.State != "triggered" || page.Severity != "critical" {
			t.Fatalf("page alert = %+v (found %v), want a triggered critical alert", page, ok)
		}
		// 2,500 bad of 65,000 over 1h is 38.5×; 2,500 of 5,000 over 5m is 500×.
		if !strings.Contains(page.Summary, "over 1h") || !strings.Contains(page.Summary, "over 5m") || !strings.Contains(page.Summary, "500×") {
			t.Errorf("page summary %q should name the 1h/5m pair and its burn rates", page.Summary)
		}
		if tk := alerts["slo/checkout-availability/ticket"]; tk.State != "triggered" || tk.Severity != "warning" {
			t.Errorf("ticket alert = %+v, want triggered warning", tk)
		}

		// Another round with nothing new changes nothing: no repeat on the timeline.
		if err := h.engine.Round(ctx, false); err != nil {
			t.Fatal(err)
		}
		if a := openAlerts(t, h)["slo/checkout-availability/page"]; a.Count != 1 {
			t.Errorf("page alert count = %d after a quiet round, want 1", a.Count)
		}

		// Clean traffic again: once 30 minutes have passed the 6h/30m pair's short window is
		// clean too and the page resolves; the ticket's 2h short window still burns.
		for i := 0; i < 31; i++ {
			h.clock.Advance(time.Minute)
			h.push(t, "checkout-availability", slo.Point{Timestamp: start.Add(time.Duration(65+i) * time.Minute), Good: 1000, Total: 1000})
			if err := h.engine.Round(ctx, true); err != nil {
				t.Fatal(err)
			}
			if i == 10 {
				if a := openAlerts(t, h)["slo/checkout-availability/page"]; a.State != "triggered" {
					t.Errorf("page resolved after 11 clean minutes while the 30m window still burns")
				}
			}
		}
		alerts = openAlerts(t, h)
		if a := alerts["slo/checkout-availability/page"]; a.State != "resolved" {
			t.Errorf("page state = %s after 31 clean minutes, want resolved", a.State)
		}
		if a := alerts["slo/checkout-availability/ticket"]; a.State != "triggered" {
			t.Errorf("ticket state = %s, want still triggered", a.State)
		}

		// The SLO leaves the config: its ticket resolves rather than stay open forever.
		cfg, err := config.Parse("nines.yaml", []byte(services+"slos: []\n"))
		if err != nil {
			t.Fatal(err)
		}
		h.engine.Apply(cfg)
		if err := h.engine.Round(ctx, false); err != nil {
			t.Fatal(err)
		}
		if a := openAlerts(t, h)["slo/checkout-availability/ticket"]; a.State != "resolved" {
			t.Errorf("ticket of a removed SLO: state = %s, want resolved", a.State)
		}
	})
}

func TestQuietServicePagesNobodyForOneFailure(t *testing.T) {
	db := storetest.SQLite(t, schemas)
	start := at("2026-11-22T09:00:00Z")
	h := newHarness(t, db, start.Add(time.Hour), fastBurnConfig)
	// Three requests an hour, one failed: a 33% error ratio, but below the 10-event guard.
	h.push(t, "checkout-availability", slo.Point{Timestamp: start, Good: 1, Total: 1},
		slo.Point{Timestamp: start.Add(20 * time.Minute), Good: 1, Total: 1},
		slo.Point{Timestamp: start.Add(59 * time.Minute), Good: 0, Total: 1})
	if err := h.engine.Round(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if a, ok := openAlerts(t, h)["slo/checkout-availability/page"]; ok {
		t.Errorf("paged for one failure in three requests: %+v", a)
	}
}

func TestPushedBurstPagesWithinSecondsThroughRun(t *testing.T) {
	db := storetest.SQLite(t, schemas)
	start := at("2026-11-22T09:00:00Z")
	h := newHarness(t, db, start.Add(61*time.Minute), fastBurnConfig)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { h.engine.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	h.push(t, "checkout-availability", minutes(start, 60, 1000, 1000)...)
	// The fake clock never reaches the periodic round: only the push can wake the evaluation.
	pushed := time.Now()
	h.push(t, "checkout-availability", minutes(start.Add(60*time.Minute), 2, 0, 1000)...)
	for {
		if a, ok := openAlerts(t, h)["slo/checkout-availability/page"]; ok && a.State == "triggered" {
			t.Logf("paged %s after the push", time.Since(pushed).Round(time.Millisecond))
			return
		}
		if time.Since(pushed) > 15*time.Second {
			t.Fatal("no page within 15 s of the data arriving")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestGateFlipsFromShipToSlowDown(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db, at("2026-11-22T10:30:00Z"), fastBurnConfig+`
  - id: checkout-latency
    service: checkout
    objective: 99
    sli: {events: {source: push}}
`)
		ctx := context.Background()
		h.push(t, "checkout-availability", pt("2026-11-22T10:00:00Z", 9995, 10000))
		g, err := h.engine.Gate(ctx, "checkout")
		if err != nil {
			t.Fatal(err)
		}
		if !g.Ship || g.Decision != "ship" || len(g.SLOs) != 2 {
			t.Fatalf("gate = %+v, want ship with two SLOs", g)
		}
		// 5 more bad of 10,000 more: 10 of 20,000 is half the budget... then 15 more spend it.
		h.push(t, "checkout-availability", pt("2026-11-22T10:01:00Z", 9980, 10000))
		g, err = h.engine.Gate(ctx, "checkout")
		if err != nil {
			t.Fatal(err)
		}
		if g.Ship || g.Decision != "slow_down" || !strings.Contains(g.Reason, "checkout-availability") {
			t.Fatalf("gate = %+v, want slow_down naming checkout-availability", g)
		}
		if g, _ := h.engine.Gate(ctx, "search"); !g.Ship || len(g.SLOs) != 0 {
			t.Errorf("a service without SLOs: gate = %+v, want ship", g)
		}
	})
}

func TestSLAReportForAMonth(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db, at("2026-11-22T10:30:00Z"), `
slos:
  - id: checkout-minutes
    service: checkout
    objective: 99.95
    sla: 99.9
    calendar: month
    budgeting_method: timeslices
    timeslice_target: 99
    sli: {events: {source: push}}
`)
		ctx := context.Background()
		// October 2026 (UTC, 44,640 minutes): 50 bad minutes during an incident.
		h.push(t, "checkout-minutes", minutes(at("2026-10-10T12:00:00Z"), 50, 0, 100)...)
		h.push(t, "checkout-minutes", minutes(at("2026-10-11T12:00:00Z"), 10, 100, 100)...)
		inc := openIncident(t, h, at("2026-10-10T11:58:00Z"), at("2026-10-10T13:00:00Z"))
		r, err := h.engine.SLA(ctx, h.incidents, "checkout", "2026-10", time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.SLOs) != 1 {
			t.Fatalf("report has %d SLOs, want 1", len(r.SLOs))
		}
		e := r.SLOs[0]
		// 50 of October's 44,640 minutes were bad (minutes without data count as good);
		// allowed: 0.1% of 44,640 minutes = 44.64 min.
		near(t, "achieved", e.Achieved, 1-50.0/44640)
		near(t, "downtime_seconds", e.DowntimeSeconds, 50*60)
		near(t, "allowed_downtime_seconds", e.AllowedDowntimeSeconds, 44.64*60)
		if e.Met || r.Met {
			t.Errorf("report met = %v, want a breach", r.Met)
		}
		if len(e.Incidents) != 1 || e.Incidents[0].ID != inc || e.Incidents[0].BadEvents != 50 {
			t.Fatalf("incidents = %+v, want incident %d with 50 bad minutes", e.Incidents, inc)
		}
		near(t, "budget spent by the incident", e.Incidents[0].BudgetSpent, 50/44.64)
	})
}

func openIncident(t *testing.T, h *harness, opened, resolved time.Time) int64 {
	t.Helper()
	var id int64
	err := h.db.Tx(context.Background(), func(tx *store.Tx) error {
		inc, err := h.incidents.Open(context.Background(), tx, incident.OpenParams{ServiceID: "checkout", Severity: "critical", Title: "checkout down", At: opened})
		id = inc.ID
		if err != nil {
			return err
		}
		_, _, err = h.incidents.Transition(context.Background(), tx, id, incident.Resolved, resolved, incident.Actor{Name: "test"}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// The allowances uptime.is gives: a year of 365.2425 days, a month of a twelfth of it.
func TestAllowedDowntimeAsUptimeIsCountsIt(t *testing.T) {
	cases := []struct {
		target      float64
		month, year string
	}{
		{0.9999, "4m23s", "52m36s"},
		{0.999, "43m50s", "8h45m57s"},
		{0.99, "7h18m17s", "87h39m30s"},
	}
	for _, c := range cases {
		m := slo.AllowedDowntime(c.target, slo.AverageMonth).Round(time.Second)
		y := slo.AllowedDowntime(c.target, slo.AverageYear).Round(time.Second)
		if m.String() != c.month || y.String() != c.year {
			t.Errorf("%v: %s a month, %s a year; want %s and %s", c.target, m, y, c.month, c.year)
		}
	}
}

var update = flag.Bool("update", false, "rewrite golden files")

func TestPrometheusRulesMatchGolden(t *testing.T) {
	cfg, err := config.Parse("x.yaml", []byte(services+`
slos:
  - id: checkout-availability
    service: checkout
    objective: 99.9
    window: 30d
    sli:
      prometheus:
        url: http://127.0.0.1:9090
        good: http_requests_total{job="checkout",code!~"5.."}
        total: http_requests_total{job="checkout"}
  - id: search-errors
    service: search
    objective: 99
    window: 7d
    alerts:
      min_events: 100
      page: [{long: 1h, short: 5m, burn_rate: 10}]
    sli:
      prometheus:
        url: http://127.0.0.1:9090
        bad: sum(search_errors_total - search_errors_total offset {{.window}})
        total: sum(search_requests_total - search_requests_total offset {{.window}})
  - id: search-availability
    service: search
    objective: 99.5
    window: 28d
    sli:
      prometheus:
        url: http://127.0.0.1:9090
        bad: sum by (code) (search_requests_total{code=~"5.."}) + grpc_errors_total
        total: sum without (instance) (search_requests_total) + sum(grpc_requests_total)
  - id: pushed
    service: checkout
    objective: 99
    sli: {events: {source: push}}
  - id: search-low
    service: search
    objective: 90
    window: 30d
    alerts:
      page: [{long: 1h, short: 5m, burn_rate: 14.4}]
      ticket: [{long: 1d, short: 2h, burn_rate: 3}]
    sli:
      prometheus:
        url: http://127.0.0.1:9090
        bad: search_requests_total{code=~"5.."}
        total: search_requests_total
`))
	if err != nil {
		t.Fatal(err)
	}
	var defs []*slo.Definition
	for i := range cfg.SLOs {
		defs = append(defs, slo.FromConfig(&cfg.SLOs[i]))
	}
	got := slo.PrometheusRules(defs)
	golden := filepath.Join("testdata", "rules.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("rules differ from %s (run with -update to accept):\n%s", golden, got)
	}
	// A threshold no burn can reach is lowered, and the alert says so (90%: at most 10×).
	for _, want := range []string{
		`summary: "SLO search-low: error budget burning at least 5× over 1h and 5m (threshold lowered from 14.4× for the 90% objective, whose highest possible burn rate is 10×)"`,
		`summary: "SLO search-low: error budget burning at least 3× over 1d and 2h"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the rules lack %s", want)
		}
	}
	// Prometheus's own checker must accept them.
	out, err := exec.Command("promtool", "check", "rules", golden).CombinedOutput()
	if err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"2026-10", "2026-Q4", "2026-Q0", "2026-13", "-Q1", "9999-Q4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, end, err := slo.ParsePeriod(s, time.UTC)
		if err == nil && !end.After(start) {
			t.Fatalf("period %q: end %s not after start %s", s, end, start)
		}
	})
}
