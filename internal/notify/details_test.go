package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/notify/email"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/notify/ntfy"
	"github.com/nines-dev/nines/internal/notify/slack"
	"github.com/nines-dev/nines/internal/notify/teams"
	"github.com/nines-dev/nines/internal/notify/webhook"
)

// routingKey is an integration key of the config: no page may show it.
const routingKey = "0123456789abcdef0123456789abcdef"

// eventsV2Details are the details the alert pipeline stores for an Events v2 trigger, made by
// its own decoder.
func eventsV2Details(t testing.TB, custom string) json.RawMessage {
	t.Helper()
	body := `{"routing_key": "` + routingKey + `", "event_action": "trigger", "client": "Grafana", "client_url": "https://grafana.example.com/d/db",
		"links": [{"href": "https://runbooks.example.com/db?x=1&y=<2>", "text": "Runbook <db>"}, {"href": "javascript:alert(1)", "text": "evil"}],
		"images": [{"src": "https://img.example.com/pool.png", "alt": "pool size"}],
		"payload": {"summary": "Pool exhausted", "source": "db-primary.prod", "severity": "critical", "component": "postgres",
		"custom_details": ` + custom + `}}`
	_, ev, err := alert.DecodeEventsV2([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return ev.Details
}

// alertmanagerDetails are the details stored for one Alertmanager alert.
func alertmanagerDetails(t testing.TB) json.RawMessage {
	t.Helper()
	evs, err := alert.DecodeAlertmanager([]byte(`{"version": "4", "status": "firing", "receiver": "nines", "externalURL": "http://am.example.com:9093",
		"alerts": [{"status": "firing", "labels": {"alertname": "HighLatency", "severity": "page", "instance": "api-1:9100"},
		"annotations": {"summary": "p99 over 2s", "description": "Latency is high\nsee the dashboard"},
		"startsAt": "2026-03-30T07:29:00Z", "generatorURL": "http://prom.example.com:9090/graph?g0.expr=up", "fingerprint": "abc"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return evs[0].Details
}

const customDetails = `{"waiting": 412, "note": "<script>alert(1)</script> & more", "password": "hunter2", "db": {"host": "db-1", "pool": {"size": 50}},
	"hosts": ["a", "b"], "Authorization": "Bearer abc.def", "dsn_url": "postgres://app:s3cr3t@db-1/app", "leak": "key=` + routingKey + `"}`

func rows(t notify.Table) map[string]string {
	m := map[string]string{}
	for _, r := range t.Rows {
		m[r.Key] = r.Value
	}
	return m
}

func TestParseDetailsReadsWhatThePipelineStores(t *testing.T) {
	secrets := notify.DetailsOptions{Secrets: []string{routingKey}}
	ev := notify.ParseDetails(eventsV2Details(t, customDetails), "db-primary.prod", secrets)
	am := notify.ParseDetails(alertmanagerDetails(t), "api-1:9100", secrets)
	cases := []struct {
		name string
		got  any
		want any
	}{
		{"custom details become rows in the order sent", ev.Fields.Rows[0], notify.Field{Key: "waiting", Value: "412"}},
		{"nested objects become paths", rows(ev.Fields)["db.pool.size"], "50"},
		{"a list of scalars is one value", rows(ev.Fields)["hosts"], "a, b"},
		{"a password is redacted", rows(ev.Fields)["password"], notify.Redacted},
		{"an Authorization value is redacted", rows(ev.Fields)["Authorization"], notify.Redacted},
		{"the password of a URL is redacted", rows(ev.Fields)["dsn_url"], "postgres://app:redacted@db-1/app"},
		{"an integration key in a value is redacted", rows(ev.Fields)["leak"], "key=" + notify.Redacted},
		{"markup is kept as text, for each channel to escape", rows(ev.Fields)["note"], "<script>alert(1)</script> & more"},
		{"the component is a field too", rows(ev.Fields)["component"], "postgres"},
		{"links keep http(s) only, with the client's", ev.Links, []notify.Link{
			{Href: "https://runbooks.example.com/db?x=1&y=<2>", Text: "Runbook <db>"}, {Href: "https://grafana.example.com/d/db", Text: "Grafana"}}},
		{"images keep their alt text", ev.Images, []notify.Link{{Href: "https://img.example.com/pool.png", Text: "pool size"}}},
		{"Alertmanager labels are a table", rows(am.Labels), map[string]string{"alertname": "HighLatency", "severity": "page", "instance": "api-1:9100"}},
		{"annotations are on one line", rows(am.Annotations)["description"], "Latency is high see the dashboard"},
		{"generatorURL and Alertmanager are links", am.Links, []notify.Link{
			{Href: "http://prom.example.com:9090/graph?g0.expr=up", Text: "Source"}, {Href: "http://am.example.com:9093", Text: "Alertmanager"}}},
		{"the rest of an Alertmanager alert are fields", rows(am.Fields), map[string]string{"startsAt": "2026-03-30T07:29:00Z", "receiver": "nines"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, _ := json.Marshal(c.got)
			w, _ := json.Marshal(c.want)
			if string(g) != string(w) {
				t.Errorf("got %s\nwant %s", g, w)
			}
		})
	}
}

func TestSecretKeys(t *testing.T) {
	cases := []struct {
		key    string
		secret bool
	}{
		{"password", true}, {"db_password", true}, {"Passwd", true}, {"client_secret", true}, {"access_token", true},
		{"api_key", true}, {"apiKey", true}, {"X-Api-Key", true}, {"Authorization", true}, {"aws.credentials.user", true},
		{"private_key", true}, {"routing_key", true}, {"integration_key", true}, {"ping_key", true}, {"session_id", true},
		{"Cookie", true}, {"auth", true}, {"auth.user", true}, {"slack_webhook_url", true},
		{"waiting", false}, {"author", false}, {"host", false}, {"dedup_key_hint", false}, {"db.pool.size", false}, {"keyspace", false},
	}
	for _, c := range cases {
		if got := notify.SecretKey(c.key); got != c.secret {
			t.Errorf("SecretKey(%q) = %v, want %v", c.key, got, c.secret)
		}
	}
}

// huge is custom details far over every bound: 5,000 members of 1 KB each.
func huge() string {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < 5000; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"k%04d": "%s"`, i, strings.Repeat("x", 1000))
	}
	b.WriteString("}")
	return b.String()
}

func TestHugeDetailsAreBoundedWithACount(t *testing.T) {
	d := notify.ParseDetails(eventsV2Details(t, huge()), "src", notify.DetailsOptions{})
	if len(d.Fields.Rows) > notify.MaxRows || d.Fields.Rows[0].Value != strings.Repeat("x", notify.MaxValue-1)+"…" {
		t.Errorf("%d rows, the first %d runes", len(d.Fields.Rows), utf8.RuneCountInString(d.Fields.Rows[0].Value))
	}
	// Every member is shown or counted: the component is a field too.
	if got := len(d.Fields.Rows) + d.Fields.More; got != 5001 {
		t.Errorf("%d rows shown and counted, want 5001", got)
	}
	if text := d.Text(notify.TextDetails); !strings.Contains(text, fmt.Sprintf("… %d more", 5001-len(d.Fields.Rows))) {
		t.Errorf("the text does not count what it leaves out:\n%.2000s", text)
	}
}

// page is a page with the details of an Events v2 alert.
func detailedPage(t testing.TB, custom string) notify.Message {
	m := page
	m.Details = notify.ParseDetails(eventsV2Details(t, custom), "db-primary.prod", notify.DetailsOptions{Secrets: []string{routingKey}})
	m.Details.Alerts = 3
	return m
}

func TestAlertDetailsReachChatAndWebhookReceivers(t *testing.T) {
	m := detailedPage(t, customDetails)
	cases := []struct {
		name          string
		ch            notify.Notifier
		method        config.ContactMethod
		want, wantNot []string
	}{
		{"slack shows the details table escaped, and the links", &slack.Slack{}, config.ContactMethod{Type: "slack"},
			[]string{`*Details*\n*waiting*: 412`, `*note*: &lt;script&gt;alert(1)&lt;/script&gt; &amp; more`, `*password*: [redacted]`,
				`<https://runbooks.example.com/db?x=1&amp;y=&lt;2&gt;|Runbook &lt;db&gt;>`, `<https://img.example.com/pool.png|Image: pool size>`,
				"Source: db-primary.prod", "first of 3 alerts"},
			[]string{"<script>", "hunter2", "s3cr3t", routingKey, "javascript:"}},
		{"teams shows the details as facts, escaped, and the links", &teams.Teams{}, config.ContactMethod{Type: "teams"},
			[]string{`{"title":"waiting","value":"412"}`, `"value":"\\<script\\>alert(1)\\</script\\> & more"`, `{"title":"password","value":"\\[redacted\\]"}`,
				`[Runbook \\<db\\>](https://runbooks.example.com/db?x=1&y=%3C2%3E)`},
			[]string{"<script>", "hunter2", "s3cr3t", routingKey, "javascript:"}},
		{"a webhook carries the details as JSON", &webhook.Webhook{}, config.ContactMethod{Type: "webhook"},
			[]string{`"details":{"source":"db-primary.prod","fields":{"rows":[{"key":"waiting","value":"412"}`, `{"key":"password","value":"[redacted]"}`,
				`"links":[{"href":"https://runbooks.example.com/db?x=1&y=<2>","text":"Runbook <db>"}`, `"alerts":3`},
			[]string{"hunter2", "s3cr3t", routingKey, "javascript:"}},
		{"a push carries a few rows of details", &ntfy.Ntfy{}, config.ContactMethod{Type: "push"},
			[]string{"Details:\n  waiting: 412\n", "password: [redacted]"},
			[]string{"hunter2", "s3cr3t", routingKey}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := notifytest.StartReceiver(t)
			c.method.Address = rc.URL
			if err := c.ch.Notify(context.Background(), c.method, m); err != nil {
				t.Fatal(err)
			}
			got := string(rc.Requests()[0].Body)
			if c.method.Type != "push" && !json.Valid(rc.Requests()[0].Body) {
				t.Fatalf("not JSON: %s", got)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %s\n%s", w, got)
				}
			}
			for _, w := range c.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("has %s\n%s", w, got)
				}
			}
		})
	}
}

// Slack refuses a section over 3,000 characters and Teams a card over 28 KB: huge details are
// cut to fit, with a count of what was left out.
func TestHugeDetailsFitChatLimits(t *testing.T) {
	m := detailedPage(t, huge())
	sb, err := slack.Body(m)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Blocks []struct {
			Type string
			Text struct{ Text string }
		}
	}
	if err := json.Unmarshal(sb, &s); err != nil {
		t.Fatal(err)
	}
	more := false
	for _, b := range s.Blocks {
		if n := utf8.RuneCountInString(b.Text.Text); n > 3000 {
			t.Errorf("a slack section of %d characters", n)
		}
		more = more || strings.Contains(b.Text.Text, " more")
	}
	if len(s.Blocks) > 50 || !more {
		t.Errorf("%d blocks, a count of what was left out: %v", len(s.Blocks), more)
	}
	tb, err := teams.Body(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(tb) > 28_000 || !strings.Contains(string(tb), " more") {
		t.Errorf("teams card of %d bytes, with a count: %v", len(tb), strings.Contains(string(tb), " more"))
	}
	raw := email.Compose("nines@example.com", "a@example.com", m)
	if len(raw) > 512<<10 {
		t.Errorf("an email of %d bytes", len(raw))
	}
}

func TestABundleListsItsIncidentsWithoutTheirDetails(t *testing.T) {
	m := bundle()
	d := notify.ParseDetails(eventsV2Details(t, customDetails), "db-primary.prod", notify.DetailsOptions{})
	m.Details = d
	for i := range m.Bundle {
		m.Bundle[i].Details = d
	}
	sb, _ := slack.Body(m)
	tb, _ := teams.Body(m)
	for name, got := range map[string]string{"text": m.Text(), "slack": string(sb), "teams": string(tb)} {
		if strings.Contains(got, "waiting") || strings.Contains(got, "Runbook") {
			t.Errorf("%s of a bundle shows an alert's details:\n%.2000s", name, got)
		}
	}
}

// FuzzDetails: whatever an alert's details hold, they render in every channel without a
// panic, as valid UTF-8 (the JSON ones as valid JSON), within bounds.
func FuzzDetails(f *testing.F) {
	f.Add([]byte(`{"custom_details": {"a": {"b": [1, {"c": null}]}, "password": "x"}, "links": [{"href": "https://x.example", "text": "x"}]}`))
	f.Add([]byte(`{"labels": {"a": "b"}, "annotations": {"d": "line\nbreak"}, "links": [{"href": "http://x"}], "alertmanager_url": "ftp://x"}`))
	f.Add([]byte(`{"details": [[[[[[[[[[1]]]]]]]]]], "images": [{"src": "https://i.example/\u2028"}], "x": "\xff\xfe"}`))
	f.Add([]byte(`"just a string"`))
	f.Add([]byte(`{"custom_details": {"k": "` + strings.Repeat("é<&>", 500) + `"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d := notify.ParseDetails(raw, "src\r\n", notify.DetailsOptions{Secrets: []string{routingKey}})
		m := page
		m.Details = d
		text := m.Text()
		if !utf8.ValidString(text) || len(text) > notify.TextDetails+4096 {
			t.Fatalf("text of %d bytes, valid UTF-8 %v", len(text), utf8.ValidString(text))
		}
		for _, r := range append(append(d.Fields.Rows, d.Labels.Rows...), d.Annotations.Rows...) {
			if strings.ContainsAny(r.Key+r.Value, "\r\n") || utf8.RuneCountInString(r.Value) > notify.MaxValue || utf8.RuneCountInString(r.Key) > notify.MaxKey {
				t.Fatalf("row %q", r)
			}
		}
		for _, l := range append(d.Links, d.Images...) {
			if !alert.SafeHref(l.Href) {
				t.Fatalf("link %q", l.Href)
			}
		}
		sb, err := slack.Body(m)
		if err != nil || !json.Valid(sb) || len(sb) > 64<<10 {
			t.Fatalf("slack: %v, %d bytes", err, len(sb))
		}
		tb, err := teams.Body(m)
		if err != nil || !json.Valid(tb) || len(tb) > 28_000 {
			t.Fatalf("teams: %v, %d bytes", err, len(tb))
		}
		mail := email.Compose("n@example.com", "a@example.com", m)
		if !utf8.Valid(mail) || len(mail) > 512<<10 {
			t.Fatalf("email of %d bytes", len(mail))
		}
	})
}

// BenchmarkDetails is the work a page's details add to each delivery: reading the stored
// details of a typical Events v2 alert and rendering them for mail, Slack and Teams.
func BenchmarkDetails(b *testing.B) {
	raw := eventsV2Details(b, customDetails)
	for b.Loop() {
		m := page
		m.Details = notify.ParseDetails(raw, "db-primary.prod", notify.DetailsOptions{Secrets: []string{routingKey}})
		email.Compose("n@example.com", "a@example.com", m)
		slack.Body(m)
		teams.Body(m)
	}
}
