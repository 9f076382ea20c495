package ui_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// TestBrowserAManagerMakesAPolicyAndAServiceInFormsAndSeesYAMLReadOnly: in Chromium, on a
// phone and on a laptop, a policy and then a service made in the forms; the service's key is
// shown once and pages at once; a service the YAML declares is shown read-only, with its file
// and line and no editor.
func TestBrowserAManagerMakesAPolicyAndAServiceInFormsAndSeesYAMLReadOnly(t *testing.T) {
	for _, size := range []struct {
		name          string
		width, height int
		suffix        string
	}{{"phone", 390, 844, "-phone"}, {"laptop", 1366, 900, ""}} {
		t.Run(size.name, func(t *testing.T) {
			e := startPhoneEnv(t)
			ctx := e.signInBrowser("admin", size.width, size.height)
			err := do(ctx,
				chromedp.Navigate(e.n.URL+"/config/escalation_policies"),
				chromedp.WaitVisible(chromedp.CSS(`#new-object`)),
				chromedp.SendKeys(chromedp.CSS(`#c-id`), "web-policy"),
				chromedp.SendKeys(chromedp.CSS(`#c-name`), "Web shop"),
				chromedp.Click(chromedp.CSS(`input[name=step1_targets][value="schedule:checkout-primary-rotation"]`)),
				chromedp.SendKeys(chromedp.CSS(`#c-step1_after`), "10m"),
				chromedp.Click(chromedp.CSS(`input[name=step2_targets][value="user:bob"]`)),
				chromedp.Submit(chromedp.CSS(`#c-id`)),
				chromedp.WaitVisible(chromedp.CSS(`#edit-object`)),
			)
			if err != nil {
				t.Fatalf("making a policy in the form: %v", err)
			}
			if p := e.n.Config.Get().EscalationPolicy("web-policy"); p == nil || len(p.Steps) != 2 || p.Steps[0].Targets[0].Schedule != "checkout-primary-rotation" {
				t.Fatalf("the policy in force: %+v", p)
			}
			err = do(ctx,
				chromedp.Navigate(e.n.URL+"/config/services"),
				chromedp.WaitVisible(chromedp.CSS(`#new-object`)),
				chromedp.SendKeys(chromedp.CSS(`#c-id`), "web"),
				chromedp.SendKeys(chromedp.CSS(`#c-name`), "Web shop"),
				chromedp.SetValue(chromedp.CSS(`#c-team`), "payments"),
				chromedp.SetValue(chromedp.CSS(`#c-policy`), "web-policy"),
				chromedp.Click(chromedp.CSS(`input[name=integrations][value=events_v2]`)),
				chromedp.Submit(chromedp.CSS(`#c-id`)),
				chromedp.WaitVisible(chromedp.CSS(`#new-keys`)),
			)
			if err != nil {
				t.Fatalf("making a service in the form: %v", err)
			}
			screenshot(t, ctx, "config-new-key"+size.suffix)
			key, err := read(ctx, chromedp.Text(chromedp.CSS(`#new-keys code.key`)))
			if err != nil || len(key) != 32 {
				t.Fatalf("the key shown: %q %v", key, err)
			}
			if svc, _ := e.n.Config.Get().IntegrationByKey(key); svc == nil || svc.ID != "web" || svc.Team != "payments" || svc.EscalationPolicy != "web-policy" {
				t.Fatalf("the key shown finds %+v", svc)
			}
			e.api("POST", "/v2/enqueue", fmt.Sprintf(`{"routing_key": %q, "event_action": "trigger", "payload": {"summary": "Cart answers 500", "source": "lb", "severity": "critical"}}`, key), nil)

			// A refusal keeps what was typed and says what was wrong.
			err = do(ctx,
				chromedp.Navigate(e.n.URL+"/config/services"),
				chromedp.WaitVisible(chromedp.CSS(`#new-object`)),
				chromedp.SendKeys(chromedp.CSS(`#c-id`), "shop"),
				chromedp.SendKeys(chromedp.CSS(`#c-name`), "Shop front"),
				chromedp.SetValue(chromedp.CSS(`#c-policy`), "web-policy"),
				chromedp.SetValue(chromedp.CSS(`#c-urgency`), "low"),
				chromedp.Evaluate[chromedp.Void](`document.querySelector('#c-urgency').add(new Option('sometimes', 'sometimes', true, true))`),
				chromedp.Submit(chromedp.CSS(`#c-id`)),
				chromedp.WaitVisible(chromedp.CSS(`#form-errors`)),
			)
			if err != nil {
				t.Fatalf("a refused service: %v", err)
			}
			refusal, _ := read(ctx, chromedp.Text(chromedp.CSS(`#form-errors`)))
			name, _ := read(ctx, chromedp.Value(chromedp.CSS(`#c-name`)))
			if !strings.Contains(refusal, `urgency "sometimes": want high or low`) || name != "Shop front" {
				t.Errorf("the refusal says %q and keeps the name %q", refusal, name)
			}
			screenshot(t, ctx, "config-refused"+size.suffix)

			err = do(ctx, chromedp.Navigate(e.n.URL+"/config/services"), chromedp.WaitVisible(chromedp.CSS(`#obj-web`)))
			if err != nil {
				t.Fatal(err)
			}
			screenshot(t, ctx, "config-services"+size.suffix)
			row, _ := read(ctx, chromedp.Text(chromedp.CSS(`#obj-checkout`)))
			if !strings.Contains(row, "read-only: nines.yaml:") {
				t.Errorf("the declared service's row: %q", row)
			}
			err = do(ctx, chromedp.Navigate(e.n.URL+"/config/services/checkout"), chromedp.WaitVisible(chromedp.CSS(`#read-only`)))
			if err != nil {
				t.Fatal(err)
			}
			where, _ := read(ctx, chromedp.Text(chromedp.CSS(`#read-only`)))
			editors, _ := read(ctx, chromedp.Evaluate[int](`document.querySelectorAll('main textarea, main form').length`))
			if !strings.Contains(where, "nines.yaml:17:5") || editors != 0 {
				t.Errorf("the declared service: %q, %d forms", where, editors)
			}
			screenshot(t, ctx, "config-read-only"+size.suffix)
			err = do(ctx, chromedp.Navigate(e.n.URL+"/config/services/web"), chromedp.WaitVisible(chromedp.CSS(`#edit-object`)))
			if err != nil {
				t.Fatal(err)
			}
			screenshot(t, ctx, "config-editor"+size.suffix)
			unlabelled(t, ctx)
			if size.width < 500 {
				if wide, err := read(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`)); err != nil || wide > 390 {
					t.Errorf("the editor is %v px wide on a 390 px phone (%v)", wide, err)
				}
			}
		})
	}
}

// TestThePagesChangeObjectsWithCSRFAndShowAReloadsErrors: through HTTP as a browser does: a
// form without the CSRF token changes nothing; an edit that is refused shows the document as
// typed with the error; a refused reload shows each file:line:col on the page and changes
// nothing; one accepted says so.
func TestThePagesChangeObjectsWithCSRFAndShowAReloadsErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "nines.yaml")
	good := "users:\n  - {id: bob, contact_methods: [{type: webhook, address: \"https://example.com/b\"}]}\nescalation_policies:\n  - {id: ops, steps: [{targets: [{user: bob}]}]}\n"
	os.WriteFile(file, []byte(good), 0o600)
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := webtest.Start(t, webtest.Options{Config: cfg})
	n.Config.SetPath(dir)
	admin := webtest.SignIn(t, n.URL, n.Users, "admin", auth.Admin)

	if resp, _ := admin.PostForm("/config/teams", url.Values{"id": {"web"}, "doc": {"id: web\nname: Web\n"}}, false); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a form without the CSRF token: %d, want 403", resp.StatusCode)
	}
	if n.Config.Get().Team("web") != nil {
		t.Fatal("a form without the CSRF token made a team")
	}
	if resp, body := admin.PostForm("/config/teams", url.Values{"id": {"web"}, "doc": {"id: web\nname: Web\n"}}, true); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a team in YAML: %d %s", resp.StatusCode, body)
	}
	// The id may be written in the YAML editor alone, as its help says: the browser is not
	// made to ask for the id field, and the post without it makes the team.
	_, kindPage := admin.Do("GET", "/config/teams", nil, nil)
	if idInput := regexp.MustCompile(`<input id="c-id"[^>]*>`).FindString(kindPage); idInput == "" || strings.Contains(idInput, "required") {
		t.Errorf("the id field is required of a browser, though the YAML may hold the id: %s", idInput)
	}
	if resp, body := admin.PostForm("/config/teams", url.Values{"id": {""}, "doc": {"id: yamlonly\nname: Y\n"}}, true); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a team whose id is in the YAML only: %d %s", resp.StatusCode, body)
	}
	if resp, body := admin.PostForm("/config/teams", url.Values{"id": {""}, "doc": {"name: No id\n"}}, true); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "id") {
		t.Errorf("a team with no id anywhere: %d, want 400 naming the id", resp.StatusCode)
	}
	// The same id again is refused on the form, saying the team exists, with what was typed.
	if resp, body := admin.PostForm("/config/teams", url.Values{"id": {"web"}, "doc": {"id: web\nname: Web again\n"}}, true); resp.StatusCode != http.StatusConflict ||
		!strings.Contains(body, `team &#34;web&#34; already exists in the database`) || !strings.Contains(body, "Web again") {
		t.Errorf("a team made twice: %d, want 409 saying it exists, with what was typed\n%s", resp.StatusCode, body)
	}
	// A form with a field it cannot read (repeat) and others the config refuses (a step's
	// duration and person) names all three at once, each beside its field, and saves nothing.
	resp, body := admin.PostForm("/config/escalation_policies", url.Values{"id": {"p1"}, "repeat": {"x"},
		"step1_targets": {"user:nobody"}, "step1_after": {"10 minutes"}, "step2_targets": {"user:bob"}}, true)
	for _, want := range []string{`repeat: &#34;x&#34;: want a whole number`, `unknown unit &#34; minutes&#34;`, `unknown user &#34;nobody&#34;`,
		`aria-describedby="error-c-repeat"`, `aria-describedby="error-c-step1_after"`} {
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("a policy form with three problems: %d, lacks %s", resp.StatusCode, want)
		}
	}
	if n.Config.Get().EscalationPolicy("p1") != nil {
		t.Error("a policy form with problems was saved")
	}
	// The id given in its own field only, with the rest in the editor: the team is made.
	if resp, body := admin.PostForm("/config/teams", url.Values{"id": {"cu-team"}, "doc": {"name: Curl team\nmembers: [bob]\n"}}, true); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a team whose id is in the id field only: %d %s", resp.StatusCode, body)
	}
	if tm := n.Config.Get().Team("cu-team"); tm == nil || tm.Name != "Curl team" {
		t.Fatalf("the team made with its id in the field: %+v", tm)
	}
	// A heartbeat made in the monitor form gets its uuid, the secret of its ping URL, made for it.
	if resp, body := admin.PostForm("/config/services", url.Values{"doc": {"id: jobs\nescalation_policy: ops\n"}}, true); resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusOK {
		t.Fatalf("a service for the heartbeat: %d %s", resp.StatusCode, body)
	}
	if resp, body := admin.PostForm("/config/monitors", url.Values{"id": {"nightly"}, "service": {"jobs"}, "type": {"heartbeat"}, "period": {"1h"}, "grace": {"5m"}}, true); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a heartbeat in the form: %d %s", resp.StatusCode, body)
	}
	if m := n.Config.Get().Monitor("nightly"); m == nil || len(m.UUID) != 36 {
		t.Fatalf("the heartbeat made in the form: %+v", m)
	} else if resp, err := http.Get(n.URL + "/ping/" + m.UUID); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a ping to the new heartbeat: %v %v", resp, err)
	}
	typed := "id: web\nname: Web\nmembers: [nobody]\n"
	resp, body = admin.PostForm("/config/teams/web", url.Values{"doc": {typed}}, true)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(html.UnescapeString(body), typed) || !strings.Contains(body, "db:teams/web:3:") {
		t.Errorf("a refused edit: %d, want 400 with the document as typed and the error at its line:\n%s", resp.StatusCode, body)
	}

	os.WriteFile(file, []byte(good+"services:\n  - {id: a, escalation_policy: gone}\n"), 0o600)
	resp, body = admin.PostForm("/admin/config/reload", nil, true)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "id=\"reload-errors\"") || !strings.Contains(html.UnescapeString(body), file+":6:32: service a: unknown escalation policy \"gone\"") {
		t.Errorf("a refused reload: %d\n%s", resp.StatusCode, body)
	}
	if n.Config.Get().Service("a") != nil || n.Config.Get().Team("web") == nil {
		t.Error("a refused reload changed the config in force")
	}
	os.WriteFile(file, []byte(good+"services:\n  - {id: a, escalation_policy: ops}\n"), 0o600)
	if resp, body := admin.PostForm("/admin/config/reload", nil, true); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Reloaded") {
		t.Errorf("a reload: %d\n%s", resp.StatusCode, body)
	}
	if n.Config.Get().Service("a") == nil || n.Config.Get().Team("web") == nil {
		t.Error("after the reload, the file's service and the database's team are not both in force")
	}
}
