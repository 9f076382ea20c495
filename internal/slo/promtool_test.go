package slo_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/slo"
	"github.com/nines-dev/nines/internal/storetest"
)

// The promtool suite in testdata/promtool checks the rules nines exports against values worked
// by hand; TestNinesAgreesWithThePromtoolSuite feeds nines the same traffic and expects the same
// figures, so the exported rules and nines say the same thing.

func TestExportedRulesPassThePromtoolSuite(t *testing.T) {
	t.Parallel()
	cfg, err := config.Load(filepath.Join("testdata", "promtool", "nines.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var defs []*slo.Definition
	for i := range cfg.SLOs {
		defs = append(defs, slo.FromConfig(&cfg.SLOs[i]))
	}
	got := slo.PrometheusRules(defs)
	golden := filepath.Join("testdata", "promtool", "rules.yaml")
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
		t.Fatalf("the exported rules differ from %s (run with -update to accept):\n%s", golden, got)
	}
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Fatal("promtool is not installed (Debian package prometheus); ./scripts/test installs it")
	}
	for _, suite := range []string{"tests.yaml", "tests-28d.yaml"} {
		t.Run(suite, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("promtool", "test", "rules", suite)
			cmd.Dir = filepath.Join("testdata", "promtool")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("promtool test rules %s: %v\n%s", suite, err, out)
			}
		})
	}
}

// pointCounts gives the good and total events of the point of a scenario that starts at
// minute m (a minute's counts, or an hour's when the scenario pushes hourly).
type pointCounts func(m int) (good, total float64)

func TestNinesAgreesWithThePromtoolSuite(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "promtool", "nines.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type check struct {
		at             time.Duration // promtool's eval_time
		ratio1h        float64
		ratio5m        float64
		remaining      float64
		page, ticket   bool
		eventsInWindow float64 // events over the whole 28d window
	}
	cases := []struct {
		name    string
		minutes int
		step    int // minutes per point: 60 pushes an hour's counts as one point
		counts  pointCounts
		checks  []check
	}{
		{"steady errors", 120, 1, func(m int) (float64, float64) { return 995, 1000 },
			[]check{{at: 2 * time.Hour, ratio1h: 0.005, ratio5m: 0.005, remaining: 0.5, eventsInWindow: 120000}}},
		{"a burst", 70, 1, func(m int) (float64, float64) {
			if m >= 60 {
				return 0, 1000
			}
			return 1000, 1000
		}, []check{
			{at: 65 * time.Minute, ratio1h: 5000.0 / 60000, ratio5m: 1, remaining: 1 - (5000.0/65000)/0.01, ticket: true, eventsInWindow: 65000},
			{at: 70 * time.Minute, ratio1h: 10000.0 / 60000, ratio5m: 1, remaining: 1 - (10000.0/70000)/0.01, page: true, ticket: true, eventsInWindow: 70000},
		}},
		{"no traffic", 60, 1, func(m int) (float64, float64) { return 0, 0 },
			[]check{{at: time.Hour, remaining: 1}}},
		{"no success series", 60, 1, func(m int) (float64, float64) { return 0, 100 },
			[]check{{at: time.Hour, ratio1h: 1, ratio5m: 1, remaining: -99, page: true, ticket: true, eventsInWindow: 6000}}},
		// The counter="500" series is born at 120m holding 2,000 errors: the rise of its birth
		// sample belongs to minute 119, as nines reads counters.
		{"a new series holding its first errors", 130, 1, func(m int) (float64, float64) {
			if m == 119 {
				return 100, 2100
			}
			return 100, 100
		}, []check{{at: 124 * time.Minute, ratio1h: 0.25, ratio5m: 0.8, remaining: 1 - (2000.0/14400)/0.01, page: true, ticket: true, eventsInWindow: 14400}}},
		{"a 28-day window", 28 * 24 * 60, 60, func(m int) (float64, float64) {
			if m/60 == 50 {
				return 30000, 60000
			}
			return 60000, 60000
		}, []check{{at: 28 * 24 * time.Hour, remaining: 0.9255952380952381, eventsInWindow: 40320000}}},
	}
	// promtool's time 0; nines needs a moment within its 400 days.
	zero := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := storetest.SQLite(t, schemas)
			// The same SLO, its counts pushed: the figures are the engine's whatever the source.
			yaml := data[bytes.Index(data, []byte("slos:")):bytes.Index(data, []byte("    sli:"))]
			h := newHarness(t, db, zero, string(yaml)+"    sli: {events: {source: push}}\n")
			next := 0 // the first minute not pushed yet
			for _, ck := range c.checks {
				// promtool at eval_time has seen the counters up to that instant: nines' minutes
				// before it. nines is asked within the last minute before it.
				h.clock.Set(zero.Add(ck.at - time.Second))
				var pts []slo.Point
				for ; next < int(ck.at/time.Minute); next += c.step {
					if good, total := c.counts(next); total > 0 {
						pts = append(pts, slo.Point{Timestamp: zero.Add(time.Duration(next) * time.Minute), Good: good, Total: total})
					}
				}
				for len(pts) > 0 {
					n := min(len(pts), slo.MaxPoints)
					h.push(t, "checkout-availability", pts[:n]...)
					pts = pts[n:]
				}
				st := h.status(t, "checkout-availability")
				what := c.name + " at " + ck.at.String()
				if c.step == 1 {
					near(t, what+": error ratio 1h", st.BurnRates["1h"]*0.01, ck.ratio1h)
					near(t, what+": error ratio 5m", st.BurnRates["5m"]*0.01, ck.ratio5m)
				}
				near(t, what+": budget left", st.ErrorBudgetRemaining, ck.remaining)
				near(t, what+": events", st.EventsTotal, ck.eventsInWindow)
				for _, a := range st.Alerts {
					want := map[string]bool{"page": ck.page, "ticket": ck.ticket}[a.Severity]
					if a.Firing != want {
						t.Errorf("%s: %s alert firing = %v, want %v (%+v)", what, a.Severity, a.Firing, want, a)
					}
				}
			}
		})
	}
}
