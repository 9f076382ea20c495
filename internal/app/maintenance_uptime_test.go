package app_test

import (
	"context"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/probe"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

const maintenanceUptimeConfig = `
services:
  - {id: shop, name: Shop}
monitors:
  - {id: shop-api, service: shop, type: http, url: "http://127.0.0.1:9/health", interval: 5s, timeout: 1s, locations: [eu]}
status_pages:
  - id: public
    components:
      - {name: Shop API, monitor: shop-api}
`

// TestMaintenanceIsCutAtItsExactEdgesInUptime plays a monitor checked every 5 s from 23:18:00 to
// 23:21:55 (48 checks), down from 23:19:35 to 23:20:50 (15 failed checks: 23:19:35 to 23:20:45),
// under a maintenance window from 23:19:30 to 23:20:30, and reads the component's uptime from
// the API while the window runs and after it.
//
// Worked by hand, counting each check by its own time, not by its minute:
//   - at 23:20:10, the window running: the checks outside it so far are 23:18:00 to 23:19:25,
//     18 checks, none failed: 100%. The failures since 23:19:35 are all inside the window.
//   - at 23:22:00: the window holds 23:19:30 to 23:20:25, 12 checks (11 failed). Outside it,
//     48 - 12 = 36 checks, of which 23:20:30, :35, :40 and :45 failed: 32/36 = 88.888...%,
//     shown 88.89%. Downtime outside the window never shows as 100%, and what the window held
//     while it ran is not counted after it either. The monitor's own figures (its range, its
//     last 24 hours, its day bar) are the same 32 of 36.
func TestMaintenanceIsCutAtItsExactEdgesInUptime(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		day := func(hms string) time.Time {
			at, err := time.Parse(time.RFC3339, "2026-03-30T"+hms+"Z")
			if err != nil {
				t.Fatal(err)
			}
			return at
		}
		w := startWired(t, db, maintenanceUptimeConfig, day("23:15:00"))
		w.call("POST", "/api/v1/maintenance", map[string]any{"name": "Load balancer swap", "monitors": []string{"shop-api"},
			"start": "2026-03-30T23:19:30Z", "end": "2026-03-30T23:20:30Z"}, http.StatusCreated, nil)
		downFrom, downTo := day("23:19:35"), day("23:20:50")
		report := func(from, to time.Time) {
			for at := from; !at.After(to); at = at.Add(5 * time.Second) {
				w.clock.Set(at)
				r := probe.Result{MonitorID: "shop-api", Location: "eu", At: at, OK: true, Latency: 20 * time.Millisecond}
				if !at.Before(downFrom) && at.Before(downTo) {
					r.OK, r.Cause, r.Message = false, probe.CauseStatus, "HTTP 503, want 2xx"
				}
				if err := w.app.Monitors.Report(context.Background(), r); err != nil {
					t.Fatal(err)
				}
			}
		}
		uptime := func() string {
			var api struct {
				StatusPages []struct {
					Components []struct{ Uptime string }
				} `json:"status_pages"`
			}
			w.call("GET", "/api/v1/status-pages", nil, http.StatusOK, &api)
			if len(api.StatusPages) != 1 || len(api.StatusPages[0].Components) != 1 {
				t.Fatalf("status pages %+v", api)
			}
			return api.StatusPages[0].Components[0].Uptime
		}

		report(day("23:18:00"), day("23:20:10"))
		if got := uptime(); got != "100%" {
			t.Errorf("uptime while the window runs: %s, want 100%% (every failure so far is inside it)", got)
		}
		report(day("23:20:15"), day("23:21:55"))
		w.clock.Set(day("23:22:00"))
		if got := uptime(); got != "88.89%" {
			t.Errorf("uptime after the window: %s, want 88.89%% (32 of the 36 checks outside it passed)", got)
		}
		if err := w.app.Monitors.History.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := uptime(); got != "88.89%" {
			t.Errorf("uptime once the results are written: %s, want 88.89%%", got)
		}

		// The monitor's own figures leave the window out the same way: 36 checks, 4 failed.
		var mon struct {
			Uptime24h *float64 `json:"uptime_24h"`
			Range     struct {
				Checks, Failures int64
				Uptime           float64
			}
		}
		w.call("GET", "/api/v1/monitors/shop-api?from=2026-03-30T23:18:00Z&to=2026-03-30T23:22:00Z", nil, http.StatusOK, &mon)
		if mon.Range.Checks != 36 || mon.Range.Failures != 4 || math.Abs(mon.Range.Uptime-32.0/36) > 1e-9 {
			t.Errorf("the monitor's range: %+v, want 36 checks, 4 failed, uptime 32/36", mon.Range)
		}
		if mon.Uptime24h == nil || math.Abs(*mon.Uptime24h-32.0/36) > 1e-9 {
			t.Errorf("the monitor's uptime over 24 hours: %v, want 32/36", mon.Uptime24h)
		}
		var list struct {
			Monitors []struct {
				Uptime24h *float64 `json:"uptime_24h"`
			}
		}
		w.call("GET", "/api/v1/monitors", nil, http.StatusOK, &list)
		if len(list.Monitors) != 1 || list.Monitors[0].Uptime24h == nil || math.Abs(*list.Monitors[0].Uptime24h-32.0/36) > 1e-9 {
			t.Errorf("the monitor list's uptime over 24 hours: %+v, want 32/36", list.Monitors)
		}
		bars, err := w.app.Monitors.History.Days(context.Background(), "shop-api", 1,
			[]config.Interval{{From: day("23:19:30"), To: day("23:20:30")}})
		if err != nil {
			t.Fatal(err)
		}
		if bars[0].Checks != 36 || bars[0].Failures != 4 {
			t.Errorf("the day's bar: %+v, want 36 checks, 4 failed", bars[0])
		}
	})
}
