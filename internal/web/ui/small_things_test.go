package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/web/ui"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// An Events v2 alert's custom details become labels too (for inhibit rules and routing); the
// incident page shows each value once, as the detail it was sent as.
func TestAnEventsV2AlertsCustomDetailsAreShownOnce(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	r := s.Do(webtest.Request{Method: "POST", Path: "/v2/enqueue", Body: `{"routing_key": "` + webtest.V2Key + `", "event_action": "trigger", "dedup_key": "disk",
		"payload": {"summary": "Disk full", "source": "db-7", "severity": "critical", "component": "postgres-primary",
		"custom_details": {"region": "eu-west-9", "free_bytes": 1234567, "mount": {"path": "/var/lib/pg"}}}}`})
	if r.Status != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", r.Status, r.Body)
	}
	incs, _, err := s.Incidents.List(context.Background(), incident.Filter{Limit: 1})
	if err != nil || len(incs) != 1 {
		t.Fatalf("no incident after the trigger: %v", err)
	}
	id := incs[0].ID
	page := s.Do(webtest.Request{Method: "GET", Path: fmt.Sprintf("/incidents/%d", id), Cookie: s.Browser(auth.Viewer).Cookie})
	card := regexp.MustCompile(`(?s)<article class="alert-card">.*?</article>`).FindString(page.Body)
	for _, v := range []string{"eu-west-9", "1234567", "/var/lib/pg", "postgres-primary", "db-7"} {
		if n := strings.Count(card, v); n != 1 {
			t.Errorf("%q is shown %d times on the alert's card, want once:\n%s", v, n, card)
		}
	}
}

// The public update form starts at the state the incident is in: investigating while it is
// triggered, resolved once it is.
func TestThePublicUpdateStateStartsAtTheIncidentsState(t *testing.T) {
	t.Parallel()
	n := startPhoneEnv(t)
	b := webtest.SignIn(t, n.n.URL, n.n.Users, "responder-x", auth.Responder)
	id := n.inc["cards"]
	selected := func() string {
		_, body := b.Do("GET", fmt.Sprintf("/incidents/%d", id), nil, nil)
		sel := regexp.MustCompile(`(?s)<select id="su-status".*?</select>`).FindString(body)
		m := regexp.MustCompile(`<option value="(\w+)" selected>`).FindStringSubmatch(sel)
		if m == nil {
			t.Fatalf("no state selected in the public update form: %q", sel)
		}
		return m[1]
	}
	if got := selected(); got != "investigating" {
		t.Errorf("a triggered incident's public update starts at %s, want investigating", got)
	}
	n.api("POST", fmt.Sprintf("/api/v1/incidents/%d/status-updates", id), `{"page": "public", "status": "identified", "body": "A bad deploy of the gateway client."}`, nil)
	if got := selected(); got != "identified" {
		t.Errorf("after a public update saying identified, the next starts at %s, want identified", got)
	}
	n.api("POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", id), `{}`, nil)
	if got := selected(); got != "resolved" {
		t.Errorf("a resolved incident's public update starts at %s, want resolved", got)
	}
}

// Every form setting a password renders the server's own rule as minlength and in words.
func TestPasswordFormsRenderTheServersMinimumLength(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	admin := s.Browser(auth.Admin)
	want := fmt.Sprintf(`minlength="%d"`, auth.MinPasswordLength)
	for _, path := range []string{"/profile", "/admin/accounts"} {
		_, body := admin.Do("GET", path, nil, nil)
		if !strings.Contains(body, want) || !strings.Contains(body, fmt.Sprintf("at least %d characters", auth.MinPasswordLength)) || !strings.Contains(body, "data-new-password") {
			t.Errorf("GET %s does not render the password rule (%s) or its live check", path, want)
		}
	}
	err := auth.CheckPassword(strings.Repeat("é", auth.MinPasswordLength))
	if err != nil {
		t.Errorf("a password of %d characters (two bytes each) is refused: %v", auth.MinPasswordLength, err)
	}
	err = auth.CheckPassword(strings.Repeat("x", auth.MinPasswordLength-1))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("at least %d characters", auth.MinPasswordLength)) {
		t.Errorf("a password one short: %v, want the rule's words", err)
	}
}

// A time zone refused keeps what was typed, with the error beside the field; one accepted
// changes the zone every time is shown in.
func TestTheProfileTimeZoneIsValidatedAndKept(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	b := s.Browser(auth.Responder)
	resp, body := b.Do("POST", "/profile/time-zone", strings.NewReader(url.Values{"time_zone": {"Mars/Olympus_Mons"}, "csrf": {b.CSRF}}.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Referer": b.URL + "/profile"})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `value="Mars/Olympus_Mons"`) || !strings.Contains(body, `id="error-tz"`) || !strings.Contains(body, "IANA time zone") {
		t.Errorf("a zone that is none: %d, want 400 with the typed value and the error beside the field:\n%.2000s", resp.StatusCode, body)
	}
	resp, body = b.PostForm("/profile/time-zone", url.Values{"time_zone": {"Asia/Kolkata"}}, true)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<dd id="shown-zone">Asia/Kolkata</dd>`) {
		t.Errorf("Asia/Kolkata: %d\n%.2000s", resp.StatusCode, body)
	}
}

// A public update refused (a status page that does not exist) brings back the incident page
// with the update's form filled in as typed, the other forms of the page untouched, and the
// problem said; nothing is published.
func TestARefusedPublicUpdateKeepsItsFormAsTyped(t *testing.T) {
	t.Parallel()
	e := startPhoneEnv(t)
	b := webtest.SignIn(t, e.n.URL, e.n.Users, "responder-y", auth.Responder)
	page := fmt.Sprintf("/incidents/%d", e.inc["cards"])
	form := url.Values{"csrf": {b.CSRF}, "page": {"no-such-page"}, "status": {"monitoring"}, "name": {"Card payments failing"},
		"body": {"A fix is rolling out; <b>payments</b> recover region by region."}}
	resp, body := b.Do("POST", page+"/status-updates", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Referer": e.n.URL + page})
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Fatalf("a public update to a page that does not exist: %d, want it refused", resp.StatusCode)
	}
	f := regexp.MustCompile(`(?s)<form[^>]*id="status-update".*?</form>`).FindString(body)
	for _, want := range []string{`<option value="monitoring" selected="">`, `value="Card payments failing"`,
		`A fix is rolling out; &lt;b&gt;payments&lt;/b&gt; recover region by region.</textarea>`, `no-such-page`, `role="alert"`} {
		if !strings.Contains(f, want) {
			t.Errorf("the public update form shown again lacks %q:\n%s", want, f)
		}
	}
	if !strings.Contains(body, "<details class=\"panel\" open=\"\">") {
		t.Error("the folded panel of the refused form is not opened")
	}
	if note := regexp.MustCompile(`(?s)<form method="post" action="[^"]*/notes".*?</form>`).FindString(body); strings.Contains(note, "alert") {
		t.Errorf("the note form, not the one refused, carries the problem:\n%s", note)
	}
}

// FuzzRefill: whatever a browser posts, the page shown again is rendered, never a panic.
func FuzzRefill(f *testing.F) {
	f.Add("title=x&sev=SEV2&summary=%3Cscript%3E", "title", "too long")
	f.Add("body=&status=resolved", "", "refused")
	f.Fuzz(func(t *testing.T, query, field, msg string) {
		form, _ := url.ParseQuery(query)
		page := []byte(`<html><body><main><details><form method="post" action="/x"><input name="title"><select name="sev"><option>SEV1</option><option value="SEV2">b</option></select><textarea name="summary">a</textarea><input type="checkbox" name="c" value="1"><label>T <input name="t"></label></form></details></main></body></html>`)
		out := ui.Refill(page, "/x", form, field, msg)
		if len(out) == 0 {
			t.Fatal("nothing rendered")
		}
	})
}
