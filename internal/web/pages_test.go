package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/web"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func TestPagesRenderForASignedInBrowser(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	open := s.trigger("open-one", "Checkout <b>5xx</b> spike")
	done := s.trigger("done-one", "Disk full on db-1")
	s.post(fmt.Sprintf("/api/v1/incidents/%d/resolve", done), "", auth.Responder)
	cookie := s.browser(auth.Viewer).Cookie

	r := s.do(request{method: "GET", path: "/", cookie: cookie})
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", r.status, r.header.Get("Content-Type"))
	}
	for _, want := range []string{
		fmt.Sprintf(`href="/incidents/%d"`, open), "Checkout &lt;b&gt;5xx&lt;/b&gt; spike", // escaped, never raw HTML
		"Recently resolved", "Disk full on db-1", "viewer (viewer)",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("GET / lacks %q", want)
		}
	}
	if strings.Contains(r.body, "<b>5xx</b>") {
		t.Error("an alert summary reached the page unescaped")
	}
	if r.header.Get("Content-Security-Policy") == "" || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("page headers = %v", r.header)
	}

	r = s.do(request{method: "GET", path: fmt.Sprintf("/incidents/%d", open), cookie: cookie})
	if r.status != http.StatusOK {
		t.Fatalf("GET /incidents/%d: %d %s", open, r.status, r.body)
	}
	for _, want := range []string{"<code>open-one</code>", "incident.triggered", "alert.triggered", "integration:events_v2", "Checkout API"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the incident page lacks %q", want)
		}
	}
	if !csrfField.MatchString(r.body) {
		t.Error("the page carries no CSRF token for its forms")
	}
	r = s.do(request{method: "GET", path: "/incidents/999", cookie: cookie})
	if r.status != http.StatusNotFound || !strings.Contains(r.body, "incident not found") || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("GET /incidents/999: %d %s", r.status, r.body)
	}
}

func TestPagesSendAStrangerToSignIn(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	id := s.trigger("k", "x")
	for _, tc := range []struct{ path, cookie string }{
		{"/", ""},
		{fmt.Sprintf("/incidents/%d", id), ""},
		{fmt.Sprintf("/incidents/%d?tab=alerts", id), "nines_not-a-real-token"},
	} {
		r := s.do(request{method: "GET", path: tc.path, cookie: tc.cookie})
		want := "/login?next=" + url.QueryEscape(tc.path)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != want {
			t.Errorf("GET %s without a session: %d to %q, want 303 to %q", tc.path, r.status, r.header.Get("Location"), want)
		}
	}
	if r := s.do(request{method: "GET", path: "/login?next=/incidents/1"}); r.status != http.StatusOK || !strings.Contains(r.body, `value="/incidents/1"`) {
		t.Errorf("GET /login: %d", r.status)
	}
}

func TestSigningInSetsASessionCookie(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	if _, err := s.srv.Users.Create(context.Background(), auth.NewUser{Username: "rita", Role: auth.Responder, Password: web.SignInPassword}); err != nil {
		t.Fatal(err)
	}
	form := func(username, password, next string) string {
		return url.Values{"username": {username}, "password": {password}, "next": {next}}.Encode()
	}
	post := func(body string) reply {
		return s.do(request{method: "POST", path: "/login", body: body, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	}
	r := post(form("rita", web.SignInPassword, "/incidents/1"))
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/incidents/1" {
		t.Fatalf("sign in: %d to %q", r.status, r.header.Get("Location"))
	}
	// The cookie holds a server-side session id, never the password or an API token.
	c := r.header.Get("Set-Cookie")
	if !strings.Contains(c, "nines_session=ns_") || strings.Contains(c, web.SignInPassword) || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax") {
		t.Errorf("session cookie = %q", c)
	}
	// A redirect after sign-in stays on this site.
	for _, next := range []string{"//evil.example.com/", "https://evil.example.com/", "/\\evil.example.com"} {
		if r := post(form("rita", web.SignInPassword, next)); r.header.Get("Location") != "/" {
			t.Errorf("next=%q redirected to %q", next, r.header.Get("Location"))
		}
	}
	r = post(form("rita", "not her password", "/"))
	if r.status != http.StatusUnauthorized || r.header.Get("Set-Cookie") != "" || !strings.Contains(r.body, "Wrong username or password") {
		t.Errorf("a wrong password: %d, cookie %q", r.status, r.header.Get("Set-Cookie"))
	}
	// An API token is for programs: it signs no browser in.
	r = post(url.Values{"token": {s.token[auth.Responder]}, "next": {"/"}}.Encode())
	if r.status != http.StatusUnauthorized || r.header.Get("Set-Cookie") != "" {
		t.Errorf("signing in with an API token: %d, cookie %q", r.status, r.header.Get("Set-Cookie"))
	}
}

func TestAChangeMadeWithTheCookieNeedsTheCSRFToken(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	id := s.trigger("k", "x")
	cookie := s.browser(auth.Responder).Cookie
	path := fmt.Sprintf("/api/v1/incidents/%d/acknowledge", id)

	page := s.do(request{method: "GET", path: fmt.Sprintf("/incidents/%d", id), cookie: cookie})
	m := csrfField.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatal("no CSRF token on the page")
	}
	before := s.rows()
	for name, header := range map[string]map[string]string{
		"no token":                nil,
		"a wrong token":           {"X-CSRF-Token": strings.Repeat("0", len(m[1]))},
		"another session's token": {"X-CSRF-Token": otherSessionCSRF(t, s)},
		"an empty form":           {"Content-Type": "application/x-www-form-urlencoded"},
	} {
		r := s.do(request{method: "POST", path: path, cookie: cookie, header: header})
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "CSRF") {
			t.Errorf("with %s: %d %s", name, r.status, r.body)
		}
	}
	if after := s.rows(); after != before {
		t.Errorf("refused requests wrote rows: %s -> %s", before, after)
	}
	r := s.do(request{method: "POST", path: path, cookie: cookie, header: map[string]string{"X-CSRF-Token": m[1]}})
	if r.status != http.StatusOK || !strings.Contains(r.body, `"state":"acknowledged"`) {
		t.Errorf("with the page's token: %d %s", r.status, r.body)
	}
	r = s.do(request{method: "POST", path: fmt.Sprintf("/api/v1/incidents/%d/notes", id), cookie: cookie,
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "csrf=" + m[1]})
	if r.status == http.StatusForbidden {
		t.Errorf("the CSRF token as a form field was refused: %s", r.body)
	}
	// A bearer token is not sent by browsers on their own, so it needs no CSRF token.
	if r := s.post(fmt.Sprintf("/api/v1/incidents/%d/resolve", id), "", auth.Responder); r.status != http.StatusOK {
		t.Errorf("a bearer-token request: %d %s", r.status, r.body)
	}
}

// otherSessionCSRF signs in as someone else and returns the CSRF token of that session.
func otherSessionCSRF(t *testing.T, s *spineServer) string {
	return s.browser(auth.Admin).CSRF
}

func TestAssetsAreServedUnderTheirContentHash(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	page := s.do(request{method: "GET", path: "/login"})
	m := regexp.MustCompile(`href="(/static/style\.[0-9a-f]{12}\.css)"`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("the page links no hashed stylesheet:\n%s", page.body)
	}
	r := s.do(request{method: "GET", path: m[1]})
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "text/css; charset=utf-8" ||
		!strings.Contains(r.header.Get("Cache-Control"), "immutable") || len(r.body) == 0 {
		t.Errorf("GET %s: %d %v", m[1], r.status, r.header)
	}
	if r := s.do(request{method: "GET", path: "/static/style.000000000000.css"}); r.status != http.StatusNotFound {
		t.Errorf("an unknown asset: %d", r.status)
	}
}

func TestSigningOutClearsTheCookie(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	b := s.browser(auth.Viewer)
	// Another site must not sign people out: without the CSRF token the session lives on.
	if resp, body := b.PostForm("/logout", nil, false); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF") {
		t.Errorf("sign out without the CSRF token: %d %s", resp.StatusCode, body)
	}
	if r := s.do(request{method: "GET", path: "/", cookie: b.Cookie}); r.status != http.StatusOK {
		t.Fatalf("the session ended on a refused sign-out: %d", r.status)
	}
	resp, _ := b.PostForm("/logout", nil, true)
	c := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" || !strings.Contains(c, "nines_session=;") || !strings.Contains(c, "Max-Age=0") {
		t.Errorf("sign out: %d to %q, cookie %q", resp.StatusCode, resp.Header.Get("Location"), c)
	}
	// The session is ended on the server, so a copy of the cookie is worth nothing.
	if r := s.do(request{method: "GET", path: "/", cookie: b.Cookie}); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?") {
		t.Errorf("the old cookie after sign-out: %d to %q", r.status, r.header.Get("Location"))
	}
}

func TestEveryNodeAcceptsTheCSRFTokenOfAnother(t *testing.T) {
	t.Parallel()
	a := newSpineServer(t)
	b := newSpineServerOn(t, a.db)
	id := a.trigger("k", "x")
	cookie := a.browser(auth.Responder).Cookie
	m := csrfField.FindStringSubmatch(a.do(request{method: "GET", path: "/", cookie: cookie}).body)
	if m == nil {
		t.Fatal("no CSRF token on the page")
	}
	r := b.do(request{method: "POST", path: fmt.Sprintf("/api/v1/incidents/%d/acknowledge", id), cookie: cookie, header: map[string]string{"X-CSRF-Token": m[1]}})
	if r.status != http.StatusOK {
		t.Errorf("node b refused node a's CSRF token: %d %s", r.status, r.body)
	}
}
