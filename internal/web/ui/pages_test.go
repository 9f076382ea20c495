package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/web/webtest"
)

func TestPagesRenderForASignedInBrowser(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	open := s.Trigger("open-one", "Checkout <b>5xx</b> spike")
	done := s.Trigger("done-one", "Disk full on db-1")
	s.Post(fmt.Sprintf("/api/v1/incidents/%d/resolve", done), "", auth.Responder)
	cookie := s.Browser(auth.Viewer).Cookie

	r := s.Do(webtest.Request{Method: "GET", Path: "/", Cookie: cookie})
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		fmt.Sprintf(`href="/incidents/%d"`, open), "Checkout &lt;b&gt;5xx&lt;/b&gt; spike", // escaped, never raw HTML
		"Recently resolved", "Disk full on db-1", "viewer (viewer)",
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("GET / lacks %q", want)
		}
	}
	if strings.Contains(r.Body, "<b>5xx</b>") {
		t.Error("an alert summary reached the page unescaped")
	}
	if r.Header.Get("Content-Security-Policy") == "" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("page headers = %v", r.Header)
	}

	r = s.Do(webtest.Request{Method: "GET", Path: fmt.Sprintf("/incidents/%d", open), Cookie: cookie})
	if r.Status != http.StatusOK {
		t.Fatalf("GET /incidents/%d: %d %s", open, r.Status, r.Body)
	}
	for _, want := range []string{`open-one</code>`, "incident.triggered", "alert.triggered", "integration:events_v2", "Checkout API"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the incident page lacks %q", want)
		}
	}
	if !webtest.CSRFField.MatchString(r.Body) {
		t.Error("the page carries no CSRF token for its forms")
	}
	r = s.Do(webtest.Request{Method: "GET", Path: "/incidents/999", Cookie: cookie})
	if r.Status != http.StatusNotFound || !strings.Contains(r.Body, "incident not found") || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET /incidents/999: %d %s", r.Status, r.Body)
	}
}

func TestPagesSendAStrangerToSignIn(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	id := s.Trigger("k", "x")
	for _, tc := range []struct{ path, cookie string }{
		{"/", ""},
		{fmt.Sprintf("/incidents/%d", id), ""},
		{fmt.Sprintf("/incidents/%d?tab=alerts", id), "nines_not-a-real-token"},
	} {
		r := s.Do(webtest.Request{Method: "GET", Path: tc.path, Cookie: tc.cookie})
		want := "/login?next=" + url.QueryEscape(tc.path)
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Errorf("GET %s without a session: %d to %q, want 303 to %q", tc.path, r.Status, r.Header.Get("Location"), want)
		}
	}
	if r := s.Do(webtest.Request{Method: "GET", Path: "/login?next=/incidents/1"}); r.Status != http.StatusOK || !strings.Contains(r.Body, `value="/incidents/1"`) {
		t.Errorf("GET /login: %d", r.Status)
	}
}

func TestSigningInSetsASessionCookie(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	if _, err := s.Users.Create(context.Background(), auth.NewUser{Username: "rita", Role: auth.Responder, Password: webtest.SignInPassword}); err != nil {
		t.Fatal(err)
	}
	form := func(username, password, next string) string {
		return url.Values{"username": {username}, "password": {password}, "next": {next}}.Encode()
	}
	post := func(body string) webtest.Reply {
		return s.Do(webtest.Request{Method: "POST", Path: "/login", Body: body, Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	}
	r := post(form("rita", webtest.SignInPassword, "/incidents/1"))
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/incidents/1" {
		t.Fatalf("sign in: %d to %q", r.Status, r.Header.Get("Location"))
	}
	// The cookie holds a server-side session id, never the password or an API token.
	c := r.Header.Get("Set-Cookie")
	if !strings.Contains(c, "nines_session=ns_") || strings.Contains(c, webtest.SignInPassword) || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax") {
		t.Errorf("session cookie = %q", c)
	}
	// A redirect after sign-in stays on this site.
	for _, next := range []string{"//evil.example.com/", "https://evil.example.com/", "/\\evil.example.com"} {
		if r := post(form("rita", webtest.SignInPassword, next)); r.Header.Get("Location") != "/" {
			t.Errorf("next=%q redirected to %q", next, r.Header.Get("Location"))
		}
	}
	r = post(form("rita", "not her password", "/"))
	if r.Status != http.StatusUnauthorized || r.Header.Get("Set-Cookie") != "" || !strings.Contains(r.Body, "Wrong username or password") {
		t.Errorf("a wrong password: %d, cookie %q", r.Status, r.Header.Get("Set-Cookie"))
	}
	// An API token is for programs: it signs no browser in.
	r = post(url.Values{"token": {s.Token[auth.Responder]}, "next": {"/"}}.Encode())
	if r.Status != http.StatusUnauthorized || r.Header.Get("Set-Cookie") != "" {
		t.Errorf("signing in with an API token: %d, cookie %q", r.Status, r.Header.Get("Set-Cookie"))
	}
}

func TestAChangeMadeWithTheCookieNeedsTheCSRFToken(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	id := s.Trigger("k", "x")
	cookie := s.Browser(auth.Responder).Cookie
	path := fmt.Sprintf("/api/v1/incidents/%d/acknowledge", id)

	page := s.Do(webtest.Request{Method: "GET", Path: fmt.Sprintf("/incidents/%d", id), Cookie: cookie})
	m := webtest.CSRFField.FindStringSubmatch(page.Body)
	if m == nil {
		t.Fatal("no CSRF token on the page")
	}
	before := s.Rows()
	for name, header := range map[string]map[string]string{
		"no token":                nil,
		"a wrong token":           {"X-CSRF-Token": strings.Repeat("0", len(m[1]))},
		"another session's token": {"X-CSRF-Token": otherSessionCSRF(t, s)},
		"an empty form":           {"Content-Type": "application/x-www-form-urlencoded"},
	} {
		r := s.Do(webtest.Request{Method: "POST", Path: path, Cookie: cookie, Header: header})
		if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "CSRF") {
			t.Errorf("with %s: %d %s", name, r.Status, r.Body)
		}
	}
	if after := s.Rows(); after != before {
		t.Errorf("refused requests wrote rows: %s -> %s", before, after)
	}
	r := s.Do(webtest.Request{Method: "POST", Path: path, Cookie: cookie, Header: map[string]string{"X-CSRF-Token": m[1]}})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"state":"acknowledged"`) {
		t.Errorf("with the page's token: %d %s", r.Status, r.Body)
	}
	r = s.Do(webtest.Request{Method: "POST", Path: fmt.Sprintf("/api/v1/incidents/%d/notes", id), Cookie: cookie,
		Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, Body: "csrf=" + m[1]})
	if r.Status == http.StatusForbidden {
		t.Errorf("the CSRF token as a form field was refused: %s", r.Body)
	}
	// A bearer token is not sent by browsers on their own, so it needs no CSRF token.
	if r := s.Post(fmt.Sprintf("/api/v1/incidents/%d/resolve", id), "", auth.Responder); r.Status != http.StatusOK {
		t.Errorf("a bearer-token request: %d %s", r.Status, r.Body)
	}
}

// otherSessionCSRF signs in as someone else and returns the CSRF token of that session.
func otherSessionCSRF(t *testing.T, s *webtest.Spine) string {
	return s.Browser(auth.Admin).CSRF
}

func TestAssetsAreServedUnderTheirContentHash(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	page := s.Do(webtest.Request{Method: "GET", Path: "/login"})
	m := regexp.MustCompile(`href="(/static/style\.[0-9a-f]{12}\.css)"`).FindStringSubmatch(page.Body)
	if m == nil {
		t.Fatalf("the page links no hashed stylesheet:\n%s", page.Body)
	}
	r := s.Do(webtest.Request{Method: "GET", Path: m[1]})
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/css; charset=utf-8" ||
		!strings.Contains(r.Header.Get("Cache-Control"), "immutable") || len(r.Body) == 0 {
		t.Errorf("GET %s: %d %v", m[1], r.Status, r.Header)
	}
	if r := s.Do(webtest.Request{Method: "GET", Path: "/static/style.000000000000.css"}); r.Status != http.StatusNotFound {
		t.Errorf("an unknown asset: %d", r.Status)
	}
}

func TestSigningOutClearsTheCookie(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	b := s.Browser(auth.Viewer)
	// Another site must not sign people out: without the CSRF token the session lives on.
	if resp, body := b.PostForm("/logout", nil, false); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF") {
		t.Errorf("sign out without the CSRF token: %d %s", resp.StatusCode, body)
	}
	if r := s.Do(webtest.Request{Method: "GET", Path: "/", Cookie: b.Cookie}); r.Status != http.StatusOK {
		t.Fatalf("the session ended on a refused sign-out: %d", r.Status)
	}
	resp, _ := b.PostForm("/logout", nil, true)
	c := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" || !strings.Contains(c, "nines_session=;") || !strings.Contains(c, "Max-Age=0") {
		t.Errorf("sign out: %d to %q, cookie %q", resp.StatusCode, resp.Header.Get("Location"), c)
	}
	// The session is ended on the server, so a copy of the cookie is worth nothing.
	if r := s.Do(webtest.Request{Method: "GET", Path: "/", Cookie: b.Cookie}); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login?") {
		t.Errorf("the old cookie after sign-out: %d to %q", r.Status, r.Header.Get("Location"))
	}
}

func TestEveryNodeAcceptsTheCSRFTokenOfAnother(t *testing.T) {
	t.Parallel()
	a := webtest.StartSpine(t)
	b := webtest.StartSpineOn(t, a.DB)
	id := a.Trigger("k", "x")
	cookie := a.Browser(auth.Responder).Cookie
	m := webtest.CSRFField.FindStringSubmatch(a.Do(webtest.Request{Method: "GET", Path: "/", Cookie: cookie}).Body)
	if m == nil {
		t.Fatal("no CSRF token on the page")
	}
	r := b.Do(webtest.Request{Method: "POST", Path: fmt.Sprintf("/api/v1/incidents/%d/acknowledge", id), Cookie: cookie, Header: map[string]string{"X-CSRF-Token": m[1]}})
	if r.Status != http.StatusOK {
		t.Errorf("node b refused node a's CSRF token: %d %s", r.Status, r.Body)
	}
}

func TestABurstOfRepeatsShowsItsCountAndLastTimeOnThePageAndInTheAPI(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	id := s.Trigger("flap", "Checkout 5xx")
	for range 3 {
		s.Clock.Advance(10 * time.Second)
		s.Trigger("flap", "Checkout 5xx")
	}
	last := webtest.SpineEpoch.Add(30 * time.Second).UTC().Format("2006-01-02 15:04:05 UTC")
	r := s.Do(webtest.Request{Method: "GET", Path: fmt.Sprintf("/incidents/%d", id), Cookie: s.Browser(auth.Viewer).Cookie})
	// The time is the viewer's, with the instant in UTC on hover, as every time on a page.
	if want := `Alert flap repeated 3 times, the last at <time datetime="2026-03-02T03:00:30Z" title="2026-03-02 03:00:30 UTC">` + last + "</time>."; !strings.Contains(r.Body, want) {
		t.Errorf("the incident page lacks %q", want)
	}
	r = s.Get(fmt.Sprintf("/api/v1/incidents/%d/timeline", id), auth.Viewer)
	var tl struct {
		Events []struct {
			Type string `json:"type"`
			Data struct {
				Count  int       `json:"count"`
				LastAt time.Time `json:"last_at"`
			} `json:"data"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(r.Body), &tl); err != nil {
		t.Fatalf("timeline: %d %s", r.Status, r.Body)
	}
	var bursts int
	for _, e := range tl.Events {
		if e.Type == "alert.repeated" {
			bursts++
			if e.Data.Count != 3 || !e.Data.LastAt.Equal(webtest.SpineEpoch.Add(30*time.Second)) {
				t.Errorf("the API's burst = %+v, want 3 repeats, the last at +30s", e.Data)
			}
		}
	}
	if bursts != 1 {
		t.Errorf("%d alert.repeated entries in the API's timeline, want 1", bursts)
	}
}
