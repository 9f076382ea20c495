package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/httpx"
	"github.com/nines-dev/nines/internal/web/webtest"
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
	log    *logBuffer // what nines logged
}

// logBuffer keeps what a server logs while the test reads it.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startWholeNines(t *testing.T) *wholeNines { return startNines(t, wholeConfig) }

// startNines runs nines wired as `nines serve` wires it, with the config given (SMTP_PORT is
// replaced by the port of a real SMTP server on loopback), and an unscoped token per role.
func startNines(t *testing.T, configText string) *wholeNines {
	t.Helper()
	return startNinesOn(t, configText, storetest.SQLite(t, app.Schemas()))
}

// startNinesOn is startNines on the database given.
func startNinesOn(t *testing.T, configText string, db *store.DB) *wholeNines {
	t.Helper()
	smtp := notifytest.StartSMTP(t, "none")
	logs := &logBuffer{}
	n := webtest.Start(t, webtest.Options{Config: webtest.Parse(t, strings.Replace(configText, "SMTP_PORT", fmt.Sprint(smtp.Port()), 1)),
		DB: db, Log: slog.New(slog.NewTextHandler(logs, nil))})
	a := n.App
	var err error
	w := &wholeNines{app: a, url: n.URL, tokens: map[auth.Role]string{}, log: logs}
	for _, r := range auth.Roles() {
		if w.tokens[r], _, err = a.Tokens.Create(context.Background(), r.String()+"-token", r, 0); err != nil {
			t.Fatal(err)
		}
	}
	if w.tokens[auth.Agent], _, err = a.Tokens.CreateAgent(context.Background(), "agent-token", agentLocation, 0, nil); err != nil {
		t.Fatal(err)
	}
	return w
}

// agentLocation is where the tests' agents probe from.
const agentLocation = "eu-west"

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
		case "report":
			return "incidents.csv"
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
// credentials -> 401, a role the route's does not include -> 403 (the agent role includes no
// other, and no other includes it), enough -> neither; a wrong secret in the URL -> 401, 403,
// 404 or 410; never a 5xx. A route added to the table is covered without touching this test.
func TestAuthorizationMatrix(t *testing.T) {
	w := startWholeNines(t)
	type principal struct {
		name  string
		role  auth.Role // 0: no credentials
		token string
	}
	principals := []principal{{name: "nobody"}}
	for _, r := range auth.TokenRoles() {
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
	seen := map[httpx.Access]int{}
	for _, rt := range routes {
		seen[rt.Access]++
		path := concretePath(rt.Pattern)
		if _, err := auth.ParseRole(rt.Role.String()); rt.Access == httpx.Token && err != nil {
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
			case httpx.Public:
				// Everyone gets the same answer: a token neither opens nor closes anything.
				// (Sign-in and subscription limits count every request of the matrix alike.)
				if p.role == 0 {
					anonymous = got
				} else if got != anonymous && got != http.StatusTooManyRequests {
					t.Errorf("%s: public route answered %d, but %d without a token", name, got, anonymous)
				}
				if got == http.StatusForbidden {
					t.Errorf("%s: public route answered 403", name)
				}
			case httpx.Key:
				// Ingest is authenticated by its integration key alone: an API token is no key.
				if got < 400 || got >= 500 {
					t.Errorf("%s: answered %d without an integration key", name, got)
				}
			case httpx.Secret:
				// The credential is in the URL and this one names nothing: whoever asks is
				// refused, and nothing is found.
				switch got {
				case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusGone:
				default:
					t.Errorf("%s: a wrong secret in the URL answered %d, want 401, 403, 404 or 410", name, got)
				}
			case httpx.Token:
				var want string
				can := (auth.Principal{Role: p.role}).Can(rt.Role)
				switch {
				case p.role == 0 && got != http.StatusUnauthorized:
					want = "401"
				case p.role != 0 && !can && got != http.StatusForbidden:
					want = "403"
				case p.role != 0 && can && (got == http.StatusUnauthorized || got == http.StatusForbidden):
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
	for _, k := range []httpx.Access{httpx.Token, httpx.Public, httpx.Key, httpx.Secret} {
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
	b := webtest.SignIn(t, w.url, w.app.Users, "admin", auth.Admin)
	n := 0
	for _, rt := range w.app.Web.Routes() {
		if rt.Access != httpx.Token || rt.Method == "GET" || rt.Method == "HEAD" {
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
		if strings.HasSuffix(rt.Pattern, "/sign-out-everywhere") {
			// It did what it says, to this browser too: the next routes need a new session.
			b = webtest.SignIn(t, w.url, w.app.Users, fmt.Sprintf("admin-%d", n), auth.Admin)
		}
	}
	if n == 0 {
		t.Fatal("no unsafe token route in the table")
	}
}

// teamObjects are the objects of each team of teamsConfig, by kind.
var teamObjects = map[string]map[httpx.Object]string{
	"payments": {httpx.Service: "zz-pay-api", httpx.Monitor: "zz-pay-home", httpx.SLO: "zz-pay-avail", httpx.Schedule: "zz-pay-rota",
		httpx.Component: "zz-pay-comp", httpx.Team: "payments", httpx.Person: "alice"},
	"search": {httpx.Service: "zz-find-api", httpx.Monitor: "zz-find-home", httpx.SLO: "zz-find-avail", httpx.Schedule: "zz-find-rota",
		httpx.Component: "zz-find-comp", httpx.Team: "search", httpx.Person: "bob"},
}

// filteredQueries are the query strings a filtered list needs to list anything.
var filteredQueries = map[string]string{"/api/v1/search": "q=incident", "/search": "q=incident"}

// scopeMatrix aims the routes of the table at one team's objects.
type scopeMatrix struct {
	t      *testing.T
	w      *teamsNines
	tokens map[string]string // "team role" -> a token of role scoped to team
	fresh  int
}

func (m *scopeMatrix) token(role auth.Role, team string) string {
	key := team + " " + role.String()
	if m.tokens[key] == "" {
		m.tokens[key] = m.w.scoped(m.t, role, team)
	}
	return m.tokens[key]
}

// object names team's object of kind o; accounts, tokens and overrides are made afresh, since
// the routes that name them may remove them.
func (m *scopeMatrix) object(o httpx.Object, team string) string {
	t, w := m.t, m.w
	t.Helper()
	m.fresh++
	ctx := context.Background()
	switch o {
	case httpx.Incident:
		return fmt.Sprint(w.incident[team])
	case httpx.ActionItem:
		return fmt.Sprint(w.action[team])
	case httpx.Change:
		return fmt.Sprint(w.change[team])
	case httpx.Window:
		var mw struct{ ID string }
		start := time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC).Add(time.Duration(m.fresh) * time.Hour)
		w.mustJSON(t, "POST", "/api/v1/maintenance", w.tokens[auth.Admin], fmt.Sprintf(`{"name": "%s: upgrade %d", "services": [%q], "monitors": [%q], "start": %q, "end": %q}`,
			teamMarker[team], m.fresh, teamObjects[team][httpx.Service], teamObjects[team][httpx.Monitor], start.Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339)), &mw)
		return mw.ID
	case httpx.ConfigObject:
		// The team's service, of kind services (the {kind} wildcard).
		return teamObjects[team][httpx.Service]
	case httpx.Account:
		name := fmt.Sprintf("%s-account-%d", teamMarker[team], m.fresh)
		if _, err := w.app.Users.Create(ctx, auth.NewUser{Username: name, Role: auth.Viewer, Teams: []string{team}, Password: "correct horse battery"}); err != nil {
			t.Fatal(err)
		}
		return name
	case httpx.APIToken:
		_, tok, err := w.app.Tokens.CreateScoped(ctx, fmt.Sprintf("%s-token-%d", teamMarker[team], m.fresh), auth.Viewer, time.Hour, []string{team})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(tok.ID)
	}
	v, ok := teamObjects[team][o]
	if !ok {
		t.Fatalf("the matrix does not know how to aim at a %s of a team: teach it", o)
	}
	return v
}

// wildcard fills a wildcard that is not the route's target, for team.
func (m *scopeMatrix) wildcard(name, team string) string {
	m.t.Helper()
	switch name {
	case "page":
		return "public"
	case "component":
		return teamObjects[team][httpx.Component]
	case "override":
		var o struct{ ID int64 }
		m.fresh++
		start := time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC).Add(time.Duration(m.fresh) * time.Hour)
		m.w.mustJSON(m.t, "POST", "/api/v1/schedules/"+teamObjects[team][httpx.Schedule]+"/overrides", m.w.tokens[auth.Admin],
			fmt.Sprintf(`{"user_id": %q, "start": %q, "end": %q}`, teamObjects[team][httpx.Person], start.Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339)), &o)
		return fmt.Sprint(o.ID)
	case "drill":
		return teamMarker[team] + "-drill"
	case "kind":
		return "services"
	case "index":
		return "0"
	case "run":
		// A run planned for later, made afresh: the routes that name it may call it off.
		var run struct{ ID int64 }
		m.fresh++
		// Seconds apart: every run falls inside the team's working hours, as a planned run must.
		at := time.Date(2026, 4, 15, 10, 0, 0, 0, time.UTC).Add(time.Duration(m.fresh) * time.Second)
		m.w.mustJSON(m.t, "POST", "/api/v1/services/"+teamObjects[team][httpx.Service]+"/drills/"+teamMarker[team]+"-drill/runs", m.w.tokens[auth.Admin],
			fmt.Sprintf(`{"at": %q}`, at.Format(time.RFC3339)), &run)
		return fmt.Sprint(run.ID)
	case "update":
		var pi struct{ Updates []struct{ ID int64 } }
		m.w.mustJSON(m.t, "POST", fmt.Sprintf("/api/v1/incidents/%d/status-updates", m.w.incident[team]), m.w.tokens[auth.Admin],
			`{"page": "public", "status": "investigating", "body": "We are looking into errors."}`, &pi)
		return fmt.Sprint(pi.Updates[0].ID)
	}
	m.t.Fatalf("the matrix has no value for the wildcard {%s}: teach it", name)
	return ""
}

// aim is a request of rt at team's objects: its path and body. Each target the route's scope
// names is aimed at the team at[i] gives for it (the i-th of Scope.Targets), by default team's.
func (m *scopeMatrix) aim(rt httpx.Route, team string, at map[int]string) (string, string) {
	targets := rt.Scope.Targets()
	teamOf := func(i int) string {
		if t, ok := at[i]; ok {
			return t
		}
		return team
	}
	path := pathParam.ReplaceAllStringFunc(strings.ReplaceAll(rt.Pattern, "{$}", ""), func(w string) string {
		name := pathParam.FindStringSubmatch(w)[1]
		for i, sc := range targets {
			if sc.Rule == httpx.TargetInPath && name == sc.Name {
				return m.object(sc.Object, teamOf(i))
			}
		}
		return m.wildcard(name, team)
	})
	body := ""
	if rt.Method != "GET" && rt.Method != "HEAD" && rt.Method != "DELETE" {
		body = "{}"
		if !rt.API {
			body = "x=1"
		}
	}
	form, doc := url.Values{}, map[string]any{}
	for i, sc := range targets {
		// What a change of a config object writes names its team, as it must to stay the
		// team's (the {kind} wildcard is services).
		if sc.Object == httpx.ConfigObject && rt.API && body != "" {
			doc["team"] = teamOf(i)
		}
		if sc.Rule != httpx.TargetInBody {
			continue
		}
		v := m.object(sc.Object, teamOf(i))
		if !rt.API {
			form.Add(sc.Name, v)
			continue
		}
		parts := strings.Split(sc.Name, ".")
		var value any = v
		switch {
		case sc.Object == httpx.Change: // ids handlers read as numbers
			value = json.Number(v)
		case strings.HasSuffix(parts[len(parts)-1], "s"):
			value = []string{v}
		}
		for k := len(parts) - 1; k > 0; k-- {
			value = []any{map[string]any{parts[k]: value}}
		}
		doc[parts[0]] = value
	}
	switch {
	case len(form) > 0:
		body = form.Encode()
	case len(doc) > 0:
		b, _ := json.Marshal(doc)
		body = string(b)
	}
	return path, body
}

// checkAnswer looks in any answer for the config's internal structures and for a monitor's
// secret headers, which only the agent's assignments carry.
var configPosition = regexp.MustCompile(`"(Pos|Line|Col)":`)

func checkAnswer(t *testing.T, what string, rt httpx.Route, body string) {
	t.Helper()
	if configPosition.MatchString(body) {
		t.Errorf("%s: the answer carries config positions: %.300s", what, body)
	}
	if strings.Contains(body, "monitor-secret") && rt.Pattern != "/api/v1/probe/assignments" {
		t.Errorf("%s: the answer carries a monitor's secret header: %.300s", what, body)
	}
}

// TestTeamScopeMatrix sends every token route of the table as principals scoped to one team
// and to the other, aimed at one team's objects, and checks the answer against the route's
// declared scope:
//
//   - a target in the path or body: the other team's principal is refused (403 or 404), the
//     owning team's is let through (neither 401, 403 nor 404);
//   - a filtered list: each team's answer holds none of the other team's objects, and holds its
//     own where an unscoped principal's does; and nothing the other team does changes it;
//   - not team-owned: let through; unscoped only: refused.
//
// A route whose scope is not declared fails here.
func TestTeamScopeMatrix(t *testing.T) {
	w := startTeamsNines(t)
	m := &scopeMatrix{t: t, w: w, tokens: map[string]string{}}
	teams := []string{"payments", "search"}
	other := map[string]string{"payments": "search", "search": "payments"}
	var filtered []httpx.Route
	for _, rt := range w.app.Web.Routes() {
		if rt.Access != httpx.Token {
			continue
		}
		name := rt.Method + " " + rt.Pattern
		switch rt.Scope.Rule {
		case httpx.TargetInPath, httpx.TargetInBody:
			for _, owner := range teams {
				path, body := m.aim(rt, owner, nil)
				status, answer := w.call(t, rt.Method, path, m.token(rt.Role, other[owner]), body)
				checkAnswer(t, name, rt, answer)
				if status != http.StatusForbidden && status != http.StatusNotFound {
					t.Errorf("%s (scope %s) aimed at %s's %s as %s: %d %.200s, want 403 or 404", name, rt.Scope, owner, rt.Scope.Object, other[owner], status, answer)
				}
				// A route that names several targets checks each: one of the other team's
				// among the owner's own is enough to refuse the owner.
				if targets := rt.Scope.Targets(); len(targets) > 1 {
					for i, sc := range targets {
						path, body := m.aim(rt, owner, map[int]string{i: other[owner]})
						status, answer := w.call(t, rt.Method, path, m.token(rt.Role, owner), body)
						checkAnswer(t, name, rt, answer)
						if status != http.StatusForbidden && status != http.StatusNotFound {
							t.Errorf("%s (scope %s) aimed at %s's %s and otherwise at %s's own, as %s: %d %.200s, want 403 or 404",
								name, rt.Scope, other[owner], sc, owner, owner, status, answer)
						}
					}
				}
				path, body = m.aim(rt, owner, nil)
				status, answer = w.call(t, rt.Method, path, m.token(rt.Role, owner), body)
				checkAnswer(t, name, rt, answer)
				if status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusNotFound || status >= 500 {
					t.Errorf("%s (scope %s) aimed at %s's %s as %s: %d %.200s, want it let through", name, rt.Scope, owner, rt.Scope.Object, owner, status, answer)
				}
				// What it shows of its own object is all its own (similar incidents, say).
				if strings.Contains(answer, teamMarker[other[owner]]) {
					t.Errorf("%s aimed at %s's %s shows the other team's %s: %.600s", name, owner, rt.Scope.Object, teamMarker[other[owner]], answer)
				}
			}
		case httpx.FilteredByScope:
			if rt.Method != "GET" {
				t.Errorf("%s is filtered, but only lists (GET) are", name)
				continue
			}
			filtered = append(filtered, rt)
			m.checkFiltered(rt)
		case httpx.EachTargetChecked:
			m.checkEach(rt, teams, other)
		case httpx.NotTeamOwned, httpx.UnscopedOnly, httpx.CallersOwn:
			if rt.Scope.Rule != httpx.CallersOwn && pathParam.MatchString(strings.ReplaceAll(rt.Pattern, "{$}", "")) {
				t.Errorf("%s names something in its path, yet says %s: say which object the wildcard names (httpx.InPath)", name, rt.Scope)
				continue
			}
			path := concretePath(rt.Pattern)
			for _, team := range teams {
				status, answer := w.call(t, rt.Method, path, m.token(rt.Role, team), "")
				checkAnswer(t, name, rt, answer)
				refused := status == http.StatusForbidden || status == http.StatusUnauthorized
				if refused != (rt.Scope.Rule == httpx.UnscopedOnly) || status >= 500 {
					t.Errorf("%s (scope %s) as %s: %d %.200s", name, rt.Scope, team, status, answer)
				}
			}
		default:
			t.Errorf("%s declares no team scope: say in the route table how its target's team is found (httpx.InPath, httpx.InBody, httpx.Filtered, httpx.NoTeam or httpx.AllTeams)", name)
		}
	}
	// The routes without a principal show what they show to anyone: nothing internal either.
	for _, rt := range w.app.Web.Routes() {
		if rt.Access != httpx.Token && rt.Method == "GET" {
			_, answer := w.call(t, "GET", concretePath(rt.Pattern), "", "")
			checkAnswer(t, "GET "+rt.Pattern, rt, answer)
		}
	}
	if len(filtered) == 0 {
		t.Fatal("no filtered route in the table")
	}
	// What one team does must not change what the other sees. (Search scores are relevance
	// over the whole index, comparable within one answer only: their figures may move.)
	score := regexp.MustCompile(`"score":[0-9.e+-]+`)
	for _, actor := range teams {
		watcher := other[actor]
		before := map[string]string{}
		for _, rt := range filtered {
			_, body := w.call(t, "GET", m.listPath(rt), m.token(rt.Role, watcher), "")
			before[rt.Pattern] = score.ReplaceAllString(body, `"score":_`)
		}
		m.teamsDay(actor)
		for _, rt := range filtered {
			_, after := w.call(t, "GET", m.listPath(rt), m.token(rt.Role, watcher), "")
			if after = score.ReplaceAllString(after, `"score":_`); after != before[rt.Pattern] {
				t.Errorf("GET %s as %s changed when %s worked:\nbefore %.400s\nafter  %.400s", rt.Pattern, watcher, actor, before[rt.Pattern], after)
			}
		}
	}
}

// checkEach aims a route acting on many incidents (a bulk acknowledge or resolve) at a fresh
// incident of one team: the other team's principal is answered, yet the incident is left as it
// was (and, from the API, reported forbidden); the owning team's principal changes it.
func (m *scopeMatrix) checkEach(rt httpx.Route, teams []string, other map[string]string) {
	t, w := m.t, m.w
	name := rt.Method + " " + rt.Pattern
	if rt.Scope.Object != httpx.Incident {
		t.Errorf("%s checks each %s; the matrix knows how to aim only incidents", name, rt.Scope.Object)
		return
	}
	state := func(id int64) string {
		var inc struct{ State string }
		w.mustJSON(t, "GET", fmt.Sprintf("/api/v1/incidents/%d", id), w.tokens[auth.Admin], "", &inc)
		return inc.State
	}
	for _, owner := range teams {
		var inc struct{ ID int64 }
		w.mustJSON(t, "POST", "/api/v1/incidents", w.tokens[auth.Admin], fmt.Sprintf(`{"service": %q, "title": "%s: one of many"}`, teamObjects[owner][httpx.Service], teamMarker[owner]), &inc)
		body := fmt.Sprintf(`{%q: [%d]}`, rt.Scope.Name, inc.ID)
		if !rt.API {
			action := "acknowledge"
			if strings.HasSuffix(rt.Pattern, "resolve") {
				action = "resolve"
			}
			body = fmt.Sprintf("%s=%d&action=%s", rt.Scope.Name, inc.ID, action)
		}
		status, answer := w.call(t, rt.Method, concretePath(rt.Pattern), m.token(rt.Role, other[owner]), body)
		checkAnswer(t, name, rt, answer)
		if status >= 400 || (rt.API && !strings.Contains(answer, `"forbidden"`)) {
			t.Errorf("%s aimed at %s's incident as %s: %d %.300s, want it answered, reported forbidden", name, owner, other[owner], status, answer)
		}
		if st := state(inc.ID); st != "triggered" {
			t.Errorf("%s aimed at %s's incident as %s made it %s", name, owner, other[owner], st)
		}
		status, answer = w.call(t, rt.Method, concretePath(rt.Pattern), m.token(rt.Role, owner), body)
		checkAnswer(t, name, rt, answer)
		if status >= 400 || strings.Contains(answer, `"forbidden"`) {
			t.Errorf("%s aimed at %s's incident as %s: %d %.300s, want it let through", name, owner, owner, status, answer)
		}
		if st := state(inc.ID); st == "triggered" {
			t.Errorf("%s aimed at %s's incident as %s left it triggered: %.300s", name, owner, owner, answer)
		}
	}
}

func (m *scopeMatrix) listPath(rt httpx.Route) string {
	// A list of config objects lists one kind: the teams' services.
	path := concretePath(strings.ReplaceAll(rt.Pattern, "{kind}", "services"))
	if q := filteredQueries[rt.Pattern]; q != "" {
		path += "?" + q
	}
	return path
}

// checkFiltered compares a list as an unscoped principal and as each team's sees it.
func (m *scopeMatrix) checkFiltered(rt httpx.Route) {
	t, w := m.t, m.w
	name, path := "GET "+rt.Pattern, m.listPath(rt)
	status, all := w.call(t, "GET", path, w.tokens[rt.Role], "")
	checkAnswer(t, name, rt, all)
	if status != http.StatusOK {
		t.Errorf("%s as an unscoped %s: %d %.200s; a filtered list must answer 200 (give it a query in filteredQueries)", name, rt.Role, status, all)
		return
	}
	for team, marker := range teamMarker {
		status, seen := w.call(t, "GET", path, m.token(rt.Role, team), "")
		checkAnswer(t, name, rt, seen)
		switch othersMarker := teamMarker[map[string]string{"payments": "search", "search": "payments"}[team]]; {
		case status != http.StatusOK:
			t.Errorf("%s as %s: %d %.200s", name, team, status, seen)
		case strings.Contains(seen, othersMarker):
			t.Errorf("%s as %s shows the other team's %s: %.600s", name, team, othersMarker, seen)
		case strings.Contains(all, marker) && !strings.Contains(seen, marker):
			t.Errorf("%s as %s omits its own team's %s that an unscoped principal sees: %.600s", name, team, marker, seen)
		}
	}
}

// teamsDay is a day of work of team: an incident declared, noted and paged, a deploy, a burnt
// error budget, cover on its rota, its component overridden and under maintenance, a window
// over its service and monitor, a deploy named as an incident's cause, an action item, and its
// monitor seen down by an agent.
func (m *scopeMatrix) teamsDay(team string) {
	t, w := m.t, m.w
	admin, objs := w.tokens[auth.Admin], teamObjects[team]
	var inc struct{ ID int64 }
	w.mustJSON(t, "POST", "/api/v1/incidents", admin, fmt.Sprintf(`{"service": %q, "title": "%s: a second incident", "sev": "SEV1"}`, objs[httpx.Service], teamMarker[team]), &inc)
	w.mustJSON(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/notes", inc.ID), admin, `{"text": "incident notes of the day"}`, nil)
	w.mustJSON(t, "POST", "/api/v1/changes", admin, fmt.Sprintf(`{"service": %q, "version": "v2"}`, objs[httpx.Service]), nil)
	w.mustJSON(t, "POST", "/api/v1/slis/"+objs[httpx.SLO]+"/events", admin, `{"events": [{"timestamp": "2026-03-30T07:29:00Z", "good": 1, "total": 100}]}`, nil)
	m.wildcard("override", team)
	w.mustJSON(t, "PUT", "/api/v1/status-pages/public/components/"+objs[httpx.Component]+"/override", admin, `{"status": "major_outage"}`, nil)
	w.mustJSON(t, "POST", "/api/v1/status-pages/public/maintenance", admin,
		fmt.Sprintf(`{"name": "upgrade", "scheduled_for": "2026-03-30T07:00:00Z", "scheduled_until": "2026-03-30T09:00:00Z", "components": [%q]}`, objs[httpx.Component]), nil)
	w.mustJSON(t, "POST", "/api/v1/maintenance", admin, fmt.Sprintf(`{"name": "%s: failover drill", "services": [%q], "monitors": [%q], "start": "2026-03-30T08:00:00Z", "end": "2026-03-30T09:00:00Z"}`,
		teamMarker[team], objs[httpx.Service], objs[httpx.Monitor]), nil)
	w.mustJSON(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/cause", inc.ID), admin, fmt.Sprintf(`{"change_id": %d}`, w.change[team]), nil)
	w.mustJSON(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/postmortem/actions", w.incident[team]), admin, `{"title": "one more", "owner": "alice", "kind": "test"}`, nil)
	w.mustJSON(t, "POST", "/api/v1/probe/results", w.tokens[auth.Agent],
		fmt.Sprintf(`{"results": [{"monitor_id": %q, "at": "2026-03-30T07:29:30Z", "ok": false, "cause": "connect", "message": "refused"}]}`, objs[httpx.Monitor]), nil)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
