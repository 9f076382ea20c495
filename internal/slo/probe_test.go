package slo_test

import (
	"context"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/slo"
	"github.com/nines-dev/nines/internal/storetest"
)

// rollups stands in for the probe package's per-minute rollups, which speak ProbeSource.
type rollups map[string][]slo.ProbeMinute

func (r rollups) ProbeMinutes(ctx context.Context, monitor string, from, to time.Time) ([]slo.ProbeMinute, error) {
	var out []slo.ProbeMinute
	for _, m := range r[monitor] {
		if !m.Start.Before(from) && m.Start.Before(to) {
			out = append(out, m)
		}
	}
	return out, nil
}

var _ slo.ProbeSource = rollups(nil)

func TestProbeBackedSLIsCountChecksOrMinutes(t *testing.T) {
	db := storetest.SQLite(t, schemas)
	start := at("2026-11-22T10:00:00Z")
	h := newHarness(t, db, start.Add(10*time.Minute), `
monitors:
  - id: checkout-health
    service: checkout
    type: http
    url: http://127.0.0.1:8081/healthCheck
slos:
  - id: up
    service: checkout
    objective: 99
    window: 1d
    sli: {probe: checkout-health}
  - id: fast
    service: checkout
    objective: 90
    window: 1d
    budgeting_method: timeslices
    sli:
      probe: checkout-health
      latency: {percentile: 95, below: 100ms}
`)
	var mins []slo.ProbeMinute
	for i := 0; i < 4; i++ {
		m := slo.ProbeMinute{Start: start.Add(time.Duration(i) * time.Minute), Up: 2, Total: 2, P95: 80 * time.Millisecond}
		if i == 3 {
			m.Up, m.P95 = 1, 250*time.Millisecond // one failed check, and a slow minute
		}
		mins = append(mins, m)
	}
	h.engine.Probes = rollups{"checkout-health": mins}
	if err := h.engine.Pull(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Availability counts checks: 1 failed of 8.
	up := h.status(t, "up")
	near(t, "up sli_value", up.SLIValue, 7.0/8)
	// Latency counts minutes: 1 of the window's 1,440 had p95 over 100 ms (minutes without
	// checks count as good).
	fast := h.status(t, "fast")
	near(t, "fast sli_value", fast.SLIValue, 1-1.0/1440)
	near(t, "fast error_budget_remaining", fast.ErrorBudgetRemaining, 1-1/(0.1*1440))
}

func TestReloadKeepsDataAndRereadsAChangedShape(t *testing.T) {
	db := storetest.SQLite(t, schemas)
	h := newHarness(t, db, at("2026-11-22T10:30:00Z"), fastBurnConfig)
	h.push(t, "checkout-availability", pt("2026-11-22T10:00:00Z", 990, 1000))
	apply := func(yaml string) {
		cfg, err := config.Parse("nines.yaml", []byte(services+yaml))
		if err != nil {
			t.Fatal(err)
		}
		h.engine.Apply(cfg)
	}
	// A new objective keeps the series; a new window reads it again from the database.
	apply("slos:\n  - {id: checkout-availability, service: checkout, objective: 99, window: 30d, sli: {events: {source: push}}}\n")
	near(t, "remaining at 99%", h.status(t, "checkout-availability").ErrorBudgetRemaining, 0)
	apply("slos:\n  - {id: checkout-availability, service: checkout, objective: 98, window: 7d, sli: {events: {source: push}}}\n")
	st := h.status(t, "checkout-availability")
	near(t, "remaining at 98% over 7d", st.ErrorBudgetRemaining, 0.5)
	if st.Window != "7d" {
		t.Errorf("window = %s, want 7d", st.Window)
	}
	apply("slos: []\n")
	if _, err := h.engine.Status(context.Background(), "checkout-availability"); err != slo.ErrNotFound {
		t.Errorf("a removed SLO: err = %v, want ErrNotFound", err)
	}
}
