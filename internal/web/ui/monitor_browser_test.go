package ui_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// calendarConfig has a schedule with a restricted primary layer and a lieutenant, and a
// monitor of a server answering 503. carol views in New York (UTC-5 in December).
//
// Hand-worked (weekly hand-offs every Monday 09:00 UTC from 2026-01-05): 2026-12-07 is 336
// days = 48 weeks later, so the week from Mon 7 Dec 09:00 UTC is primary's turn 48 % 2 = 0,
// alice, and secondary's turn 0, bob; the week before (turn 47) is bob's on primary and
// alice's on secondary. primary is restricted to weekdays 09:00-17:00 UTC, 04:00-12:00 in
// New York. So carol sees, on Mon 7 Dec: alice 04:00-12:00 with nobody before and after, and
// on the secondary line alice 00:00-04:00 then bob 04:00-24:00. An override of the whole
// schedule for carol on Wed 9 Dec 10:00-12:00 UTC shows 05:00-07:00, between alice's turns.
const calendarConfig = `
users:
  - {id: alice, name: Alice}
  - {id: bob, name: Bob}
  - {id: carol, name: Carol, time_zone: America/New_York}
schedules:
  - id: ops
    name: Ops
    time_zone: UTC
    layers:
      - {name: secondary, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [bob, alice]}
      - name: primary
        rotation: {length: 1w, handoff: "2026-01-05T09:00"}
        users: [alice, bob]
        restrictions: [{days: [weekdays], start: "09:00", end: "17:00"}]
services:
  - {id: shop, name: Shop}
monitors:
  - {id: shop-api, service: shop, type: http, url: "TARGET/health", interval: 1h, locations: [local]}
`

func TestBrowserCheckNowPauseAndTheScheduleCalendar(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "down for maintenance")
	}))
	defer target.Close()
	for _, size := range []struct {
		name          string
		width, height int
		suffix        string
	}{{"phone", 390, 844, "-phone"}, {"laptop", 1366, 900, ""}} {
		t.Run(size.name, func(t *testing.T) {
			n := webtest.Start(t, webtest.Options{Config: webtest.Parse(t, strings.Replace(calendarConfig, "TARGET", target.URL, 1))})
			n.Clock.(*clock.Fake).Set(time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC))
			ctx := context.Background()
			if _, err := n.Users.Create(ctx, auth.NewUser{Username: "carol", Role: auth.Manager, Password: webtest.SignInPassword}); err != nil {
				t.Fatal(err)
			}
			if _, err := n.OnCall.AddOverride(ctx, overrideFor("carol", "ops", time.Date(2026, 12, 9, 10, 0, 0, 0, time.UTC), 2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			e := &phoneEnv{t: t, n: n}
			b := e.signInBrowser("carol", size.width, size.height)

			// Check now: the cause in words, on the page, without leaving it.
			err := do(b,
				chromedp.Navigate(n.URL+"/monitors/shop-api"),
				chromedp.WaitVisible(chromedp.CSS(`#check-now`)),
				chromedp.Click(chromedp.CSS(`#check-now`)),
				chromedp.WaitVisible(chromedp.CSS(`#check-result`)),
			)
			if err != nil {
				t.Fatalf("check now: %v", err)
			}
			res, err := read(b, chromedp.Text(chromedp.CSS(`#check-result`)))
			if err != nil || !strings.Contains(res, "down") || !strings.Contains(res, "unexpected status code") || !strings.Contains(res, "503") {
				t.Errorf("the check shows %q (%v), want down by status code 503", res, err)
			}
			noSideways(t, b, size.width)
			screenshot(t, b, "monitor-check"+size.suffix)

			// Pause, then resume.
			err = do(b,
				chromedp.Click(chromedp.CSS(`#pause`)),
				chromedp.WaitVisible(chromedp.CSS(`#pause-confirm`)),
				chromedp.Click(chromedp.CSS(`#pause-confirm`)),
				chromedp.WaitVisible(chromedp.CSS(`#paused`)),
			)
			if err != nil {
				t.Fatalf("pause: %v", err)
			}
			paused, err := read(b, chromedp.Text(chromedp.CSS(`#paused`)))
			if err != nil || !strings.Contains(paused, "user:carol") {
				t.Errorf("the pause says %q (%v), want who paused", paused, err)
			}
			if _, ok := n.Monitors.Paused("shop-api"); !ok {
				t.Error("the monitor is not paused after clicking Pause")
			}
			if v, _ := n.Monitors.View("shop-api"); v.Status != "paused" {
				t.Errorf("status %s, want paused", v.Status)
			}
			screenshot(t, b, "monitor-paused"+size.suffix)
			err = do(b,
				chromedp.Click(chromedp.CSS(`#resume`)),
				chromedp.WaitNotPresent(chromedp.CSS(`#paused`)),
				chromedp.WaitVisible(chromedp.CSS(`#check-now`)),
			)
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			if _, ok := n.Monitors.Paused("shop-api"); ok {
				t.Error("the monitor is still paused after clicking Resume")
			}

			// The calendar of December, in carol's zone.
			if err := do(b, chromedp.Navigate(n.URL+"/schedules/ops"), chromedp.WaitVisible(chromedp.CSS(`.calgrid`))); err != nil {
				t.Fatal(err)
			}
			title, _ := read(b, chromedp.Text(chromedp.CSS(`#cal-title`)))
			if title != "December 2026" {
				t.Errorf("the calendar opens on %q, want December 2026", title)
			}
			day := func(iso string) string {
				t.Helper()
				s, err := read(b, chromedp.Text(chromedp.CSS(fmt.Sprintf(`[data-day="%s"]`, iso))))
				if err != nil {
					t.Fatalf("day %s: %v", iso, err)
				}
				return strings.Join(strings.Fields(s), " ")
			}
			mon := day("2026-12-07")
			for _, want := range []string{"00:00–04:00 nobody", "04:00–12:00 Alice", "12:00–24:00 nobody", "00:00–04:00 Alice secondary", "04:00–24:00 Bob secondary"} {
				if !strings.Contains(mon, want) {
					t.Errorf("Mon 7 Dec shows %q, want %q", mon, want)
				}
			}
			wed := day("2026-12-09")
			for _, want := range []string{"04:00–05:00 Alice", "05:00–07:00 Carol override", "07:00–12:00 Alice"} {
				if !strings.Contains(wed, want) {
					t.Errorf("Wed 9 Dec shows %q, want %q", wed, want)
				}
			}
			if sun := day("2026-12-13"); !strings.Contains(sun, "00:00–24:00 nobody") {
				t.Errorf("Sun 13 Dec (outside the restriction) shows %q, want nobody all day on primary", sun)
			}
			noSideways(t, b, size.width)
			screenshot(t, b, "schedule-calendar"+size.suffix)

			// Month by month through the URL; and the week view.
			if err := do(b, chromedp.Click(chromedp.CSS(`a[rel=next]`)), chromedp.WaitVisible(chromedp.CSS(`[data-day="2027-01-04"]`))); err != nil {
				t.Fatalf("next month: %v", err)
			}
			if loc, _ := read(b, chromedp.Location()); !strings.HasSuffix(loc, "?month=2027-01") {
				t.Errorf("next month is at %s", loc)
			}
			if err := do(b, chromedp.Navigate(n.URL+"/schedules/ops?week=2026-12-09"), chromedp.WaitVisible(chromedp.CSS(`[data-day="2026-12-07"]`))); err != nil {
				t.Fatalf("week view: %v", err)
			}
			if days, _ := read(b, chromedp.Evaluate[int](`document.querySelectorAll('.calday').length`)); days != 7 {
				t.Errorf("the week view has %d days", days)
			}
			noSideways(t, b, size.width)
			screenshot(t, b, "schedule-week"+size.suffix)
		})
	}
}

// noSideways fails t when the page is wider than the window.
func noSideways(t *testing.T, ctx context.Context, width int) {
	t.Helper()
	w, err := read(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`))
	if err != nil || w > float64(width) {
		t.Errorf("the page is %v px wide in a %d px window (%v)", w, width, err)
	}
}

func overrideFor(user, schedule string, start time.Time, d time.Duration) oncall.Override {
	return oncall.Override{ScheduleID: schedule, UserID: user, Start: start, End: start.Add(d), CreatedBy: "test"}
}
