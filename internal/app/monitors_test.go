package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/probe"
	"github.com/nines-dev/nines/internal/statuspage"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// The monitor runs from two agent locations, so the test plays both agents with the real HTTP
// checker and nothing else probes the target.
const monitorConfig = `
services:
  - {id: checkout, name: Checkout API}
monitors:
  - id: checkout-health
    name: Checkout health
    service: checkout
    type: http
    url: %s/health
    locations: [eu, us]
    quorum: 1
slos:
  - id: checkout-up
    service: checkout
    objective: 50
    window: 1d
    sli: {probe: checkout-health}
  - id: checkout-fast
    service: checkout
    objective: 90
    window: 1d
    budgeting_method: timeslices
    sli:
      probe: checkout-health
      latency: {percentile: 95, below: 100ms}
status_pages:
  - id: public
    title: Acme Status
    components:
      - {name: Checkout, monitor: checkout-health}
`

// target is a loopback service whose answer the test sets: a status code and a delay.
type target struct {
	code  atomic.Int64
	delay atomic.Int64
}

func (tg *target) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	time.Sleep(time.Duration(tg.delay.Load()))
	w.WriteHeader(int(tg.code.Load()))
}

// TestAMonitorFeedsItsSLOsAndItsStatusPageComponent checks a real target from two locations,
// minute by minute, and reads the outcome where users see it: the SLOs backed by the monitor
// and the status page component linked to it, which turns to an outage on its own.
func TestAMonitorFeedsItsSLOsAndItsStatusPageComponent(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		tg := &target{}
		ts := httptest.NewServer(tg)
		defer ts.Close()
		cfg, err := config.Parse("nines.yaml", []byte(fmt.Sprintf(monitorConfig, ts.URL)))
		if err != nil {
			t.Fatal(err)
		}
		clk := clock.NewFake(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
		a, err := app.New(ctx, config.NewLive(cfg), db, clk, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(a.Web.Handler())
		a.Start()
		defer func() { hs.Close(); a.Stop() }()

		checker, err := probe.NewChecker(cfg.Monitor("checkout-health"), probe.Options{})
		if err != nil {
			t.Fatal(err)
		}
		check := func(location string, code int, delay time.Duration) {
			t.Helper()
			tg.code.Store(int64(code))
			tg.delay.Store(int64(delay))
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			out := checker.Check(cctx)
			cancel()
			r := probe.Result{MonitorID: "checkout-health", Location: location, At: clk.Now(), OK: out.OK,
				Latency: out.Latency, Cause: out.Cause, Message: out.Message}
			if err := a.Monitors.Report(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		component := func() string {
			t.Helper()
			resp, err := http.Get(hs.URL + "/status/public/api/v2/summary.json")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var doc struct {
				Components []struct{ Status string }
				Status     struct{ Indicator string }
			}
			if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || len(doc.Components) != 1 {
				t.Fatalf("summary.json: %v %+v", err, doc)
			}
			return doc.Components[0].Status + "/" + doc.Status.Indicator
		}

		const slow = 150 * time.Millisecond
		steps := []struct {
			name          string
			eu, us        int
			delay         time.Duration
			wantComponent string
		}{
			{"both locations see it up", 200, 200, 0, "operational/none"},
			{"it stays up", 200, 200, 0, "operational/none"},
			{"it answers slowly", 200, 200, slow, "operational/none"},
			{"one location sees it fail", 500, 200, 0, "partial_outage/major"},
			{"both locations see it fail", 500, 500, 0, "major_outage/critical"},
			{"it recovers", 200, 200, 0, "operational/none"},
		}
		for i, s := range steps {
			if i > 0 {
				clk.Advance(time.Minute)
			}
			// Rendered before the checks and not touched after: the page must notice on its own.
			component()
			check("eu", s.eu, s.delay)
			check("us", s.us, s.delay)
			if got := component(); got != s.wantComponent {
				t.Errorf("minute %d, %s: component/indicator = %s, want %s", i, s.name, got, s.wantComponent)
			}
		}

		// By hand: 12 checks, 3 failed; of the day's 1,440 minutes 1 had p95 over 100 ms (minutes
		// without checks count as good slices).
		clk.Advance(30 * time.Second)
		if err := a.SLOs.Pull(ctx); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			slo                  string
			sli, budgetRemaining float64
		}{
			{"checkout-up", 9.0 / 12, 1 - (3.0/12)/0.5},
			{"checkout-fast", 1 - 1.0/1440, 1 - 1/(0.1*1440)},
		} {
			st, err := a.SLOs.Status(ctx, c.slo)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(st.SLIValue-c.sli) > 1e-9 || math.Abs(st.ErrorBudgetRemaining-c.budgetRemaining) > 1e-9 {
				t.Errorf("%s: sli_value %v, error_budget_remaining %v; want %v, %v", c.slo, st.SLIValue, st.ErrorBudgetRemaining, c.sli, c.budgetRemaining)
			}
		}

		// Today's bar is the day's share of passed checks once the rollups are written.
		if err := a.Monitors.History.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		v, err := a.StatusPages.View(ctx, "public")
		if err != nil {
			t.Fatal(err)
		}
		c := v.Components[0]
		today := c.Bars[len(c.Bars)-1]
		if len(c.Bars) != 90 || today.Status != statuspage.PartialOutage || math.Abs(today.Uptime-75) > 1e-9 || math.Abs(c.Uptime-75) > 1e-9 {
			t.Errorf("bars: %d days, today %+v, uptime %v; want 90 days, today partial_outage at 75%%, uptime 75%%", len(c.Bars), today, c.Uptime)
		}
		if yesterday := c.Bars[len(c.Bars)-2]; yesterday.HasData || yesterday.Class() != "nd" || !strings.Contains(yesterday.Title(), "no data") {
			t.Errorf("a day without checks: %+v, want no data (not green at 100%%)", yesterday)
		}
	})
}
