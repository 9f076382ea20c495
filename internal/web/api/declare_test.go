package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/report"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/api"
	"github.com/nines-dev/nines/internal/web/webtest"
)

const routingKey = "0123456789abcdef0123456789abcdef"

const responseConfig = `
services:
  - id: checkout
    name: Checkout API
    team: payments
    runbook: https://wiki.example.com/runbooks/checkout
    runbooks:
      checkout-latency: |
        1. Check the last deploy.
        2. Roll back if it is the culprit.
    integrations:
      - type: events_v2
        key: ` + routingKey + `
incidents:
  holidays: ["2026-11-26", "2026-11-27"]
`

type env struct {
	t                 *testing.T
	url               string
	responder, viewer string
	clock             *clock.Fake
	srv               *app.App
	app               *app.App
}

// newEnv runs nines on db as serve wires it.
func newEnv(t *testing.T, db *store.DB) *env { return newEnvWith(t, db, responseConfig) }

// newEnvWith runs nines on db with the given config.
func newEnvWith(t *testing.T, db *store.DB, cfgText string) *env {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)) // a Friday
	n := webtest.Start(t, webtest.Options{Config: webtest.Parse(t, cfgText), DB: db, Clock: clk})
	a := n.App
	e := &env{t: t, url: n.URL, clock: clk, srv: a, app: a}
	var err error
	e.responder, _, err = a.Tokens.Create(context.Background(), "alice", auth.Responder, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.viewer, _, err = a.Tokens.Create(context.Background(), "victor", auth.Viewer, 0)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// call sends a JSON request and returns the status and the body.
func (e *env) call(method, path, token string, body any) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		if s, ok := body.(string); ok {
			b = []byte(s)
		}
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func (e *env) want(status int, method, path, token string, body any, out any) []byte {
	e.t.Helper()
	got, data := e.call(method, path, token, body)
	if got != status {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return data
}

func TestIncidentResponseThroughTheAPI(t *testing.T) {
	storetest.Each(t, app.Schemas(),
		func(t *testing.T, db *store.DB) {
			e := newEnv(t, db)

			// A pipeline reports a deploy, PagerDuty-style and with nines deploy's API.
			e.want(http.StatusAccepted, "POST", "/v2/change/enqueue", "", `{"routing_key":"`+routingKey+`","payload":{"summary":"Build 2 passed","timestamp":"2026-11-20T08:30:00.000+0000","source":"ci"},"links":[{"href":"https://ci.example.com/2"}]}`, nil)
			_, bad := e.call("POST", "/v2/change/enqueue", "", `{"routing_key":"`+routingKey+`","payload":{}}`)
			if !strings.Contains(string(bad), "'payload.summary' is missing") {
				t.Errorf("bad change event answer: %s", bad)
			}
			if code, _ := e.call("POST", "/v2/change/enqueue", "", `{"routing_key":"ffffffffffffffffffffffffffffffff","payload":{"summary":"x"}}`); code != http.StatusNotFound {
				t.Errorf("unknown routing key: %d, want 404", code)
			}
			e.want(http.StatusForbidden, "POST", "/api/v1/changes", e.viewer, map[string]string{"service": "checkout", "version": "v1"}, nil)
			data := e.want(http.StatusBadRequest, "POST", "/api/v1/changes", e.responder, map[string]string{"service": "nope"}, nil)
			if !strings.Contains(string(data), "'version' is missing") || !strings.Contains(string(data), `unknown service \"nope\"`) {
				t.Errorf("bad deploy answer: %s", data)
			}
			e.clock.Set(time.Date(2026, 11, 20, 8, 50, 0, 0, time.UTC))
			e.want(http.StatusCreated, "POST", "/api/v1/changes", e.responder, map[string]string{"service": "checkout", "version": "v2.4.1",
				"commit": "9f3c2a1", "commit_time": "2026-11-20T08:00:00Z"}, nil)

			// Someone notices before any alert and declares, back-dating the impact.
			data = e.want(http.StatusBadRequest, "POST", "/api/v1/incidents", e.responder, map[string]any{"service": "nope", "sev": "SEV9", "title": ""}, nil)
			for _, want := range []string{`unknown service \"nope\"`, `sev: \"SEV9\"`, "title:"} {
				if !strings.Contains(string(data), want) {
					t.Errorf("declare errors %s do not name %s", data, want)
				}
			}
			var list struct{ Incidents []incident.Incident }
			e.want(http.StatusOK, "GET", "/api/v1/incidents", e.viewer, nil, &list)
			if len(list.Incidents) != 0 {
				t.Fatalf("a refused declaration created %d incidents", len(list.Incidents))
			}
			e.clock.Set(time.Date(2026, 11, 20, 9, 5, 0, 0, time.UTC))
			var inc incident.Incident
			e.want(http.StatusCreated, "POST", "/api/v1/incidents", e.responder, map[string]any{"service": "checkout", "title": "Checkout is slow",
				"sev": "SEV2", "impact_started_at": "2026-11-20T08:55:00Z", "roles": map[string]string{"commander": "alice"}}, &inc)
			if inc.SEV != "SEV2" || inc.Roles["commander"] != "alice" || inc.ImpactStartedAt == nil || inc.DeclaredBy != "token:alice" {
				t.Errorf("declared incident = %+v", inc)
			}
			id := "/api/v1/incidents/" + itoa(inc.ID)
			e.want(http.StatusBadRequest, "POST", id+"/impact", e.responder, map[string]string{"impact_started_at": "2026-11-21T00:00:00Z"}, nil)
			e.want(http.StatusBadRequest, "POST", id+"/roles", e.responder, map[string]string{"role": "chef", "person": "bob"}, nil)
			e.want(http.StatusOK, "POST", id+"/roles", e.responder, map[string]string{"role": "scribe", "person": "bob"}, nil)
			e.want(http.StatusOK, "POST", id+"/sev", e.responder, map[string]string{"sev": "SEV1", "reason": "all card payments fail"}, &inc)
			if inc.SEV != "SEV1" || inc.Roles["scribe"] != "bob" {
				t.Errorf("after sev and role: %+v", inc)
			}
			e.want(http.StatusBadRequest, "POST", id+"/links", e.responder, map[string]string{"url": "javascript:alert(1)"}, nil)
			e.want(http.StatusCreated, "POST", id+"/links", e.responder, map[string]string{"url": "https://grafana.example.com/d/x", "title": "Dashboard"}, nil)
			var links struct{ Links []incident.Link }
			e.want(http.StatusOK, "GET", id+"/links", e.viewer, nil, &links)
			if len(links.Links) != 1 || links.Links[0].Title != "Dashboard" {
				t.Errorf("links = %+v", links)
			}

			// The deploy 15 minutes before shows on the incident.
			var changes struct{ Changes []change.Change }
			e.want(http.StatusOK, "GET", id+"/changes", e.viewer, nil, &changes)
			if len(changes.Changes) != 2 || changes.Changes[1].Version != "v2.4.1" || changes.Changes[0].Summary != "Build 2 passed" {
				t.Errorf("changes of the incident = %+v", changes.Changes)
			}
			e.want(http.StatusOK, "GET", "/api/v1/services/checkout/changes", e.viewer, nil, &changes)
			if len(changes.Changes) != 2 {
				t.Errorf("changes of the service = %+v", changes.Changes)
			}

			// An alert joins later in its own incident; its runbook shows there.
			e.clock.Set(time.Date(2026, 11, 20, 9, 10, 0, 0, time.UTC))
			var enq struct {
				DedupKey string `json:"dedup_key"`
			}
			e.want(http.StatusAccepted, "POST", "/v2/enqueue", "", map[string]any{"routing_key": routingKey, "event_action": "trigger", "dedup_key": "checkout-latency",
				"payload": map[string]string{"summary": "Checkout p99 above 2s", "source": "prom", "severity": "warning"}}, &enq)
			e.want(http.StatusOK, "GET", "/api/v1/incidents?state=open", e.viewer, nil, &list)
			alertInc := list.Incidents[0]
			if alertInc.SEV != "SEV3" {
				t.Errorf("an incident from a warning alert has %s, want SEV3", alertInc.SEV)
			}
			aid := "/api/v1/incidents/" + itoa(alertInc.ID)
			var rb struct {
				Service *api.Runbook
				Alerts  []api.Runbook
			}
			e.want(http.StatusOK, "GET", aid+"/runbook", e.viewer, nil, &rb)
			if rb.Service == nil || rb.Service.URL != "https://wiki.example.com/runbooks/checkout" || len(rb.Alerts) != 1 ||
				!strings.Contains(rb.Alerts[0].Markdown, "Roll back") {
				t.Errorf("runbook = %+v", rb)
			}
			var alerts struct{ Alerts []alert.Alert }
			e.want(http.StatusOK, "GET", aid+"/alerts", e.viewer, nil, &alerts)
			e.want(http.StatusBadRequest, "POST", id+"/alerts/actionable", e.responder, map[string]any{"alert_ids": []int64{alerts.Alerts[0].ID}, "actionable": false}, nil)
			tooMany := make([]int64, alert.MaxJudged+1)
			for _, ids := range [][]int64{{}, tooMany} {
				if body := e.want(http.StatusBadRequest, "POST", aid+"/alerts/actionable", e.responder, map[string]any{"alert_ids": ids, "actionable": false}, nil); !strings.Contains(string(body), "alert_ids: list 1 to 1000") {
					t.Errorf("%d alert ids judged: %s, want alert_ids named", len(ids), body)
				}
			}
			e.want(http.StatusOK, "POST", aid+"/alerts/actionable", e.responder, map[string]any{"alert_ids": []int64{alerts.Alerts[0].ID}, "actionable": false}, &alerts)
			if a := alerts.Alerts[0].Actionable; a == nil || *a {
				t.Errorf("alert actionable = %v, want false", a)
			}

			// Resolved at 09:40; a postmortem is drafted and edited.
			e.clock.Set(time.Date(2026, 11, 20, 9, 40, 0, 0, time.UTC))
			e.want(http.StatusOK, "POST", id+"/resolve", e.responder, nil, nil)
			e.want(http.StatusOK, "POST", aid+"/resolve", e.responder, nil, nil)
			e.want(http.StatusNotFound, "GET", id+"/postmortem", e.viewer, nil, nil)
			e.want(http.StatusForbidden, "POST", id+"/postmortem", e.viewer, nil, nil)
			var pm postmortem.Postmortem
			e.want(http.StatusCreated, "POST", id+"/postmortem", e.responder, nil, &pm)
			e.want(http.StatusOK, "POST", id+"/postmortem", e.responder, nil, nil)
			if pm.Impact.DurationSeconds != 45*60 || pm.SEV != "SEV1" || len(pm.Questions) == 0 {
				t.Errorf("postmortem = %+v", pm)
			}
			e.want(http.StatusBadRequest, "PATCH", id+"/postmortem", e.responder, map[string]string{"status": "published"}, nil)
			e.want(http.StatusBadRequest, "PATCH", id+"/postmortem", e.responder, map[string]string{"rootcause": "typo"}, nil)
			e.want(http.StatusOK, "PATCH", id+"/postmortem", e.responder, map[string]string{"root_cause": "A slow query in v2.4.1."}, &pm)
			e.want(http.StatusBadRequest, "POST", id+"/postmortem/publish", e.responder, nil, nil)
			e.want(http.StatusOK, "PATCH", id+"/postmortem", e.responder, map[string]string{"customer_summary": "Card payments were slow for 45 minutes."}, nil)
			e.want(http.StatusBadRequest, "POST", id+"/postmortem/publish", e.responder, nil, nil) // what happened and what is done are still missing
			e.want(http.StatusOK, "PATCH", id+"/postmortem", e.responder, map[string]string{"customer_what_happened": "A slow database query.",
				"customer_prevention": "We test queries against production-sized data.", "customer_title": "Slow card payments"}, nil)
			e.want(http.StatusConflict, "POST", id+"/postmortem/publish", e.responder, nil, nil) // no status page shows checkout
			if err := e.app.Config.Swap(webtest.Parse(t, responseConfig+publicPage)); err != nil {
				t.Fatal(err)
			}
			e.want(http.StatusOK, "POST", id+"/postmortem/publish", e.responder, nil, nil)
			page := e.statusPage("public")
			// The title written for customers, never the internal one ("Checkout is slow").
			if page.published != "checkout: Slow card payments: Card payments were slow for 45 minutes." {
				t.Errorf("status page got %q", page.published)
			}
			md := string(e.want(http.StatusOK, "GET", id+"/postmortem?format=markdown", e.viewer, nil, nil))
			for _, section := range []string{"## Summary", "## Impact", "## Timeline", "## Root cause and contributing factors", "## Questions",
				"## What went well", "## Action items", "Deploy of checkout v2.4.1", "A slow query in v2.4.1.", "Why did no alert fire?"} {
				if !strings.Contains(md, section) {
					t.Errorf("markdown postmortem lacks %q:\n%s", section, md)
				}
			}
			html := string(e.want(http.StatusOK, "GET", id+"/postmortem?format=html", e.viewer, nil, nil))
			if !strings.HasPrefix(html, "<!doctype html>") || !strings.Contains(html, "<h2>Timeline</h2>") {
				t.Errorf("html postmortem: %s", html)
			}
			e.want(http.StatusBadRequest, "GET", id+"/postmortem?format=pdf", e.viewer, nil, nil)

			// S.T.A.R. action items: due five business days on, Thanksgiving skipped.
			var item postmortem.ActionItem
			e.want(http.StatusBadRequest, "POST", id+"/postmortem/actions", e.responder, map[string]string{"title": "x", "owner": "alice", "kind": "refactor"}, nil)
			e.want(http.StatusCreated, "POST", id+"/postmortem/actions", e.responder, map[string]string{"title": "Load test checkout in CI", "owner": "alice", "kind": "test"}, &item)
			if item.Due != "2026-12-01" || item.State != "open" {
				t.Errorf("action item = %+v, want open and due 2026-12-01", item)
			}
			var teams struct{ Teams []postmortem.TeamActions }
			e.want(http.StatusOK, "GET", "/api/v1/reports/actions", e.viewer, nil, &teams)
			if len(teams.Teams) != 1 || teams.Teams[0].Team != "payments" || teams.Teams[0].Open != 1 {
				t.Errorf("action report = %+v", teams)
			}
			e.want(http.StatusOK, "PATCH", "/api/v1/actions/"+itoa(item.ID), e.responder, map[string]string{"state": "done"}, &item)
			e.want(http.StatusNotFound, "PATCH", "/api/v1/actions/999", e.responder, map[string]string{"state": "done"}, nil)

			// Reports and search.
			var ir report.Incidents
			e.want(http.StatusOK, "GET", "/api/v1/reports/incidents?team=payments&from=2026-11-20&to=2026-11-21", e.viewer, nil, &ir)
			if ir.Incidents != 2 || ir.MTTRSeconds == nil || *ir.MTTRSeconds != (35*60+30*60)/2 || ir.BySEV["SEV1"] != 1 || ir.BySEV["SEV3"] != 1 {
				t.Errorf("incident report = %+v", ir)
			}
			e.want(http.StatusBadRequest, "GET", "/api/v1/reports/incidents?team=nobody", e.viewer, nil, nil)
			e.want(http.StatusBadRequest, "GET", "/api/v1/reports/dora?from=yesterday", e.viewer, nil, nil)
			var dora report.DORA
			e.want(http.StatusOK, "GET", "/api/v1/reports/dora?service=checkout&from=2026-11-19&to=2026-11-21", e.viewer, nil, &dora)
			if dora.Deployments != 1 || dora.FailedDeployments != 1 || dora.LeadTimeSeconds == nil || *dora.LeadTimeSeconds != 50*60 {
				t.Errorf("dora = %+v", dora)
			}
			var aq report.AlertQuality
			e.want(http.StatusOK, "GET", "/api/v1/reports/alerts?from=2026-11-20&to=2026-11-21", e.viewer, nil, &aq)
			if aq.Alerts != 1 || aq.NotActionable != 1 {
				t.Errorf("alert quality = %+v", aq)
			}
			var found struct{ Results []postmortem.Hit }
			e.want(http.StatusOK, "GET", "/api/v1/search?q=slow+query", e.viewer, nil, &found)
			if len(found.Results) == 0 || found.Results[0].IncidentID != inc.ID || found.Results[0].Kind != "postmortem" {
				t.Errorf("search = %+v", found)
			}
			e.want(http.StatusBadRequest, "GET", "/api/v1/search", e.viewer, nil, nil)
			e.want(http.StatusUnauthorized, "GET", "/api/v1/search?q=x", "", nil, nil)
		})
}

func TestIncidentPagesNeedTheCSRFTokenToChangeAnything(t *testing.T) {
	db := storetest.SQLite(t, app.Schemas())
	e := newEnv(t, db)
	browser := webtest.SignIn(t, e.url, e.srv.Users, "alice", auth.Responder).Client
	get := func(path string) string {
		t.Helper()
		resp, err := browser.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	page := get("/incidents/new")
	csrf := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(page)
	if csrf == nil {
		t.Fatal("no CSRF token on the declare page")
	}
	form := url.Values{"service": {"checkout"}, "title": {"Checkout is down"}, "sev": {"SEV1"}, "commander": {"alice"}}
	resp, _ := browser.PostForm(e.url+"/incidents/new", form)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("declaring without the CSRF token: %d, want 403", resp.StatusCode)
	}
	form.Set("csrf", csrf[1])
	resp, _ = browser.PostForm(e.url+"/incidents/new", form)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/incidents/1" {
		t.Fatalf("declare form: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	page = get("/incidents/1")
	for _, want := range []string{"Checkout is down", "SEV1", "Incident commander", "alice", "https://wiki.example.com/runbooks/checkout", "Recent changes"} {
		if !strings.Contains(page, want) {
			t.Errorf("incident page lacks %q", want)
		}
	}
	post := func(path string, v url.Values) int {
		v.Set("csrf", csrf[1])
		resp, err := browser.PostForm(e.url+path, v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/incidents/1/respond", url.Values{"action": {"note"}, "text": {"Mitigated: failed over to the standby."}}); code != http.StatusSeeOther {
		t.Errorf("note form: %d", code)
	}
	if code := post("/incidents/1/respond", url.Values{"action": {"explode"}}); code != http.StatusBadRequest {
		t.Errorf("unknown action: %d, want 400", code)
	}
	if code := post("/incidents/1/respond", url.Values{"action": {"resolve"}}); code != http.StatusSeeOther {
		t.Errorf("resolve form: %d", code)
	}
	if code := post("/incidents/1/postmortem", url.Values{"action": {"draft"}}); code != http.StatusSeeOther {
		t.Errorf("draft form: %d", code)
	}
	if code := post("/incidents/1/postmortem", url.Values{"action": {"save"}, "status": {"final"}, "root_cause": {"The primary's disk filled."},
		"questions": {"Why did no alert fire?\n\nWhy was the disk not monitored?"}}); code != http.StatusSeeOther {
		t.Errorf("save form: %d", code)
	}
	page = get("/incidents/1/postmortem")
	for _, want := range []string{"The primary&#39;s disk filled.", "Why was the disk not monitored?", "failed over to the standby", "status: final"} {
		if !strings.Contains(page, want) {
			t.Errorf("postmortem page lacks %q", want)
		}
	}
	for _, path := range []string{"/services/checkout", "/search?q=standby", "/reports"} {
		get(path)
	}
	if !strings.Contains(get("/search?q=standby"), "Checkout is down") {
		t.Error("search page does not find the incident by its note")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// rotaConfig pages oscar first for checkout, then olga.
const rotaConfig = `
users:
  - {id: alice}
  - {id: bob}
  - {id: oscar, contact_methods: [{type: webhook, address: "http://127.0.0.1:9/"}]}
  - {id: olga, contact_methods: [{type: webhook, address: "http://127.0.0.1:9/"}]}
escalation_policies:
  - id: rota
    steps:
      - {escalate_after: 10m, targets: [{user: oscar}]}
      - {escalate_after: 10m, targets: [{user: olga}]}
`

func TestADeclaredIncidentWithoutACommanderGetsTheOnCallPerson(t *testing.T) {
	db := storetest.SQLite(t, app.Schemas())
	e := newEnvWith(t, db, strings.Replace(responseConfig, "    team: payments\n", "    team: payments\n    escalation_policy: rota\n", 1)+rotaConfig)
	var inc incident.Incident
	e.want(http.StatusCreated, "POST", "/api/v1/incidents", e.responder, map[string]any{"service": "checkout", "title": "a",
		"roles": map[string]string{"scribe": "bob"}}, &inc)
	if inc.Roles["commander"] != "oscar" || inc.Roles["scribe"] != "bob" || inc.SEV != "SEV3" {
		t.Errorf("roles = %v, sev %s; want oscar as commander from on-call, bob as scribe, SEV3 by default", inc.Roles, inc.SEV)
	}
	e.want(http.StatusCreated, "POST", "/api/v1/incidents", e.responder, map[string]any{"service": "checkout", "title": "b",
		"roles": map[string]string{"commander": "alice"}}, &inc)
	if inc.Roles["commander"] != "alice" {
		t.Errorf("a commander given by hand was replaced: %v", inc.Roles)
	}
}

// publicPage is a status page that shows checkout.
const publicPage = `
status_pages:
  - id: public
    title: Acme Status
    components:
      - {id: checkout, name: Checkout, service: checkout}
`

// statusPage is what a status page published, as its public API shows it.
type statusPage struct {
	// published is the last postmortem report on the page: the component it is about, the
	// incident's title and the report's summary.
	published string
}

func (e *env) statusPage(id string) statusPage {
	e.t.Helper()
	var doc struct {
		Incidents []struct {
			Name       string `json:"name"`
			Components []struct {
				ID string `json:"id"`
			} `json:"components"`
			Updates []struct {
				Status string `json:"status"`
				Body   string `json:"body"`
			} `json:"incident_updates"`
		} `json:"incidents"`
	}
	e.want(http.StatusOK, "GET", "/status/"+id+"/api/v2/incidents.json", "", nil, &doc)
	var p statusPage
	for _, inc := range doc.Incidents {
		for _, u := range inc.Updates {
			if summary, ok := strings.CutPrefix(u.Body, "Summary\n"); ok && len(inc.Components) > 0 && p.published == "" {
				summary, _, _ = strings.Cut(summary, "\n")
				p.published = inc.Components[0].ID + ": " + inc.Name + ": " + summary
			}
		}
	}
	return p
}
