package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web"
)

// wholeConfig declares something of every domain, so every route of the table meets the
// services and config it meets in production.
const wholeConfig = `
server:
  base_url: http://status.test
teams:
  - {id: payments, name: Payments}
users:
  - {id: alice, name: Alice, time_zone: Europe/Paris, contact_methods: [{type: email, address: alice@example.com}]}
  - {id: bob, name: Bob, time_zone: Europe/Paris, contact_methods: [{type: email, address: bob@example.com}]}
schedules:
  - id: ops
    time_zone: Europe/Paris
    layers:
      - name: primary
        rotation: {length: 1w, handoff: "2026-01-05T09:00"}
        users: [alice, bob]
escalation_policies:
  - id: ops-policy
    steps:
      - escalate_after: 10m
        targets: [{schedule: ops}]
services:
  - id: checkout
    name: Checkout API
    team: payments
    escalation_policy: ops-policy
    integrations:
      - {type: events_v2, key: 0123456789abcdef0123456789abcdef}
      - {type: alertmanager, key: am-checkout-key}
slos:
  - id: checkout-availability
    service: checkout
    objective: 99.9
    window: 30d
    sli:
      events: {source: push}
status_pages:
  - id: public
    title: Acme Status
    update_cadence: 30m
    components:
      - {name: Checkout, service: checkout}
notifications:
  email:
    smtp: {host: 127.0.0.1, port: SMTP_PORT, from: nines@example.com, tls: none}
`

// wholeNines is nines wired as ` + "`nines serve`" + ` wires it, serving on loopback.
type wholeNines struct {
	app    *app.App
	url    string
	tokens map[auth.Role]string
}

func startWholeNines(t *testing.T) *wholeNines {
	t.Helper()
	smtp := notifytest.StartSMTP(t, "none")
	cfg, err := config.Parse("nines.yaml", []byte(strings.Replace(wholeConfig, "SMTP_PORT", fmt.Sprint(smtp.Port()), 1)))
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.SQLite(t, app.Schemas())
	clk := clock.NewFake(time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC))
	hs := httptest.NewUnstartedServer(nil)
	a, err := app.New(context.Background(), config.NewLive(cfg), db, clk, slog.New(slog.NewTextHandler(io.Discard, nil)),
		app.Options{BaseURL: "http://" + hs.Listener.Addr().String(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = a.Web.Handler()
	hs.Start()
	a.Start()
	t.Cleanup(func() { hs.Close(); a.Stop() })
	w := &wholeNines{app: a, url: hs.URL, tokens: map[auth.Role]string{}}
	for _, r := range auth.Roles() {
		if w.tokens[r], _, err = a.Tokens.Create(context.Background(), r.String()+"-token", r, 0); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// pathParam fills a route's wildcards with values that name nothing, so no request of the
// matrix changes anything a later one depends on; a status page and its component are real,
// since their routes are public.
var pathParam = regexp.MustCompile(`\{([a-zA-Z_]+)(\.\.\.)?\}`)

func concretePath(pattern string) string {
	p := strings.ReplaceAll(pattern, "{$}", "")
	return pathParam.ReplaceAllStringFunc(p, func(m string) string {
		switch name := pathParam.FindStringSubmatch(m)[1]; name {
		case "page":
			return "public"
		case "component":
			return "checkout"
		case "file":
			return "checkout.svg"
		case "name":
			return "missing.css"
		case "id":
			return "999999"
		default:
			return "no-such-" + name
		}
	})
}

// TestAuthorizationMatrix sends every route of the route table of a fully wired nines, as
// every role and as nobody, and checks the answer against the route's declared access: no
// credentials -> 401, a role below the route's -> 403, enough -> neither; a wrong secret in
// the URL -> 401, 403, 404 or 410; never a 5xx. A route added to the table is covered without
// touching this test.
func TestAuthorizationMatrix(t *testing.T) {
	w := startWholeNines(t)
	type principal struct {
		name  string
		role  auth.Role // 0: no credentials
		token string
	}
	principals := []principal{{name: "nobody"}}
	for _, r := range auth.Roles() {
		principals = append(principals, principal{r.String(), r, w.tokens[r]})
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, token string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var body io.Reader
		if method == "POST" || method == "PUT" || method == "PATCH" {
			body = strings.NewReader("{}")
		}
		req, _ := http.NewRequestWithContext(ctx, method, w.url+path, body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		resp.Body.Close() // an event stream answers its headers at once; the rest is not needed
		return resp.StatusCode, resp.Header.Get("Location")
	}
	routes := w.app.Web.Routes()
	if len(routes) == 0 {
		t.Fatal("the route table is empty")
	}
	seen := map[web.Access]int{}
	for _, rt := range routes {
		seen[rt.Access]++
		path := concretePath(rt.Pattern)
		if rt.Access == web.Token && rt.Role < auth.Viewer {
			t.Errorf("%s %s needs a token but names no least role", rt.Method, rt.Pattern)
			continue
		}
		var anonymous int
		for _, p := range principals {
			name := fmt.Sprintf("%s %s as %s", rt.Method, rt.Pattern, p.name)
			got, location := do(rt.Method, path, p.token)
			if got == http.StatusSeeOther && strings.HasPrefix(location, "/login?") {
				got = http.StatusUnauthorized // how pages answer a browser that is not signed in
			}
			switch rt.Access {
			case web.Public:
				// Everyone gets the same answer: a token neither opens nor closes anything.
				if p.role == 0 {
					anonymous = got
				} else if got != anonymous {
					t.Errorf("%s: public route answered %d, but %d without a token", name, got, anonymous)
				}
				if got == http.StatusForbidden {
					t.Errorf("%s: public route answered 403", name)
				}
			case web.Key:
				// Ingest is authenticated by its integration key alone: an API token is no key.
				if got < 400 || got >= 500 {
					t.Errorf("%s: answered %d without an integration key", name, got)
				}
			case web.Secret:
				// The credential is in the URL and this one names nothing: whoever asks is
				// refused, and nothing is found.
				switch got {
				case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusGone:
				default:
					t.Errorf("%s: a wrong secret in the URL answered %d, want 401, 403, 404 or 410", name, got)
				}
			case web.Token:
				var want string
				switch {
				case p.role == 0 && got != http.StatusUnauthorized:
					want = "401"
				case p.role != 0 && p.role < rt.Role && got != http.StatusForbidden:
					want = "403"
				case p.role >= rt.Role && (got == http.StatusUnauthorized || got == http.StatusForbidden):
					want = "neither 401 nor 403"
				}
				if want != "" {
					t.Errorf("%s (least role %s): answered %d, want %s", name, rt.Role, got, want)
				}
			default:
				t.Errorf("%s: access kind %d is not checked by this test", name, rt.Access)
			}
			if got >= 500 {
				t.Errorf("%s: answered %d", name, got)
			}
		}
	}
	for _, k := range []web.Access{web.Token, web.Public, web.Key, web.Secret} {
		if seen[k] == 0 {
			t.Errorf("no route of access kind %d: the matrix no longer covers it", k)
		}
	}
}

// TestCookieChangesNeedCSRFOnEveryRoute checks, for every unsafe token route of the table, that
// an admin's browser session without the CSRF token is refused, and that with it the CSRF
// check lets the request through.
func TestCookieChangesNeedCSRFOnEveryRoute(t *testing.T) {
	w := startWholeNines(t)
	b := web.SignIn(t, w.url, w.app.Users, "admin", auth.Admin)
	n := 0
	for _, rt := range w.app.Web.Routes() {
		if rt.Access != web.Token || rt.Method == "GET" || rt.Method == "HEAD" {
			continue
		}
		n++
		for _, withToken := range []bool{false, true} {
			header := map[string]string{"Content-Type": "application/json", "Accept": "application/json"}
			if withToken {
				header["X-CSRF-Token"] = b.CSRF
			}
			resp, body := b.Do(rt.Method, concretePath(rt.Pattern), strings.NewReader("{}"), header)
			refused := resp.StatusCode == http.StatusForbidden && strings.Contains(body, "CSRF")
			if refused == withToken {
				t.Errorf("%s %s with CSRF token %v: answered %d %s", rt.Method, rt.Pattern, withToken, resp.StatusCode, body)
			}
			if resp.StatusCode >= 500 {
				t.Errorf("%s %s with CSRF token %v: answered %d %s", rt.Method, rt.Pattern, withToken, resp.StatusCode, body)
			}
		}
	}
	if n == 0 {
		t.Fatal("no unsafe token route in the table")
	}
}
