package alert_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/invalid"
)

// A decoder either refuses its input with an *invalid.Error that says what is wrong, or
// returns events that keep eventProblem's invariants. It never panics.

func checkDecoderError(t *testing.T, err error) {
	t.Helper()
	var inv *invalid.Error
	if !errors.As(err, &inv) {
		t.Fatalf("error %v is a %T, not an *invalid.Error", err, err)
	}
	if inv.What == "" || len(inv.Problems) == 0 {
		t.Fatalf("an invalid.Error without message or field errors: %+v", inv)
	}
	for _, e := range inv.Messages() {
		if strings.TrimSpace(e) == "" {
			t.Fatalf("an empty field error in %q", inv.Messages())
		}
	}
}

func FuzzDecodeEventsV2(f *testing.F) {
	for _, name := range []string{"events-v2-trigger.json", "alertmanager-pagerduty-trigger.json", "alertmanager-pagerduty-resolve.json",
		"pagerduty-docs-trigger.json", "pagerduty-docs-acknowledge.json", "pagerduty-docs-resolve.json"} {
		f.Add(readTestdata(f, name))
	}
	for _, form := range timestampForms(f) {
		f.Add(withTimestamp(f, readTestdata(f, "pagerduty-docs-trigger.json"), form.Timestamp))
	}
	f.Add([]byte(`{"routing_key": 7, "payload": {"summary": ["x"]}, "links": {"href": 1}, "images": [2]}`))
	f.Add(v2(map[string]any{"event_action": "acknowledge", "dedup_key": "k", "payload": nil}))
	f.Add(v2(map[string]any{"links": []any{map[string]any{"href": "javascript:x"}, map[string]any{"href": "https://a"}}}))
	f.Add(v2(map[string]any{"links": []any{map[string]any{"href": "x"}}, "images": []any{map[string]any{"src": "y"}}}))
	f.Add([]byte(`{"routing_key": 1}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		key, ev, err := alert.DecodeEventsV2(body)
		if err != nil {
			checkDecoderError(t, err)
			return
		}
		if len(key) != 32 {
			t.Fatalf("accepted a routing key of %d bytes", len(key))
		}
		if p := eventProblem(ev); p != "" {
			t.Fatalf("accepted %q as an event with %s", body, p)
		}
		var details struct {
			Links, Images []map[string]any
		}
		json.Unmarshal(ev.Details, &details)
		for _, item := range append(details.Links, details.Images...) {
			for _, f := range []string{"href", "src"} {
				if v, ok := item[f]; ok && v != nil {
					if s, _ := v.(string); !alert.SafeHref(s) {
						t.Fatalf("kept %s %v of %q", f, v, body)
					}
				}
			}
		}
	})
}

func FuzzDecodeAlertmanager(f *testing.F) {
	for _, name := range []string{"alertmanager-v4-firing.json", "alertmanager-v4-resolved.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add(amBody(map[string]any{"status": "firing", "labels": map[string]string{"alertname": "Down"}}))
	f.Add([]byte(`{"version": "4", "alerts": [{"status": "resolved", "fingerprint": ""}]}`))
	f.Add([]byte(`{"alerts": {}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := alert.DecodeAlertmanager(body)
		if err != nil {
			checkDecoderError(t, err)
			return
		}
		if len(events) == 0 {
			t.Fatal("accepted a payload with no events")
		}
		for _, ev := range events {
			if ev.Action == alert.Acknowledge {
				t.Fatal("Alertmanager has no acknowledge, yet an event asks for one")
			}
			if p := eventProblem(ev); p != "" {
				t.Fatalf("accepted %q as an event with %s", body, p)
			}
		}
	})
}

func FuzzDecodeGeneric(f *testing.F) {
	f.Add(readTestdata(f, "generic-trigger.json"))
	f.Add([]byte(`{"summary": "x"}`))
	f.Add([]byte(`{"action": "resolve", "dedup_key": "k"}`))
	f.Add([]byte(`{"summary": "x", "details": [1]}`))
	f.Add([]byte(`{"summary": "x", "details": null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := alert.DecodeGeneric(body)
		if err != nil {
			checkDecoderError(t, err)
			return
		}
		if p := eventProblem(ev); p != "" {
			t.Fatalf("accepted %q as an event with %s", body, p)
		}
	})
}
