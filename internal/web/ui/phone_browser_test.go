package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/web/httpx"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// everyPageConfig gives every page of the app something to show: two teams' services, a
// schedule, a monitor, an SLO, a status page and a drill.
const everyPageConfig = `
teams:
  - {id: payments, name: Payments, members: [alice, bob]}
  - {id: search, name: Search, members: [bob]}
users:
  - {id: alice, name: Alice Lindqvist-Montgomery, time_zone: Europe/Stockholm, contact_methods: [{type: email, address: alice.lindqvist-montgomery@example.com}]}
  - {id: bob, name: Bob, contact_methods: [{type: email, address: bob@example.com}]}
schedules:
  - id: checkout-primary-rotation
    layers: [{name: primary, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [alice, bob]}]
escalation_policies:
  - id: pay-policy
    steps:
      - {escalate_after: 10m, targets: [{schedule: checkout-primary-rotation}]}
      - {escalate_after: 10m, targets: [{user: bob}]}
services:
  - id: checkout
    name: Checkout API
    team: payments
    escalation_policy: pay-policy
    runbook: https://runbooks.example.com/checkout/card-payments-returning-errors-at-the-gateway
    readiness: {tier: 1, dashboards: ["https://grafana.example.com/d/checkout-overview-with-a-long-name"], drills: true}
  - {id: search, name: Search, team: search}
monitors:
  - {id: checkout-home, service: checkout, type: http, url: "http://127.0.0.1:1/a/rather/long/path/to/the/health/endpoint/of/checkout"}
slos:
  - {id: checkout-availability, service: checkout, objective: 99.9, window: 30d, sli: {events: {source: push}}}
status_pages:
  - id: public
    title: Acme Status
    components:
      - {id: checkout-comp, name: Checkout, service: checkout}
      - {id: search-comp, name: Search, service: search}
drills:
  - {id: checkout-paging, name: Checkout paging path, service: checkout, kind: page}
notifications:
  email:
    smtp: {host: 127.0.0.1, port: SMTP_PORT, from: nines@example.com, tls: none}
`

// phoneEnv is nines on everyPageConfig with incidents of both teams at several severities.
type phoneEnv struct {
	t     *testing.T
	n     *webtest.Nines
	token string // an unscoped admin's API token
	inc   map[string]int64
}

func startPhoneEnv(t *testing.T) *phoneEnv {
	t.Helper()
	smtp := notifytest.StartSMTP(t, "none")
	n := webtest.Start(t, webtest.Options{Config: webtest.Parse(t, strings.Replace(everyPageConfig, "SMTP_PORT", fmt.Sprint(smtp.Port()), 1))})
	n.Clock.(*clock.Fake).Set(time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC))
	ctx := context.Background()
	for user, role := range map[string]auth.Role{"admin": auth.Admin, "alice": auth.Responder} {
		if _, err := n.Users.Create(ctx, auth.NewUser{Username: user, Role: role, Password: webtest.SignInPassword}); err != nil {
			t.Fatal(err)
		}
	}
	token, _, err := n.Tokens.Create(ctx, "admin-token", auth.Admin, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := &phoneEnv{t: t, n: n, token: token, inc: map[string]int64{}}
	for _, i := range []struct{ key, service, severity, title string }{
		{"cards", "checkout", incident.Critical, "Checkout returns 500 for card payments in every region"},
		{"latency", "checkout", incident.Warning, "Checkout p99 latency above 2 s"},
		{"refunds", "checkout", incident.Critical, "Refunds queue stuck"},
		{"index", "search", incident.Warning, "Search index is 40 minutes behind"},
	} {
		err := n.DB.Tx(ctx, func(tx *store.Tx) error {
			inc, err := n.Incidents.Open(ctx, tx, incident.OpenParams{ServiceID: i.service, Severity: i.severity, Title: i.title,
				At: n.Clock.Now(), Actor: incident.Actor{Name: "test", Source: "test"}})
			e.inc[i.key] = inc.ID
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *phoneEnv) api(method, path, body string, out any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.n.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		e.t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			e.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// signInBrowser opens Chromium at width x height (a phone's, emulated, below 500 px) and
// signs user in.
func (e *phoneEnv) signInBrowser(user string, width, height int) context.Context {
	e.t.Helper()
	ctx := chromium(e.t, width, height)
	var steps []chromedp.Action[chromedp.Void]
	if width < 500 {
		steps = append(steps, chromedp.EmulateViewport(int64(width), int64(height), chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	}
	steps = append(steps,
		chromedp.Navigate(e.n.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS(`#username`), user),
		chromedp.SendKeys(chromedp.CSS(`#password`), webtest.SignInPassword),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`form.who`)),
	)
	if err := do(ctx, steps...); err != nil {
		e.t.Fatal(err)
	}
	return ctx
}

// TestBrowserBulkAcknowledgeFromTheFilteredList filters the incident list, ticks two
// incidents and acknowledges them at once, on a phone and on a laptop: the filter stays in the
// URL, severities look different, the two change state and the third does not.
func TestBrowserBulkAcknowledgeFromTheFilteredList(t *testing.T) {
	for _, size := range []struct {
		name          string
		width, height int
		shot          string
	}{{"phone", 390, 844, "incidents-phone"}, {"laptop", 1366, 900, "incidents-bulk"}} {
		t.Run(size.name, func(t *testing.T) {
			e := startPhoneEnv(t)
			ctx := e.signInBrowser("alice", size.width, size.height)
			cards, refunds, latency, index := e.inc["cards"], e.inc["refunds"], e.inc["latency"], e.inc["index"]
			err := do(ctx,
				chromedp.Navigate(e.n.URL+"/"),
				chromedp.WaitVisible(chromedp.CSS(`#f-service`)),
				chromedp.SetValue(chromedp.CSS(`#f-service`), "checkout"),
				chromedp.Submit(chromedp.CSS(`#f-service`)),
				chromedp.WaitNotPresent(chromedp.CSS(fmt.Sprintf(`#inc-%d`, index))),
				chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#inc-%d`, cards))),
			)
			if err != nil {
				t.Fatalf("filtering by service: %v", err)
			}
			loc, err := read(ctx, chromedp.Location())
			if err != nil || !strings.Contains(loc, "service=checkout") || !strings.Contains(loc, "state=open") {
				t.Errorf("the filter is not in the URL: %s %v", loc, err)
			}
			// Critical and warning differ by colour at a glance, not only by their words.
			var borders, badges []string
			for _, id := range []int64{cards, latency} {
				b, err := read(ctx, chromedp.Evaluate[string](fmt.Sprintf(`getComputedStyle(document.querySelector('#inc-%d')).borderLeftColor`, id)))
				if err != nil {
					t.Fatal(err)
				}
				g, err := read(ctx, chromedp.Evaluate[string](fmt.Sprintf(`getComputedStyle(document.querySelector('#inc-%d .sevb')).backgroundColor`, id)))
				if err != nil {
					t.Fatal(err)
				}
				borders, badges = append(borders, b), append(badges, g)
			}
			if borders[0] == borders[1] || badges[0] == badges[1] {
				t.Errorf("critical and warning look the same: borders %v, badges %v", borders, badges)
			}
			if size.width < 500 {
				wide, err := read(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`))
				if err != nil || wide > 390 {
					t.Errorf("the list is %v px wide on a 390 px phone (%v)", wide, err)
				}
			}
			unlabelled(t, ctx)
			err = do(ctx,
				chromedp.Click(chromedp.CSS(fmt.Sprintf(`#pick-%d`, cards))),
				chromedp.Click(chromedp.CSS(fmt.Sprintf(`#pick-%d`, refunds))),
				chromedp.Click(chromedp.CSS(`#bulk-ack`)),
				chromedp.WaitVisible(chromedp.CSS(`#bulk-done`)),
			)
			if err != nil {
				t.Fatalf("acknowledging two incidents: %v", err)
			}
			done, err := read(ctx, chromedp.Text(chromedp.CSS(`#bulk-done`)))
			if err != nil || done != "2 incidents acknowledged." {
				t.Errorf("after the bulk acknowledge the page says %q (%v)", done, err)
			}
			for id, want := range map[int64]string{cards: "acknowledged", refunds: "acknowledged", latency: "triggered"} {
				st, err := read(ctx, chromedp.Text(chromedp.CSS(fmt.Sprintf(`#inc-%d .state`, id))))
				if err != nil || st != want {
					t.Errorf("incident %d shows %q (%v), want %s", id, st, err, want)
				}
				inc, err := e.n.Incidents.Get(context.Background(), id)
				if err != nil || string(inc.State) != want {
					t.Errorf("incident %d is %s (%v), want %s", id, inc.State, err, want)
				}
			}
			if loc, err := read(ctx, chromedp.Location()); err != nil || !strings.Contains(loc, "service=checkout") {
				t.Errorf("after the bulk action the list lost its filter: %s %v", loc, err)
			}
			screenshot(t, ctx, size.shot)
			if size.width >= 500 {
				return
			}
			// On the phone the main menu is one button; opened, it lists every page.
			bar, err := read(ctx, chromedp.Evaluate[bool](`getComputedStyle(document.querySelector('nav.bar')).display === 'none'`))
			if err != nil || !bar {
				t.Errorf("the full menu bar shows on a phone (%v)", err)
			}
			err = do(ctx,
				chromedp.Click(chromedp.CSS(`#menu summary`)),
				chromedp.WaitVisible(chromedp.CSS(`#menu nav a[href="/schedules"]`)),
			)
			if err != nil {
				t.Fatalf("opening the menu: %v", err)
			}
			wide, err := read(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`))
			if err != nil || wide > 390 {
				t.Errorf("with the menu open the page is %v px wide (%v)", wide, err)
			}
			screenshot(t, ctx, "menu-phone")
		})
	}
}

// pageValues are the objects of startPhoneEnv each path wildcard of a page names.
func (e *phoneEnv) pagePath(pattern string, run string) (string, bool) {
	path := strings.TrimSuffix(pattern, "{$}")
	// Config objects: the services, and one made in nines (its editor).
	path = strings.Replace(path, "/config/{kind}/{id}", "/config/services/storefront-web-frontend-made-in-the-browser", 1)
	path = strings.Replace(path, "/config/{kind}", "/config/services", 1)
	repl := map[string]string{
		"/incidents/{id}": fmt.Sprintf("/incidents/%d", e.inc["cards"]),
		"/schedules/{id}": "/schedules/checkout-primary-rotation",
		"/monitors/{id}":  "/monitors/checkout-home",
		"/slos/{id}":      "/slos/checkout-availability",
		"/services/{id}":  "/services/checkout",
		"{run}":           run,
	}
	for from, to := range repl {
		path = strings.Replace(path, from, to, 1)
	}
	if strings.Contains(path, "{") {
		return "", false
	}
	if path == "/search" {
		path += "?q=checkout"
	}
	return path, true
}

// TestBrowserNoPageScrollsSidewaysOnAPhone visits every page of the route table signed in as
// an admin on a 390 px wide phone: none may be wider than the screen.
func TestBrowserNoPageScrollsSidewaysOnAPhone(t *testing.T) {
	e := startPhoneEnv(t)
	// Something on every page: a postmortem, a window of maintenance, a drill run, a note.
	cards := e.inc["cards"]
	e.api("POST", fmt.Sprintf("/api/v1/incidents/%d/notes", cards), `{"text": "Rolled back gateway-client v3.14.159 on eu-west-1a, eu-west-1b and eu-west-1c; https://grafana.example.com/d/checkout-overview?from=now-6h&to=now&var-region=eu-west-1"}`, nil)
	e.api("POST", fmt.Sprintf("/api/v1/incidents/%d/postmortem", cards), `{}`, nil)
	e.api("POST", "/api/v1/maintenance", `{"name": "Database failover rehearsal for the checkout cluster", "services": ["checkout"], "monitors": ["checkout-home"], "start": "2026-03-30T10:00:00Z", "end": "2026-03-30T11:00:00Z"}`, nil)
	e.api("POST", "/api/v1/config/services", `{"id": "storefront-web-frontend-made-in-the-browser", "name": "Storefront web front end", "team": "payments", "escalation_policy": "pay-policy", "description": "Serves https://shop.example.com/a/rather/long/path/of/the/storefront", "integrations": [{"type": "events_v2"}, {"type": "alertmanager"}]}`, nil)
	var run struct {
		ID json.Number `json:"id"`
	}
	e.api("POST", "/api/v1/services/checkout/drills/checkout-paging/runs", `{"at": "2026-04-01T10:00:00Z"}`, &run)

	ctx := e.signInBrowser("admin", 390, 844)
	var paths []string
	for _, rt := range e.n.Web.Routes() {
		if rt.Method != "GET" || rt.API || rt.Access != httpx.Token {
			continue
		}
		if rt.Pattern == "/events" || rt.Pattern == "/reports/{report}" { // the live update stream and CSV downloads, not pages
			continue
		}
		path, ok := e.pagePath(rt.Pattern, run.ID.String())
		if !ok {
			t.Errorf("GET %s: the test does not know what to aim its wildcards at; add it to pagePath", rt.Pattern)
			continue
		}
		paths = append(paths, path)
	}
	// Views of a page its route alone does not reach: the schedule calendar's week, another
	// month.
	paths = append(paths, "/schedules/checkout-primary-rotation?week=2026-03-30", "/schedules/checkout-primary-rotation?month=2026-05")
	var visited, wide []string
	for _, path := range paths {
		if err := do(ctx, chromedp.Navigate(e.n.URL+path), chromedp.WaitVisible(chromedp.CSS(`main h1`))); err != nil {
			t.Errorf("GET %s: %v", path, err)
			continue
		}
		h1, err := read(ctx, chromedp.Text(chromedp.CSS(`main h1`)))
		if err != nil || (len(h1) > 3 && (h1[0] == '4' || h1[0] == '5') && h1[3] == ' ') {
			t.Errorf("GET %s shows an error: %q %v", path, h1, err)
			continue
		}
		visited = append(visited, path)
		width, err := read(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if width > 390 {
			culprits, _ := read(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('main *')).filter(el => el.getBoundingClientRect().right > 391).slice(-4).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\s+/g, '.') : '') + ' ' + Math.round(el.getBoundingClientRect().right)).join(', ')`))
			wide = append(wide, fmt.Sprintf("%s: %v px (%s)", path, width, culprits))
		}
	}
	if len(wide) > 0 {
		t.Errorf("pages wider than a 390 px phone:\n%s", strings.Join(wide, "\n"))
	}
	if len(visited) < 20 {
		t.Errorf("visited only %d pages: %v", len(visited), visited)
	}
	t.Logf("visited %d pages at 390 px: %s", len(visited), strings.Join(visited, " "))
}
