package timeline

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// at is 02:00 UTC; the viewer of these sentences reads times in New York (UTC-4 in April).
var at = time.Date(2026, 4, 7, 2, 0, 0, 0, time.UTC)

func testOptions(t testing.TB) Options {
	t.Helper()
	cfg, err := config.Parse("nines.yaml", []byte(`users:
  - {id: alice, name: Alice, time_zone: UTC, contact_methods: [{type: email, address: alice@example.com}]}
  - {id: bob, name: Bob, time_zone: UTC, contact_methods: [{type: email, address: bob@example.com}]}
  - {id: carol, name: Carol, time_zone: UTC, contact_methods: [{type: sms, address: "+15550001111"}, {id: work, type: email, address: carol@example.com}]}
escalation_policies:
  - {id: ops, steps: [{escalate_after: 10m, targets: [{user: alice}]}]}
services:
  - {id: checkout, name: Checkout, escalation_policy: ops}
status_pages:
  - id: public
    title: Example status
    components:
      - {name: Checkout, service: checkout}
notifications:
  email: {smtp: {host: 127.0.0.1, port: 25, from: nines@example.com, tls: none}}
  twilio: {account_sid: AC0, auth_token: tok, from: "+15550001111"}
`))
	if err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	return Options{Config: cfg, Time: func(t time.Time) string { return t.In(ny).Format("15:04 MST") }}
}

func ev(typ, actor, source string, data string) incident.Event {
	return incident.Event{Type: typ, At: at, Actor: actor, Source: source, Data: json.RawMessage(data)}
}

const (
	human     = "user:bob"
	engine    = "nines:escalation"
	eventsAPI = "integration:events_v2"
)

// examples are entries as nines writes them, with the data each part of nines records (see
// the Append calls of each type); the golden file holds their sentences.
var examples = []struct {
	name string
	e    incident.Event
}{
	{"an alert opens the incident", ev("incident.triggered", eventsAPI, "events_v2", `{"dedup_key": "db/pool", "summary": "Pool exhausted"}`)},
	{"a person opens one by hand", ev("incident.triggered", "user:alice", "web", `{"declared": true, "sev": "SEV2", "summary": "Checkout is slow"}`)},
	{"a person declares it", ev("incident.declared", "user:alice", "web", `{"sev": "SEV2", "title": "Checkout is slow", "summary": ""}`)},
	{"acknowledged from the link in a page", ev("incident.acknowledged", human, "link", `{}`)},
	{"acknowledged through the API", ev("incident.acknowledged", human, "api", `{}`)},
	{"acknowledged from the CLI", ev("incident.acknowledged", "user:carol", "cli", `{}`)},
	{"acknowledged by a token", ev("incident.acknowledged", "token:ci", "api", `{}`)},
	{"acknowledged by the sender of the alert", ev("incident.acknowledged", eventsAPI, "events_v2", `{"dedup_key": "db/pool"}`)},
	{"resolved in the web app", ev("incident.resolved", "user:alice", "web", `{}`)},
	{"resolved when its alerts resolved", ev("incident.resolved", "integration:alertmanager", "alertmanager", `{"dedup_key": "f1", "reason": "all alerts resolved"}`)},
	{"its urgency rises", ev("incident.urgency_changed", eventsAPI, "events_v2", `{"from": "low", "to": "high", "reason": "alert severity critical"}`)},
	{"its level changes by hand", ev("incident.sev_changed", "user:alice", "web", `{"from": "SEV3", "to": "SEV1", "reason": "customers see errors"}`)},
	{"its level is set by an alert", ev("incident.sev_changed", eventsAPI, "events_v2", `{"from": "SEV3", "to": "SEV2", "reason": "alert severity critical"}`)},
	{"reassigned", ev("incident.reassigned", "user:alice", "web", `{"user": "carol"}`)},
	{"snoozed", ev("incident.snoozed", "user:bob", "web", `{"duration": "30m0s", "until": "2026-04-07T02:30:00Z"}`)},
	{"a snooze ends", ev("incident.retriggered", "nines", "escalation", `{"reason": "the snooze until 2026-04-07T02:30:00Z ended", "until": "2026-04-07T02:30:00Z"}`)},
	{"a note", ev("note", human, "api", `{"text": "Rolling back\ndeploy 1234"}`)},
	{"a role assigned", ev("role.assigned", "user:alice", "web", `{"role": "commander", "person": "bob", "previous": ""}`)},
	{"a role handed over", ev("role.assigned", "user:alice", "web", `{"role": "scribe", "person": "carol", "previous": "bob"}`)},
	{"a role cleared", ev("role.assigned", "user:alice", "web", `{"role": "communications", "person": "", "previous": "bob"}`)},
	{"the start of impact set", ev("impact.start_set", human, "web", `{"impact_started_at": "2026-04-07T01:40:00Z", "previous": "2026-04-07T01:55:00Z"}`)},
	{"a link added", ev("link", human, "web", `{"url": "https://grafana.example.com/d/1", "title": "Pool dashboard"}`)},
	{"an alert triggers", ev("alert.triggered", eventsAPI, "events_v2", `{"action": "trigger", "alert_id": 17, "dedup_key": "db/pool", "severity": "critical", "source": "db-1", "summary": "Pool exhausted"}`)},
	{"an alert repeats once", ev("alert.repeated", eventsAPI, "events_v2", `{"action": "trigger", "alert_id": 17, "count": 1, "dedup_key": "db/pool", "last_at": "2026-04-07T02:00:00Z"}`)},
	{"an alert repeats in a burst", ev("alert.repeated", eventsAPI, "events_v2", `{"action": "trigger", "alert_id": 17, "count": 14, "dedup_key": "db/pool", "last_at": "2026-04-07T02:17:00Z"}`)},
	{"an alert acknowledged with its incident", ev("alert.acknowledged", human, "link", `{"action": "acknowledge", "alert_id": 17, "dedup_key": "db/pool", "reason": "incident acknowledged"}`)},
	{"an alert acknowledged by its sender", ev("alert.acknowledged", eventsAPI, "events_v2", `{"action": "acknowledge", "alert_id": 17, "dedup_key": "db/pool"}`)},
	{"an alert resolved by its sender", ev("alert.resolved", "integration:alertmanager", "alertmanager", `{"action": "resolve", "alert_id": 18, "dedup_key": "f1"}`)},
	{"an alert resolved with its incident", ev("alert.resolved", "user:alice", "web", `{"action": "resolve", "alert_id": 18, "dedup_key": "f1", "reason": "incident resolved"}`)},
	{"an alert inhibited", ev("alert.inhibited", "integration:alertmanager", "alertmanager", `{"alert_id": 19, "dedup_key": "f2", "rule": "r1", "text": "Inhibited by alert \"f0\" (critical, service checkout, incident 3) under r1: this alert pages nobody while that one is open."}`)},
	{"an alert released", ev("alert.uninhibited", "integration:alertmanager", "alertmanager", `{"alert_id": 19, "dedup_key": "f2", "source_alert_id": 12, "text": "No longer inhibited: alert 12, which inhibited this one, is resolved. This alert pages as any other from now on."}`)},
	{"an alert marked noise", ev("alert.actionable", human, "web", `{"alert_id": 17, "dedup_key": "db/pool", "actionable": false}`)},
	{"an alert marked actionable", ev("alert.actionable", human, "api", `{"alert_id": 17, "dedup_key": "db/pool", "actionable": true}`)},
	{"an escalation step pages", ev("escalation.step", engine, "escalation", `{"policy": "ops", "round": 1, "step": 1, "steps": 2, "users": ["alice", "carol"]}`)},
	{"a later round pages, some unreached", ev("escalation.step", engine, "escalation", `{"policy": "ops", "round": 2, "step": 2, "steps": 2, "users": ["carol"], "unreached": ["bob has no contact method for high urgency"]}`)},
	{"a step skipped", ev("escalation.skipped", engine, "escalation", `{"policy": "ops", "round": 1, "step": 1, "steps": 2, "users": null, "reason": "nobody is on call on schedule ops"}`)},
	{"nobody reached, the fallback paged", ev("escalation.nobody", engine, "escalation", `{"policy": "ops", "round": 1, "reason": "no step reached anyone (step 1: nobody is on call)", "fallback": ["carol"]}`)},
	{"nobody reached, no fallback", ev("escalation.nobody", engine, "escalation", `{"policy": "ops", "round": 1, "reason": "no step reached anyone (step 1: nobody is on call)", "fallback": null, "fallback_problem": "no fallback is configured; nobody was paged"}`)},
	{"escalation stops", ev("escalation.stopped", engine, "escalation", `{"reason": "acknowledged"}`)},
	{"escalated by hand", ev("escalation.manual", "user:alice", "web", `{"step": 2, "round": 1}`)},
	{"no policy", ev("escalation.none", engine, "escalation", `{"reason": "service checkout has no escalation policy; nobody is paged"}`)},
	{"held by maintenance", ev("escalation.held", engine, "escalation", `{"until": "2026-04-07T04:00:00Z", "reason": "a maintenance window covers service checkout; nobody is paged until it ends"}`)},
	{"a page delivered", ev("notification.sent", engine, "escalation", `{"user": "carol", "method": "sms", "type": "sms", "step": 2, "round": 1, "key": "k", "attempt": 1}`)},
	{"a bundle delivered", ev("notification.sent", engine, "escalation", `{"user": "alice", "method": "email", "type": "email", "step": 1, "round": 1, "key": "k", "attempt": 1, "bundle": "bundle9:alice:email", "bundled_with": 11}`)},
	{"a page failed, retried", ev("notification.failed", engine, "escalation", `{"user": "carol", "method": "work", "type": "email", "step": 1, "round": 1, "key": "k", "attempt": 1, "error": "smtp 127.0.0.1:25: connection refused", "retry_in": "1s", "retry_at": "2026-04-07T02:00:01Z"}`)},
	{"a page failed again and again", ev("notification.failed", engine, "escalation", `{"user": "carol", "method": "work", "type": "email", "attempt": 9, "error": "smtp 127.0.0.1:25: connection refused", "retry_in": "15s", "retry_at": "2026-04-07T02:09:15Z", "count": 8, "last_at": "2026-04-07T02:09:00Z"}`)},
	{"a page refused for good", ev("notification.failed", engine, "escalation", `{"user": "carol", "method": "sms", "type": "sms", "error": "api.twilio.com answered 400 Bad Request: invalid number", "permanent": true}`)},
	{"a page held by the rate limit", ev("notification.held", engine, "escalation", `{"user": "alice", "method": "email", "type": "email", "step": 1, "round": 1, "reason": "rate limit of the contact method: 5 in 1m0s", "send_at": "2026-04-07T02:01:00Z"}`)},
	{"a held page not sent, its incident acknowledged", ev("notification.dropped", engine, "escalation", `{"user": "alice", "method": "email", "type": "email", "step": 1, "round": 1, "reason": "the incident was acknowledged before it left"}`)},
	{"a page deferred to working hours", ev("notification.deferred", engine, "escalation", `{"user": "carol", "method": "work", "until": "2026-04-07T13:00:00Z", "reason": "low urgency; outside working hours"}`)},
	{"a status page update", ev("status.update", "user:alice", "web", `{"page": "public", "status": "investigating", "body": "Checkout is slow for some.", "public_incident": 3}`)},
	{"a corrected summary", ev("status.update", "user:alice", "web", `{"page": "public", "status": "postmortem", "body": "We found the cause.", "public_incident": 3, "corrected": true}`)},
	{"a status page overdue", ev("status.update_due", "nines", "statuspage", `{"page": "public", "since": "2026-04-07T01:30:00Z", "cadence": "30m0s"}`)},
	{"an update edited", ev("status.update_edited", "user:alice", "web", `{"update": 4, "public_incident": 3, "from": "Checkout is slow", "to": "Checkout is slow in Europe"}`)},
	{"an update retracted", ev("status.update_retracted", "user:alice", "web", `{"update": 4, "public_incident": 3, "body": "Checkout is down"}`)},
	{"a deploy", ev("change", "token:ci", "api", `{"change_id": 5, "kind": "deploy", "summary": "checkout", "version": "v2.3.1", "commit": "abc123"}`)},
	{"a deploy whose summary says deploy", ev("change", "integration:change_events", "integration", `{"change_id": 6, "kind": "deploy", "summary": "Deploy checkout v2.3.1", "version": "v2.3.1", "source": "ci"}`)},
	{"a change event", ev("change", "integration:change_events", "change_events", `{"change_id": 6, "kind": "change", "summary": "Feature flag new-cart on", "source": "launchdarkly"}`)},
	{"a change named the cause", ev("change.cause", "user:alice", "web", `{"change_id": 5, "kind": "deploy", "summary": "checkout", "version": "v2.3.1"}`)},
	{"a postmortem drafted", ev("postmortem.drafted", "user:alice", "web", `{"status": "draft"}`)},
	{"a postmortem edited", ev("postmortem.edited", "user:alice", "web", `{"sections": ["summary", "root_cause"]}`)},
	{"a postmortem published", ev("postmortem.published", "user:alice", "web", `{"summary": "...", "pages": ["public"]}`)},
	{"an action item added", ev("action_item.created", "user:alice", "web", `{"action_id": 3, "title": "Add a pool alarm", "owner": "bob", "kind": "prevent", "due": "2026-04-14"}`)},
	{"an action item updated", ev("action_item.updated", human, "api", `{"action_id": 3, "state": "done", "owner": "carol"}`)},
	{"a reminder sent", ev("action_item.reminder", "nines", "reminder", `{"action_id": 3, "owner": "bob", "due": "2026-04-14", "when": "due", "title": "Add a pool alarm", "method": "email", "type": "email"}`)},
	{"a reminder on the timeline only", ev("action_item.reminder", "nines", "reminder", `{"action_id": 3, "owner": "bob", "due": "2026-04-14", "when": "overdue", "title": "Add a pool alarm"}`)},
	{"a reminder failed", ev("action_item.reminder_failed", "nines", "reminder", `{"action_id": 3, "owner": "bob", "title": "Add a pool alarm", "error": "bob has no contact method a reminder can use", "permanent": true}`)},
	{"a drill detected", ev("drill.detected", "nines", "drill", `{"drill": "checkout-db", "run": 2, "text": "This incident is drill run 2 (checkout-db): a planned failure. Respond as you would to a real one; the drill ends when it is acknowledged."}`)},
	{"a drill under way beside a real incident", ev("drill.under_way", "nines", "drill", `{"drill": "checkout-db", "run": 2, "text": "Drill run 2 (checkout-db) is under way on this service, but this incident is not part of it (opened by integration events_v2, which cannot see the fault): treat it as real."}`)},
	{"a drill's fault lost", ev("drill.fault_lost", "nines", "drill", `{"drill": "checkout-db", "run": 2, "text": "The fault of drill run 2 can no longer be confirmed (toxiproxy does not answer): what this incident shows from now on may be a real outage; treat it as one."}`)},
	{"a type nines does not know", ev("runbook.opened", "user:alice", "web", `{"text": "Opened the DB runbook"}`)},
	{"a type nines does not know, without text", ev("x.y_z", "", "", `null`)},
	{"data that is not what the type writes", ev("notification.sent", engine, "escalation", `[1, 2]`)},
}

func TestEverySentenceMatchesTheGoldenFile(t *testing.T) {
	o := testOptions(t)
	var b strings.Builder
	for _, x := range examples {
		fmt.Fprintf(&b, "%s (%s)\n\t%s\n", x.e.Type, x.name, Sentence(x.e, o))
	}
	golden(t, "testdata/sentences.golden", b.String())
}

func TestRepeatsAreToldOnce(t *testing.T) {
	o := testOptions(t)
	min := func(m int) time.Time { return at.Add(time.Duration(m) * time.Minute) }
	withAt := func(e incident.Event, m int) incident.Event { e.At = min(m); return e }
	events := []incident.Event{
		withAt(ev("incident.triggered", eventsAPI, "events_v2", `{"summary": "Pool exhausted"}`), 0),
		withAt(ev("alert.repeated", eventsAPI, "events_v2", `{"dedup_key": "db/pool", "count": 6, "last_at": "2026-04-07T02:04:00Z"}`), 1),
		withAt(ev("alert.repeated", eventsAPI, "events_v2", `{"dedup_key": "db/pool", "count": 8, "last_at": "2026-04-07T02:17:00Z"}`), 10),
		withAt(ev("alert.repeated", eventsAPI, "events_v2", `{"dedup_key": "other", "count": 2, "last_at": "2026-04-07T02:18:00Z"}`), 18),
		withAt(ev("notification.failed", engine, "escalation", `{"user": "carol", "method": "sms", "type": "sms", "error": "503", "retry_at": "2026-04-07T02:20:01Z"}`), 20),
		withAt(ev("notification.failed", engine, "escalation", `{"user": "carol", "method": "sms", "type": "sms", "error": "503 again", "count": 4, "last_at": "2026-04-07T02:21:00Z"}`), 20),
		withAt(ev("status.update_due", "nines", "statuspage", `{"page": "public", "cadence": "30m0s"}`), 30),
		withAt(ev("status.update_due", "nines", "statuspage", `{"page": "public", "cadence": "30m0s"}`), 60),
		withAt(ev("incident.acknowledged", human, "link", `{}`), 61),
	}
	var b strings.Builder
	for _, l := range Lines(events, o) {
		fmt.Fprintf(&b, "%s ×%d %s..%s\n\t%s\n", l.Type, l.Count, l.At.Format("15:04"), l.Last.Format("15:04"), l.Text)
	}
	golden(t, "testdata/lines.golden", b.String())
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it); got:\n%s", path, got)
	}
}

// TestEveryTypeNinesWritesHasASentence reads the code of nines for the timeline types it
// writes: the Event... string constants of every package, and type names written literally
// in calls of Append and AppendID. Each must have a sentence of its own, and an example in the
// golden file.
func TestEveryTypeNinesWritesHasASentence(t *testing.T) {
	written := map[string]string{} // type -> where
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "timeline") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for i, name := range n.Names {
					if !strings.HasPrefix(name.Name, "Event") || i >= len(n.Values) {
						continue
					}
					if lit, ok := n.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						written[v] = fset.Position(lit.Pos()).String()
					}
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "Append" && sel.Sel.Name != "AppendID") || len(n.Args) < 5 {
					return true
				}
				if lit, ok := n.Args[3].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, _ := strconv.Unquote(lit.Value)
					written[v] = fset.Position(lit.Pos()).String()
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// What the scan must find, so that it cannot pass by finding nothing.
	for _, typ := range []string{"incident.triggered", "alert.repeated", "escalation.step", "notification.sent", "change", "drill.detected", "status.update"} {
		if _, ok := written[typ]; !ok {
			t.Errorf("the scan of the code did not find %s", typ)
		}
	}
	exampled := map[string]bool{}
	for _, x := range examples {
		exampled[x.e.Type] = true
	}
	types := make([]string, 0, len(written))
	for typ := range written {
		types = append(types, typ)
	}
	sort.Strings(types)
	for _, typ := range types {
		if _, ok := sentences[typ]; !ok {
			t.Errorf("%s (written at %s) has no sentence", typ, written[typ])
		}
		if !exampled[typ] {
			t.Errorf("%s (written at %s) has no example in the golden file", typ, written[typ])
		}
	}
	for _, typ := range Types() {
		if _, ok := written[typ]; !ok {
			t.Errorf("a sentence for %s, which nines does not write", typ)
		}
	}
}

// FuzzSentence: any entry reads as one line of bounded text, without a panic.
func FuzzSentence(f *testing.F) {
	for _, x := range examples {
		f.Add(x.e.Type, x.e.Actor, x.e.Source, []byte(x.e.Data))
	}
	o := Options{}
	f.Fuzz(func(t *testing.T, typ, actor, source string, data []byte) {
		s := Sentence(incident.Event{Type: typ, Actor: actor, Source: source, At: at, Data: data}, o)
		if strings.ContainsAny(s, "\r\n") || len(s) > 8<<10 {
			t.Fatalf("sentence %q", s)
		}
	})
}
