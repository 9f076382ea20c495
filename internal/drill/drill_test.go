package drill_test

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
	"github.com/nines-dev/nines/internal/drill"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/notify/webhook"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/toxitest"
)

// drillConfig is a team working 09:00-17:00 in Berlin, its on-call person, and drills of its
// checkout service. TOXIPROXY and RECEIVER are replaced per test.
const drillConfig = `
teams:
  - id: payments
    members: [alice]
    working_hours: {time_zone: Europe/Berlin, days: [weekdays], start: "09:00", end: "17:00"}
users:
  - {id: alice, name: Alice, contact_methods: [{type: email, address: alice@example.com}]}
schedules:
  - id: rota
    layers: [{name: primary, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [alice]}]
escalation_policies:
  - {id: pay-policy, steps: [{escalate_after: 10m, targets: [{schedule: rota}]}]}
services:
  - id: checkout
    name: Checkout
    team: payments
    escalation_policy: pay-policy
    integrations: [{type: events_v2, key: 0123456789abcdef0123456789abcdef}]
    readiness: {drills: true}
monitors:
  - {id: checkout-health, name: Checkout health, service: checkout, type: http, url: "http://127.0.0.1:1/healthz", paused: true}
slos:
  - {id: checkout-availability, service: checkout, objective: 99.9, window: 30d, sli: {events: {source: push}}}
drills:
  - id: page-path
    service: checkout
    kind: page
    targets: {detect: 1m, page: 2m, acknowledge: 5m}
    limit: 10m
  - id: slow-db
    service: checkout
    kind: toxiproxy
    toxiproxy: {url: TOXIPROXY, proxy: checkout-db, toxic: latency, attributes: {latency: 2000}}
    detected_by: {alerts: ['class="latency"']}
    targets: {detect: 2m, acknowledge: 5m}
    limit: 10m
  - id: chaos-tool
    service: checkout
    kind: webhook
    webhook: {start_url: RECEIVER/start, stop_url: RECEIVER/stop, secret: drill-signing-secret}
    limit: 10m
  - id: unseen
    service: checkout
    kind: webhook
    webhook: {start_url: RECEIVER/start, stop_url: RECEIVER/stop}
    detected_by: {monitors: [checkout-health]}
notifications:
  email:
    smtp: {host: 127.0.0.1, port: SMTP_PORT, from: nines@example.com, tls: none}
`

// monday10 is 10:00 in Berlin on a Monday (summer time, UTC+2): inside the team's hours.
var monday10 = time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC)

// nines is the whole of nines on loopback with a fake clock, a real SMTP server, and optionally
// a real Toxiproxy and a real HTTP receiver for the chaos tool.
type nines struct {
	t        *testing.T
	app      *app.App
	url      string
	clock    *clock.Fake
	smtp     *notifytest.SMTP
	token    string
	db       *store.DB
	yaml     string
	base     string // yaml as the test started
	stop     func()
	toxi     *toxitest.Server
	receiver *notifytest.Receiver
}

type options struct {
	toxiproxy bool
	receiver  bool
	now       time.Time
}

func start(t *testing.T, db *store.DB, o options) *nines {
	t.Helper()
	n := &nines{t: t, db: db, smtp: notifytest.StartSMTP(t, "none")}
	toxiURL, receiverURL := "http://127.0.0.1:1", "http://127.0.0.1:1"
	if o.toxiproxy {
		n.toxi = toxitest.Start(t)
		toxiURL = n.toxi.API
	}
	if o.receiver {
		n.receiver = notifytest.StartReceiver(t)
		receiverURL = n.receiver.URL
	}
	n.yaml = strings.NewReplacer("SMTP_PORT", fmt.Sprint(n.smtp.Port()), "TOXIPROXY", toxiURL, "RECEIVER", receiverURL).Replace(drillConfig)
	n.base = n.yaml
	if o.now.IsZero() {
		o.now = monday10
	}
	n.clock = clock.NewFake(o.now)
	n.boot()
	return n
}

// boot runs a nines process on the test's database and clock (again, after stop: a restart).
func (n *nines) boot() {
	t := n.t
	cfg, err := config.Parse("nines.yaml", []byte(n.yaml))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(nil)
	a, err := app.New(context.Background(), config.NewLive(cfg), n.db, n.clock, slog.New(slog.NewTextHandler(io.Discard, nil)),
		app.Options{BaseURL: "http://" + hs.Listener.Addr().String(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	a.Drills.Rand = func(int64) int64 { return 0 }
	hs.Config.Handler = a.Web.Handler()
	hs.Start()
	a.Start()
	stopped := false
	n.stop = func() {
		if !stopped {
			stopped = true
			hs.Close()
			a.Stop()
		}
	}
	t.Cleanup(n.stop)
	n.app, n.url = a, hs.URL
	if n.token, _, err = a.Tokens.Create(context.Background(), "responder", auth.Responder, 0); err != nil {
		t.Fatal(err)
	}
}

func (n *nines) call(method, path string, body any, want int, out any) []byte {
	n.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, n.url+path, r)
	req.Header.Set("Content-Type", "application/json")
	if !strings.HasPrefix(path, "/v2/") {
		req.Header.Set("Authorization", "Bearer "+n.token)
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
	return data
}

// runDrill asks to run a drill now and returns the run as answered.
func (n *nines) runDrill(id string, want int) drill.Run {
	n.t.Helper()
	var body json.RawMessage
	n.call("POST", "/api/v1/services/checkout/drills/"+id+"/runs", map[string]any{}, want, &body)
	var run drill.Run
	if want == http.StatusConflict {
		var refused struct{ Run drill.Run }
		json.Unmarshal(body, &refused)
		return refused.Run
	}
	json.Unmarshal(body, &run)
	return run
}

type runDetail struct {
	drill.Run
	Events []drill.Event
}

func (n *nines) run(id int64) runDetail {
	n.t.Helper()
	var d runDetail
	n.call("GET", fmt.Sprintf("/api/v1/services/checkout/drill-runs/%d", id), nil, http.StatusOK, &d)
	return d
}

// waitRun polls a run until cond holds for it.
func (n *nines) waitRun(id int64, what string, cond func(runDetail) bool) runDetail {
	n.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := n.run(id)
		if cond(d) {
			return d
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("run %d: %s did not happen: %+v", id, what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (n *nines) incidents(states ...incident.State) []incident.Incident {
	n.t.Helper()
	incs, _, err := n.app.Incidents.List(context.Background(), incident.Filter{States: states, Limit: 100})
	if err != nil {
		n.t.Fatal(err)
	}
	return incs
}

// mailsTo are the pages mailed to alice, once deliveries under way have finished.
func (n *nines) mailsTo(addr string) []notifytest.Mail {
	n.app.Escalation.Wait()
	var out []notifytest.Mail
	for _, m := range n.smtp.Mails() {
		if strings.Contains(strings.Join(m.To, ","), addr) {
			out = append(out, m)
		}
	}
	return out
}

// trigger sends the latency alert Prometheus sends when checkout is slow: what the slow-db
// drill's fault is detected by (class latency).
func (n *nines) trigger(key string) {
	n.t.Helper()
	n.call("POST", "/v2/enqueue", map[string]any{"routing_key": "0123456789abcdef0123456789abcdef", "event_action": "trigger", "dedup_key": key,
		"payload": map[string]string{"summary": "checkout p99 above 2s", "source": "prometheus", "severity": "critical", "class": "latency"}}, http.StatusAccepted, nil)
}

// realAlert sends an Events v2 trigger about something no drill does.
func (n *nines) realAlert(key, summary string) {
	n.t.Helper()
	n.call("POST", "/v2/enqueue", map[string]any{"routing_key": "0123456789abcdef0123456789abcdef", "event_action": "trigger", "dedup_key": key,
		"payload": map[string]string{"summary": summary, "source": "db-host-3", "severity": "critical", "class": "disk"}}, http.StatusAccepted, nil)
}

// timelineHas reports whether an incident's timeline has an entry of a type.
func (n *nines) timelineHas(id int64, typ string) bool {
	n.t.Helper()
	tl, err := n.app.Incidents.Timeline(context.Background(), id)
	if err != nil {
		n.t.Fatal(err)
	}
	for _, e := range tl {
		if e.Type == typ {
			return true
		}
	}
	return false
}

func (n *nines) check(id string) (status, why string) {
	n.t.Helper()
	var sc struct {
		Checks []struct{ ID, Status, Why string }
	}
	n.call("GET", "/api/v1/services/checkout/readiness", nil, http.StatusOK, &sc)
	for _, c := range sc.Checks {
		if c.ID == id {
			return c.Status, c.Why
		}
	}
	n.t.Fatalf("no check %s", id)
	return "", ""
}

func seconds(p *float64) string {
	if p == nil {
		return "never"
	}
	return fmt.Sprint(*p)
}

// TestPageDrillTravelsTheRealPagingPathAndIsScored runs a page drill: its synthetic alert opens
// an incident marked [DRILL], alice is mailed a page that says it is a drill, she acknowledges
// 90 s later, and the drill is scored from its own timeline: detected at once, paged at once,
// acknowledged in 90 s, within every target. The synthetic alert is resolved, and the
// readiness check of drills passes.
func TestPageDrillTravelsTheRealPagingPathAndIsScored(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		n := start(t, db, options{})
		var before struct{ Checks []struct{ ID, Status string } }
		n.call("GET", "/api/v1/services/checkout/readiness", nil, http.StatusOK, &before)
		for _, c := range before.Checks {
			if c.ID == "drill" && c.Status != "fail" {
				t.Fatalf("the drill check before any drill: %s, want fail", c.Status)
			}
		}

		run := n.runDrill("page-path", http.StatusAccepted)
		if run.State != drill.Running || run.FaultAt == nil {
			t.Fatalf("the drill after run now: %+v, want running", run)
		}
		incs := n.incidents(incident.Triggered)
		if len(incs) != 1 || !strings.HasPrefix(incs[0].Title, "[DRILL] ") {
			t.Fatalf("open incidents: %+v, want one titled [DRILL]", incs)
		}
		mails := n.mailsTo("alice@example.com")
		if len(mails) != 1 || !strings.Contains(mails[0].Data, "[DRILL]") {
			t.Fatalf("pages to alice: %d, want one that says [DRILL]", len(mails))
		}
		n.waitRun(run.ID, "the page recorded", func(d runDetail) bool { return d.PagedAt != nil })

		n.clock.Advance(90 * time.Second)
		n.call("POST", fmt.Sprintf("/api/v1/incidents/%d/acknowledge", incs[0].ID), map[string]any{}, http.StatusOK, nil)
		d := n.waitRun(run.ID, "the drill passing", func(d runDetail) bool { return !drill.Live(d.State) })
		if d.State != drill.Passed {
			t.Fatalf("the drill ended %s (%s), want passed", d.State, d.Reason)
		}
		if seconds(d.Score.DetectS) != "0" || seconds(d.Score.PageS) != "0" || seconds(d.Score.AcknowledgeS) != "90" {
			t.Errorf("scores: detect %s, page %s, acknowledge %s; want 0, 0 and 90 seconds", seconds(d.Score.DetectS), seconds(d.Score.PageS), seconds(d.Score.AcknowledgeS))
		}
		if d.AcknowledgedBy != "token:responder" || d.PagedUser != "alice" || d.IncidentID != incs[0].ID {
			t.Errorf("acknowledged by %q, paged %q, incident %d", d.AcknowledgedBy, d.PagedUser, d.IncidentID)
		}
		var types []string
		for _, e := range d.Events {
			types = append(types, e.Type)
		}
		if got := strings.Join(types, " "); got != "scheduled starting fault detected paged acknowledged passed" {
			t.Errorf("the drill's timeline: %s", got)
		}
		timeline, err := n.app.Incidents.Timeline(context.Background(), incs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		marked := false
		for _, e := range timeline {
			marked = marked || e.Type == drill.EventDetected
		}
		if !marked {
			t.Error("the incident's timeline does not say it is a drill")
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(n.incidents(incident.Resolved)) != 1 {
			if time.Now().After(deadline) {
				t.Fatal("the drill's incident was not resolved when the drill ended")
			}
			time.Sleep(20 * time.Millisecond)
		}
		var after struct {
			Checks []struct{ ID, Status, Why string }
		}
		n.call("GET", "/api/v1/services/checkout/readiness", nil, http.StatusOK, &after)
		for _, c := range after.Checks {
			if c.ID == "drill" && c.Status != "pass" {
				t.Errorf("the drill check after a passed drill: %s (%s), want pass", c.Status, c.Why)
			}
		}
	})
}

// TestDrillsMissingTheirTargetsFail: a drill acknowledged after its target fails and says by how
// much; one nobody acknowledges ends itself at its limit, its alert resolved.
func TestDrillsMissingTheirTargetsFail(t *testing.T) {
	n := start(t, storetest.SQLite(t, app.Schemas()), options{})
	run := n.runDrill("page-path", http.StatusAccepted)
	n.waitRun(run.ID, "the page recorded", func(d runDetail) bool { return d.PagedAt != nil })
	n.clock.Advance(6 * time.Minute)
	inc := n.incidents(incident.Triggered)[0]
	n.call("POST", fmt.Sprintf("/api/v1/incidents/%d/acknowledge", inc.ID), map[string]any{}, http.StatusOK, nil)
	d := n.waitRun(run.ID, "the drill ending", func(d runDetail) bool { return !drill.Live(d.State) })
	if d.State != drill.Failed || d.Reason != "acknowledged in 6m0s, target 5m0s" {
		t.Errorf("acknowledged late: %s (%s), want failed: acknowledged in 6m0s, target 5m0s", d.State, d.Reason)
	}
	n.waitResolved(inc.ID)

	// Resolved by a person without acknowledging first: that answers the page.
	run = n.runDrill("page-path", http.StatusAccepted)
	n.waitRun(run.ID, "the page recorded", func(d runDetail) bool { return d.PagedAt != nil })
	n.clock.Advance(2 * time.Minute)
	n.call("POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", n.incidents(incident.Triggered)[0].ID), map[string]any{}, http.StatusOK, nil)
	d = n.waitRun(run.ID, "the drill ending", func(d runDetail) bool { return !drill.Live(d.State) })
	if d.State != drill.Passed || seconds(d.Score.AcknowledgeS) != "120" {
		t.Errorf("resolved by a person after 2m: %s (%s), acknowledged after %s", d.State, d.Reason, seconds(d.Score.AcknowledgeS))
	}

	run = n.runDrill("page-path", http.StatusAccepted)
	n.clock.Advance(10 * time.Minute)
	d = n.waitRun(run.ID, "the drill ending at its limit", func(d runDetail) bool { return !drill.Live(d.State) })
	if d.State != drill.Failed || d.Reason != "detected, but not acknowledged within the drill's limit of 10m0s" {
		t.Errorf("never acknowledged: %s (%s)", d.State, d.Reason)
	}
	n.waitResolved(d.IncidentID)
}

func (n *nines) waitResolved(id int64) {
	n.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		inc, err := n.app.Incidents.Get(context.Background(), id)
		if err != nil {
			n.t.Fatal(err)
		}
		if inc.State == incident.Resolved {
			return
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("incident %d is %s, want resolved", id, inc.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDrillsThatCannotStartSayWhyAndChangeNothing runs a drill where it must not start: outside
// the team's working hours (or with its limit running past them), while an incident is open on
// the service, under maintenance, with another drill under way, and with Toxiproxy unreachable
// or missing the proxy. Each answers 409 with why; no fault is injected, no page sent.
func TestDrillsThatCannotStartSayWhyAndChangeNothing(t *testing.T) {
	cases := []struct {
		name  string
		now   time.Time
		drill string
		setup func(n *nines)
		why   string
	}{
		{name: "a drill at 18:00 in Berlin is outside the team's working hours", now: time.Date(2026, 3, 30, 16, 0, 0, 0, time.UTC),
			drill: "page-path", why: "outside the working hours of team payments"},
		{name: "a drill whose limit runs past 17:00 does not start at 16:55", now: time.Date(2026, 3, 30, 14, 55, 0, 0, time.UTC),
			drill: "page-path", why: "outside the working hours of team payments"},
		{name: "a drill on a Saturday is outside the team's working hours", now: time.Date(2026, 4, 4, 9, 0, 0, 0, time.UTC),
			drill: "page-path", why: "outside the working hours"},
		{name: "a drill waits while an incident is open on the service", drill: "page-path",
			setup: func(n *nines) { n.trigger("real-problem") }, why: "is open on checkout; a drill waits until it is resolved"},
		{name: "a drill does not start under maintenance of the service", drill: "page-path",
			setup: func(n *nines) {
				n.call("POST", "/api/v1/maintenance", map[string]any{"name": "db upgrade", "services": []string{"checkout"},
					"start": monday10.Add(-time.Minute).Format(time.RFC3339), "end": monday10.Add(time.Hour).Format(time.RFC3339)}, http.StatusCreated, nil)
			}, why: "is under maintenance"},
		{name: "Toxiproxy unreachable refuses the drill", drill: "slow-db", why: "is unreachable"},
		{name: "a drill only a paused monitor could detect is refused", drill: "unseen",
			why: "nothing can detect the fault: monitor checkout-health of checkout is paused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := start(t, storetest.SQLite(t, app.Schemas()), options{now: tc.now})
			if tc.setup != nil {
				tc.setup(n)
			}
			openBefore := len(n.incidents(incident.Triggered))
			run := n.runDrill(tc.drill, http.StatusConflict)
			if run.State != drill.Refused || !strings.Contains(run.Reason, tc.why) {
				t.Errorf("run: %s (%s), want refused saying %q", run.State, run.Reason, tc.why)
			}
			if run.FaultAt != nil || run.FaultRemovedAt != nil {
				t.Errorf("a refused drill injected a fault: %+v", run)
			}
			if got := len(n.incidents(incident.Triggered)); got != openBefore {
				t.Errorf("open incidents went from %d to %d", openBefore, got)
			}
			if got := len(n.mailsTo("alice@example.com")); got != openBefore {
				t.Errorf("%d pages to alice, want %d", got, openBefore)
			}
		})
	}
	t.Run("a second drill waits for the one under way", func(t *testing.T) {
		n := start(t, storetest.SQLite(t, app.Schemas()), options{})
		n.runDrill("page-path", http.StatusAccepted)
		run := n.runDrill("chaos-tool", http.StatusConflict)
		if !strings.Contains(run.Reason, "is open on checkout") && !strings.Contains(run.Reason, "already under way") {
			t.Errorf("second drill: %s", run.Reason)
		}
	})
	t.Run("a Toxiproxy without the proxy refuses the drill and adds no toxic", func(t *testing.T) {
		n := start(t, storetest.SQLite(t, app.Schemas()), options{toxiproxy: true})
		n.toxi.Proxy("other", "127.0.0.1:1")
		run := n.runDrill("slow-db", http.StatusConflict)
		if !strings.Contains(run.Reason, `has no proxy "checkout-db"`) {
			t.Errorf("refusal: %q", run.Reason)
		}
		if toxics := n.toxi.Toxics("other"); len(toxics) != 0 {
			t.Errorf("toxics on another proxy: %v", toxics)
		}
	})
}

// TestToxiproxyDrillAddsTheToxicAndRemovesItWhenAcknowledged drives a real Toxiproxy: the drill
// adds its toxic to the proxy; an alert (as Prometheus would send one) opens the drill's incident;
// the acknowledgement ends the drill and removes the toxic. An abort removes it at once.
func TestToxiproxyDrillAddsTheToxicAndRemovesItWhenAcknowledged(t *testing.T) {
	n := start(t, storetest.SQLite(t, app.Schemas()), options{toxiproxy: true})
	n.toxi.Proxy("checkout-db", "127.0.0.1:1")
	run := n.runDrill("slow-db", http.StatusAccepted)
	want := fmt.Sprintf("nines-drill-%d:latency", run.ID)
	if toxics := n.toxi.Toxics("checkout-db"); len(toxics) != 1 || toxics[0] != want {
		t.Fatalf("toxics during the drill: %v, want [%s]", toxics, want)
	}
	n.clock.Advance(40 * time.Second)
	n.trigger("db-latency")
	inc := n.incidents(incident.Triggered)[0]
	if !strings.HasPrefix(inc.Title, "[DRILL] checkout p99") {
		t.Errorf("the incident opened during the drill is titled %q", inc.Title)
	}
	n.waitRun(run.ID, "the page recorded", func(d runDetail) bool { return d.PagedAt != nil })
	n.clock.Advance(20 * time.Second)
	n.call("POST", fmt.Sprintf("/api/v1/incidents/%d/acknowledge", inc.ID), map[string]any{}, http.StatusOK, nil)
	d := n.waitRun(run.ID, "the drill ending", func(d runDetail) bool { return !drill.Live(d.State) })
	if d.State != drill.Passed || seconds(d.Score.DetectS) != "40" || seconds(d.Score.AcknowledgeS) != "60" {
		t.Errorf("drill: %s (%s), detect %s, ack %s; want passed, 40 and 60", d.State, d.Reason, seconds(d.Score.DetectS), seconds(d.Score.AcknowledgeS))
	}
	if toxics := n.toxi.Toxics("checkout-db"); len(toxics) != 0 {
		t.Errorf("toxics after the drill: %v", toxics)
	}
	n.call("POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", inc.ID), map[string]any{}, http.StatusOK, nil)

	run = n.runDrill("slow-db", http.StatusAccepted)
	if len(n.toxi.Toxics("checkout-db")) != 1 {
		t.Fatal("the second drill added no toxic")
	}
	var aborted drill.Run
	n.call("POST", fmt.Sprintf("/api/v1/services/checkout/drill-runs/%d/abort", run.ID), map[string]any{}, http.StatusOK, &aborted)
	if aborted.State != drill.Aborted || aborted.AbortedBy != "token:responder" {
		t.Errorf("after abort: %s by %q", aborted.State, aborted.AbortedBy)
	}
	if toxics := n.toxi.Toxics("checkout-db"); len(toxics) != 0 {
		t.Errorf("toxics after the abort: %v", toxics)
	}
	n.call("POST", fmt.Sprintf("/api/v1/services/checkout/drill-runs/%d/abort", run.ID), map[string]any{}, http.StatusConflict, nil)
}

// TestRestartMidDrillRemovesTheToxic stops nines while a drill's toxic is on (the drill is not
// ended: as after kill -9) and starts it again on the same database: the drill's lease is not
// renewed, its timer comes due, the toxic is removed and the drill ends interrupted.
func TestRestartMidDrillRemovesTheToxic(t *testing.T) {
	n := start(t, storetest.SQLite(t, app.Schemas()), options{toxiproxy: true})
	n.toxi.Proxy("checkout-db", "127.0.0.1:1")
	run := n.runDrill("slow-db", http.StatusAccepted)
	if len(n.toxi.Toxics("checkout-db")) != 1 {
		t.Fatal("the drill added no toxic")
	}
	n.stop()
	if len(n.toxi.Toxics("checkout-db")) != 1 {
		t.Fatal("stopping nines removed the toxic itself; this test needs it left behind, as a crash leaves it")
	}
	n.boot()
	n.clock.Advance(drill.LeaseTTL)
	d := n.waitRun(run.ID, "the drill ending after the restart", func(d runDetail) bool { return !drill.Live(d.State) })
	if d.State != drill.Interrupted || !strings.Contains(d.Reason, "nines stopped while the drill ran") {
		t.Errorf("after the restart: %s (%s), want interrupted", d.State, d.Reason)
	}
	if toxics := n.toxi.Toxics("checkout-db"); len(toxics) != 0 {
		t.Errorf("toxics after the restart: %v", toxics)
	}
}

// TestWebhookDrillCallsTheChaosToolSigned: the chaos tool's start and stop URLs are called,
// each signed as the webhook channel signs pages.
func TestWebhookDrillCallsTheChaosToolSigned(t *testing.T) {
	n := start(t, storetest.SQLite(t, app.Schemas()), options{receiver: true})
	run := n.runDrill("chaos-tool", http.StatusAccepted)
	var aborted drill.Run
	n.call("POST", fmt.Sprintf("/api/v1/services/checkout/drill-runs/%d/abort", run.ID), map[string]any{}, http.StatusOK, &aborted)
	reqs := n.receiver.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/start" || reqs[1].Path != "/stop" {
		t.Fatalf("the chaos tool got %d requests, want start then stop", len(reqs))
	}
	for i, event := range []string{"drill.start", "drill.stop"} {
		r := reqs[i]
		var stamp int64
		fmt.Sscan(r.Header.Get("X-Nines-Timestamp"), &stamp)
		if got, want := r.Header.Get("X-Nines-Signature"), webhook.Sign("drill-signing-secret", stamp, r.Body); got != want {
			t.Errorf("%s signature %q, want %q", event, got, want)
		}
		var body struct {
			Event, Drill, Service string
			Run                   int64
		}
		json.Unmarshal(r.Body, &body)
		if body.Event != event || body.Drill != "chaos-tool" || body.Run != run.ID || body.Service != "checkout" {
			t.Errorf("%s body: %s", event, r.Body)
		}
	}
}

// TestRecurringDrillIsPlannedInItsPeriod: a drill scheduled once every two weeks is planned at
// a time NextSlot picks; when it comes, it runs (or is refused) and the next period's run is
// planned.
func TestRecurringDrillIsPlannedInItsPeriod(t *testing.T) {
	n := start(t, storetest.SQLite(t, app.Schemas()), options{})
	n.yaml = strings.Replace(n.yaml, "    limit: 10m\n  - id: slow-db", "    limit: 10m\n    schedule: {every: 2w, days: [weekdays], start: \"10:00\", end: \"15:00\"}\n  - id: slow-db", 1)
	cfg, err := config.Parse("nines.yaml", []byte(n.yaml))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.app.Config.Swap(cfg); err != nil {
		t.Fatal(err)
	}
	runs, err := n.app.Drills.List(context.Background(), drill.Query{Drill: "page-path"})
	if err != nil {
		t.Fatal(err)
	}
	// Rand is 0: the first minute of the period inside 10:00-15:00 Berlin on a weekday: now.
	if len(runs) != 1 || runs[0].State != drill.Scheduled || !runs[0].Recurring || !runs[0].ScheduledFor.Equal(monday10) {
		t.Fatalf("planned runs: %+v, want one at %s", runs, monday10)
	}
	n.clock.Advance(time.Second)
	d := n.waitRun(runs[0].ID, "the planned drill starting", func(d runDetail) bool { return d.State != drill.Scheduled && d.State != drill.Starting })
	if d.State != drill.Running {
		t.Fatalf("the planned drill: %s (%s)", d.State, d.Reason)
	}
	next := time.Date(2026, 4, 13, 8, 0, 0, 0, time.UTC) // Monday 10:00 Berlin, two weeks on
	planned := func() bool {
		runs, _ = n.app.Drills.List(context.Background(), drill.Query{Drill: "page-path"})
		return len(runs) == 2 && runs[0].State == drill.Scheduled && runs[0].ScheduledFor.Equal(next)
	}
	// The next run is planned by the work that started this one, which may finish just after
	// the run is seen running.
	storetest.Eventually(t, 5*time.Second, fmt.Sprintf("the next run planned at %s", next), planned)
}

// TestARealAlertDuringADrillIsNeverTakenAsTheDrill: while a fault drill runs, an incident that
// a signal unable to see the fault opens (an Events v2 trigger about a full disk) opens as a
// real one: no [DRILL] in its title or its page, a timeline entry saying a drill runs beside
// it; acknowledging it does not end the drill, which fails undetected, and the readiness check
// does not count it. The drill's own signal is still taken after it.
func TestARealAlertDuringADrillIsNeverTakenAsTheDrill(t *testing.T) {
	for _, tc := range []struct {
		name, drill string
		opts        options
	}{
		{name: "a toxiproxy drill detected by latency alerts", drill: "slow-db", opts: options{toxiproxy: true}},
		{name: "a webhook drill detected by the service's monitors and SLOs", drill: "chaos-tool", opts: options{receiver: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := start(t, storetest.SQLite(t, app.Schemas()), tc.opts)
			if n.toxi != nil {
				n.toxi.Proxy("checkout-db", "127.0.0.1:1")
			}
			run := n.runDrill(tc.drill, http.StatusAccepted)
			n.clock.Advance(30 * time.Second)
			n.realAlert("disk-full", "Database disk full")
			incs := n.incidents(incident.Triggered)
			if len(incs) != 1 || incs[0].Title != "Database disk full" {
				t.Fatalf("incidents: %+v, want the real one, titled as sent", incs)
			}
			real := incs[0]
			mails := n.mailsTo("alice@example.com")
			if len(mails) != 1 || strings.Contains(mails[0].Data, "DRILL") {
				t.Fatalf("pages to alice: %d; the page of a real alert must not say DRILL", len(mails))
			}
			if !n.timelineHas(real.ID, drill.EventUnderWay) || n.timelineHas(real.ID, drill.EventDetected) {
				t.Error("the real incident's timeline does not say that a drill runs beside it, or calls it the drill's")
			}
			n.call("POST", fmt.Sprintf("/api/v1/incidents/%d/acknowledge", real.ID), map[string]any{}, http.StatusOK, nil)
			if d := n.run(run.ID); d.State != drill.Running || d.IncidentID != 0 || d.DetectedAt != nil || d.AcknowledgedAt != nil {
				t.Fatalf("the drill after the real incident: %s, incident %d, detected %v, acknowledged %v; want running, undetected", d.State, d.IncidentID, d.DetectedAt, d.AcknowledgedAt)
			}
			n.clock.Advance(10 * time.Minute)
			d := n.waitRun(run.ID, "the drill ending at its limit", func(d runDetail) bool { return !drill.Live(d.State) })
			if d.State != drill.Failed || !strings.Contains(d.Reason, "not detected") {
				t.Errorf("the drill: %s (%s), want failed, not detected", d.State, d.Reason)
			}
			if status, why := n.check("drill"); status != "fail" {
				t.Errorf("the readiness drill check: %s (%s), want fail", status, why)
			}
		})
	}
	t.Run("the drill's own signal after a real alert is the drill's", func(t *testing.T) {
		n := start(t, storetest.SQLite(t, app.Schemas()), options{toxiproxy: true})
		n.toxi.Proxy("checkout-db", "127.0.0.1:1")
		run := n.runDrill("slow-db", http.StatusAccepted)
		n.realAlert("disk-full", "Database disk full")
		n.clock.Advance(40 * time.Second)
		n.trigger("db-latency")
		d := n.run(run.ID)
		inc, err := n.app.Incidents.Get(context.Background(), d.IncidentID)
		if err != nil || !strings.HasPrefix(inc.Title, "[DRILL] checkout p99") {
			t.Fatalf("the drill's incident: %+v (%v), want the latency alert's, titled [DRILL]", inc, err)
		}
		if seconds(d.Score.DetectS) != "40" {
			t.Errorf("detected after %s s, want 40", seconds(d.Score.DetectS))
		}
	})
}

// TestADrillWhoseToxiproxyDiesTakesNoIncident: Toxiproxy stops answering mid-drill (the proxy
// may be down with it: a real outage). Within a lease renewal the drill says its fault can no
// longer be confirmed, and an alert that opens afterwards is a real incident, not [DRILL].
func TestADrillWhoseToxiproxyDiesTakesNoIncident(t *testing.T) {
	n := start(t, storetest.SQLite(t, app.Schemas()), options{toxiproxy: true})
	n.toxi.Proxy("checkout-db", "127.0.0.1:1")
	run := n.runDrill("slow-db", http.StatusAccepted)
	n.toxi.Kill()
	n.clock.Advance(drill.LeaseTTL / 3)
	d := n.waitRun(run.ID, "the fault reported lost", func(d runDetail) bool { return d.FaultLostAt != nil })
	if last := d.Events[len(d.Events)-1]; last.Type != "fault_lost" || !strings.Contains(last.Text, "does not answer") {
		t.Errorf("the drill's timeline ends with %s: %s", last.Type, last.Text)
	}
	n.trigger("db-latency")
	incs := n.incidents(incident.Triggered)
	if len(incs) != 1 || strings.Contains(incs[0].Title, "DRILL") || !n.timelineHas(incs[0].ID, drill.EventUnderWay) {
		t.Fatalf("the incident after the fault was lost: %+v; want a real one, noting the drill", incs)
	}
	if d := n.run(run.ID); d.IncidentID != 0 {
		t.Errorf("the drill took incident %d after its fault was lost", d.IncidentID)
	}
}

// swap puts a new config in force, as a reload does.
func (n *nines) swap(yaml string) {
	n.t.Helper()
	n.yaml = yaml
	cfg, err := config.Parse("nines.yaml", []byte(n.yaml))
	if err != nil {
		n.t.Fatal(err)
	}
	if err := n.app.Config.Swap(cfg); err != nil {
		n.t.Fatal(err)
	}
}

// TestAChangedScheduleIsPlannedAgain: a recurring drill planned in its 10:00-15:00 window is
// planned again when a reload moves the window to 13:00-15:00; the run planned in the old
// window is called off, saying why. A reload that changes nothing keeps the planned run.
func TestAChangedScheduleIsPlannedAgain(t *testing.T) {
	n := start(t, storetest.SQLite(t, app.Schemas()), options{now: monday10.Add(-time.Hour)})
	scheduled := func(window string) string {
		return strings.Replace(n.base, "    limit: 10m\n  - id: slow-db", "    limit: 10m\n    schedule: {every: 2w, days: [weekdays], "+window+"}\n  - id: slow-db", 1)
	}
	n.swap(scheduled(`start: "10:00", end: "15:00"`))
	runs, _ := n.app.Drills.List(context.Background(), drill.Query{Drill: "page-path"})
	if len(runs) != 1 || !runs[0].ScheduledFor.Equal(monday10) {
		t.Fatalf("planned: %+v, want one at %s", runs, monday10)
	}
	first := runs[0].ID
	n.swap(scheduled(`start: "10:00", end: "15:00"`))
	if runs, _ = n.app.Drills.List(context.Background(), drill.Query{Drill: "page-path"}); len(runs) != 1 || runs[0].ID != first {
		t.Fatalf("a reload that changed nothing: %+v, want run %d kept", runs, first)
	}
	n.swap(scheduled(`start: "13:00", end: "15:00"`))
	runs, _ = n.app.Drills.List(context.Background(), drill.Query{Drill: "page-path"})
	at13 := time.Date(2026, 3, 30, 11, 0, 0, 0, time.UTC) // Monday 13:00 Berlin
	if len(runs) != 2 || runs[0].State != drill.Scheduled || !runs[0].ScheduledFor.Equal(at13) {
		t.Fatalf("after the window moved: %+v, want a run planned at %s", runs, at13)
	}
	if old := n.run(first); old.State != drill.Cancelled || !strings.Contains(old.Reason, "schedule changed") {
		t.Errorf("the run planned in the old window: %s (%s), want cancelled because the schedule changed", old.State, old.Reason)
	}
}

// TestADrillWithoutANextRunSaysWhy: the API says why a drill has no next run.
func TestADrillWithoutANextRunSaysWhy(t *testing.T) {
	n := start(t, storetest.SQLite(t, app.Schemas()), options{})
	var body struct {
		Drills []struct {
			ID     string
			Next   *drill.Run
			NoNext string `json:"no_next"`
		}
	}
	n.call("GET", "/api/v1/services/checkout/drills", nil, http.StatusOK, &body)
	for _, d := range body.Drills {
		if d.Next != nil || !strings.Contains(d.NoNext, "has no schedule") {
			t.Errorf("drill %s: next %v, no_next %q; want a reason naming the missing schedule", d.ID, d.Next, d.NoNext)
		}
	}
}

// TestReportsLeaveDrillsOut: a page drill acknowledged in 90 s and a real incident acknowledged
// in 10 minutes. The incident report counts the real one only (MTTA 600 s, one SEV1), saying one
// drill incident was left out; drills=include counts both (MTTA 345 s = (90+600)/2). The on-call
// load report counts alice's drill page apart from her real one.
func TestReportsLeaveDrillsOut(t *testing.T) {
	n := start(t, storetest.SQLite(t, app.Schemas()), options{})
	run := n.runDrill("page-path", http.StatusAccepted)
	n.waitRun(run.ID, "the page recorded", func(d runDetail) bool { return d.PagedAt != nil })
	n.clock.Advance(90 * time.Second)
	drillInc := n.incidents(incident.Triggered)[0]
	n.call("POST", fmt.Sprintf("/api/v1/incidents/%d/acknowledge", drillInc.ID), map[string]any{}, http.StatusOK, nil)
	n.waitRun(run.ID, "the drill passing", func(d runDetail) bool { return d.State == drill.Passed })
	n.waitResolved(drillInc.ID)

	n.clock.Advance(time.Hour)
	n.realAlert("disk-full", "Database disk full")
	real := n.incidents(incident.Triggered)[0]
	n.mailsTo("alice@example.com")
	n.clock.Advance(10 * time.Minute)
	n.call("POST", fmt.Sprintf("/api/v1/incidents/%d/acknowledge", real.ID), map[string]any{}, http.StatusOK, nil)
	n.clock.Advance(10 * time.Minute)
	n.call("POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", real.ID), map[string]any{}, http.StatusOK, nil)

	type incidents struct {
		Incidents      int
		MTTA           *float64       `json:"mtta_seconds"`
		BySEV          map[string]int `json:"by_severity"`
		Drills         int            `json:"drill_incidents"`
		DrillsIncluded bool           `json:"drills_included"`
	}
	var def, incl incidents
	n.call("GET", "/api/v1/reports/incidents", nil, http.StatusOK, &def)
	if def.Incidents != 1 || seconds(def.MTTA) != "600" || def.BySEV["SEV1"] != 1 || def.Drills != 1 || def.DrillsIncluded {
		t.Errorf("by default: %+v (mtta %s); want the real incident only, MTTA 600 s, one drill incident left out", def, seconds(def.MTTA))
	}
	n.call("GET", "/api/v1/reports/incidents?drills=include", nil, http.StatusOK, &incl)
	if incl.Incidents != 2 || seconds(incl.MTTA) != "345" || incl.BySEV["SEV1"] != 2 || !incl.DrillsIncluded {
		t.Errorf("with drills=include: %+v (mtta %s); want both, MTTA 345 s", incl, seconds(incl.MTTA))
	}
	var bad struct{ Errors []string }
	n.call("GET", "/api/v1/reports/incidents?drills=yes", nil, http.StatusBadRequest, &bad)
	if len(bad.Errors) != 1 || !strings.HasPrefix(bad.Errors[0], "drills: ") {
		t.Errorf("drills=yes: %v, want an error naming drills", bad.Errors)
	}
	var load struct {
		Users []struct {
			UserID     string `json:"user_id"`
			Pages      int    `json:"pages"`
			DrillPages int    `json:"drill_pages"`
		}
	}
	n.call("GET", "/api/v1/reports/oncall", nil, http.StatusOK, &load)
	if len(load.Users) != 1 || load.Users[0].Pages != 1 || load.Users[0].DrillPages != 1 {
		t.Errorf("on-call load: %+v; want alice with 1 page and 1 drill page", load.Users)
	}
}

// TestAOneOffRunOutsideWorkingHoursIsRefusedWhenScheduled: scheduling a run at a time outside
// the team's working hours (or whose limit runs past them) is refused at once, naming at and
// when the hours next start; nothing is planned. Inside them it is planned.
func TestAOneOffRunOutsideWorkingHoursIsRefusedWhenScheduled(t *testing.T) {
	n := start(t, storetest.SQLite(t, app.Schemas()), options{})
	for _, tc := range []struct{ name, at, next string }{
		{"a Saturday", "2026-04-04T10:00:00Z", "2026-04-06T07:00:00Z"},
		{"16:55 in Berlin, its 10m limit past 17:00", "2026-03-30T14:55:00Z", "2026-03-31T07:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var bad struct{ Errors []string }
			n.call("POST", "/api/v1/services/checkout/drills/page-path/runs", map[string]any{"at": tc.at}, http.StatusBadRequest, &bad)
			if len(bad.Errors) != 1 || !strings.HasPrefix(bad.Errors[0], "at: "+tc.at+" is outside the working hours of team payments") ||
				!strings.Contains(bad.Errors[0], "they next start "+tc.next) {
				t.Errorf("refusal: %v; want at named, and the hours' next start %s", bad.Errors, tc.next)
			}
		})
	}
	if runs, _ := n.app.Drills.List(context.Background(), drill.Query{}); len(runs) != 0 {
		t.Errorf("refused schedules planned %d runs", len(runs))
	}
	var run drill.Run
	n.call("POST", "/api/v1/services/checkout/drills/page-path/runs", map[string]any{"at": "2026-03-31T09:00:00Z"}, http.StatusCreated, &run)
	if run.State != drill.Scheduled {
		t.Errorf("a run inside the hours: %s", run.State)
	}
}

// TestAbortWhileToxiproxyIsDownIsAccepted: an abort whose fault cannot be removed (Toxiproxy
// down) answers 202 with the run aborting; when Toxiproxy answers again the retried removal
// ends it aborted.
func TestAbortWhileToxiproxyIsDownIsAccepted(t *testing.T) {
	n := start(t, storetest.SQLite(t, app.Schemas()), options{toxiproxy: true})
	n.toxi.Proxy("checkout-db", "127.0.0.1:1")
	run := n.runDrill("slow-db", http.StatusAccepted)
	n.toxi.Kill()
	var aborting drill.Run
	n.call("POST", fmt.Sprintf("/api/v1/services/checkout/drill-runs/%d/abort", run.ID), map[string]any{}, http.StatusAccepted, &aborting)
	if aborting.State != drill.Aborting || aborting.AbortedBy != "token:responder" || aborting.FaultRemovedAt != nil {
		t.Errorf("abort with Toxiproxy down: %s by %q, removed %v; want aborting", aborting.State, aborting.AbortedBy, aborting.FaultRemovedAt)
	}
	if d := n.run(run.ID); d.State != drill.Aborting || d.Events[len(d.Events)-1].Type != "error" {
		t.Errorf("the run reads %s, its timeline ends %s; want aborting, with the failed removal", d.State, d.Events[len(d.Events)-1].Type)
	}
	// A second abort changes nothing and says the same.
	n.call("POST", fmt.Sprintf("/api/v1/services/checkout/drill-runs/%d/abort", run.ID), map[string]any{}, http.StatusAccepted, nil)
}
