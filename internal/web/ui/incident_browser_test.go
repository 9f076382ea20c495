package ui_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// pagedConfig is accountsConfig with a policy that mails alice (a real SMTP server), then bob.
func pagedConfig(smtpPort int) string {
	return strings.Replace(accountsConfig, "    team: payments\n", "    team: payments\n    escalation_policy: night\n", 1) + fmt.Sprintf(`
users:
  - {id: alice, name: Alice, time_zone: UTC, contact_methods: [{id: mail, type: email, address: alice@example.com}]}
  - {id: bob, name: Bob, time_zone: UTC, contact_methods: [{id: mail, type: email, address: bob@example.com}]}
escalation_policies:
  - id: night
    steps:
      - {escalate_after: 10m, targets: [{user: alice}]}
      - {escalate_after: 10m, targets: [{user: bob}]}
notifications:
  email:
    smtp: {host: 127.0.0.1, port: %d, from: nines@example.com, tls: none}
`, smtpPort)
}

// TestBrowserRespondingToAPagedIncident opens an incident that paged alice, on a phone and on
// a laptop: the page says who was paged and how, and when the next step pages whom; the
// action bar acknowledges and snoozes; nothing scrolls sideways on the phone.
func TestBrowserRespondingToAPagedIncident(t *testing.T) {
	for _, size := range []struct {
		name          string
		width, height int
		shot          string
	}{{"phone", 390, 844, "incident-phone"}, {"laptop", 1366, 900, "incident"}} {
		t.Run(size.name, func(t *testing.T) {
			smtp := notifytest.StartSMTP(t, "none")
			e := newAccountsEnvWith(t, webtest.Options{DB: storetest.SQLite(t, app.Schemas()), Config: webtest.Parse(t, pagedConfig(smtp.Port()))})
			resp, err := http.Post(e.srv.URL+"/v2/enqueue", "application/json", strings.NewReader(`{"routing_key": "0123456789abcdef0123456789abcdef",
				"event_action": "trigger", "dedup_key": "pay-5xx", "payload": {"summary": "Checkout returns 500 for card payments", "source": "lb-1",
				"severity": "critical", "custom_details": {"error_rate": "12%", "region": "eu-west-1", "dashboard": "https://grafana.example.com/d/checkout"}}}`))
			if err != nil || resp.StatusCode != 202 {
				t.Fatalf("enqueue: %v %v", resp, err)
			}
			resp.Body.Close()
			e.srv.Escalation.Wait()
			storetest.Eventually(t, 10*time.Second, "alice mailed", func() bool { return len(smtp.Mails()) == 1 })
			e.clock.Advance(3 * time.Minute)

			ctx := chromium(t, size.width, size.height)
			steps := []chromedp.Action[chromedp.Void]{}
			if size.width < 500 {
				steps = append(steps, chromedp.EmulateViewport(int64(size.width), int64(size.height), chromedp.EmulateMobile, chromedp.EmulateScale(2)))
			}
			steps = append(steps,
				chromedp.Navigate(e.srv.URL+"/login?next=/incidents/1"),
				chromedp.SendKeys(chromedp.CSS(`#username`), "responder"),
				chromedp.SendKeys(chromedp.CSS(`#password`), e.password),
				chromedp.Submit(chromedp.CSS(`#password`)),
				chromedp.WaitVisible(chromedp.CSS(`#ack`)),
			)
			if err := do(ctx, steps...); err != nil {
				t.Fatal(err)
			}
			paging, err := read(ctx, chromedp.Text(chromedp.CSS(`#paging`)))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"step 1 of 2", "Alice", "delivered", "Next: step 2 in 7 minutes", "user bob → Bob"} {
				if !strings.Contains(strings.ToLower(paging), strings.ToLower(want)) {
					t.Errorf("who is paged lacks %q:\n%s", want, paging)
				}
			}
			alerts, err := read(ctx, chromedp.Text(chromedp.CSS(`.alert-card`)))
			if err != nil || !regexp.MustCompile(`Details\s+(\S+\s+)*region\s+eu-west-1`).MatchString(alerts) || !strings.Contains(alerts, "eu-west-1") {
				t.Errorf("the alert's details: %q %v", alerts, err)
			}
			if size.width < 500 {
				wide, err := read(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`))
				if err != nil || wide > 390 {
					t.Errorf("the page is %v px wide on a 390 px phone (%v)", wide, err)
				}
				// The action bar sits at the bottom of the screen, within a thumb's reach.
				bottom, err := read(ctx, chromedp.Evaluate[float64](`window.innerHeight - document.querySelector('#actionbar').getBoundingClientRect().bottom`))
				if err != nil || bottom > 1 || bottom < -1 {
					t.Errorf("the action bar ends %v px above the bottom of the screen (%v)", bottom, err)
				}
			}
			unlabelled(t, ctx)
			screenshot(t, ctx, size.shot)

			err = do(ctx,
				chromedp.Click(chromedp.CSS(`#ack`)),
				chromedp.WaitVisible(chromedp.Search(`//dl[@id="summary"]//span[contains(., "acknowledged")]`)),
				chromedp.WaitNotPresent(chromedp.CSS(`#ack`)),
			)
			if err != nil {
				t.Fatalf("acknowledge from the action bar: %v", err)
			}
			if text, err := read(ctx, chromedp.Text(chromedp.CSS(`#next-step`))); err != nil || !strings.Contains(text, "Nothing more will page: acknowledged") {
				t.Errorf("after acknowledging, next: %q %v", text, err)
			}
			err = do(ctx,
				chromedp.Click(chromedp.CSS(`#snooze-menu summary`)),
				chromedp.WaitVisible(chromedp.CSS(`#snooze-for`)),
				chromedp.SetValue(chromedp.CSS(`#snooze-for`), "4h"),
				chromedp.Click(chromedp.CSS(`#snooze-go`)),
				chromedp.WaitVisible(chromedp.CSS(`#snoozed`)),
			)
			if err != nil {
				t.Fatalf("snooze from the action bar: %v", err)
			}
			if text, err := read(ctx, chromedp.Text(chromedp.CSS(`#snoozed`))); err != nil || !strings.Contains(text, "triggers again in 4 hours") {
				t.Errorf("snoozed: %q %v", text, err)
			}
			if size.width < 500 {
				screenshot(t, ctx, "incident-snoozed-phone")
			}
		})
	}
}
