package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/storetest"
)

const timestampConfig = `
services:
  - id: checkout
    integrations:
      - {type: events_v2, key: 0123456789abcdef0123456789abcdef}
      - {type: generic, key: gen-checkout-key}
`

// TestALeapSecondIsKeptAndAnOffsetBeyondADayIsRefused sends a timestamp at a leap second
// (23:59:60) to every route that reads one: the alert or change is kept, a nanosecond before the
// next minute, where a 400 would have lost it (PagerDuty's clients do not retry a 400). An
// offset of 24 hours or more is no offset at all: refused, naming the field, and nothing is kept.
func TestALeapSecondIsKeptAndAnOffsetBeyondADayIsRefused(t *testing.T) {
	w := startWired(t, storetest.SQLite(t, app.Schemas()), timestampConfig, time.Date(2017, 1, 1, 0, 0, 10, 0, time.UTC))
	const leap, key = "2016-12-31T23:59:60Z", "0123456789abcdef0123456789abcdef"
	last := time.Date(2016, 12, 31, 23, 59, 59, 999999999, time.UTC)
	payload := func(ts string) map[string]string {
		return map[string]string{"summary": "disk full", "source": "db1", "severity": "critical", "timestamp": ts}
	}
	w.call("POST", "/v2/enqueue", map[string]any{"routing_key": key, "event_action": "trigger", "dedup_key": "leap-v2", "payload": payload(leap)}, http.StatusAccepted, nil)
	w.call("POST", "/api/v1/ingest/generic/gen-checkout-key", map[string]any{"summary": "disk full", "dedup_key": "leap-generic", "timestamp": leap}, http.StatusAccepted, nil)
	w.call("POST", "/v2/change/enqueue", map[string]any{"routing_key": key, "payload": map[string]any{"summary": "deployed", "source": "ci", "timestamp": leap}}, http.StatusAccepted, nil)

	incs, _, err := w.app.Incidents.List(context.Background(), incident.Filter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	stamped := map[string]time.Time{}
	for _, inc := range incs {
		events, _ := w.app.Incidents.Timeline(context.Background(), inc.ID)
		for _, ev := range events {
			var d struct {
				DedupKey  string    `json:"dedup_key"`
				Timestamp time.Time `json:"timestamp"`
			}
			json.Unmarshal(ev.Data, &d)
			if ev.Type == alert.EventTriggered {
				stamped[d.DedupKey] = d.Timestamp
			}
		}
	}
	for _, k := range []string{"leap-v2", "leap-generic"} {
		if got, ok := stamped[k]; !ok || !got.Equal(last) {
			t.Errorf("alert %s: timestamp %v (kept: %v), want %v", k, got, ok, last)
		}
	}
	var changes struct {
		Changes []struct {
			At time.Time `json:"at"`
		} `json:"changes"`
	}
	w.call("GET", "/api/v1/services/checkout/changes?from=2016-12-31&to=2017-01-02", nil, http.StatusOK, &changes)
	if len(changes.Changes) != 1 || !changes.Changes[0].At.Equal(last.Truncate(time.Millisecond)) { // changes keep milliseconds
		t.Errorf("changes %+v, want one at %v", changes.Changes, last.Truncate(time.Millisecond))
	}

	for _, c := range []struct {
		path string
		body map[string]any
		want string
	}{
		{"/v2/enqueue", map[string]any{"routing_key": key, "event_action": "trigger", "dedup_key": "far", "payload": payload("2017-01-01T00:00:00+24:00")}, "'payload.timestamp'"},
		{"/v2/enqueue", map[string]any{"routing_key": key, "event_action": "trigger", "dedup_key": "far", "payload": payload("2017-01-01T00:00:00-2400")}, "'payload.timestamp'"},
		{"/api/v1/ingest/generic/gen-checkout-key", map[string]any{"summary": "x", "dedup_key": "far", "timestamp": "2017-01-01T00:00:00+24:00"}, "'timestamp'"},
		{"/v2/change/enqueue", map[string]any{"routing_key": key, "payload": map[string]any{"summary": "x", "source": "ci", "timestamp": "2017-01-01T00:00:00+23:60"}}, "timestamp"},
		{"/api/v1/ingest/generic/gen-checkout-key", map[string]any{"summary": "x", "dedup_key": "far", "details": "not an object"}, "'details' must be an object"},
	} {
		body := string(w.call("POST", c.path, c.body, http.StatusBadRequest, nil))
		if !strings.Contains(body, c.want) {
			t.Errorf("POST %s: %s, want the field %s named", c.path, body, c.want)
		}
	}
	after, _, _ := w.app.Incidents.List(context.Background(), incident.Filter{Limit: 10})
	if len(after) != len(incs) {
		t.Errorf("%d incidents after the refused events, want %d", len(after), len(incs))
	}
}
