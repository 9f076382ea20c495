package api_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/storetest"
)

// TestPagesShowTheAlertDetailsWhereThePipelineStoredThem: an Events v2 trigger and an
// Alertmanager alert, sent through their ingest routes, page sam by mail, Slack and webhook;
// each page shows what that alert said (custom details; labels, annotations and the
// generator URL), with the password and the integration key left out.
func TestPagesShowTheAlertDetailsWhereThePipelineStoredThem(t *testing.T) {
	chat := notifytest.StartReceiver(t)
	hook := notifytest.StartReceiver(t)
	cfg := pagingConfig(t, `users:
  - {id: sam, time_zone: UTC, contact_methods: [{type: email, address: sam@example.com}, {type: slack, address: "`+chat.URL+`/slack"}, {type: webhook, address: "`+hook.URL+`/hook"}]}
escalation_policies:
  - {id: sam-policy, steps: [{escalate_after: 1h, targets: [{user: sam}]}]}
services:
  - {id: db, name: Database, escalation_policy: sam-policy, integrations: [{type: events_v2, key: 22222222222222222222222222222222}]}
  - {id: api, name: API, escalation_policy: sam-policy, integrations: [{type: alertmanager, key: 33333333333333333333333333333333}]}
`, nil)
	env := startOnCallWith(t, storetest.SQLite(t, oncallSchemas), clock.NewFake(pagingStart), cfg)

	status, b := env.do(t, "POST", "/v2/enqueue", "", map[string]any{"routing_key": "22222222222222222222222222222222", "event_action": "trigger",
		"dedup_key": "pool", "links": []map[string]string{{"href": "https://runbooks.example.com/pool", "text": "Runbook"}},
		"payload": map[string]any{"summary": "Pool exhausted", "source": "db-1", "severity": "critical",
			"custom_details": map[string]any{"waiting": 412, "password": "hunter2", "echo": "routing key 22222222222222222222222222222222"}}})
	if status != 202 {
		t.Fatalf("enqueue: %d %s", status, b)
	}
	env.srv.Escalation.Wait()
	status, b = env.do(t, "POST", "/api/v1/ingest/alertmanager/33333333333333333333333333333333", "", map[string]any{"version": "4", "status": "firing",
		"alerts": []map[string]any{{"status": "firing", "labels": map[string]string{"alertname": "HighLatency", "instance": "api-1"},
			"annotations": map[string]string{"summary": "p99 over 2s"}, "generatorURL": "http://prom.example.com/graph?g0.expr=x", "fingerprint": "f1"}}})
	if status != 202 {
		t.Fatalf("alertmanager: %d %s", status, b)
	}
	env.srv.Escalation.Wait()
	storetest.Eventually(t, 5*time.Second, "two mails, two Slack messages, two webhooks", func() bool {
		return len(env.smtp.Mails()) == 2 && len(chat.Requests()) == 2 && len(hook.Requests()) == 2
	})
	mails := env.smtp.Mails()
	byTitle := func(all []string, title string) string {
		for _, s := range all {
			if strings.Contains(s, title) {
				return s
			}
		}
		t.Fatalf("nothing about %q in %q", title, all)
		return ""
	}
	var html, text, slack, webhook []string
	for _, m := range mails {
		html, text = append(html, m.Part(t, "text/html")), append(text, m.Part(t, "text/plain"))
	}
	for i := range chat.Requests() {
		slack = append(slack, string(chat.Requests()[i].Body))
		webhook = append(webhook, string(hook.Requests()[i].Body))
	}
	cases := []struct {
		name          string
		got           string
		want, wantNot []string
	}{
		{"the mail of the Events v2 alert shows its custom details and link", byTitle(html, "Pool exhausted"),
			[]string{">waiting</th>", ">412</td>", ">[redacted]</td>", `<a href="https://runbooks.example.com/pool">Runbook</a>`, "db-1"},
			[]string{"hunter2", "22222222222222222222222222222222"}},
		{"its text part too", byTitle(text, "Pool exhausted"), []string{"  waiting: 412\n", "  password: [redacted]\n", "  echo: routing key [redacted]\n"}, []string{"hunter2"}},
		{"the mail of the Alertmanager alert shows labels, annotations and the generator URL", byTitle(html, "HighLatency"),
			[]string{">Labels</h2>", ">alertname</th>", ">HighLatency</td>", ">Annotations</h2>", ">p99 over 2s</td>", `<a href="http://prom.example.com/graph?g0.expr=x">Source</a>`},
			nil},
		{"slack shows the labels and the generator URL", byTitle(slack, "HighLatency"),
			[]string{`*Labels*`, `*alertname*: HighLatency`, `<http://prom.example.com/graph?g0.expr=x|Source>`}, nil},
		{"slack shows the custom details", byTitle(slack, "Pool exhausted"), []string{`*waiting*: 412`, `*password*: [redacted]`}, []string{"hunter2", "2222222222"}},
		{"the webhook carries the details", byTitle(webhook, "Pool exhausted"), []string{`{"key":"waiting","value":"412"}`}, []string{"hunter2", "2222222222"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, w := range c.want {
				if !strings.Contains(c.got, w) {
					t.Errorf("lacks %q:\n%s", w, c.got)
				}
			}
			for _, w := range c.wantNot {
				if strings.Contains(c.got, w) {
					t.Errorf("has %q:\n%s", w, c.got)
				}
			}
		})
	}
	t.Run("the timeline answer tells each entry in a sentence", func(t *testing.T) {
		status, b := env.do(t, "GET", "/api/v1/incidents/1/timeline", env.viewer, nil)
		var tl struct {
			Events []struct{ Type, Text string }
		}
		if err := json.Unmarshal(b, &tl); status != 200 || err != nil || len(tl.Events) == 0 {
			t.Fatalf("%d %s: %v", status, b, err)
		}
		told := map[string][]string{}
		for _, e := range tl.Events {
			if e.Text == "" {
				t.Errorf("%s has no text", e.Type)
			}
			told[e.Type] = append(told[e.Type], e.Text)
		}
		for typ, want := range map[string]string{
			"incident.triggered": "Opened by an alert from Events API v2: Pool exhausted.",
			"alert.triggered":    "Alert triggered (critical, from db-1): Pool exhausted.",
			"escalation.step":    "Escalation step 1 of 1 pages sam.",
			"notification.sent":  "Paged sam on Slack, delivered.",
		} {
			if !slices.Contains(told[typ], want) {
				t.Errorf("%s: %q, want %q", typ, told[typ], want)
			}
		}
	})
	var p struct {
		Details struct {
			Labels struct{ Rows []struct{ Key, Value string } }
		}
	}
	if err := json.Unmarshal([]byte(byTitle(webhook, "HighLatency")), &p); err != nil || len(p.Details.Labels.Rows) != 2 {
		t.Errorf("webhook labels %+v: %v", p.Details.Labels, err)
	}
}
