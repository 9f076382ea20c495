package ui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// accountsConfig is the config the web account and status page tests run with.
const accountsConfig = `
server:
  base_url: http://status.test
teams:
  - {id: payments, name: Payments}
  - {id: search, name: Search}
services:
  - id: checkout
    name: Checkout API
    team: payments
    integrations:
      - {type: events_v2, key: 0123456789abcdef0123456789abcdef}
  - id: search
    name: Search
    team: search
  - id: internal-billing
    name: Internal billing
status_pages:
  - id: public
    title: Acme Status
    domain: status.acme.test
    update_cadence: 30m
    follow_incidents: true
    components:
      - {name: Checkout, service: checkout}
      - {name: Search, service: search, group: Discovery}
`

// accountsEnv is a running nines web server on loopback with a user and a token per role.
type accountsEnv struct {
	t         *testing.T
	db        *store.DB
	clock     *clock.Fake
	srv       *webtest.Nines
	incidents *incident.Service
	tokens    map[auth.Role]string
	password  string
}

func newAccountsEnv(t *testing.T, db *store.DB) *accountsEnv {
	return newAccountsEnvWith(t, webtest.Options{DB: db})
}

// newAccountsEnvWith starts nines as o says, on the accounts config unless o names another.
func newAccountsEnvWith(t *testing.T, o webtest.Options) *accountsEnv {
	t.Helper()
	if o.Config == nil {
		o.Config = webtest.Parse(t, accountsConfig)
	}
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	o.Clock = clk
	srv := webtest.Start(t, o)
	e := &accountsEnv{t: t, db: srv.DB, clock: clk, srv: srv, incidents: srv.Incidents, tokens: map[auth.Role]string{}, password: "correct horse battery"}
	ctx := context.Background()
	for _, r := range auth.Roles() {
		secret, _, err := srv.Tokens.Create(ctx, r.String()+"-token", r, 0)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[r] = secret
		if _, err := srv.Users.Create(ctx, auth.NewUser{Username: r.String(), Role: r, Password: e.password}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// openIncident opens an incident of service with severity and returns its id.
func (e *accountsEnv) openIncident(service, severity, title string) int64 {
	e.t.Helper()
	var id int64
	err := e.db.Tx(context.Background(), func(tx *store.Tx) error {
		inc, err := e.incidents.Open(context.Background(), tx, incident.OpenParams{ServiceID: service, Severity: severity, Title: title,
			At: e.clock.Now(), Actor: incident.Actor{Name: "test", Source: "test"}})
		id = inc.ID
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// browser is a cookie-keeping client that does not follow redirects, like a careful browser.
type browser struct {
	e      *accountsEnv
	client *http.Client
}

func (e *accountsEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, client: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (*http.Response, string) {
	b.e.t.Helper()
	resp, err := b.client.Get(b.e.srv.URL + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.e.t.Helper()
	resp, err := b.client.PostForm(b.e.srv.URL+path, form)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) login(username, password string) *http.Response {
	resp, _ := b.post("/login", url.Values{"username": {username}, "password": {password}, "next": {"/"}})
	return resp
}

func (b *browser) cookie() string {
	u, _ := url.Parse(b.e.srv.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == webtest.SessionCookie {
			return c.Value
		}
	}
	return ""
}

// csrf reads the CSRF token from a page, as a form would carry it.
func (b *browser) csrf(path string) string {
	b.e.t.Helper()
	_, body := b.get(path)
	m := webtest.CSRFField.FindStringSubmatch(body)
	if m == nil {
		b.e.t.Fatalf("no CSRF field on %s", path)
	}
	return m[1]
}

func TestLoginStartsAServerSideSession(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		e := newAccountsEnv(t, db)
		b := e.browser()
		resp := b.login("responder", e.password)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Fatalf("login answered %d to %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
		}
		var sc *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == webtest.SessionCookie {
				sc = c
			}
		}
		if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || !strings.HasPrefix(sc.Value, "ns_") {
			t.Fatalf("session cookie %+v: want an HttpOnly, SameSite=Lax session id", sc)
		}
		if strings.HasPrefix(sc.Value, auth.TokenPrefix) {
			t.Fatal("the cookie carries an API token")
		}
		var stored int
		db.QueryRow(context.Background(), `SELECT COUNT(*) FROM sessions WHERE hash = ?`, sc.Value).Scan(&stored)
		if stored != 0 {
			t.Fatal("the session id is stored in clear")
		}
		if resp, body := b.get("/"); resp.StatusCode != 200 || !strings.Contains(body, "responder (responder)") {
			t.Fatalf("signed-in home page: %d", resp.StatusCode)
		}
		// Idle for longer than the idle timeout: the session is over.
		e.clock.Advance(auth.IdleTimeout + time.Minute)
		if resp, _ := b.get("/"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Fatalf("after the idle timeout: %d %s, want a redirect to /login", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

func TestLoginRefusesWrongPasswordsAndDisabledUsers(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	b := e.browser()
	for _, tc := range []struct{ name, user, pass string }{
		{"a wrong password", "admin", "not the password"},
		{"an unknown user", "mallory", e.password},
		{"an empty password", "admin", ""},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			resp := b.login(tc.user, tc.pass)
			if resp.StatusCode != http.StatusUnauthorized || b.cookie() != "" {
				t.Fatalf("got %d with cookie %q, want 401 and no session", resp.StatusCode, b.cookie())
			}
		})
	}
	if err := e.srv.Users.Disable(context.Background(), "viewer"); err != nil {
		t.Fatal(err)
	}
	if resp := b.login("viewer", e.password); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a disabled user signed in: %d", resp.StatusCode)
	}
}

func TestLoginIsRateLimited(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	b := e.browser()
	for i := 0; i < auth.MaxFailures; i++ {
		if resp := b.login("admin", "wrong password"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d answered %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp := b.login("admin", e.password)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || b.cookie() != "" {
		t.Fatalf("the right password after %d failures: %d (Retry-After %q), want 429 and no session", auth.MaxFailures, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Another user from the same address is not locked out by someone else's failures.
	if resp := e.browser().login("viewer", e.password); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("another user: %d, want 303", resp.StatusCode)
	}
	e.clock.Advance(auth.Window)
	if resp := b.login("admin", e.password); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the window: %d, want 303", resp.StatusCode)
	}
	entries, _ := e.srv.Audit.List(context.Background(), 100, 0)
	var throttled, failed int
	for _, en := range entries {
		switch en.Action {
		case "login.throttled":
			throttled++
		case "login.failed":
			failed++
		}
	}
	if throttled != 1 || failed != auth.MaxFailures {
		t.Fatalf("audit log has %d throttled and %d failed sign-ins, want 1 and %d", throttled, failed, auth.MaxFailures)
	}
}

func TestSessionFixationIsDefeated(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	// The attacker signs in and plants their own session id in the victim's browser.
	attacker := e.browser()
	attacker.login("viewer", e.password)
	planted := attacker.cookie()
	victim := e.browser()
	u, _ := url.Parse(e.srv.URL)
	victim.client.Jar.SetCookies(u, []*http.Cookie{{Name: webtest.SessionCookie, Value: planted, Path: "/"}})
	victim.login("admin", e.password)
	if got := victim.cookie(); got == planted || got == "" {
		t.Fatalf("the victim kept the planted session id %q", got)
	}
	// The planted id is dead: it neither became the admin nor stays the attacker's.
	if resp, _ := attacker.get("/admin/audit"); resp.StatusCode == http.StatusOK {
		t.Fatal("the planted session reads the admin's audit log")
	}
	if resp, _ := attacker.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the planted session still works: %d", resp.StatusCode)
	}
}

func TestCSRFGuardsEveryCookieAuthenticatedChange(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	id := e.openIncident("checkout", incident.Critical, "Checkout down")
	b := e.browser()
	b.login("responder", e.password)
	path := "/incidents/" + itoa(id) + "/acknowledge"
	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"no token", url.Values{}},
		{"a wrong token", url.Values{"csrf": {strings.Repeat("0", 32)}}},
		{"another session's token", url.Values{"csrf": {func() string { o := e.browser(); o.login("admin", e.password); return o.csrf("/") }()}}},
	} {
		t.Run("a form with "+tc.name+" is refused", func(t *testing.T) {
			if resp, _ := b.post(path, tc.form); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("got %d, want 403", resp.StatusCode)
			}
			if inc, _ := e.incidents.Get(context.Background(), id); inc.State != incident.Triggered {
				t.Fatalf("the incident changed to %s", inc.State)
			}
		})
	}
	t.Run("a form with this session's token acknowledges", func(t *testing.T) {
		resp, _ := b.post(path, url.Values{"csrf": {b.csrf("/incidents/" + itoa(id))}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("got %d, want 303", resp.StatusCode)
		}
		if inc, _ := e.incidents.Get(context.Background(), id); inc.State != incident.Acknowledged {
			t.Fatalf("the incident is %s", inc.State)
		}
	})
	t.Run("sign-out without the token is refused", func(t *testing.T) {
		if resp, _ := b.post("/logout", url.Values{}); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("got %d, want 403", resp.StatusCode)
		}
	})
	t.Run("sign-out with the token ends the session on the server", func(t *testing.T) {
		old := b.cookie()
		b.post("/logout", url.Values{"csrf": {b.csrf("/")}})
		if _, err := e.srv.Sessions.Verify(context.Background(), old); err == nil {
			t.Fatal("the session outlived sign-out")
		}
	})
}

func TestTeamScopedPrincipalsActOnlyOnTheirTeamsIncidents(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	checkout := e.openIncident("checkout", incident.Critical, "Checkout down")
	search := e.openIncident("search", incident.Warning, "Search slow")
	secret, _, err := e.srv.Tokens.CreateScoped(context.Background(), "payments-bot", auth.Responder, time.Hour, []string{"payments"})
	if err != nil {
		t.Fatal(err)
	}
	ack := func(id int64) int {
		resp, _ := e.fetch("POST", "/api/v1/incidents/"+itoa(id)+"/acknowledge", map[string]string{"Authorization": "Bearer " + secret}, "")
		return resp.StatusCode
	}
	if got := ack(search); got != http.StatusForbidden {
		t.Fatalf("acknowledging another team's incident: %d, want 403", got)
	}
	if got := ack(checkout); got != http.StatusOK {
		t.Fatalf("acknowledging its own team's incident: %d, want 200", got)
	}
}

func TestTokensExpire(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	resp, body := e.fetch("POST", "/api/v1/tokens", map[string]string{"Authorization": "Bearer " + e.tokens[auth.Admin]}, `{"name":"ci","role":"viewer"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("creating a token: %d %s", resp.StatusCode, body)
	}
	secret := regexp.MustCompile(`"secret":"([^"]+)"`).FindStringSubmatch(string(body))[1]
	if !strings.Contains(string(body), `"expires_at":"2026-03-08T12:00:00Z"`) {
		t.Fatalf("a token made without a ttl should expire after %v: %s", auth.DefaultTTL, body)
	}
	get := func() int {
		resp, _ := e.fetch("GET", "/api/v1/incidents", map[string]string{"Authorization": "Bearer " + secret}, "")
		return resp.StatusCode
	}
	if got := get(); got != 200 {
		t.Fatalf("a fresh token: %d", got)
	}
	e.clock.Advance(auth.DefaultTTL)
	if got := get(); got != http.StatusUnauthorized {
		t.Fatalf("an expired token: %d, want 401", got)
	}
}

func TestAnotherSiteCannotSignAVisitorIn(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	form := "username=viewer&password=" + url.QueryEscape(e.password)
	hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"}
	if resp, _ := e.fetch("POST", "/login", hdr, form); resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Fatalf("a sign-in posted from another site: %d", resp.StatusCode)
	}
	hdr["Origin"] = e.srv.URL
	if resp, _ := e.fetch("POST", "/login", hdr, form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a sign-in posted from nines' own page: %d", resp.StatusCode)
	}
}

func TestAnAdminManagesAccountsFromTheBrowser(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	b := e.browser()
	b.login("admin", e.password)
	csrf := b.csrf("/admin/accounts")
	if resp, body := b.post("/admin/users", url.Values{"csrf": {csrf}, "username": {"dora"}, "role": {"responder"}, "teams": {"payments"}, "password": {"short"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "at least 10") {
		t.Fatalf("a short password: %d", resp.StatusCode)
	}
	if resp, _ := b.post("/admin/users", url.Values{"csrf": {csrf}, "username": {"dora"}, "role": {"responder"}, "teams": {"payments"}, "password": {"dora's long password"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("adding dora: %d", resp.StatusCode)
	}
	if resp := e.browser().login("dora", "dora's long password"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("dora signs in: %d", resp.StatusCode)
	}
	resp, body := b.post("/admin/tokens", url.Values{"csrf": {csrf}, "name": {"deploy-bot"}, "role": {"responder"}, "ttl": {"12h"}})
	secret := regexp.MustCompile(`nines_[A-Za-z0-9_-]{43}`).FindString(body)
	if resp.StatusCode != http.StatusCreated || secret == "" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("creating a token: %d", resp.StatusCode)
	}
	if _, err := e.srv.Tokens.Verify(context.Background(), secret); err != nil {
		t.Fatalf("the shown secret does not work: %v", err)
	}
	if _, body := b.get("/admin/accounts"); strings.Contains(body, secret) {
		t.Fatal("the secret is shown again")
	}
	if resp, _ := b.post("/admin/users/dora/disable", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disabling dora: %d", resp.StatusCode)
	}
	if resp := e.browser().login("dora", "dora's long password"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a disabled dora signs in: %d", resp.StatusCode)
	}
}

func TestLiveStreamsEndWhenTheServerStops(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	req, _ := http.NewRequest("GET", e.srv.URL+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[auth.Viewer])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	events := make(chan string, 10)
	go func() {
		buf := make([]byte, 512)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				events <- string(buf[:n])
			}
			if err != nil {
				close(events)
				return
			}
		}
	}()
	<-events // the retry line
	e.openIncident("checkout", incident.Critical, "boom")
	select {
	case ev := <-events:
		if !strings.Contains(ev, "event: change") {
			t.Fatalf("got %q, want a change event", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change event after an incident opened")
	}
	e.srv.Web.StopStreams()
	select {
	case _, open := <-events:
		for open {
			_, open = <-events
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream outlived StopStreams")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
