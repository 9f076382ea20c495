package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// readinessBrowserConfig: checkout is nearly ready and drilled; search is far from it.
const readinessBrowserConfig = `
teams:
  - id: payments
    members: [alice, bob]
    working_hours: {time_zone: UTC, days: [weekdays], start: "07:00", end: "19:00"}
  - {id: search, members: [bob]}
users:
  - {id: alice, name: Alice, contact_methods: [{type: email, address: alice@example.com}]}
  - {id: bob, name: Bob, contact_methods: [{type: email, address: bob@example.com}]}
schedules:
  - id: rota
    layers: [{name: primary, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [alice, bob]}]
escalation_policies:
  - id: pay-policy
    steps:
      - {escalate_after: 10m, targets: [{schedule: rota}]}
      - {escalate_after: 10m, targets: [{user: bob}]}
services:
  - id: checkout
    name: Checkout API
    team: payments
    escalation_policy: pay-policy
    urgency: high
    runbook: https://runbooks.example.com/checkout
    readiness: {tier: 1, dashboards: ["https://grafana.example.com/d/checkout"], drills: true}
  - id: search
    name: Search
    team: search
slos:
  - {id: checkout-availability, service: checkout, objective: 99.9, window: 30d, sli: {events: {source: push}}}
drills:
  - id: checkout-paging
    name: Checkout paging path
    service: checkout
    kind: page
    targets: {detect: 1m, page: 2m, acknowledge: 5m}
    limit: 15m
    schedule: {every: 2w, days: [weekdays], start: "10:00", end: "15:00"}
notifications:
  email:
    smtp: {host: 127.0.0.1, port: SMTP_PORT, from: nines@example.com, tls: none}
`

// TestBrowserReadinessAndDrills signs a responder in, reads the readiness table, attests a
// check from the service's checklist, runs a drill now, sees it under way with its abort
// button, and (once the page is acknowledged) its result with the timings; then the same pages
// on a phone, which must not scroll sideways.
func TestBrowserReadinessAndDrills(t *testing.T) {
	smtp := notifytest.StartSMTP(t, "none")
	n := webtest.Start(t, webtest.Options{Config: webtest.Parse(t, strings.Replace(readinessBrowserConfig, "SMTP_PORT", fmt.Sprint(smtp.Port()), 1))})
	w := struct {
		app *app.App
		url string
	}{n.App, n.URL}
	clk := w.app.Clock.(*clock.Fake)
	clk.Set(time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC))
	if _, err := w.app.Users.Create(context.Background(), auth.NewUser{Username: "alice", Role: auth.Responder, Password: webtest.SignInPassword}); err != nil {
		t.Fatal(err)
	}
	token, _, err := w.app.Tokens.Create(context.Background(), "responder-token", auth.Responder, 0)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", w.url+"/api/v1/changes", strings.NewReader(`{"service": "checkout", "version": "v42", "summary": "deploy v42"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v1/changes: %v %v", resp, err)
	}
	ctx := chromium(t, 1366, 900)
	signIn := func(ctx context.Context) error {
		return do(ctx,
			chromedp.Navigate(w.url+"/login"),
			chromedp.SendKeys(chromedp.CSS(`#username`), "alice"),
			chromedp.SendKeys(chromedp.CSS(`#password`), webtest.SignInPassword),
			chromedp.Submit(chromedp.CSS(`#password`)),
			chromedp.WaitVisible(chromedp.CSS(`form.who`)),
		)
	}
	if err := signIn(ctx); err != nil {
		t.Fatal(err)
	}
	text := func(ctx context.Context, sel string) string {
		t.Helper()
		s, err := read(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	t.Run("the readiness table", func(t *testing.T) {
		if err := do(ctx, chromedp.Navigate(w.url+"/readiness"), chromedp.WaitVisible(chromedp.CSS(`#service-search`))); err != nil {
			t.Fatal(err)
		}
		if got := text(ctx, `#service-search`); !strings.Contains(got, "not ready") || !strings.Contains(got, "escalation") {
			t.Errorf("search's row: %q", got)
		}
		screenshot(t, ctx, "readiness")
		unlabelled(t, ctx)
	})

	t.Run("attest a check from the checklist", func(t *testing.T) {
		err := do(ctx,
			chromedp.Navigate(w.url+"/services/checkout/readiness"),
			chromedp.WaitVisible(chromedp.CSS(`#check-restore_tested`)),
			chromedp.Click(chromedp.CSS(`#check-restore_tested summary`)),
			chromedp.SendKeys(chromedp.CSS(`#note-restore_tested`), "restored last night's dump into staging: https://wiki.example.com/restore-2026-03"),
			chromedp.Submit(chromedp.CSS(`#note-restore_tested`)),
			chromedp.WaitVisible(chromedp.Search(`//p[contains(., "Attested: Restore from backup tested")]`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		if got := text(ctx, `#check-restore_tested`); !strings.Contains(got, "pass") || !strings.Contains(got, "attested by user:alice") {
			t.Errorf("restore_tested after attesting: %q", got)
		}
		screenshot(t, ctx, "readiness-service")
		unlabelled(t, ctx)
	})

	var runURL string
	t.Run("run a drill now, then read its result", func(t *testing.T) {
		err := do(ctx,
			chromedp.Navigate(w.url+"/drills"),
			chromedp.WaitVisible(chromedp.CSS(`#drill-checkout-paging`)),
			chromedp.Click(chromedp.Search(`//section[@id="drill-checkout-paging"]//button[. = "Run now"]`)),
			chromedp.WaitVisible(chromedp.CSS(`button.abort`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		runURL, err = read(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		if got := text(ctx, `h1`); !strings.Contains(got, "running") {
			t.Errorf("the run page: %q", got)
		}
		incs, _, err := w.app.Incidents.List(context.Background(), incident.Filter{States: []incident.State{incident.Triggered}})
		if err != nil || len(incs) != 1 {
			t.Fatalf("the drill's incident: %v %v", incs, err)
		}
		w.app.Escalation.Wait()
		clk.Advance(47 * time.Second)
		if _, err := w.app.Incidents.Acknowledge(context.Background(), incs[0].ID, incident.Actor{Name: "user:alice", Source: "web"}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if err := do(ctx, chromedp.Navigate(runURL), chromedp.WaitVisible(chromedp.CSS(`h1`))); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(text(ctx, `h1`), "passed") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the drill did not pass: %q", text(ctx, `main`))
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got := text(ctx, `.scores`); !strings.Contains(got, "47s") || !strings.Contains(got, "user:alice") {
			t.Errorf("the scores: %q", got)
		}
		screenshot(t, ctx, "drill-run")
		if err := do(ctx, chromedp.Navigate(w.url+"/drills"), chromedp.WaitVisible(chromedp.CSS(`table.runs`))); err != nil {
			t.Fatal(err)
		}
		if got := text(ctx, `#drill-checkout-paging`); !strings.Contains(got, "Next:") || !strings.Contains(got, "passed") {
			t.Errorf("the drill's section: %q", got)
		}
		screenshot(t, ctx, "drills")
		unlabelled(t, ctx)
	})

	t.Run("on a phone", func(t *testing.T) {
		phone := chromium(t, 390, 844)
		if err := do(phone, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2))); err != nil {
			t.Fatal(err)
		}
		if err := signIn(phone); err != nil {
			t.Fatal(err)
		}
		for _, p := range []struct{ path, wait, shot string }{
			{"/readiness", `#service-checkout`, "readiness-phone"},
			{"/services/checkout/readiness", `#check-drill`, "readiness-service-phone"},
			{"/drills", `#drill-checkout-paging`, "drills-phone"},
			{strings.TrimPrefix(runURL, w.url), `.scores`, "drill-run-phone"},
		} {
			if err := do(phone, chromedp.Navigate(w.url+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait))); err != nil {
				t.Fatal(err)
			}
			overflow, err := read(phone, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
			if err != nil {
				t.Fatal(err)
			}
			if overflow {
				t.Errorf("%s scrolls sideways on a 390 px wide phone", p.path)
			}
			screenshot(t, phone, p.shot)
		}
	})
}
