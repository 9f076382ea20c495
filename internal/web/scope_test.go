package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/web/httpx"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// teamsConfig gives two teams a thing of every kind. Every id and title of the payments team
// holds "zz-pay" and every one of the search team "zz-find", so an answer that leaks another
// team's object can be caught by looking for its marker.
const teamsConfig = `
server:
  base_url: http://status.test
teams:
  - {id: payments, name: Payments, members: [alice]}
  - {id: search, name: Search, members: [bob]}
users:
  - {id: alice, name: Alice, time_zone: Europe/Paris, contact_methods: [{type: email, address: alice@example.com}]}
  - {id: bob, name: Bob, time_zone: Europe/Paris, contact_methods: [{type: email, address: bob@example.com}]}
schedules:
  - id: zz-pay-rota
    time_zone: Europe/Paris
    layers:
      - {name: primary, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [alice]}
  - id: zz-find-rota
    time_zone: Europe/Paris
    layers:
      - {name: primary, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [bob]}
escalation_policies:
  - id: zz-pay-policy
    steps: [{escalate_after: 10m, targets: [{schedule: zz-pay-rota}]}]
  - id: zz-find-policy
    steps: [{escalate_after: 10m, targets: [{schedule: zz-find-rota}]}]
services:
  - id: zz-pay-api
    name: zz-pay API
    team: payments
    escalation_policy: zz-pay-policy
    integrations: [{type: events_v2, key: 0123456789abcdef0123456789abcdef}]
    readiness: {drills: true}
  - id: zz-find-api
    name: zz-find API
    team: search
    escalation_policy: zz-find-policy
    integrations: [{type: events_v2, key: fedcba9876543210fedcba9876543210}]
    readiness: {drills: true}
monitors:
  - id: zz-pay-home
    service: zz-pay-api
    type: http
    url: http://127.0.0.1:1/zz-pay
    headers: {Authorization: "Bearer zz-pay-monitor-secret"}
    locations: [eu-west]
  - id: zz-find-home
    service: zz-find-api
    type: http
    url: http://127.0.0.1:1/zz-find
    headers: {Authorization: "Bearer zz-find-monitor-secret"}
    locations: [eu-west]
slos:
  - {id: zz-pay-avail, service: zz-pay-api, objective: 99.9, window: 30d, sli: {events: {source: push}}}
  - {id: zz-find-avail, service: zz-find-api, objective: 99.9, window: 30d, sli: {events: {source: push}}}
status_pages:
  - id: public
    title: Acme Status
    components:
      - {id: zz-pay-comp, name: zz-pay, service: zz-pay-api}
      - {id: zz-find-comp, name: zz-find, service: zz-find-api}
drills:
  - {id: zz-pay-drill, service: zz-pay-api, kind: page}
  - {id: zz-find-drill, service: zz-find-api, kind: page}
notifications:
  email:
    smtp: {host: 127.0.0.1, port: SMTP_PORT, from: nines@example.com, tls: none}
`

// teamsNines is nines with teamsConfig, an incident per team (with a postmortem and an action
// item), a deploy per team, and tokens scoped to each team.
type teamsNines struct {
	*wholeNines
	incident map[string]int64 // team -> its incident
	action   map[string]int64 // team -> an action item of its incident
	change   map[string]int64 // team -> a deploy of its service
}

// teamMarker is the string every object of a team holds.
var teamMarker = map[string]string{"payments": "zz-pay", "search": "zz-find"}

func startTeamsNines(t *testing.T) *teamsNines {
	t.Helper()
	w := &teamsNines{wholeNines: startNines(t, teamsConfig), incident: map[string]int64{}, action: map[string]int64{}, change: map[string]int64{}}
	admin := w.tokens[auth.Admin]
	for team, svc := range map[string]string{"payments": "zz-pay-api", "search": "zz-find-api"} {
		// An account and a token of the team, so lists of accounts have something to leak.
		if _, err := w.app.Users.Create(context.Background(), auth.NewUser{Username: teamMarker[team] + "-person", Role: auth.Viewer,
			Teams: []string{team}, Password: "correct horse battery"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.app.Tokens.CreateScoped(context.Background(), teamMarker[team]+"-bot", auth.Viewer, time.Hour, []string{team}); err != nil {
			t.Fatal(err)
		}
		var inc struct{ ID int64 }
		w.mustJSON(t, "POST", "/api/v1/incidents", admin, fmt.Sprintf(`{"service": %q, "title": "%s incident: errors on every request"}`, svc, teamMarker[team]), &inc)
		w.incident[team] = inc.ID
		w.mustJSON(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/postmortem", inc.ID), admin, `{}`, nil)
		var item struct{ ID int64 }
		w.mustJSON(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/postmortem/actions", inc.ID), admin,
			fmt.Sprintf(`{"title": "%s: add a retry", "owner": "alice", "kind": "fix"}`, teamMarker[team]), &item)
		w.action[team] = item.ID
		var c struct{ ID int64 }
		w.mustJSON(t, "POST", "/api/v1/changes", admin, fmt.Sprintf(`{"service": %q, "version": "v1", "summary": "%s deploy"}`, svc, teamMarker[team]), &c)
		w.change[team] = c.ID
	}
	return w
}

// scoped makes a token of role scoped to team (an agent's probes from agentLocation). Its name
// holds no team marker, so pages that name who is signed in leak nothing by that.
func (w *wholeNines) scoped(t *testing.T, role auth.Role, team string) string {
	t.Helper()
	name, teams := "scoped-"+team+"-"+role.String(), []string{team}
	var secret string
	var err error
	if role == auth.Agent {
		secret, _, err = w.app.Tokens.CreateAgent(context.Background(), name, agentLocation, time.Hour, teams)
	} else {
		secret, _, err = w.app.Tokens.CreateScoped(context.Background(), name, role, time.Hour, teams)
	}
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// call sends a request; a body that starts with "{" goes as JSON, any other as a form.
func (w *wholeNines) call(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, w.url+path, strings.NewReader(body))
	req.Header.Set("Accept", "application/json")
	if strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	} else if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") == "text/event-stream" {
		return resp.StatusCode, ""
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// mustJSON sends a request that must succeed and decodes its answer into out (when not nil).
func (w *wholeNines) mustJSON(t *testing.T, method, path, token, body string, out any) {
	t.Helper()
	status, answer := w.call(t, method, path, token, body)
	if status/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, status, answer)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(answer), out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, answer)
		}
	}
}

// TestScopedPrincipalsCannotReachAnotherTeam is the attack a principal of the search team makes
// on the payments team's incident, services, monitors, SLOs, schedules and status page
// component, through every door that was found open. Each must be refused, or answer a list
// without the payments team's objects.
func TestScopedPrincipalsCannotReachAnotherTeam(t *testing.T) {
	w := startTeamsNines(t)
	pay := w.incident["payments"]
	responder, viewer, admin := w.scoped(t, auth.Responder, "search"), w.scoped(t, auth.Viewer, "search"), w.scoped(t, auth.Admin, "search")
	inc := func(suffix string) string { return fmt.Sprintf("/api/v1/incidents/%d%s", pay, suffix) }
	var wideToken int64 // the unscoped admin's token
	toks, _ := w.app.Tokens.List(context.Background())
	for _, tok := range toks {
		if len(tok.Teams) == 0 && tok.Role == "admin" {
			wideToken = tok.ID
		}
	}
	now := "2026-03-30T07:29:00Z"
	// Maintenance of the payments team, of the search team, and over both; a public update of
	// the payments incident; the payments component in an outage.
	wide := w.tokens[auth.Admin]
	window := func(services string) string {
		var mw struct{ ID string }
		w.mustJSON(t, "POST", "/api/v1/maintenance", wide, `{"name": "database upgrade", "services": [`+services+`], "start": "2026-04-02T02:00:00Z", "end": "2026-04-02T03:00:00Z"}`, &mw)
		return "/api/v1/maintenance/" + mw.ID
	}
	payWindow, findWindow, sharedWindow := window(`"zz-pay-api"`), window(`"zz-find-api"`), window(`"zz-pay-api", "zz-find-api"`)
	var pi struct{ Updates []struct{ ID int64 } }
	w.mustJSON(t, "POST", inc("/status-updates"), wide, `{"page": "public", "status": "investigating", "body": "Payments fail."}`, &pi)
	payUpdate := inc(fmt.Sprintf("/status-updates/%d", pi.Updates[0].ID))
	w.mustJSON(t, "PUT", "/api/v1/status-pages/public/components/zz-pay-comp/override", wide, `{"status": "major_outage"}`, nil)
	findCause := fmt.Sprintf("/api/v1/incidents/%d/cause", w.incident["search"])
	refused := func(status int, _ string) bool {
		return status == http.StatusForbidden || status == http.StatusNotFound
	}
	refusedOrBad := func(status int, body string) bool { return refused(status, body) || status == http.StatusBadRequest }
	omits := func(status int, body string) bool {
		return status == http.StatusOK && !strings.Contains(body, "zz-pay")
	}
	cases := []struct {
		name, method, path, token, body string
		ok                              func(status int, body string) bool
	}{
		{"a responder cannot change the SEV of another team's incident", "POST", inc("/sev"), responder, `{"sev": "SEV1"}`, refused},
		{"a responder cannot assign roles on another team's incident", "POST", inc("/roles"), responder, `{"role": "commander", "person": "bob"}`, refused},
		{"a responder cannot move the impact start of another team's incident", "POST", inc("/impact"), responder, `{"impact_started_at": "2026-03-30T07:00:00Z"}`, refused},
		{"a responder cannot add links to another team's incident", "POST", inc("/links"), responder, `{"url": "https://example.com/x"}`, refused},
		{"a responder cannot judge the alerts of another team's incident", "POST", inc("/alerts/actionable"), responder, `{"alert_ids": [1], "actionable": false}`, refused},
		{"a responder cannot page another team's policy", "POST", inc("/escalate"), responder, `{}`, refused},
		{"a responder cannot reassign another team's incident", "POST", inc("/reassign"), responder, `{"user_id": "bob"}`, refused},
		{"a responder cannot snooze another team's incident", "POST", inc("/snooze"), responder, `{"duration": "1h"}`, refused},
		{"a responder cannot draft another team's postmortem", "PATCH", inc("/postmortem"), responder, `{"summary": "nothing happened"}`, refused},
		{"a responder cannot publish another team's postmortem", "POST", inc("/postmortem/publish"), responder, `{}`, refused},
		{"a responder cannot add action items to another team's postmortem", "POST", inc("/postmortem/actions"), responder, `{"title": "x", "owner": "bob", "kind": "fix"}`, refused},
		{"a responder cannot close another team's action item", "PATCH", fmt.Sprintf("/api/v1/actions/%d", w.action["payments"]), responder, `{"state": "done"}`, refused},
		{"a responder cannot declare an incident on another team's service", "POST", "/api/v1/incidents", responder, `{"service": "zz-pay-api", "title": "fake"}`, refused},
		{"a responder cannot declare on another team's service by spelling the field in capitals", "POST", "/api/v1/incidents", responder, `{"SERVICE": "zz-pay-api", "title": "fake"}`, refused},
		{"a responder cannot declare on another team's service behind a second spelling of the field", "POST", "/api/v1/incidents", responder,
			`{"service": "zz-find-api", "Service": "zz-pay-api", "title": "fake"}`, refused},
		{"a responder cannot declare on another team's service with a stray brace after the body", "POST", "/api/v1/incidents", responder,
			`{"service": "zz-pay-api", "title": "fake"} }`, refusedOrBad},
		{"a responder cannot record a deploy of another team's service", "POST", "/api/v1/changes", responder, `{"service": "zz-pay-api", "version": "v6.6.6"}`, refused},
		{"a responder cannot push SLI events that flip another team's release gate", "POST", "/api/v1/slis/zz-pay-avail/events", responder,
			`{"events": [{"timestamp": "` + now + `", "good": 0, "total": 1000}]}`, refused},
		{"a responder cannot open incidents by posting probe results for another team's monitor", "POST", "/api/v1/probe/results", responder,
			`{"location": "eu-west", "results": [{"monitor_id": "zz-pay-home", "at": "` + now + `", "ok": false, "cause": "connect", "message": "down"}]}`, refused},
		{"a responder cannot override another team's schedule", "POST", "/api/v1/schedules/zz-pay-rota/overrides", responder,
			`{"user_id": "bob", "start": "2026-03-30T08:00:00Z", "end": "2026-03-30T09:00:00Z"}`, refused},
		{"a responder cannot put another team's component under maintenance", "POST", "/api/v1/status-pages/public/maintenance", responder,
			`{"name": "x", "scheduled_for": "2026-04-01T02:00:00Z", "scheduled_until": "2026-04-01T03:00:00Z", "components": ["zz-pay-comp"]}`, refused},
		{"a responder cannot act on another team's incident through the incident page's form", "POST", fmt.Sprintf("/incidents/%d/respond", pay), responder,
			url.Values{"action": {"sev"}, "sev": {"SEV1"}}.Encode(), refused},
		{"a responder cannot edit another team's postmortem through its form", "POST", fmt.Sprintf("/incidents/%d/postmortem", pay), responder,
			url.Values{"action": {"publish"}}.Encode(), refused},
		{"a viewer cannot read another team's incident", "GET", inc(""), viewer, "", refused},
		{"a viewer cannot read another team's timeline", "GET", inc("/timeline"), viewer, "", refused},
		{"a viewer cannot read another team's postmortem", "GET", inc("/postmortem"), viewer, "", refused},
		{"a viewer cannot read another team's monitor", "GET", "/api/v1/monitors/zz-pay-home", viewer, "", refused},
		{"a viewer cannot read another team's SLO", "GET", "/api/v1/slos/zz-pay-avail", viewer, "", refused},
		{"a viewer cannot read another team's schedule", "GET", "/api/v1/schedules/zz-pay-rota/shifts", viewer, "", refused},
		{"a viewer cannot read another team's release gate", "GET", "/api/v1/services/zz-pay-api/gate", viewer, "", refused},
		{"a viewer cannot open another team's incident page", "GET", fmt.Sprintf("/incidents/%d", pay), viewer, "", refused},
		{"a viewer's token does not open another team's calendar feed", "GET", "/api/v1/schedules/zz-pay-rota/shifts.ics", viewer, "", refused},
		{"a viewer's token does not open the calendar feed of another team's people", "GET", "/api/v1/users/alice/shifts.ics", viewer, "", refused},
		{"a viewer's incident list omits another team's incidents", "GET", "/api/v1/incidents", viewer, "", omits},
		{"a viewer's service list omits another team's services", "GET", "/api/v1/services", viewer, "", omits},
		{"a viewer's monitor list omits another team's monitors", "GET", "/api/v1/monitors", viewer, "", omits},
		{"a viewer's SLO list omits another team's SLOs", "GET", "/api/v1/slos", viewer, "", omits},
		{"a viewer's schedule list omits another team's schedules", "GET", "/api/v1/schedules", viewer, "", omits},
		{"a viewer's search omits another team's incidents", "GET", "/api/v1/search?q=incident", viewer, "", omits},
		{"a viewer's action item report omits another team's items", "GET", "/api/v1/reports/actions", viewer, "", omits},
		{"a viewer's front page omits another team's incidents", "GET", "/", viewer, "", omits},
		{"a viewer's agent list omits another team's monitors and service", "GET", "/api/v1/probe/agents", viewer, "", omits},
		{"a viewer's status page list omits why another team's component is down", "GET", "/api/v1/status-pages", viewer, "", omits},
		{"a responder's status pages page offers no correction of another team's public updates", "GET", "/status-pages", responder, "", omits},
		{"a responder cannot name another team's deploy as the cause of its own incident", "POST", findCause, responder,
			fmt.Sprintf(`{"change_id": %d}`, w.change["payments"]), refused},
		{"a responder cannot name another team's deploy as a cause by writing its id as a string", "POST", findCause, responder,
			fmt.Sprintf(`{"change_id": "%d"}`, w.change["payments"]), refusedOrBad},
		{"a responder cannot schedule maintenance over another team's monitor beside its own service", "POST", "/api/v1/maintenance", responder,
			`{"name": "x", "services": ["zz-find-api"], "monitors": ["zz-pay-home"], "start": "2026-04-01T02:00:00Z", "end": "2026-04-01T03:00:00Z"}`, refused},
		{"a responder cannot schedule maintenance over another team's service through the maintenance form", "POST", "/maintenance", responder,
			url.Values{"name": {"x"}, "services": {"zz-find-api", "zz-pay-api"}, "start": {"2026-04-01T02:00"}, "end": {"2026-04-01T03:00"}}.Encode(), refused},
		{"a responder cannot cancel another team's window", "DELETE", payWindow, responder, "", refused},
		{"a responder cannot cancel a window that also covers another team's service", "DELETE", sharedWindow, responder, "", refused},
		{"a responder cannot edit a window that also covers another team's service", "PATCH", sharedWindow, responder, `{"name": "shorter"}`, refused},
		{"a responder cannot stretch its own window over another team's service", "PATCH", findWindow, responder, `{"services": ["zz-pay-api"]}`, refused},
		{"a responder cannot cancel a window that also covers another team's service through the form", "POST", strings.TrimPrefix(sharedWindow, "/api/v1"), responder,
			url.Values{"action": {"cancel"}}.Encode(), refused},
		{"a viewer cannot read another team's window", "GET", payWindow, viewer, "", refused},
		{"a viewer reads a window shared with another team without the other team's part", "GET", sharedWindow, viewer, "", omits},
		{"a viewer's maintenance list omits another team's windows and parts", "GET", "/api/v1/maintenance", viewer, "", omits},
		{"a viewer's maintenance page omits another team's windows, services and monitors", "GET", "/maintenance", viewer, "", omits},
		{"a responder cannot correct another team's public update", "PATCH", payUpdate, responder, `{"body": "All fine."}`, refused},
		{"a responder cannot retract another team's public update", "DELETE", payUpdate, responder, "", refused},
		{"a scoped admin cannot mint an unscoped token", "POST", "/api/v1/tokens", admin, `{"name": "wide", "role": "admin", "teams": ["payments"]}`, refused},
		{"a scoped admin cannot revoke an unscoped token", "DELETE", fmt.Sprintf("/api/v1/tokens/%d", wideToken), admin, "", refused},
		{"a scoped admin cannot revoke an unscoped token named with a leading zero", "DELETE", fmt.Sprintf("/api/v1/tokens/0%d", wideToken), admin, "", refused},
		{"a scoped admin cannot disable another team's person", "POST", "/admin/users/zz-pay-person/disable", admin, "", refused},
		{"a scoped admin cannot make an account of another team", "POST", "/api/v1/users", admin,
			`{"username": "mallory", "role": "admin", "teams": ["payments"], "password": "correct horse battery"}`, refused},
		{"a scoped admin cannot make a token for another team's person", "POST", "/api/v1/tokens", admin, `{"name": "alice-laptop", "role": "viewer", "user": "alice"}`, refused},
		{"a scoped admin cannot make a token for another team's person by spelling the field in capitals", "POST", "/api/v1/tokens", admin,
			`{"name": "alice-laptop", "role": "viewer", "USER": "alice"}`, refused},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if status, body := w.call(t, c.method, c.path, c.token, c.body); !c.ok(status, body) {
				t.Errorf("%s %s: %d %.300s", c.method, c.path, status, body)
			}
		})
	}
	t.Run("a scoped admin makes a token for a person of its team, no wider than its teams", func(t *testing.T) {
		var got struct{ Token auth.Token }
		w.mustJSON(t, "POST", "/api/v1/tokens", admin, `{"name": "bob-laptop", "role": "responder", "user": "bob"}`, &got)
		if got.Token.User != "bob" || strings.Join(got.Token.Teams, ",") != "search" {
			t.Errorf("token %+v, want bob's, scoped to search", got.Token)
		}
	})
	t.Run("the other team's windows are untouched", func(t *testing.T) {
		var got struct {
			Services []string
			State    string
		}
		w.mustJSON(t, "GET", sharedWindow, wide, "", &got)
		if strings.Join(got.Services, ",") != "zz-pay-api,zz-find-api" || got.State != "scheduled" {
			t.Errorf("the shared window was changed by the search team: %+v", got)
		}
	})
	t.Run("the other team's incident is untouched", func(t *testing.T) {
		var got struct {
			SEV   string            `json:"sev"`
			Roles map[string]string `json:"roles"`
		}
		w.mustJSON(t, "GET", inc(""), w.tokens[auth.Admin], "", &got)
		if got.SEV == "SEV1" || got.Roles["commander"] == "bob" {
			t.Errorf("the payments incident was changed by the search team: %+v", got)
		}
	})
}

// TestOnlyAgentsGetMonitorSecrets: an agent's assignments carry the monitors' request headers,
// which hold the targets' credentials; nobody else gets them, an agent gets only its teams'
// monitors, and the answer is the agent's assignment, not the config's internal structures.
func TestOnlyAgentsGetMonitorSecrets(t *testing.T) {
	w := startTeamsNines(t)
	for _, role := range auth.Roles() {
		status, body := w.call(t, "GET", "/api/v1/probe/assignments?location=eu-west", w.tokens[role], "")
		if status != http.StatusForbidden || strings.Contains(body, "monitor-secret") {
			t.Errorf("a %s token read assignments: %d %.300s", role, status, body)
		}
	}
	var got struct {
		Location string
		Monitors []map[string]any
	}
	w.mustJSON(t, "GET", "/api/v1/probe/assignments", w.scoped(t, auth.Agent, "search"), "", &got)
	if got.Location != agentLocation || len(got.Monitors) != 1 || got.Monitors[0]["id"] != "zz-find-home" {
		t.Fatalf("a search agent's assignments: %+v, want zz-find-home alone at %s", got, agentLocation)
	}
	mon := got.Monitors[0]
	if h, _ := mon["headers"].(map[string]any); h["Authorization"] != "Bearer zz-find-monitor-secret" {
		t.Errorf("the agent did not get the header it must send: %v", mon)
	}
	for _, internal := range []string{"Pos", "ID", "Service", "Locations", "Severity"} {
		if _, ok := mon[internal]; ok {
			t.Errorf("an assignment carries %s: %v", internal, mon)
		}
	}
}

// TestTokensForAgentsAndPeopleThroughTheAPI: POST /api/v1/tokens makes an agent's token bound to
// its location and a person's token credited to them; an agent's token is nobody's, and what
// is wrong is named.
func TestTokensForAgentsAndPeopleThroughTheAPI(t *testing.T) {
	w := startTeamsNines(t)
	admin := w.tokens[auth.Admin]
	for _, c := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"an agent's token belongs to no person", `{"name": "probe", "role": "agent", "location": "eu-west", "user": "alice"}`, 400, "user: an agent token belongs to no person"},
		{"an agent's token needs its location", `{"name": "probe", "role": "agent"}`, 400, "location"},
		{"only agents' tokens have a location", `{"name": "ci", "role": "responder", "location": "eu-west"}`, 400, "only agent tokens have a location"},
		{"a person the config lacks is refused", `{"name": "laptop", "role": "responder", "user": "zed"}`, 400, `user: \"zed\" is not a user of the config`},
		{"an agent's token is bound to its location", `{"name": "probe", "role": "agent", "location": "eu-west"}`, 201, `"location":"eu-west"`},
		{"a person's token is theirs", `{"name": "laptop", "role": "responder", "user": "alice"}`, 201, `"user":"alice"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := w.call(t, "POST", "/api/v1/tokens", admin, c.body)
			if status != c.status || !strings.Contains(body, c.want) {
				t.Errorf("%d %.300s; want %d with %s", status, body, c.status, c.want)
			}
		})
	}
}

// TestACalendarFeedKeyReadsOnlyWhatItsOwnerStillReaches: a feed key acts as the principal it
// was issued to, team scope included. When the team of a schedule changes (its service moves
// to another team), the key a scoped principal was given for it stops working, as its token
// would.
func TestACalendarFeedKeyReadsOnlyWhatItsOwnerStillReaches(t *testing.T) {
	w := startTeamsNines(t)
	viewer := w.scoped(t, auth.Viewer, "search")
	var list struct {
		Schedules []struct {
			ID      string `json:"id"`
			FeedURL string `json:"feed_url"`
		} `json:"schedules"`
	}
	w.mustJSON(t, "GET", "/api/v1/schedules", viewer, "", &list)
	if len(list.Schedules) != 1 || list.Schedules[0].ID != "zz-find-rota" {
		t.Fatalf("a search viewer's schedules: %+v, want zz-find-rota alone", list.Schedules)
	}
	u, err := url.Parse(list.Schedules[0].FeedURL)
	if err != nil {
		t.Fatal(err)
	}
	feed := u.RequestURI()
	if status, body := w.call(t, "GET", feed, "", ""); status != http.StatusOK || !strings.Contains(body, "BEGIN:VCALENDAR") {
		t.Fatalf("the feed as issued: %d %.200s", status, body)
	}
	// The search team's service moves to the payments team: so does the schedule it pages.
	moved, err := config.Parse("nines.yaml", []byte(strings.Replace(strings.Replace(teamsConfig, "team: search", "team: payments", 1), "SMTP_PORT", "2525", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.app.Config.Swap(moved); err != nil {
		t.Fatal(err)
	}
	if status, body := w.call(t, "GET", feed, "", ""); status != http.StatusUnauthorized || strings.Contains(body, "BEGIN:VCALENDAR") {
		t.Errorf("the key of a schedule its owner no longer reaches: %d %.200s, want 401", status, body)
	}
	if status, _ := w.call(t, "GET", "/api/v1/schedules/zz-find-rota/shifts.ics", viewer, ""); status != http.StatusForbidden {
		t.Errorf("its owner's token on the same feed: %d, want 403", status)
	}
}

// TestScopedSessionsCannotReachAnotherTeamThroughForms is the same attack made from a browser
// signed in as a person of the search team: the forms of the pages carry the payments team's
// objects in their bodies, the way the pages' own forms send them (the CSRF token in the
// form, as a repeated field, multipart), and every one is refused as its API twin is.
func TestScopedSessionsCannotReachAnotherTeamThroughForms(t *testing.T) {
	w := startTeamsNines(t)
	wide := w.tokens[auth.Admin]
	window := func(services string) string {
		var mw struct{ ID string }
		w.mustJSON(t, "POST", "/api/v1/maintenance", wide, `{"name": "database upgrade", "services": [`+services+`], "start": "2026-04-02T02:00:00Z", "end": "2026-04-02T03:00:00Z"}`, &mw)
		return mw.ID
	}
	payWindow, findWindow := window(`"zz-pay-api"`), window(`"zz-find-api"`)
	responder := w.signInScoped(t, "erin", auth.Responder, "search")
	admin := w.signInScoped(t, "sam", auth.Admin, "search")

	t.Run("the forms the pages send", func(t *testing.T) {
		for _, c := range []struct {
			name, path string
			form       url.Values
		}{
			{"a responder cannot declare an incident on another team's service", "/incidents/new",
				url.Values{"service": {"zz-pay-api"}, "title": {"fake outage"}, "sev": {"SEV2"}, "commander": {"bob"}}},
			{"a responder cannot put another team's service under maintenance", "/maintenance",
				url.Values{"name": {"x"}, "services": {"zz-pay-api"}, "start": {"2026-03-30T07:00"}, "end": {"2026-03-30T09:00"}, "time_zone": {"UTC"}}},
			{"a responder cannot put another team's monitor under maintenance", "/maintenance",
				url.Values{"name": {"x"}, "monitors": {"zz-pay-home"}, "start": {"2026-03-30T07:00"}, "end": {"2026-03-30T09:00"}}},
			{"a responder cannot stretch its own window over another team's services", "/maintenance/" + findWindow,
				url.Values{"action": {"edit"}, "name": {"x"}, "services": {"zz-find-api", "zz-pay-api"}, "start": {"2026-04-02T02:00"}, "end": {"2026-04-02T03:00"}}},
			{"a responder cannot cancel another team's window", "/maintenance/" + payWindow, url.Values{"action": {"cancel"}}},
		} {
			t.Run(c.name, func(t *testing.T) {
				if resp, body := responder.PostForm(c.path, c.form, true); resp.StatusCode != http.StatusForbidden {
					t.Errorf("POST %s: %d %.300s, want 403", c.path, resp.StatusCode, body)
				}
			})
		}
	})

	// Every route that names what it acts on in its body is sent another team's object there,
	// in every encoding a handler could read, by a session and by a token of a scoped admin
	// (whose role reaches every route but an agent's).
	other := map[httpx.Object]string{httpx.Service: "zz-pay-api", httpx.Monitor: "zz-pay-home", httpx.Team: "payments", httpx.Component: "zz-pay-comp",
		httpx.Change: fmt.Sprint(w.change["payments"]), httpx.Person: "alice", httpx.Incident: fmt.Sprint(w.incident["payments"]),
		httpx.Window: payWindow, httpx.SLO: "zz-pay-avail", httpx.Schedule: "zz-pay-rota", httpx.ActionItem: fmt.Sprint(w.action["payments"]),
		httpx.Account: "zz-pay-person", httpx.ConfigObject: "zz-pay-api"}
	own := map[httpx.Object]string{httpx.Service: "zz-find-api", httpx.Monitor: "zz-find-home", httpx.Team: "search", httpx.Component: "zz-find-comp",
		httpx.Change: fmt.Sprint(w.change["search"]), httpx.Person: "bob", httpx.Incident: fmt.Sprint(w.incident["search"]),
		httpx.Window: findWindow, httpx.SLO: "zz-find-avail", httpx.Schedule: "zz-find-rota", httpx.ActionItem: fmt.Sprint(w.action["search"]),
		httpx.Account: "zz-find-person", httpx.ConfigObject: "zz-find-api"}
	adminToken := w.scoped(t, auth.Admin, "search")
	// A form that cannot be parsed may be refused as such (400), since no handler reads it.
	refused := func(encoding string, status int) bool {
		return status == http.StatusForbidden || strings.Contains(encoding, "broken") && status == http.StatusBadRequest
	}
	n := 0
	for _, rt := range w.app.Web.Routes() {
		if rt.Access != httpx.Token || rt.Method == "GET" {
			continue
		}
		path := strings.ReplaceAll(rt.Pattern, "{kind}", "services") // config objects: the teams' services
		for _, sc := range rt.Scope.Targets() {
			if sc.Rule == httpx.TargetInPath {
				path = strings.ReplaceAll(path, "{"+sc.Name+"}", own[sc.Object])
			}
		}
		path = concretePath(path)
		for _, sc := range rt.Scope.Targets() {
			if sc.Rule != httpx.TargetInBody {
				continue
			}
			theirs, mine := other[sc.Object], own[sc.Object]
			if theirs == "" {
				t.Fatalf("%s %s: the test knows no %s of the payments team", rt.Method, rt.Pattern, sc.Object)
			}
			field := sc.Name
			for _, enc := range []struct {
				name string
				body func(csrf string) (string, string) // body, content type
			}{
				{"a form", func(csrf string) (string, string) {
					return url.Values{field: {theirs}, "csrf": {csrf}}.Encode(), "application/x-www-form-urlencoded"
				}},
				{"a form whose field repeats", func(csrf string) (string, string) {
					return url.Values{field: {mine, theirs}, "csrf": {csrf}}.Encode(), "application/x-www-form-urlencoded; charset=utf-8"
				}},
				{"a form with a broken pair after the field", func(csrf string) (string, string) {
					return url.Values{field: {theirs}, "csrf": {csrf}}.Encode() + "&x=%zz", "application/x-www-form-urlencoded"
				}},
				{"a multipart form", func(csrf string) (string, string) {
					var b strings.Builder
					mw := multipart.NewWriter(&b)
					mw.WriteField("csrf", csrf)
					mw.WriteField(field, theirs)
					mw.Close()
					return b.String(), mw.FormDataContentType()
				}},
				{"JSON", func(string) (string, string) {
					return fmt.Sprintf(`{%q: [%q]}`, field, theirs), "application/json"
				}},
			} {
				n++
				name := fmt.Sprintf("%s %s with another team's %s in %s", rt.Method, rt.Pattern, sc.Object, enc.name)
				t.Run(name+" from a session", func(t *testing.T) {
					body, ct := enc.body(admin.CSRF)
					header := map[string]string{"Content-Type": ct, "Accept": "application/json"}
					if enc.name == "JSON" {
						header["X-CSRF-Token"] = admin.CSRF // forms carry it in a field, as the pages' forms do
					}
					resp, answer := admin.Do(rt.Method, path, strings.NewReader(body), header)
					if !refused(enc.name, resp.StatusCode) {
						t.Errorf("%d %.300s, want 403 (or 400 for a broken form)", resp.StatusCode, answer)
					}
				})
				t.Run(name+" with a token", func(t *testing.T) {
					body, ct := enc.body("")
					req, _ := http.NewRequest(rt.Method, w.url+path, strings.NewReader(body))
					req.Header.Set("Content-Type", ct)
					req.Header.Set("Accept", "application/json")
					req.Header.Set("Authorization", "Bearer "+adminToken)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					answer, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if !refused(enc.name, resp.StatusCode) {
						t.Errorf("%d %.300s, want 403 (or 400 for a broken form)", resp.StatusCode, answer)
					}
				})
			}
		}
	}
	if n == 0 {
		t.Fatal("no route names its target in the body")
	}

	t.Run("the other team has no new incident and its windows are as they were", func(t *testing.T) {
		var list struct {
			Incidents []struct {
				ServiceID string `json:"service_id"`
			}
		}
		w.mustJSON(t, "GET", "/api/v1/incidents", wide, "", &list)
		pay := 0
		for _, inc := range list.Incidents {
			if inc.ServiceID == "zz-pay-api" {
				pay++
			}
		}
		if pay != 1 {
			t.Errorf("the payments service has %d incidents, want the 1 it had", pay)
		}
		var ws struct {
			Maintenance []struct {
				ID       string
				Services []string
				Monitors []string
				State    string
			}
		}
		w.mustJSON(t, "GET", "/api/v1/maintenance", wide, "", &ws)
		for _, mw := range ws.Maintenance {
			switch {
			case mw.ID == payWindow && (strings.Join(mw.Services, ",") != "zz-pay-api" || mw.State != "scheduled"):
				t.Errorf("the payments window was changed: %+v", mw)
			case mw.ID == findWindow && strings.Join(mw.Services, ",") != "zz-find-api":
				t.Errorf("the search window was stretched: %+v", mw)
			case mw.ID != payWindow && mw.ID != findWindow:
				t.Errorf("a window was made: %+v", mw)
			}
		}
	})
}

// signInScoped signs a person of team in through the sign-in form.
func (w *wholeNines) signInScoped(t *testing.T, username string, role auth.Role, team string) *webtest.SignedIn {
	t.Helper()
	if _, err := w.app.Users.Create(context.Background(), auth.NewUser{Username: username, Role: role, Teams: []string{team},
		Password: webtest.SignInPassword}); err != nil {
		t.Fatal(err)
	}
	return webtest.SignIn(t, w.url, w.app.Users, username, role)
}

// TestAnotherTeamsPeopleArePagedButTheirDetailsStayHidden: people are not fenced by team for
// paging, as in PagerDuty: a responder may reassign its incident to a person of another team
// (which pages them), make them its commander, or put them on an override of its own schedule,
// and sees every person's name to do so. What is a person's own stays with their teams: their
// calendar feed, their on-call load, tokens made for them; and nobody is shown their contact
// details (addresses, numbers), which only the config holds.
func TestAnotherTeamsPeopleArePagedButTheirDetailsStayHidden(t *testing.T) {
	w := startTeamsNines(t)
	responder, admin := w.scoped(t, auth.Responder, "search"), w.scoped(t, auth.Admin, "search")
	find := fmt.Sprint(w.incident["search"])
	// alice is of the payments team; bob of search.
	for _, c := range []struct {
		name, method, path, token, body string
		status                          int
	}{
		{"a responder reassigns its incident to a person of another team", "POST", "/api/v1/incidents/" + find + "/reassign", responder, `{"user_id": "alice"}`, 200},
		{"a responder makes a person of another team its incident's commander", "POST", "/api/v1/incidents/" + find + "/roles", responder, `{"role": "commander", "person": "alice"}`, 200},
		{"a responder puts a person of another team on an override of its schedule", "POST", "/api/v1/schedules/zz-find-rota/overrides", responder,
			`{"user_id": "alice", "start": "2026-03-30T08:00:00Z", "end": "2026-03-30T09:00:00Z"}`, 201},
		{"a viewer does not read the calendar feed of another team's person", "GET", "/api/v1/users/alice/shifts.ics", w.scoped(t, auth.Viewer, "search"), "", 403},
		{"an admin does not make a token for another team's person", "POST", "/api/v1/tokens", admin, `{"name": "alice-laptop", "role": "viewer", "user": "alice"}`, 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			if status, body := w.call(t, c.method, c.path, c.token, c.body); status != c.status {
				t.Errorf("%s %s: %d %.300s, want %d", c.method, c.path, status, body, c.status)
			}
		})
	}
	t.Run("the reassigned person was paged", func(t *testing.T) {
		var tl struct {
			Events []struct {
				Type string
				Data map[string]any
			}
		}
		w.mustJSON(t, "GET", "/api/v1/incidents/"+find+"/timeline", responder, "", &tl)
		paged := false
		for _, e := range tl.Events {
			paged = paged || e.Type == "incident.reassigned" || e.Type == "notification.sent" && e.Data["user"] == "alice"
		}
		if !paged {
			t.Errorf("alice was not paged: %+v", tl.Events)
		}
	})
	t.Run("the on-call report leaves out another team's people", func(t *testing.T) {
		if _, body := w.call(t, "GET", "/api/v1/reports/oncall", responder, ""); strings.Contains(body, `"alice"`) {
			t.Errorf("the search team's report holds alice: %.300s", body)
		}
	})
	t.Run("no page or API answer shows anyone's contact details", func(t *testing.T) {
		for _, token := range []string{responder, w.tokens[auth.Admin]} {
			for _, rt := range w.app.Web.Routes() {
				if rt.Method != "GET" || rt.Access != httpx.Token || rt.Pattern == "/events" {
					continue
				}
				path := rt.Pattern
				for _, sc := range rt.Scope.Targets() {
					if sc.Rule == httpx.TargetInPath && sc.Object == httpx.Incident {
						path = strings.ReplaceAll(path, "{"+sc.Name+"}", find)
					}
				}
				path = strings.NewReplacer("{id}", "zz-find-rota", "{$}", "").Replace(path)
				if _, body := w.call(t, "GET", concretePath(path), token, ""); strings.Contains(body, "@example.com") {
					t.Errorf("GET %s shows a contact address: %.300s", path, body)
				}
			}
		}
	})
}
