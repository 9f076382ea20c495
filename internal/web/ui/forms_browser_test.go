package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// TestBrowserATeamSetsUpEverythingInFormsFromPeopleOnly: in Chromium, on a phone and on a
// laptop, from a config of people only, a team, a service, an HTTP monitor, a status page with
// two components and an SLO are made in the forms, without YAML; the service's name is edited
// in its form and its integration still takes an Events v2 alert with the key shown when it was
// made; a refused SLO shows its problem beside the objective field, with what was typed kept.
func TestBrowserATeamSetsUpEverythingInFormsFromPeopleOnly(t *testing.T) {
	for _, size := range []struct {
		name          string
		width, height int
		suffix        string
	}{{"phone", 390, 844, "-phone"}, {"laptop", 1366, 900, ""}} {
		t.Run(size.name, func(t *testing.T) {
			n := webtest.Start(t, webtest.Options{Config: webtest.Parse(t, "users:\n  - id: bob\n    name: Bob Ray\n  - id: carol\n    name: Carol Oku\n")})
			ctx := context.Background()
			if _, err := n.Users.Create(ctx, auth.NewUser{Username: "admin", Role: auth.Admin, Password: webtest.SignInPassword}); err != nil {
				t.Fatal(err)
			}
			token, _, err := n.Tokens.Create(ctx, "admin-token", auth.Admin, 0)
			if err != nil {
				t.Fatal(err)
			}
			e := &phoneEnv{t: t, n: n, token: token}
			b := e.signInBrowser("admin", size.width, size.height)
			create := chromedp.Click(chromedp.CSS(`#new-object button[type=submit]:not([name])`))

			err = do(b,
				chromedp.Navigate(n.URL+"/config/teams"),
				chromedp.WaitVisible(chromedp.CSS(`#new-object`)),
				chromedp.SendKeys(chromedp.CSS(`#c-id`), "web-team"),
				chromedp.SendKeys(chromedp.CSS(`#c-name`), "Web"),
				chromedp.Click(chromedp.CSS(`input[name=members][value=bob]`)),
				chromedp.Click(chromedp.CSS(`input[name=members][value=carol]`)),
			)
			if err != nil {
				t.Fatalf("filling the team's form: %v", err)
			}
			screenshot(t, b, "config-team-form"+size.suffix)
			if err := do(b, create, chromedp.WaitVisible(chromedp.CSS(`#edit-object`))); err != nil {
				t.Fatalf("making a team: %v", err)
			}
			if tm := n.Config.Get().Team("web-team"); tm == nil || tm.Name != "Web" || strings.Join(tm.Members, ",") != "bob,carol" {
				t.Fatalf("the team in force: %+v", tm)
			}

			err = do(b,
				chromedp.Navigate(n.URL+"/config/services"),
				chromedp.WaitVisible(chromedp.CSS(`#new-object`)),
				chromedp.SendKeys(chromedp.CSS(`#c-id`), "shop"),
				chromedp.SendKeys(chromedp.CSS(`#c-name`), "Shop"),
				chromedp.SetValue(chromedp.CSS(`#c-team`), "web-team"),
				chromedp.Click(chromedp.CSS(`input[name=integrations][value=events_v2]`)),
				create,
				chromedp.WaitVisible(chromedp.CSS(`#new-keys`)),
			)
			if err != nil {
				t.Fatalf("making a service: %v", err)
			}
			key, _ := read(b, chromedp.Text(chromedp.CSS(`#new-keys code.key`)))

			// The monitor's form shows the fields of the type chosen only.
			err = do(b,
				chromedp.Navigate(n.URL+"/config/monitors"),
				chromedp.WaitVisible(chromedp.CSS(`#new-object`)),
				chromedp.SendKeys(chromedp.CSS(`#c-id`), "shop-home"),
				chromedp.SendKeys(chromedp.CSS(`#c-name`), "Shop home page"),
				chromedp.SetValue(chromedp.CSS(`#c-service`), "shop"),
				chromedp.SetValue(chromedp.CSS(`#c-type`), "tcp"),
				chromedp.Evaluate[chromedp.Void](`document.querySelector('#c-type').dispatchEvent(new Event('change'))`),
			)
			if err != nil {
				t.Fatal(err)
			}
			shown, _ := read(b, chromedp.Evaluate[[]bool](`['#c-url', '#c-address', '#c-period'].map(s => document.querySelector(s).offsetParent !== null)`))
			if fmt.Sprint(shown) != "[false true false]" {
				t.Errorf("a tcp monitor's form shows url, address, period: %v, want only the address", shown)
			}
			err = do(b,
				chromedp.SetValue(chromedp.CSS(`#c-type`), "http"),
				chromedp.Evaluate[chromedp.Void](`document.querySelector('#c-type').dispatchEvent(new Event('change'))`),
				chromedp.SendKeys(chromedp.CSS(`#c-url`), "http://127.0.0.1:9/"),
				chromedp.SendKeys(chromedp.CSS(`#c-expect_status`), "204"),
				chromedp.SendKeys(chromedp.CSS(`#c-interval`), "2m"),
			)
			if err != nil {
				t.Fatal(err)
			}
			screenshot(t, b, "config-monitor-form"+size.suffix)
			if err := do(b, create, chromedp.WaitVisible(chromedp.CSS(`#edit-object`))); err != nil {
				t.Fatalf("making a monitor: %v", err)
			}
			if m := n.Config.Get().Monitor("shop-home"); m == nil || m.Type != "http" || m.URL != "http://127.0.0.1:9/" || m.Expect.Status != 204 || m.Interval.D().Minutes() != 2 || m.Service != "shop" || m.Address != "" {
				t.Fatalf("the monitor in force: %+v", m)
			}

			err = do(b,
				chromedp.Navigate(n.URL+"/config/status_pages"),
				chromedp.WaitVisible(chromedp.CSS(`#new-object`)),
				chromedp.SendKeys(chromedp.CSS(`#c-id`), "public"),
				chromedp.SendKeys(chromedp.CSS(`#c-title`), "Shop status"),
				chromedp.SendKeys(chromedp.CSS(`#c-comp1_name`), "Checkout"),
				chromedp.SetValue(chromedp.CSS(`#c-comp1_target`), "service:shop"),
				chromedp.SendKeys(chromedp.CSS(`#c-comp2_name`), "Home page"),
				chromedp.SetValue(chromedp.CSS(`#c-comp2_target`), "monitor:shop-home"),
			)
			if err != nil {
				t.Fatal(err)
			}
			screenshot(t, b, "config-status-page-form"+size.suffix)
			if err := do(b, create, chromedp.WaitVisible(chromedp.CSS(`#edit-object`))); err != nil {
				t.Fatalf("making a status page: %v", err)
			}
			p := n.Config.Get().StatusPage("public")
			if p == nil || p.Title != "Shop status" || len(p.Components) != 2 || p.Components[0].Service != "shop" || p.Components[1].Monitor != "shop-home" || p.Components[1].Name != "Home page" {
				t.Fatalf("the status page in force: %+v", p)
			}
			// Its edit page offers a row more than it has, to add a component by saving.
			if rows, _ := read(b, chromedp.Evaluate[int](`document.querySelectorAll('#edit-object .component-row').length`)); rows != 4 {
				t.Errorf("the status page's form has %d component rows, want its 2 and 2 empty", rows)
			}

			err = do(b,
				chromedp.Navigate(n.URL+"/config/slos"),
				chromedp.WaitVisible(chromedp.CSS(`#new-object`)),
				chromedp.SendKeys(chromedp.CSS(`#c-id`), "shop-availability"),
				chromedp.SetValue(chromedp.CSS(`#c-service`), "shop"),
				chromedp.SendKeys(chromedp.CSS(`#c-objective`), "99.5"),
				chromedp.SendKeys(chromedp.CSS(`#c-window`), "28d"),
				chromedp.SetValue(chromedp.CSS(`#c-sli`), "probe:shop-home"),
			)
			if err != nil {
				t.Fatal(err)
			}
			screenshot(t, b, "config-slo-form"+size.suffix)
			if err := do(b, create, chromedp.WaitVisible(chromedp.CSS(`#edit-object`))); err != nil {
				t.Fatalf("making an SLO: %v", err)
			}
			if s := n.Config.Get().SLO("shop-availability"); s == nil || s.Objective != 99.5 || s.Window.D().Hours() != 28*24 || s.SLI.Probe != "shop-home" {
				t.Fatalf("the SLO in force: %+v", s)
			}

			// A refused edit: the problem beside the objective, the value typed kept, nothing changed.
			err = do(b,
				chromedp.SetValue(chromedp.CSS(`#c-objective`), "100"),
				chromedp.Click(chromedp.CSS(`#edit-object button[type=submit]:not([name])`)),
				chromedp.WaitVisible(chromedp.CSS(`#error-c-objective`)),
			)
			if err != nil {
				page, _ := read(b, chromedp.Evaluate[string](`document.querySelector('main').outerHTML`))
				t.Fatalf("a refused SLO: %v\n%s", err, page)
			}
			said, _ := read(b, chromedp.Text(chromedp.CSS(`#error-c-objective`)))
			kept, _ := read(b, chromedp.Value(chromedp.CSS(`#c-objective`)))
			next, _ := read(b, chromedp.Evaluate[string](`document.querySelector('#error-c-objective').previousElementSibling.id`))
			if !strings.Contains(said, "objective 100: want a percentage above 0 and below 100") || kept != "100" || next != "c-objective" {
				t.Errorf("the refusal beside %q says %q, the field keeps %q", next, said, kept)
			}
			if s := n.Config.Get().SLO("shop-availability"); s.Objective != 99.5 {
				t.Errorf("a refused edit changed the SLO: %v", s.Objective)
			}
			screenshot(t, b, "config-field-error"+size.suffix)

			// The service's name edited in its form: its integration keeps its key.
			err = do(b,
				chromedp.Navigate(n.URL+"/config/services/shop"),
				chromedp.WaitVisible(chromedp.CSS(`#edit-object`)),
				chromedp.SetValue(chromedp.CSS(`#c-name`), "Shop front"),
			)
			if err != nil {
				t.Fatal(err)
			}
			screenshot(t, b, "config-edit-form"+size.suffix)
			unlabelled(t, b)
			if size.width < 500 {
				if wide, err := read(b, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`)); err != nil || wide > 390 {
					t.Errorf("the service's form is %v px wide on a 390 px phone (%v)", wide, err)
				}
			}
			err = do(b,
				chromedp.Evaluate[chromedp.Void](`document.querySelector('main').setAttribute('data-stale', '')`),
				chromedp.Click(chromedp.CSS(`#edit-object button[type=submit]`)),
				chromedp.WaitVisible(chromedp.CSS(`main:not([data-stale]) #edit-object`)),
			)
			if err != nil {
				t.Fatalf("saving the service: %v", err)
			}
			if s := n.Config.Get().Service("shop"); s == nil || s.Name != "Shop front" || s.Team != "web-team" {
				t.Fatalf("the service in force: %+v", s)
			}
			resp, err := http.Post(n.URL+"/v2/enqueue", "application/json", strings.NewReader(fmt.Sprintf(`{"routing_key": %q, "event_action": "trigger", "payload": {"summary": "Cart answers 500", "source": "lb", "severity": "critical"}}`, key)))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Errorf("an Events v2 alert with the key shown when the service was made, after its name was edited: %d, want 202", resp.StatusCode)
			}
		})
	}
}
