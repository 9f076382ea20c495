package readiness_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/readiness"
	"github.com/nines-dev/nines/internal/storetest"
)

// readyConfig is a service that passes every computed check once nines has seen its health
// check pass, its backup ping, a deploy and a drill pass. Each part a check reads is on lines
// of its own, so a case can take it out.
const readyConfig = `
teams:
  - id: payments
    members: [alice, bob]
    working_hours: {time_zone: UTC, start: "00:00", end: "24:00"}
users:
  - {id: alice, name: Alice, contact_methods: [{type: email, address: alice@example.com}]}
  - {id: bob, name: Bob, contact_methods: [{type: email, address: bob@example.com}]}
schedules:
  - id: rota
    layers:
      - name: primary
        rotation: {length: 1w, handoff: "2026-01-05T09:00"}
        users: [alice, bob]
escalation_policies:
  - id: pay-policy
    steps:
      - {escalate_after: 10m, targets: [{schedule: rota}]}
      - {escalate_after: 10m, targets: [{user: bob}]}
services:
  - id: checkout
    name: Checkout
    team: payments
    escalation_policy: pay-policy
    urgency: high
    runbook: https://runbooks.example.com/checkout
    integrations: [{type: events_v2, key: 0123456789abcdef0123456789abcdef}]
    readiness:
      tier: 1
      dashboards: [https://grafana.example.com/d/checkout]
      drills: true
monitors:
  - {id: checkout-health, service: checkout, type: http, url: "http://127.0.0.1:1/healthz", locations: [eu-west]}
  - {id: checkout-backup, service: checkout, type: heartbeat, uuid: 6f1e0c2b-7a10-4d2b-9a43-5b6c1c361d7e, period: 1d, grace: 1h}
slos:
  - {id: checkout-availability, service: checkout, objective: 99.9, window: 30d, sli: {events: {source: push}}}
drills:
  - {id: paging, service: checkout, kind: page}
notifications:
  email:
    smtp: {host: 127.0.0.1, port: SMTP_PORT, from: nines@example.com, tls: none}
`

var now = time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC)

type nines struct {
	t      *testing.T
	app    *app.App
	url    string
	clock  *clock.Fake
	token  string
	agent  string
	viewer string
	person string // alice's personal token
}

func start(t *testing.T, yaml string) *nines {
	t.Helper()
	smtp := notifytest.StartSMTP(t, "none")
	cfg, err := config.Parse("nines.yaml", []byte(strings.Replace(yaml, "SMTP_PORT", fmt.Sprint(smtp.Port()), 1)))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(now)
	hs := httptest.NewUnstartedServer(nil)
	a, err := app.New(context.Background(), config.NewLive(cfg), storetest.SQLite(t, app.Schemas()), clk, slog.New(slog.NewTextHandler(io.Discard, nil)),
		app.Options{BaseURL: "http://" + hs.Listener.Addr().String(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = a.Web.Handler()
	hs.Start()
	a.Start()
	t.Cleanup(func() { hs.Close(); a.Stop() })
	n := &nines{t: t, app: a, url: hs.URL, clock: clk}
	ctx := context.Background()
	if n.token, _, err = a.Tokens.Create(ctx, "responder", auth.Responder, 0); err != nil {
		t.Fatal(err)
	}
	if n.viewer, _, err = a.Tokens.Create(ctx, "viewer", auth.Viewer, 0); err != nil {
		t.Fatal(err)
	}
	if n.person, _, err = a.Tokens.CreateFor(ctx, "alice", "alice-laptop", auth.Responder, 0, nil); err != nil {
		t.Fatal(err)
	}
	if n.agent, _, err = a.Tokens.CreateAgent(ctx, "agent", "eu-west", 0, nil); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *nines) call(method, path, token string, body any, want int, out any) {
	n.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, n.url+path, r)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		n.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			n.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

func (n *nines) report() readiness.Report {
	n.t.Helper()
	var r readiness.Report
	n.call("GET", "/api/v1/services/checkout/readiness", n.viewer, nil, http.StatusOK, &r)
	return r
}

func (n *nines) check(id string) readiness.Check {
	n.t.Helper()
	for _, c := range n.report().Checks {
		if c.ID == id {
			return c
		}
	}
	n.t.Fatalf("no check %s on the scorecard", id)
	return readiness.Check{}
}

// seen is what nines sees of a service that is ready: the health check passing (an agent's
// result), the backup heartbeat's ping, a deploy, a page drill acknowledged, and every attested
// check attested. Steps named in skip are left out.
func (n *nines) seen(skip string) {
	n.t.Helper()
	if skip != "health_check" {
		n.call("POST", "/api/v1/probe/results", n.agent, map[string]any{"results": []map[string]any{
			{"monitor_id": "checkout-health", "at": now.Format(time.RFC3339), "ok": true}}}, http.StatusOK, nil)
	}
	if skip != "backup" {
		n.call("GET", "/ping/6f1e0c2b-7a10-4d2b-9a43-5b6c1c361d7e", "", nil, http.StatusOK, nil)
	}
	if skip != "deploys" {
		n.call("POST", "/api/v1/changes", n.token, map[string]any{"service": "checkout", "version": "v42"}, http.StatusCreated, nil)
	}
	if skip != "drill" {
		var run struct{ ID int64 }
		n.call("POST", "/api/v1/services/checkout/drills/paging/runs", n.token, map[string]any{}, http.StatusAccepted, &run)
		incs, _, err := n.app.Incidents.List(context.Background(), incident.Filter{})
		if err != nil || len(incs) != 1 {
			var r json.RawMessage
			n.call("GET", fmt.Sprintf("/api/v1/services/checkout/drill-runs/%d", run.ID), n.viewer, nil, http.StatusOK, &r)
			n.t.Fatalf("the drill's incident: %v %v %s", incs, err, r)
		}
		n.app.Escalation.Wait()
		n.call("POST", fmt.Sprintf("/api/v1/incidents/%d/acknowledge", incs[0].ID), n.token, map[string]any{}, http.StatusOK, nil)
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var r struct{ State, Reason string }
			n.call("GET", fmt.Sprintf("/api/v1/services/checkout/drill-runs/%d", run.ID), n.viewer, nil, http.StatusOK, &r)
			if r.State == "passed" {
				break
			}
			if time.Now().After(deadline) {
				n.t.Fatalf("the drill did not pass: %s (%s)", r.State, r.Reason)
			}
		}
	}
	for _, d := range readiness.Defaults() {
		if d.Kind == readiness.Attested && skip != d.ID {
			n.call("POST", "/api/v1/services/checkout/readiness/attestations", n.person, map[string]any{"check": d.ID, "note": "https://evidence.example.com/" + d.ID}, http.StatusCreated, nil)
		}
	}
}

// TestEveryCheckFlipsFromFailToPass takes, for each check of the default checklist, a service
// that lacks only what that check reads, sees the check fail (and say why and how to fix it),
// then the ready service, where it passes. The ready service passes them all, and so `nines
// readiness` would exit 0 for it.
func TestEveryCheckFlipsFromFailToPass(t *testing.T) {
	drop := func(lines ...string) func(string) string {
		return func(y string) string {
			for _, l := range lines {
				if !strings.Contains(y, l) {
					t.Fatalf("the config has no %q to take out", l)
				}
				y = strings.Replace(y, l, "", 1)
			}
			return y
		}
	}
	cases := []struct {
		check string
		yaml  func(string) string
		skip  string
		then  func(n *nines)
		why   string
	}{
		{check: "criticality", yaml: drop("    urgency: high\n", "      tier: 1\n"), why: "neither urgency nor readiness.tier is set"},
		{check: "owner", yaml: drop("    team: payments\n"), skip: "drill", why: "names no team"},
		{check: "escalation", yaml: drop("      - {escalate_after: 10m, targets: [{user: bob}]}\n"), why: "has one step"},
		{check: "coverage", yaml: func(y string) string {
			return strings.Replace(y, "        users: [alice, bob]\n", "        users: [alice, bob]\n        restrictions: [{days: [weekdays], start: \"09:00\", end: \"17:00\"}]\n", 1)
			// From Monday 08:00 UTC, 28 days: the first gap is 08:00-09:00 that Monday, then
			// every weeknight (17:00-09:00, four a week) and every weekend (Friday 17:00 to
			// Monday 09:00): 1 + 4 x 5 = 21 gaps. Covered: 20 weekdays x 8 h = 160 h of 672 h.
		}, why: "nobody is on call from 2026-03-30 08:00Z to 2026-03-30 09:00Z (21 gaps, 512h0m0s uncovered in the next 4 weeks)"},
		{check: "health_check", skip: "health_check", then: func(n *nines) {
			n.call("POST", "/api/v1/probe/results", n.agent, map[string]any{"results": []map[string]any{
				{"monitor_id": "checkout-health", "at": now.Format(time.RFC3339), "ok": false, "cause": "connect", "message": "connection refused"}}}, http.StatusOK, nil)
		}, why: "health check monitor checkout-health is down"},
		{check: "health_check", yaml: drop("  - {id: checkout-health, service: checkout, type: http, url: \"http://127.0.0.1:1/healthz\", locations: [eu-west]}\n"), skip: "health_check",
			why: "no monitor checks the service's health URL"},
		{check: "slis", yaml: drop("  - {id: checkout-availability, service: checkout, objective: 99.9, window: 30d, sli: {events: {source: push}}}\n"), why: "has no SLO"},
		{check: "backup", yaml: drop("  - {id: checkout-backup, service: checkout, type: heartbeat, uuid: 6f1e0c2b-7a10-4d2b-9a43-5b6c1c361d7e, period: 1d, grace: 1h}\n"),
			skip: "backup", why: "no heartbeat monitor watches the service's backups"},
		{check: "deploys", skip: "deploys", why: "no deploy recorded in the last 30 days"},
		{check: "runbook", yaml: drop("    runbook: https://runbooks.example.com/checkout\n"), why: "has no runbook"},
		{check: "dashboards", yaml: drop("      dashboards: [https://grafana.example.com/d/checkout]\n"), why: "no dashboard is linked"},
		{check: "action_items", then: func(n *nines) {
			var inc struct{ ID int64 }
			n.call("POST", "/api/v1/incidents", n.token, map[string]any{"service": "checkout", "title": "card payments failing"}, http.StatusCreated, &inc)
			n.call("POST", fmt.Sprintf("/api/v1/incidents/%d/postmortem", inc.ID), n.token, map[string]any{}, http.StatusCreated, nil)
			n.call("POST", fmt.Sprintf("/api/v1/incidents/%d/postmortem/actions", inc.ID), n.token,
				map[string]any{"title": "retry card authorisations", "owner": "alice", "kind": "fix", "due": "2026-03-20"}, http.StatusCreated, nil)
		}, why: `1 overdue: #1 "retry card authorisations" due 2026-03-20`},
		{check: "drill", skip: "drill", why: "no drill has passed yet"},
		{check: "restore_tested", skip: "restore_tested", why: "nobody has attested it"},
		{check: "restore_tested", then: func(n *nines) { n.clock.Advance(200 * 24 * time.Hour) },
			why: "attested by user:alice on 2026-03-30, 200 days ago; that expired on 2026-06-28"},
		{check: "threat_model", skip: "threat_model", why: "nobody has attested it"},
	}
	for _, tc := range cases {
		t.Run(tc.check+" fails: "+tc.why, func(t *testing.T) {
			yaml := readyConfig
			if tc.yaml != nil {
				yaml = tc.yaml(yaml)
			}
			n := start(t, yaml)
			n.seen(tc.skip)
			if tc.then != nil {
				tc.then(n)
			}
			c := n.check(tc.check)
			if c.Status != readiness.Fail || !strings.Contains(c.Why, tc.why) || c.Fix == "" {
				t.Errorf("%s: %s (%s), fix %q; want fail saying %q and how to fix it", tc.check, c.Status, c.Why, c.Fix, tc.why)
			}
			if rep := n.report(); rep.Ready {
				t.Error("the service is ready with a failing check")
			}
		})
	}
	t.Run("the ready service passes every check", func(t *testing.T) {
		n := start(t, readyConfig)
		n.seen("")
		rep := n.report()
		for _, c := range rep.Checks {
			if c.Status != readiness.Pass || c.Fix != "" {
				t.Errorf("%s: %s (%s), fix %q", c.ID, c.Status, c.Why, c.Fix)
			}
		}
		if !rep.Ready || rep.Pass != len(readiness.Defaults()) {
			t.Errorf("ready %v, %d of %d pass", rep.Ready, rep.Pass, len(readiness.Defaults()))
		}
	})
}

// TestChecklistIsConfig: the config drops default checks and adds attested ones, for everyone
// and per team; an added check with a default's id sets its expiry.
func TestChecklistIsConfig(t *testing.T) {
	yaml := strings.Replace(readyConfig, "drills:\n", `readiness:
  drop: [threat_model]
  add:
    - {id: restore_tested, expires: 30d}
  teams:
    - team: payments
      drop: [dashboards]
      add: [{id: pci_scan, name: PCI scan passed, how: run the quarterly scan, expires: 90d}]
drills:
`, 1)
	n := start(t, yaml)
	rep := n.report()
	ids := map[string]readiness.Check{}
	for _, c := range rep.Checks {
		ids[c.ID] = c
	}
	if _, ok := ids["threat_model"]; ok {
		t.Error("threat_model was dropped but is on the list")
	}
	if _, ok := ids["dashboards"]; ok {
		t.Error("the team dropped dashboards but it is on the list")
	}
	if c, ok := ids["pci_scan"]; !ok || c.Kind != readiness.Attested || c.ExpiresAfterDays != 90 || c.Fix != "run the quarterly scan" {
		t.Errorf("pci_scan: %+v", c)
	}
	if c := ids["restore_tested"]; c.ExpiresAfterDays != 30 {
		t.Errorf("restore_tested expires after %d days, want 30", c.ExpiresAfterDays)
	}
	var bad struct{ Error string }
	n.call("POST", "/api/v1/services/checkout/readiness/attestations", n.person, map[string]any{"check": "runbook"}, http.StatusBadRequest, &bad)
	if !strings.Contains(bad.Error, `"runbook" is not a check a person attests`) || !strings.Contains(bad.Error, "pci_scan") {
		t.Errorf("attesting a computed check: %q", bad.Error)
	}
	n.call("POST", "/api/v1/services/checkout/readiness/attestations", n.person, map[string]any{"check": "pci_scan", "note": "https://scans.example.com/q1"}, http.StatusCreated, nil)
	if c := n.check("pci_scan"); c.Status != readiness.Pass || c.Attestation == nil || c.Attestation.Note != "https://scans.example.com/q1" {
		t.Errorf("pci_scan after attesting: %+v", c)
	}
	n.call("POST", "/api/v1/services/checkout/readiness/attestations", n.viewer, map[string]any{"check": "pci_scan"}, http.StatusForbidden, nil)
	n.call("GET", "/api/v1/services/nowhere/readiness", n.viewer, nil, http.StatusNotFound, nil)
}

// TestAttestationsComeFromAPersonWithEvidence: a person attests (a personal token; a shared
// token is refused with 403 saying so), with a note, as plain text; input refused names its
// field and says nothing of nines' own types. Nothing refused is recorded.
func TestAttestationsComeFromAPersonWithEvidence(t *testing.T) {
	n := start(t, readyConfig)
	const path = "/api/v1/services/checkout/readiness/attestations"
	post := func(token, body string) (int, string) {
		req, _ := http.NewRequest("POST", n.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, token, body string
		code              int
		says              string
	}{
		{"a shared token is refused: a person must attest", n.token, `{"check": "logs", "note": "https://logs.example.com"}`, 403, "a person must attest"},
		{"an attestation without a note is refused", n.person, `{"check": "logs"}`, 400, "note: say what shows it is done"},
		{"a blank note is refused", n.person, `{"check": "logs", "note": "   "}`, 400, "note: say what shows it is done"},
		{"a note with a NUL is refused", n.person, `{"check": "logs", "note": "https://x.example.com/\u0000"}`, 400, "note"},
		{"a note with a right-to-left override is refused", n.person, `{"check": "logs", "note": "https://evil.example.com/\u202Egpj.exe"}`, 400, "note: contains the control character U+202E"},
		{"a note with a bidi isolate is refused", n.person, `{"check": "logs", "note": "see \u2067x\u2069"}`, 400, "note: contains the control character U+2067"},
		{"a field of the wrong type is named", n.person, `{"check": 5, "note": "x"}`, 400, "check: wrong type: got number, want string"},
		{"a body that is not an object says so, naming no Go type", n.person, `["logs"]`, 400, "the body is a JSON array; want a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(tc.token, tc.body)
			if code != tc.code || !strings.Contains(body, tc.says) || strings.Contains(body, "attestRequest") || strings.Contains(body, "api.") {
				t.Errorf("%d %s; want %d saying %q", code, body, tc.code, tc.says)
			}
			if c := n.check("logs"); c.Attestation != nil {
				t.Errorf("a refused attestation was recorded: %+v", c.Attestation)
			}
		})
	}
	if code, body := post(n.person, `{"check": "logs", "note": "https://logs.example.com/retention\nrotated daily"}`); code != 201 || !strings.Contains(body, `"attested_by":"user:alice"`) {
		t.Errorf("alice attesting: %d %s", code, body)
	}
}

// TestAttestationsExpireByTheExpiryInForce: an attestation expires after the check's expiry in
// the config in force, counted from when it was made: tightening expires applies to it.
func TestAttestationsExpireByTheExpiryInForce(t *testing.T) {
	n := start(t, readyConfig)
	n.call("POST", "/api/v1/services/checkout/readiness/attestations", n.person, map[string]any{"check": "restore_tested", "note": "https://restore.example.com/1"}, http.StatusCreated, nil)
	n.clock.Advance(40 * 24 * time.Hour)
	if c := n.check("restore_tested"); c.Status != readiness.Pass || !strings.Contains(c.Why, "holds until 2026-06-28") {
		t.Fatalf("after 40 days of 90: %s (%s), want pass", c.Status, c.Why)
	}
	tight, err := config.Parse("nines.yaml", []byte(strings.Replace(strings.Replace(readyConfig, "drills:\n", "readiness:\n  add: [{id: restore_tested, expires: 30d}]\ndrills:\n", 1), "SMTP_PORT", "25", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.app.Config.Swap(tight); err != nil {
		t.Fatal(err)
	}
	if c := n.check("restore_tested"); c.Status != readiness.Fail || !strings.Contains(c.Why, "that expired on 2026-04-29") || c.Attestation == nil || !c.Attestation.ExpiresAt.Equal(now.Add(30*24*time.Hour)) {
		t.Errorf("after expires was tightened to 30d: %s (%s), want fail, expired 30 days after it was made", c.Status, c.Why)
	}
}

// TestCheckTextsSayWhatToDo: the fix of a check says what to do in the service's situation.
func TestCheckTextsSayWhatToDo(t *testing.T) {
	n := start(t, readyConfig)
	n.seen("drill")
	if c := n.check("deploys"); c.Status != readiness.Pass || !strings.HasPrefix(c.Why, "1 deploy in the last 30 days") {
		t.Errorf("deploys: %s (%s), want 1 deploy, singular", c.Status, c.Why)
	}
	if c := n.check("drill"); c.Status != readiness.Fail || !strings.HasPrefix(c.Fix, "run a drill of the service") {
		t.Errorf("drill of a service opted in: fix %q, want to run one (not to opt in)", c.Fix)
	}
	paused := start(t, strings.Replace(strings.Replace(readyConfig, `locations: [eu-west]}`, `locations: [eu-west], paused: true}`, 1), "    urgency: high\n", "", 1))
	if c := paused.check("health_check"); c.Status != readiness.Unknown || c.Why != "health check monitor checkout-health is paused" || c.Fix != "resume monitor checkout-health (remove paused: true from it)" {
		t.Errorf("a paused health monitor: %s (%s), fix %q", c.Status, c.Why, c.Fix)
	}
	if c := paused.check("criticality"); c.Status != readiness.Pass {
		t.Errorf("criticality with a tier and no urgency: %s (%s), want pass", c.Status, c.Why)
	}
	noCrit := start(t, strings.Replace(strings.Replace(readyConfig, "    urgency: high\n", "", 1), "      tier: 1\n", "", 1))
	if c := noCrit.check("criticality"); !strings.Contains(c.Fix, " or readiness.tier") {
		t.Errorf("criticality fix: %q, want urgency or tier", c.Fix)
	}
}
