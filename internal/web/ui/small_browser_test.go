package ui_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

var sizes = []struct {
	name          string
	width, height int
}{{"phone", 390, 844}, {"desktop", 1280, 900}}

// TestBrowserATimeZoneChosenOnTheProfileChangesTheTimesShown: the incident "cards" opened at
// 2026-03-30 09:00 UTC. Asia/Kolkata is UTC+05:30 all year, so there it opened at 14:30 IST;
// the page says so, with the UTC instant on hover.
func TestBrowserATimeZoneChosenOnTheProfileChangesTheTimesShown(t *testing.T) {
	e := startPhoneEnv(t)
	for _, size := range sizes {
		t.Run(size.name, func(t *testing.T) {
			ctx := e.signInBrowser("admin", size.width, size.height)
			incident := fmt.Sprintf("%s/incidents/%d", e.n.URL, e.inc["cards"])
			opened := `[...document.querySelectorAll('time[datetime="2026-03-30T09:00:00Z"]')].filter(e => !e.textContent.includes('ago') && !e.textContent.includes('now'))[0]`
			err := do(ctx, chromedp.Navigate(e.n.URL+"/profile"), chromedp.WaitVisible(chromedp.CSS(`#tz-panel`)),
				chromedp.Click(chromedp.CSS(`#tz-panel summary`)),
				chromedp.SendKeys(chromedp.CSS(`#tz`), "Asia/Kolkata"),
				chromedp.Submit(chromedp.CSS(`#tz`)),
				chromedp.WaitVisible(chromedp.Search(`//dd[@id="shown-zone"][. = "Asia/Kolkata"]`)),
				chromedp.Navigate(incident), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
			if err != nil {
				t.Fatal(err)
			}
			shown, err := read(ctx, chromedp.Evaluate[[]string](`[`+opened+`.textContent, `+opened+`.title]`))
			if err != nil {
				t.Fatal(err)
			}
			if shown[0] != "2026-03-30 14:30:00 IST" || !strings.Contains(shown[1], "2026-03-30 09:00:00 UTC") {
				t.Errorf("the incident's opening shows %q (hover %q), want 2026-03-30 14:30:00 IST with the UTC instant on hover", shown[0], shown[1])
			}
			timeline, _ := read(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			if !strings.Contains(timeline, "14:30:00 IST") || strings.Contains(timeline, "09:00:00 UTC") {
				t.Errorf("the incident page still shows times in UTC:\n%.3000s", timeline)
			}
			// Back to the default: the admin has no config user, so UTC.
			err = do(ctx, chromedp.Navigate(e.n.URL+"/profile"), chromedp.Click(chromedp.CSS(`#tz-panel summary`)),
				chromedp.Evaluate[chromedp.Void](`document.querySelector('#tz').value = ''`), chromedp.Submit(chromedp.CSS(`#tz`)),
				chromedp.WaitVisible(chromedp.Search(`//dd[@id="shown-zone"][. = "UTC"]`)),
				chromedp.Navigate(incident), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
			if err != nil {
				t.Fatal(err)
			}
			if text, _ := read(ctx, chromedp.Evaluate[string](opened+`.textContent`)); text != "2026-03-30 09:00:00 UTC" {
				t.Errorf("with the default zone the opening shows %q", text)
			}
		})
	}
}

// TestBrowserAnUnknownPageIsA404OfTheApp: the app's layout, a sentence, a way home; the API
// keeps answering JSON.
func TestBrowserAnUnknownPageIsA404OfTheApp(t *testing.T) {
	e := startPhoneEnv(t)
	for _, size := range sizes {
		t.Run(size.name, func(t *testing.T) {
			ctx := e.signInBrowser("admin", size.width, size.height)
			if err := do(ctx, chromedp.Navigate(e.n.URL+"/no/such/page"), chromedp.WaitVisible(chromedp.CSS(`main h1`))); err != nil {
				t.Fatal(err)
			}
			got, err := read(ctx, chromedp.Evaluate[map[string]string](`({h1: document.querySelector('main h1').textContent, nav: String(!!document.querySelector('header nav')),
				home: document.querySelector('#home') ? document.querySelector('#home').getAttribute('href') : '', text: document.querySelector('main').innerText,
				css: String(getComputedStyle(document.body).fontFamily !== 'Times New Roman' && document.styleSheets.length > 0), wide: String(document.documentElement.scrollWidth)})`))
			if err != nil {
				t.Fatal(err)
			}
			if got["h1"] != "404 Not Found" || got["nav"] != "true" || got["home"] != "/" || !strings.Contains(got["text"], "There is no page at /no/such/page") || got["css"] != "true" {
				t.Errorf("the 404 page: %v", got)
			}
			if wide, _ := strconv.Atoi(got["wide"]); size.width < 500 && wide > size.width {
				t.Errorf("the 404 page is %s px wide on a phone", got["wide"])
			}
			screenshot(t, ctx, "not-found-"+size.name)
		})
	}
	var body map[string]any
	req := e.n.URL + "/api/v1/no-such-route"
	resp, err := httpGetWithToken(req, e.token, &body)
	if err != nil || resp != 404 || body["error"] == nil {
		t.Errorf("GET /api/v1/no-such-route: %d %v %v; want a JSON 404", resp, body, err)
	}
}

// TestBrowserARefusedFormKeepsWhatWasTyped declares an incident whose impact start nines
// refuses (before 1970): the form comes back with the title, the summary and the severity as
// typed, and the problem beside the field.
func TestBrowserARefusedFormKeepsWhatWasTyped(t *testing.T) {
	e := startPhoneEnv(t)
	for _, size := range sizes {
		t.Run(size.name, func(t *testing.T) {
			ctx := e.signInBrowser("admin", size.width, size.height)
			err := do(ctx, chromedp.Navigate(e.n.URL+"/incidents/new"), chromedp.WaitVisible(chromedp.CSS(`#title`)),
				chromedp.SendKeys(chromedp.CSS(`#title`), "EU customers see a blank payment page"),
				chromedp.SetValue(chromedp.CSS(`#sev`), "SEV2"),
				chromedp.SendKeys(chromedp.CSS(`#summary`), "Since the 10:05 deploy; \"retry\" does not help."),
				chromedp.SetValue(chromedp.CSS(`#impact`), "1960-01-01T10:00"),
				chromedp.Submit(chromedp.CSS(`#title`)),
				chromedp.WaitVisible(chromedp.CSS(`#error-impact`)))
			if err != nil {
				text, _ := read(ctx, chromedp.Evaluate[string](`document.body.innerText`))
				t.Fatalf("%v:\n%.2000s", err, text)
			}
			got, _ := read(ctx, chromedp.Evaluate[map[string]string](`({title: document.querySelector('#title').value, sev: document.querySelector('#sev').value,
				summary: document.querySelector('#summary').value, impact: document.querySelector('#impact').value, err: document.querySelector('#error-impact').textContent,
				invalid: document.querySelector('#impact').getAttribute('aria-invalid')})`))
			want := map[string]string{"title": "EU customers see a blank payment page", "sev": "SEV2", "summary": "Since the 10:05 deploy; \"retry\" does not help.", "impact": "1960-01-01T10:00", "invalid": "true"}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("after the refusal %s is %q, want %q as typed", k, got[k], v)
				}
			}
			if !strings.Contains(got["err"], "1970") {
				t.Errorf("the problem beside the field: %q", got["err"])
			}
		})
	}
}

// TestBrowserATooShortPasswordIsFlaggedBeforeTheSecondField: typing the new password on the
// profile says it is too short at once, with the server's minimum, before the confirmation is
// touched.
func TestBrowserATooShortPasswordIsFlaggedBeforeTheSecondField(t *testing.T) {
	e := startPhoneEnv(t)
	for _, size := range sizes {
		t.Run(size.name, func(t *testing.T) {
			ctx := e.signInBrowser("admin", size.width, size.height)
			err := do(ctx, chromedp.Navigate(e.n.URL+"/profile#security"), chromedp.WaitVisible(chromedp.CSS(`#security`)),
				chromedp.Evaluate[chromedp.Void](`document.querySelector('#pw-new').closest('details').open = true`),
				chromedp.SendKeys(chromedp.CSS(`#pw-new`), "short"))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := read(ctx, chromedp.Evaluate[map[string]string](`({msg: document.querySelector('#pw-new-length').textContent, valid: String(document.querySelector('#pw-new').validity.valid),
				confirm: document.querySelector('#pw-confirm').value})`))
			if !strings.Contains(got["msg"], "at least 10 characters") || got["valid"] != "false" || got["confirm"] != "" {
				t.Errorf("after typing 5 characters: %v; want the field flagged too short, at least 10 characters", got)
			}
			if err := do(ctx, chromedp.SendKeys(chromedp.CSS(`#pw-new`), " and longer")); err != nil {
				t.Fatal(err)
			}
			got, _ = read(ctx, chromedp.Evaluate[map[string]string](`({msg: document.querySelector('#pw-new-length').textContent, valid: String(document.querySelector('#pw-new').validity.valid)})`))
			if got["valid"] != "true" || strings.Contains(got["msg"], "short") {
				t.Errorf("after 16 characters: %v; want it accepted", got)
			}
		})
	}
}

func httpGetWithToken(u, token string, out any) (int, error) {
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
}
