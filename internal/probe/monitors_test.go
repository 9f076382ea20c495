package probe

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func TestAnEndpointAnswering500OpensAnIncidentAndItsRecoveryResolvesIt(t *testing.T) {
	storetest.Each(t, testSchemas, func(t *testing.T, db *store.DB) {
		tg := newTarget(t)
		h := newHarness(t, db, fmt.Sprintf(`services: [{id: checkout, name: Checkout}]
monitors:
  - id: checkout-health
    service: checkout
    type: http
    url: %s/healthCheck
    interval: 10s
    timeout: 2s
    expect: {status: 200}
    failures_before_down: 2
    successes_before_up: 2
`, tg.srv.URL), t0)

		h.step(10*time.Second, 1)
		if s := h.status("checkout-health"); s != StatusUp {
			t.Fatalf("status %q after a 200, want up", s)
		}
		tg.status.Store(500)
		h.step(10*time.Second, 1)
		if s := h.status("checkout-health"); s != StatusUp || len(h.incidentsOf("checkout")) != 0 {
			t.Fatalf("one failure with failures_before_down 2 must not open anything (status %s)", s)
		}
		h.step(10*time.Second, 1)
		incs := h.incidentsOf("checkout")
		if s := h.status("checkout-health"); s != StatusDown || len(incs) != 1 || incs[0].State != incident.Triggered {
			t.Fatalf("after two 500s: status %s, incidents %+v; want down and one triggered incident", s, incs)
		}
		if v, _ := h.mon.View("checkout-health"); v.Cause != CauseStatus {
			t.Fatalf("cause %q, want status", v.Cause)
		}
		h.step(10*time.Second, 1) // still failing: the same alert, no second incident
		if n := len(h.incidentsOf("checkout")); n != 1 {
			t.Fatalf("%d incidents while it stays down, want 1", n)
		}

		tg.status.Store(200)
		h.step(10*time.Second, 1)
		if h.incidentsOf("checkout")[0].State != incident.Triggered {
			t.Fatal("one success with successes_before_up 2 must not resolve")
		}
		h.step(10*time.Second, 1)
		incs = h.incidentsOf("checkout")
		if s := h.status("checkout-health"); s != StatusUp || incs[0].State != incident.Resolved {
			t.Fatalf("after recovery: status %s, incident %s; want up and resolved", s, incs[0].State)
		}
		events, _ := h.incidents.Timeline(context.Background(), incs[0].ID)
		var types []string
		for _, e := range events {
			types = append(types, e.Type)
		}
		want := []string{"incident.triggered", "alert.triggered", "alert.resolved", "incident.resolved"}
		if fmt.Sprint(types) != fmt.Sprint(want) {
			t.Fatalf("timeline %v, want %v", types, want)
		}
	})
}

func TestASlowTargetDoesNotDelayTheOthers(t *testing.T) {
	db := storetest.SQLite(t, testSchemas)
	slow, fast := newTarget(t), newTarget(t)
	slow.delay.Store(int64(time.Hour))
	h := newHarness(t, db, fmt.Sprintf(`services: [{id: web}]
probes: {workers: 2}
monitors:
  - {id: slow, service: web, type: http, url: %s, interval: 5s, timeout: 1s}
  - {id: fast, service: web, type: http, url: %s, interval: 5s, timeout: 1s}
`, slow.srv.URL, fast.srv.URL), t0)
	start := time.Now()
	for i := 0; i < 3; i++ {
		h.step(5*time.Second, 2)
	}
	if time.Since(start) > 6*time.Second {
		t.Fatalf("three rounds took %s: the 1s timeout was not enforced", time.Since(start))
	}
	if fast.hits.Load() != 3 {
		t.Fatalf("the fast target was checked %d times in three rounds, want 3", fast.hits.Load())
	}
	if v, _ := h.mon.View("slow"); v.Status != StatusDown || v.Cause != CauseTimeout {
		t.Fatalf("slow monitor: %+v, want down for timeout", v)
	}
}

func TestRemovingOrPausingADownMonitorResolvesItsIncident(t *testing.T) {
	for _, change := range []string{"removed", "paused"} {
		t.Run("a monitor "+change+" by a reload", func(t *testing.T) {
			tg := newTarget(t)
			tg.status.Store(500)
			base := fmt.Sprintf("services: [{id: web}]\nmonitors:\n  - {id: keep, service: web, type: tcp, address: '%s'}\n", tg.srv.Listener.Addr())
			h := newHarness(t, storetest.SQLite(t, testSchemas), base+fmt.Sprintf("  - {id: api, service: web, type: http, url: %s, interval: 10s}\n", tg.srv.URL), t0)
			h.step(10*time.Second, 1)
			storetest.Eventually(t, 5*time.Second, "the incident", func() bool { return len(h.incidentsOf("web")) == 1 })
			next := base
			if change == "paused" {
				next += fmt.Sprintf("  - {id: api, service: web, type: http, url: %s, interval: 10s, paused: true}\n", tg.srv.URL)
			}
			cfg, err := config.Parse("nines.yaml", []byte(next))
			if err != nil {
				t.Fatal(err)
			}
			h.live.Swap(cfg)
			if inc := h.incidentsOf("web")[0]; inc.State != incident.Resolved {
				t.Fatalf("incident %s after the monitor was %s, want resolved", inc.State, change)
			}
			want := map[string]string{"removed": "", "paused": StatusPaused}[change]
			if got := h.status("api"); got != want {
				t.Fatalf("status %q, want %q", got, want)
			}
		})
	}
}
