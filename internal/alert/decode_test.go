package alert_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/invalid"
)

const routingKey = "0123456789abcdef0123456789abcdef"

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eventProblem says what is wrong with an event a decoder accepted, or "" if nothing is: the
// invariants every decoded event keeps, whatever the input was.
func eventProblem(ev alert.Event) string {
	switch ev.Action {
	case alert.Trigger, alert.Acknowledge, alert.Resolve:
	default:
		return fmt.Sprintf("action %q", ev.Action)
	}
	if ev.DedupKey == "" || utf8.RuneCountInString(ev.DedupKey) > 255 {
		return fmt.Sprintf("dedup key of %d characters", utf8.RuneCountInString(ev.DedupKey))
	}
	if utf8.RuneCountInString(ev.Summary) > 1024 {
		return fmt.Sprintf("summary of %d characters", utf8.RuneCountInString(ev.Summary))
	}
	if ev.Action == alert.Trigger {
		if strings.TrimSpace(ev.Summary) == "" {
			return "trigger without a summary"
		}
		switch ev.Severity {
		case "critical", "error", "warning", "info":
		default:
			return fmt.Sprintf("trigger with severity %q", ev.Severity)
		}
		if ev.Source == "" {
			return "trigger without a source"
		}
	}
	var details map[string]any
	if err := json.Unmarshal(ev.Details, &details); err != nil || details == nil {
		return fmt.Sprintf("details %q are not a JSON object", ev.Details)
	}
	return ""
}

// invalidErrors returns the per-field messages of a decoder's error, failing if it is not an
// *invalid.Error.
func invalidErrors(t *testing.T, err error) []string {
	t.Helper()
	var inv *invalid.Error
	if !errors.As(err, &inv) {
		t.Fatalf("err = %v (%T), want *invalid.Error", err, err)
	}
	return inv.Messages()
}

func TestEventsV2DecodesAValidTrigger(t *testing.T) {
	t.Parallel()
	key, ev, err := alert.DecodeEventsV2(readTestdata(t, "events-v2-trigger.json"))
	if err != nil {
		t.Fatal(err)
	}
	if key != routingKey {
		t.Errorf("routing key = %q", key)
	}
	if p := eventProblem(ev); p != "" {
		t.Fatal(p)
	}
	want := alert.Event{Action: alert.Trigger, DedupKey: "checkout/db-connections", Summary: "Checkout DB connection pool exhausted on db-primary",
		Source: "db-primary.prod", Severity: "error", Component: "postgres", Group: "checkout-db", Class: "connections",
		Timestamp: time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC),
		// custom_details' scalar members are labels (the nested pool is not); the payload's own
		// fields are labels too.
		Labels: map[string]string{"waiting": "412", "component": "postgres", "group": "checkout-db", "class": "connections",
			"severity": "error", "source": "db-primary.prod"}}
	got := ev
	got.Details = nil
	got.Timestamp = got.Timestamp.UTC()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("event =\n %+v\nwant\n %+v", got, want)
	}
	var details map[string]json.RawMessage
	if err := json.Unmarshal(ev.Details, &details); err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]string{
		"custom_details": `{"pool":{"max":100,"in_use":100},"waiting":412}`,
		"links":          `[{"href":"https://dash.example.com/checkout-db","text":"Dashboard"}]`,
		"images":         `[{"src":"https://chart.example.com/pool.png","href":"https://dash.example.com","alt":"pool usage"}]`,
		"client":         `"Sample Monitoring Service"`,
		"client_url":     `"https://monitoring.example.com"`,
		"component":      `"postgres"`,
	} {
		if got := compact(t, details[field]); got != want {
			t.Errorf("details.%s = %s, want %s", field, got, want)
		}
	}
}

// compact removes insignificant space from raw JSON, keeping key order.
func compact(t *testing.T, raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return b.String()
}

func TestEventsV2AcceptsWhatAlertmanagerPagerDutyConfigsSends(t *testing.T) {
	t.Parallel()
	key, ev, err := alert.DecodeEventsV2(readTestdata(t, "alertmanager-pagerduty-trigger.json"))
	if err != nil {
		t.Fatal(err)
	}
	if key != routingKey || ev.Action != alert.Trigger || ev.Severity != "critical" || ev.Source != "Alertmanager" ||
		ev.DedupKey != "3e1d6b5f0c6f4ea1a6f3f49a1c5e0b7d9f2a8c4e6b1d3f5a7c9e0b2d4f6a8c1e" ||
		ev.Summary != "[FIRING:2] CheckoutHighLatency checkout shop" {
		t.Errorf("event = %+v", ev)
	}
	var details struct {
		CustomDetails map[string]string   `json:"custom_details"`
		Images        []map[string]string `json:"images"`
		Links         []map[string]string `json:"links"`
		Client        string              `json:"client"`
		ClientURL     string              `json:"client_url"`
	}
	if err := json.Unmarshal(ev.Details, &details); err != nil {
		t.Fatal(err)
	}
	if details.CustomDetails["num_firing"] != "2" || !strings.Contains(details.CustomDetails["firing"], "checkout-2.prod:9100") {
		t.Errorf("custom_details = %v", details.CustomDetails)
	}
	if len(details.Images) != 1 || details.Images[0]["alt"] != "p99 latency" || len(details.Links) != 1 || details.Links[0]["text"] != "Runbook" {
		t.Errorf("images = %v, links = %v", details.Images, details.Links)
	}
	if details.Client != "Alertmanager" || details.ClientURL != "http://alertmanager.prod:9093/#/alerts?receiver=nines-pagerduty" {
		t.Errorf("client = %q, client_url = %q", details.Client, details.ClientURL)
	}

	_, ev, err = alert.DecodeEventsV2(readTestdata(t, "alertmanager-pagerduty-resolve.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Action != alert.Resolve || ev.DedupKey != "3e1d6b5f0c6f4ea1a6f3f49a1c5e0b7d9f2a8c4e6b1d3f5a7c9e0b2d4f6a8c1e" {
		t.Errorf("resolve event = %+v", ev)
	}
}

// v2 builds an Events v2 body from a base trigger with some fields replaced (nil removes one).
func v2(change map[string]any) []byte {
	body := map[string]any{
		"routing_key":  routingKey,
		"event_action": "trigger",
		"payload":      map[string]any{"summary": "disk full", "source": "db-1", "severity": "critical"},
	}
	for k, v := range change {
		if p, ok := strings.CutPrefix(k, "payload."); ok {
			payload := body["payload"].(map[string]any)
			if v == nil {
				delete(payload, p)
			} else {
				payload[p] = v
			}
			continue
		}
		if v == nil {
			delete(body, k)
		} else {
			body[k] = v
		}
	}
	b, _ := json.Marshal(body)
	return b
}

func TestEventsV2NamesEveryBadField(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 1025)
	cases := []struct {
		name string
		body []byte
		want []string // each must appear in one of the errors, in this order
	}{
		{"a missing routing key", v2(map[string]any{"routing_key": nil}), []string{"'routing_key' is missing"}},
		{"a routing key of the wrong length", v2(map[string]any{"routing_key": "short"}), []string{"Length of 'routing_key' is incorrect"}},
		{"a missing event action", v2(map[string]any{"event_action": nil}), []string{"'event_action' is missing"}},
		{"an unknown event action", v2(map[string]any{"event_action": "explode"}), []string{`'event_action' is invalid: "explode"`}},
		{"a trigger without payload", v2(map[string]any{"payload": nil}), []string{"'payload' is missing"}},
		{"a trigger without summary", v2(map[string]any{"payload.summary": nil}), []string{"'payload.summary' is missing"}},
		{"a blank summary", v2(map[string]any{"payload.summary": "   "}), []string{"'payload.summary' is missing"}},
		{"a summary of 1025 characters", v2(map[string]any{"payload.summary": long}), []string{"'payload.summary' is too long: 1025 characters (maximum 1024)"}},
		{"a trigger without source", v2(map[string]any{"payload.source": nil}), []string{"'payload.source' is missing"}},
		{"a source over 255 characters", v2(map[string]any{"payload.source": strings.Repeat("s", 256)}), []string{"'payload.source' is too long: 256 characters (maximum 255)"}},
		{"a trigger without severity", v2(map[string]any{"payload.severity": nil}), []string{"'payload.severity' is missing"}},
		{"an unknown severity", v2(map[string]any{"payload.severity": "high"}), []string{`'payload.severity' is invalid: "high"`}},
		{"a severity in capitals", v2(map[string]any{"payload.severity": "CRITICAL"}), []string{`'payload.severity' is invalid: "CRITICAL"`}},
		{"a timestamp that is not a date", v2(map[string]any{"payload.timestamp": "yesterday"}), []string{`'payload.timestamp' is not an ISO 8601 date-time: "yesterday"`}},
		{"a dedup key over 255 characters", v2(map[string]any{"dedup_key": strings.Repeat("k", 256)}), []string{"'dedup_key' is too long: 256 characters (maximum 255)"}},
		{"an acknowledge without dedup key", v2(map[string]any{"event_action": "acknowledge"}), []string{"'dedup_key' is required to acknowledge an alert"}},
		{"a resolve without dedup key", v2(map[string]any{"event_action": "resolve", "payload": nil}), []string{"'dedup_key' is required to resolve an alert"}},
		{"links that are not a list", v2(map[string]any{"links": "http://x"}), []string{"'links' must be a list of objects"}},
		{"a link without href", v2(map[string]any{"links": []any{map[string]any{"text": "x"}}}), []string{"'links[0].href' is missing or not a string"}},
		{"an image without src", v2(map[string]any{"images": []any{map[string]any{"src": "a"}, map[string]any{"href": "b"}}}), []string{"'images[1].src' is missing or not a string"}},
		{"a summary that is a number", v2(map[string]any{"payload.summary": 42}), []string{"'payload.summary' must be a string, not number"}},
		{"a payload that is a string", v2(map[string]any{"payload": "disk full"}), []string{"'payload' must be an object, not string"}},
		{"a routing key that is a number", []byte(`{"routing_key": 12}`), []string{"'routing_key' must be a string, not number"}},
		{"a body that is a list", []byte(`[{"routing_key": "x"}]`), []string{"the body must be a JSON object, not an array"}},
		{"a truncated body", []byte(`{"routing_key": "`), []string{"the body ends in the middle of its JSON"}},
		{"an empty body", []byte(``), []string{"the body is empty"}},
		{"data after the object", []byte(`{"routing_key": "x"} {}`), []string{"body has data after the JSON object"}},
		{"several bad fields at once", v2(map[string]any{"routing_key": "short", "event_action": "nope", "payload.severity": "high"}),
			[]string{"Length of 'routing_key'", "'event_action' is invalid", "'payload.severity' is invalid"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ev, err := alert.DecodeEventsV2(c.body)
			if err == nil {
				t.Fatalf("accepted: %+v", ev)
			}
			errs := invalidErrors(t, err)
			i := 0
			for _, e := range errs {
				if i < len(c.want) && strings.Contains(e, c.want[i]) {
					i++
				}
			}
			if i < len(c.want) {
				t.Errorf("errors = %q, want ones containing %q", errs, c.want)
			}
		})
	}
}

func TestEventsV2Accepts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		body  []byte
		check func(ev alert.Event) string
	}{
		{"a summary of exactly 1024 characters", v2(map[string]any{"payload.summary": strings.Repeat("é", 1024)}), nil},
		{"every severity: critical", v2(map[string]any{"payload.severity": "critical"}), nil},
		{"every severity: error", v2(map[string]any{"payload.severity": "error"}), nil},
		{"every severity: warning", v2(map[string]any{"payload.severity": "warning"}), nil},
		{"every severity: info", v2(map[string]any{"payload.severity": "info"}), nil},
		{"a trigger without dedup key, which gets one", v2(nil), func(ev alert.Event) string {
			if len(ev.DedupKey) != 32 {
				return fmt.Sprintf("generated dedup key %q", ev.DedupKey)
			}
			return ""
		}},
		{"an acknowledge without payload", v2(map[string]any{"event_action": "acknowledge", "dedup_key": "k", "payload": nil}), func(ev alert.Event) string {
			if ev.Action != alert.Acknowledge || ev.DedupKey != "k" {
				return fmt.Sprintf("%+v", ev)
			}
			return ""
		}},
		{"a resolve with a partial payload", v2(map[string]any{"event_action": "resolve", "dedup_key": "k", "payload": map[string]any{"summary": "ok now"}}), nil},
		{"custom details that are a string", v2(map[string]any{"payload.custom_details": "free text"}), func(ev alert.Event) string {
			if !strings.Contains(string(ev.Details), `"custom_details":"free text"`) {
				return string(ev.Details)
			}
			return ""
		}},
		{"null links and images", v2(map[string]any{"links": nil, "images": nil}), nil},
		{"unknown fields, which PagerDuty ignores", v2(map[string]any{"extra": true}), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ev, err := alert.DecodeEventsV2(c.body)
			if err != nil {
				t.Fatal(err)
			}
			if p := eventProblem(ev); p != "" {
				t.Fatal(p)
			}
			if c.check != nil {
				if p := c.check(ev); p != "" {
					t.Error(p)
				}
			}
		})
	}
	_, a, _ := alert.DecodeEventsV2(v2(nil))
	_, b, _ := alert.DecodeEventsV2(v2(nil))
	if a.DedupKey == b.DedupKey {
		t.Error("two triggers without dedup key got the same generated key")
	}
}

func TestAlertmanagerWebhookBecomesOneEventPerAlert(t *testing.T) {
	t.Parallel()
	events, err := alert.DecodeAlertmanager(readTestdata(t, "alertmanager-v4-firing.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Fatalf("%d events, want 2", len(events))
	}
	for _, ev := range events {
		if p := eventProblem(ev); p != "" {
			t.Fatal(p)
		}
	}
	first := events[0]
	if first.Action != alert.Trigger || first.DedupKey != "6e9a4f3c2b1d0a87" || first.Severity != "critical" ||
		first.Summary != "CheckoutHighLatency: p99 latency of checkout is 2.4s (threshold 1s)" ||
		first.Source != "checkout-1.prod:9100" || first.Component != "checkout" || first.Group != "shop" || first.Class != "CheckoutHighLatency" ||
		!first.Timestamp.Equal(time.Date(2026, 3, 2, 3, 0, 12, 345678901, time.UTC)) {
		t.Errorf("first event = %+v", first)
	}
	if events[1].DedupKey != "0f1e2d3c4b5a6978" || events[1].Severity != "warning" {
		t.Errorf("second event = %+v", events[1])
	}
	var details struct {
		Labels          map[string]string   `json:"labels"`
		Annotations     map[string]string   `json:"annotations"`
		Links           []map[string]string `json:"links"`
		Receiver        string              `json:"receiver"`
		AlertmanagerURL string              `json:"alertmanager_url"`
	}
	if err := json.Unmarshal(first.Details, &details); err != nil {
		t.Fatal(err)
	}
	if details.Labels["namespace"] != "shop" || details.Annotations["runbook_url"] == "" || details.Receiver != "nines-checkout" ||
		details.AlertmanagerURL != "http://alertmanager.prod:9093" || len(details.Links) != 1 || !strings.HasPrefix(details.Links[0]["href"], "http://prometheus.prod:9090/graph") {
		t.Errorf("details = %+v", details)
	}

	resolved, err := alert.DecodeAlertmanager(readTestdata(t, "alertmanager-v4-resolved.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(resolved) != 1 || resolved[0].Action != alert.Resolve || resolved[0].DedupKey != first.DedupKey {
		t.Errorf("resolved = %+v, want one resolve of %s", resolved, first.DedupKey)
	}
}

func amBody(alerts ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "r", "alerts": alerts})
	return b
}

func TestAlertmanagerWithoutFingerprintKeysByLabels(t *testing.T) {
	t.Parallel()
	a := map[string]any{"status": "firing", "labels": map[string]string{"alertname": "Down", "instance": "a:1"}}
	same := map[string]any{"status": "resolved", "labels": map[string]string{"instance": "a:1", "alertname": "Down"}}
	other := map[string]any{"status": "firing", "labels": map[string]string{"alertname": "Down", "instance": "b:1"}}
	// Label names and values must not run together: {ab: c} is not {a: bc}.
	glued1 := map[string]any{"status": "firing", "labels": map[string]string{"ab": "c"}}
	glued2 := map[string]any{"status": "firing", "labels": map[string]string{"a": "bc"}}
	events, err := alert.DecodeAlertmanager(amBody(a, same, other, glued1, glued2))
	if err != nil {
		t.Fatal(err)
	}
	if events[0].DedupKey == "" || events[0].DedupKey != events[1].DedupKey {
		t.Errorf("the same labels gave keys %q and %q", events[0].DedupKey, events[1].DedupKey)
	}
	if events[0].DedupKey == events[2].DedupKey {
		t.Error("different labels gave the same key")
	}
	if events[3].DedupKey == events[4].DedupKey {
		t.Error("{ab: c} and {a: bc} gave the same key")
	}
	if events[0].Summary != "Down on a:1" || events[0].Severity != "error" || events[0].Source != "a:1" {
		t.Errorf("event without annotations = %+v", events[0])
	}
}

func TestAlertmanagerSeverityLabelsMapOntoFourSeverities(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"critical": "critical", "CRITICAL": "critical", "page": "critical", "fatal": "critical", "emergency": "critical", "alert": "critical",
		"error": "error", "major": "error", "": "error", "high": "error",
		"warning": "warning", "warn": "warning", "Warning": "warning",
		"info": "info", "informational": "info", "notice": "info", "none": "info",
	}
	for label, want := range cases {
		events, err := alert.DecodeAlertmanager(amBody(map[string]any{"status": "firing", "labels": map[string]string{"alertname": "X", "severity": label}}))
		if err != nil {
			t.Fatal(err)
		}
		if got := events[0].Severity; got != want {
			t.Errorf("severity label %q became %q, want %q", label, got, want)
		}
	}
}

func TestAlertmanagerRejectsWhatIsNotAVersion4Payload(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body string
		want string
	}{
		{"another payload version", `{"version": "3", "alerts": [{"status": "firing", "labels": {"a": "b"}}]}`, `'version' is "3"`},
		{"no alerts", `{"version": "4", "alerts": []}`, "'alerts' is missing or empty"},
		{"an alert with an unknown status", `{"version": "4", "alerts": [{"status": "pending", "labels": {"a": "b"}}]}`, `'alerts[0].status' is "pending"`},
		{"a start that is not a time", `{"version": "4", "alerts": [{"status": "firing", "startsAt": "now"}]}`, `'alerts[0].startsAt' is not an RFC 3339 time`},
		{"labels that are a list", `{"version": "4", "alerts": [{"status": "firing", "labels": ["a"]}]}`, `'alerts[0].labels' must be an object, not array`},
		{"a label value that is a number", `{"version": "4", "alerts": [{"status": "firing", "labels": {"a": 1}}]}`, `'alerts[0].labels.a' must be a string, not number`},
		{"alerts that are an object", `{"version": "4", "alerts": {}}`, `'alerts' must be a list, not object`},
		{"a fingerprint over 255 characters", `{"version": "4", "alerts": [{"status": "firing", "fingerprint": "` + strings.Repeat("f", 256) + `"}]}`, `'alerts[0].fingerprint' is too long: 256 characters (maximum 255)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			events, err := alert.DecodeAlertmanager([]byte(c.body))
			if err == nil {
				t.Fatalf("accepted: %+v", events)
			}
			errs := invalidErrors(t, err)
			if !strings.Contains(strings.Join(errs, "\n"), c.want) {
				t.Errorf("errors = %q, want one containing %q", errs, c.want)
			}
		})
	}
}

func TestGenericWebhook(t *testing.T) {
	t.Parallel()
	ev, err := alert.DecodeGeneric(readTestdata(t, "generic-trigger.json"))
	if err != nil {
		t.Fatal(err)
	}
	if p := eventProblem(ev); p != "" {
		t.Fatal(p)
	}
	if ev.Action != alert.Trigger || ev.DedupKey != "backup/orders" || ev.Severity != "warning" || ev.Source != "backup-cron" ||
		ev.Summary != "Nightly backup of orders failed" || !ev.Timestamp.Equal(time.Date(2026, 3, 2, 2, 30, 0, 0, time.UTC)) {
		t.Errorf("event = %+v", ev)
	}
	if got := string(ev.Details); got != `{"details":{"exit_code":3,"log":"s3: access denied"}}` {
		t.Errorf("details = %s", got)
	}

	defaults, err := alert.DecodeGeneric([]byte(`{"summary": "something broke"}`))
	if err != nil {
		t.Fatal(err)
	}
	if defaults.Action != alert.Trigger || defaults.Severity != "error" || defaults.Source != "webhook" || len(defaults.DedupKey) != 32 || string(defaults.Details) != "{}" {
		t.Errorf("a bare summary decoded to %+v; want a trigger of severity error from webhook with a generated key", defaults)
	}
	resolve, err := alert.DecodeGeneric([]byte(`{"action": "resolve", "dedup_key": "backup/orders"}`))
	if err != nil || resolve.Action != alert.Resolve || resolve.DedupKey != "backup/orders" {
		t.Errorf("resolve = %+v, %v", resolve, err)
	}

	bad := []struct {
		name string
		body string
		want string
	}{
		{"no summary", `{"severity": "info"}`, "'summary' is missing"},
		{"a summary too long", `{"summary": "` + strings.Repeat("x", 1025) + `"}`, "'summary' is too long: 1025 characters"},
		{"an unknown action", `{"summary": "x", "action": "fix"}`, `'action' is invalid: "fix"`},
		{"a resolve without key", `{"action": "resolve"}`, "'dedup_key' is required to resolve an alert"},
		{"an acknowledge without key", `{"action": "acknowledge"}`, "'dedup_key' is required to acknowledge an alert"},
		{"an unknown severity", `{"summary": "x", "severity": "sev1"}`, `'severity' is invalid: "sev1"`},
		{"details that are a list", `{"summary": "x", "details": [1]}`, "'details' must be an object"},
		{"a bad timestamp", `{"summary": "x", "timestamp": "03/02/2026"}`, "'timestamp' is not an ISO 8601 date-time"},
		{"a summary that is an object", `{"summary": {"a": 1}}`, "'summary' must be a string, not object"},
		{"a dedup key too long", `{"summary": "x", "dedup_key": "` + strings.Repeat("k", 256) + `"}`, "'dedup_key' is too long: 256 characters (maximum 255)"},
		{"not JSON", `summary=x`, "invalid JSON at byte"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			ev, err := alert.DecodeGeneric([]byte(c.body))
			if err == nil {
				t.Fatalf("accepted: %+v", ev)
			}
			if errs := invalidErrors(t, err); !strings.Contains(strings.Join(errs, "\n"), c.want) {
				t.Errorf("errors = %q, want one containing %q", errs, c.want)
			}
		})
	}
}

func TestAlertmanagerCutsALongSummaryToTheEventsAPILimit(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 2000)
	events, err := alert.DecodeAlertmanager(amBody(map[string]any{"status": "firing",
		"labels": map[string]string{"alertname": "Big"}, "annotations": map[string]string{"description": long}}))
	if err != nil {
		t.Fatal(err)
	}
	s := events[0].Summary
	if n := utf8.RuneCountInString(s); n != 1024 || !strings.HasPrefix(s, "Big: é") || !strings.HasSuffix(s, "…") || !utf8.ValidString(s) {
		t.Errorf("summary of %d characters: %.40q...%q", n, s, s[len(s)-8:])
	}
}

// BenchmarkDecodeEventsV2 measures reading one Events API v2 trigger as a storm sends them,
// which every request pays before it reaches the pipeline.
//
//	go test ./internal/alert -run '^$' -bench DecodeEventsV2 -benchmem
func BenchmarkDecodeEventsV2(b *testing.B) {
	body := []byte(`{"routing_key":"bench0routing0key0events0v20001a","event_action":"trigger","dedup_key":"r0t1-123",` +
		`"payload":{"summary":"High 5xx rate on checkout-api (r0t1-123)","source":"checkout-api-1.prod","severity":"error",` +
		`"component":"checkout-api","group":"prod-eu","custom_details":{"error_rate":0.124,"threshold":0.05,"region":"eu-west-1"}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := alert.DecodeEventsV2(body); err != nil {
			b.Fatal(err)
		}
	}
}
