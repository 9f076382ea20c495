package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

func readPayload(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../alert/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEventsV2AnswersAsPagerDutyDoes(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)

	r := s.Do(webtest.Request{Method: "POST", Path: "/v2/enqueue", Body: readPayload(t, "alertmanager-pagerduty-trigger.json")})
	var ok map[string]string
	r.JSON(t, &ok)
	want := map[string]string{"status": "success", "message": "Event processed", "dedup_key": "3e1d6b5f0c6f4ea1a6f3f49a1c5e0b7d9f2a8c4e6b1d3f5a7c9e0b2d4f6a8c1e"}
	if r.Status != http.StatusAccepted || len(ok) != 3 || ok["status"] != want["status"] || ok["message"] != want["message"] || ok["dedup_key"] != want["dedup_key"] {
		t.Errorf("trigger answered %d %v, want 202 %v", r.Status, ok, want)
	}
	incs, _, _ := s.Incidents.List(context.Background(), incident.Filter{})
	if len(incs) != 1 || incs[0].ServiceID != "checkout" || incs[0].Title != "[FIRING:2] CheckoutHighLatency checkout shop" || incs[0].Severity != "critical" {
		t.Fatalf("incidents = %+v", incs)
	}

	// A trigger without a dedup key gets one, and says which.
	r = s.Do(webtest.Request{Method: "POST", Path: "/v2/enqueue", Body: `{"routing_key":"` + webtest.V2Key + `","event_action":"trigger","payload":{"summary":"s","source":"x","severity":"info"}}`})
	r.JSON(t, &ok)
	if r.Status != http.StatusAccepted || len(ok["dedup_key"]) != 32 {
		t.Errorf("trigger without dedup key: %d %s", r.Status, r.Body)
	}

	r = s.Do(webtest.Request{Method: "POST", Path: "/v2/enqueue", Body: readPayload(t, "alertmanager-pagerduty-resolve.json")})
	if r.Status != http.StatusAccepted {
		t.Errorf("resolve answered %d %s", r.Status, r.Body)
	}
	if inc, _ := s.Incidents.Get(context.Background(), incs[0].ID); inc.State != incident.Resolved {
		t.Errorf("incident is %s after Alertmanager's resolve", inc.State)
	}

	var bad struct {
		Status  string   `json:"status"`
		Message string   `json:"message"`
		Errors  []string `json:"errors"`
	}
	r = s.Do(webtest.Request{Method: "POST", Path: "/v2/enqueue", Body: `{"routing_key":"` + webtest.V2Key + `","event_action":"trigger","payload":{"summary":"s","severity":"urgent"}}`})
	r.JSON(t, &bad)
	if r.Status != http.StatusBadRequest || bad.Status != "invalid event" || bad.Message != "Event object is invalid" ||
		len(bad.Errors) != 2 || !strings.Contains(bad.Errors[0], "'payload.source' is missing") || !strings.Contains(bad.Errors[1], "'payload.severity' is invalid") {
		t.Errorf("an invalid event answered %d %+v", r.Status, bad)
	}
	r = s.Do(webtest.Request{Method: "POST", Path: "/v2/enqueue", Body: `{"routing_key":"ffffffffffffffffffffffffffffffff","event_action":"trigger","payload":{"summary":"s","source":"x","severity":"info"}}`})
	r.JSON(t, &bad)
	if r.Status != http.StatusNotFound || bad.Status != "unrecognized routing key" || !strings.Contains(bad.Message, "unknown integration key") || len(bad.Errors) != 1 {
		t.Errorf("an unknown routing key answered %d %+v", r.Status, bad)
	}
}

func TestAlertmanagerWebhookOpensAndResolvesIncidents(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	r := s.Do(webtest.Request{Method: "POST", Path: "/api/v1/ingest/alertmanager/" + webtest.AMKey, Body: readPayload(t, "alertmanager-v4-firing.json")})
	var res struct {
		Status  string `json:"status"`
		Results []struct {
			DedupKey   string `json:"dedup_key"`
			Outcome    string `json:"outcome"`
			IncidentID int64  `json:"incident_id"`
		} `json:"results"`
	}
	r.JSON(t, &res)
	if r.Status != http.StatusAccepted || res.Status != "success" || len(res.Results) != 2 ||
		res.Results[0].DedupKey != "6e9a4f3c2b1d0a87" || res.Results[0].Outcome != "opened" || res.Results[1].Outcome != "opened" ||
		res.Results[0].IncidentID == res.Results[1].IncidentID {
		t.Fatalf("firing webhook answered %d %s", r.Status, r.Body)
	}
	// The key may come as a bearer token instead of in the path.
	r = s.Do(webtest.Request{Method: "POST", Path: "/api/v1/ingest/alertmanager", Token: webtest.AMKey, Body: readPayload(t, "alertmanager-v4-resolved.json")})
	r.JSON(t, &res)
	if r.Status != http.StatusAccepted || len(res.Results) != 1 || res.Results[0].Outcome != "resolved" {
		t.Fatalf("resolved webhook answered %d %s", r.Status, r.Body)
	}
	first, _ := s.Incidents.Get(context.Background(), res.Results[0].IncidentID)
	if first.State != incident.Resolved {
		t.Errorf("the resolved alert's incident is %s", first.State)
	}
	open, _, _ := s.Incidents.List(context.Background(), incident.Filter{States: []incident.State{incident.Triggered}})
	if len(open) != 1 || open[0].Severity != "warning" {
		t.Errorf("open incidents = %+v; the second alert's should stay", open)
	}
	// The search service folds alerts into one incident.
	r = s.Do(webtest.Request{Method: "POST", Path: "/api/v1/ingest/alertmanager/" + webtest.SearchKey, Body: readPayload(t, "alertmanager-v4-firing.json")})
	r.JSON(t, &res)
	if r.Status != http.StatusAccepted || res.Results[0].IncidentID != res.Results[1].IncidentID {
		t.Errorf("a service-grouped service answered %d %s", r.Status, r.Body)
	}
}

func TestGenericWebhook(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	r := s.Do(webtest.Request{Method: "POST", Path: "/api/v1/ingest/generic/" + webtest.GenKey, Body: readPayload(t, "generic-trigger.json")})
	var res map[string]any
	r.JSON(t, &res)
	if r.Status != http.StatusAccepted || res["status"] != "success" || res["dedup_key"] != "backup/orders" || res["outcome"] != "opened" || res["incident_id"] == float64(0) {
		t.Fatalf("generic trigger answered %d %s", r.Status, r.Body)
	}
	r = s.Do(webtest.Request{Method: "POST", Path: "/api/v1/ingest/generic/" + webtest.GenKey, Body: readPayload(t, "generic-trigger.json")})
	r.JSON(t, &res)
	if res["outcome"] != "repeated" {
		t.Errorf("the same trigger again: %s", r.Body)
	}
	r = s.Do(webtest.Request{Method: "POST", Path: "/api/v1/ingest/generic/" + webtest.GenKey, Body: `{"action":"resolve","dedup_key":"backup/orders"}`})
	r.JSON(t, &res)
	if r.Status != http.StatusAccepted || res["outcome"] != "resolved" {
		t.Errorf("generic resolve answered %d %s", r.Status, r.Body)
	}
}

// TestRefusedIngestIsA4xxThatNamesTheProblemAndWritesNothing sends each ingest route what a
// broken or hostile sender might, and checks the answer and the database.
func TestRefusedIngestIsA4xxThatNamesTheProblemAndWritesNothing(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	s.Trigger("existing", "already open")
	big := `{"summary":"` + strings.Repeat("x", 600<<10) + `"}`
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	routes := map[string]string{
		"events_v2":    "/v2/enqueue",
		"alertmanager": "/api/v1/ingest/alertmanager/" + webtest.AMKey,
		"generic":      "/api/v1/ingest/generic/" + webtest.GenKey,
	}
	cases := []struct {
		name   string
		routes []string
		path   string // instead of the route's own
		token  string
		body   string
		status int
		want   string // in the body
	}{
		{"malformed JSON", []string{"events_v2", "alertmanager", "generic"}, "", "", `{"summary": `, 400, "Malformed JSON"},
		{"an empty body", []string{"events_v2", "alertmanager", "generic"}, "", "", ``, 400, "the body is empty"},
		{"a JSON list", []string{"events_v2", "alertmanager", "generic"}, "", "", `[1, 2]`, 400, "must be a JSON object"},
		{"nesting beyond any sense", []string{"events_v2", "alertmanager", "generic"}, "", "", deep, 400, "invalid"},
		{"two objects", []string{"events_v2", "alertmanager", "generic"}, "", "", `{} {}`, 400, "data after the JSON object"},
		{"a body over 512 KiB", []string{"events_v2", "alertmanager", "generic"}, "", "", big, 413, "larger than 512 KiB"},
		{"invalid UTF-8", []string{"generic"}, "", "", "{\"summary\": \"\xff\xfe\", \"severity\": \"x\xff\"}", 400, "'severity' is invalid"},
		{"a wrong type", []string{"generic"}, "", "", `{"summary": ["a"]}`, 400, "'summary' must be a string, not array"},
		{"a wrong type", []string{"events_v2"}, "", "", `{"routing_key": "` + webtest.V2Key + `", "event_action": "trigger", "payload": {"summary": "s", "source": "x", "severity": 3}}`, 400, "'payload.severity' must be a string, not number"},
		{"a wrong type", []string{"alertmanager"}, "", "", `{"version": "4", "alerts": [{"status": "firing", "annotations": "summary"}]}`, 400, "'alerts[0].annotations' must be an object, not string"},
		{"a missing field", []string{"alertmanager"}, "", "", `{"version": "4"}`, 400, "'alerts' is missing or empty"},
		{"one bad alert among good ones", []string{"alertmanager"}, "", "", `{"version": "4", "alerts": [{"status": "firing", "labels": {"a": "1"}}, {"status": "sleeping"}]}`, 400, "'alerts[1].status'"},
		{"an unknown key in the path", nil, "/api/v1/ingest/generic/no-such-key", "", `{"summary": "x"}`, 404, "unknown integration key"},
		{"an unknown key in the path", nil, "/api/v1/ingest/alertmanager/no-such-key", "", readPayload(t, "alertmanager-v4-firing.json"), 404, "unknown integration key"},
		{"an unknown bearer key", nil, "/api/v1/ingest/alertmanager", "no-such-key", readPayload(t, "alertmanager-v4-firing.json"), 404, "unknown integration key"},
		{"no key at all", nil, "/api/v1/ingest/alertmanager", "", readPayload(t, "alertmanager-v4-firing.json"), 401, "integration key missing"},
		{"a key of another integration type", nil, "/api/v1/ingest/generic/" + webtest.AMKey, "", `{"summary": "x"}`, 404, "no generic integration has this key"},
		{"an acknowledgement without a key", []string{"events_v2"}, "", "", `{"routing_key": "` + webtest.V2Key + `", "event_action": "acknowledge"}`, 400, "'dedup_key' is required"},
	}
	for _, c := range cases {
		paths := []string{c.path}
		if c.path == "" {
			paths = nil
			for _, r := range c.routes {
				paths = append(paths, routes[r])
			}
		}
		for _, path := range paths {
			before := s.Rows()
			body := c.body
			if strings.HasPrefix(path, "/v2/") && c.name == "a body over 512 KiB" {
				body = `{"routing_key": "` + webtest.V2Key + `", "x": "` + strings.Repeat("x", 600<<10) + `"}`
			}
			r := s.Do(webtest.Request{Method: "POST", Path: path, Body: body, Token: c.token})
			if r.Status != c.status || !strings.Contains(r.Body, c.want) {
				t.Errorf("%s to %s: %d %.300s\nwant %d with %q", c.name, path, r.Status, r.Body, c.status, c.want)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s to %s: answered as %s", c.name, path, ct)
			}
			if after := s.Rows(); after != before {
				t.Errorf("%s to %s wrote rows: %s -> %s", c.name, path, before, after)
			}
		}
	}
}

func TestAReloadedConfigDecidesWhichKeysAreAccepted(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	body := `{"summary": "x"}`
	if r := s.Do(webtest.Request{Method: "POST", Path: "/api/v1/ingest/generic/" + webtest.GenKey, Body: body}); r.Status != http.StatusAccepted {
		t.Fatalf("before the reload: %d %s", r.Status, r.Body)
	}
	next, err := config.Parse("nines.yaml", []byte("services:\n  - id: checkout\n    integrations:\n      - {type: generic, key: rotated-key-2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s.Config.Swap(next)
	if r := s.Do(webtest.Request{Method: "POST", Path: "/api/v1/ingest/generic/" + webtest.GenKey, Body: body}); r.Status != http.StatusNotFound {
		t.Errorf("the retired key after the reload: %d %s", r.Status, r.Body)
	}
	if r := s.Do(webtest.Request{Method: "POST", Path: "/api/v1/ingest/generic/rotated-key-2", Body: body}); r.Status != http.StatusAccepted {
		t.Errorf("the new key after the reload: %d %s", r.Status, r.Body)
	}
}

// TestATruncatedPayloadIsNeverA500 cuts real payloads short at many places, as a sender that
// dies mid-request does, and checks every answer is a 4xx that wrote nothing (or a whole 202).
func TestATruncatedPayloadIsNeverA500(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	for path, payload := range map[string]string{
		"/v2/enqueue": readPayload(t, "alertmanager-pagerduty-trigger.json"),
		"/api/v1/ingest/alertmanager/" + webtest.AMKey: readPayload(t, "alertmanager-v4-firing.json"),
		"/api/v1/ingest/generic/" + webtest.GenKey:     readPayload(t, "generic-trigger.json"),
	} {
		for cut := 0; cut < len(payload); cut += 1 + len(payload)/60 {
			before := s.Rows()
			r := s.Do(webtest.Request{Method: "POST", Path: path, Body: payload[:cut]})
			switch {
			case r.Status == http.StatusAccepted:
			case r.Status == http.StatusBadRequest:
				if after := s.Rows(); after != before {
					t.Errorf("%s cut at %d: a 400 that wrote rows: %s -> %s", path, cut, before, after)
				}
			default:
				t.Errorf("%s cut at byte %d: %d %s", path, cut, r.Status, r.Body)
			}
		}
	}
}

// TestEveryTimestampPagerDutyAcceptsIsAcceptedByBothEventsAPIs sends PagerDuty's documented
// example payloads, once per ISO 8601 form of payload.timestamp, to /v2/enqueue and to
// /v2/change/enqueue. PagerDuty's client libraries treat a 400 as final, so a form refused
// here would be an alert lost.
func TestEveryTimestampPagerDutyAcceptsIsAcceptedByBothEventsAPIs(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, app.Schemas()))
	var forms struct {
		Forms []struct {
			Timestamp string    `json:"timestamp"`
			UTC       time.Time `json:"utc"`
			WrittenBy string    `json:"written_by"`
		}
	}
	if err := json.Unmarshal([]byte(readPayload(t, "pagerduty-timestamps.json")), &forms); err != nil {
		t.Fatal(err)
	}
	rewrite := func(doc, dedupKey, ts string) string {
		var m map[string]any
		json.Unmarshal([]byte(doc), &m)
		m["payload"].(map[string]any)["timestamp"] = ts
		if dedupKey != "" {
			m["dedup_key"] = dedupKey
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	trigger, changeDoc := readPayload(t, "pagerduty-docs-trigger.json"), readPayload(t, "pagerduty-docs-change.json")
	want := map[string]time.Time{}
	for i, f := range forms.Forms {
		key := fmt.Sprintf("form-%d", i)
		want[key] = f.UTC
		if code, body := e.call("POST", "/v2/enqueue", "", rewrite(trigger, key, f.Timestamp)); code != http.StatusAccepted {
			t.Errorf("/v2/enqueue refused %s's %q: %d %s", f.WrittenBy, f.Timestamp, code, body)
		}
		if code, body := e.call("POST", "/v2/change/enqueue", "", rewrite(changeDoc, "", f.Timestamp)); code != http.StatusAccepted {
			t.Errorf("/v2/change/enqueue refused %s's %q: %d %s", f.WrittenBy, f.Timestamp, code, body)
		}
	}
	// The alerts keep the sender's time, in UTC, on their incidents' timelines.
	incs, _, err := e.srv.Incidents.List(context.Background(), incident.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, inc := range incs {
		tl, _ := e.srv.Incidents.Timeline(context.Background(), inc.ID)
		for _, ev := range tl {
			var d struct {
				DedupKey  string    `json:"dedup_key"`
				Timestamp time.Time `json:"timestamp"`
			}
			json.Unmarshal(ev.Data, &d)
			if w, ok := want[d.DedupKey]; ev.Type == alert.EventTriggered && ok {
				seen++
				if !d.Timestamp.Equal(w) {
					t.Errorf("alert %s has timestamp %v, want %v", d.DedupKey, d.Timestamp, w)
				}
			}
		}
	}
	if seen != len(forms.Forms) {
		t.Errorf("%d alerts on timelines, want %d", seen, len(forms.Forms))
	}
	// The changes are recorded at the time they say.
	var got struct{ Changes []change.Change }
	e.want(http.StatusOK, "GET", "/api/v1/services/checkout/changes?from=2015-07-17&to=2015-07-18", e.viewer, nil, &got)
	if len(got.Changes) != len(forms.Forms) {
		t.Fatalf("%d changes recorded, want %d", len(got.Changes), len(forms.Forms))
	}
	for _, c := range got.Changes {
		if c.At.Hour() != 8 || c.At.Minute() != 42 || c.At.Second() != 58 {
			t.Errorf("a change recorded at %v, want 2015-07-17 08:42:58 UTC", c.At)
		}
	}
}

// TestBothEventsAPIsNameEveryWrongTypedField: a body whose fields have the wrong JSON types is
// answered 400 with every such field named, by /v2/enqueue and /v2/change/enqueue alike.
func TestBothEventsAPIsNameEveryWrongTypedField(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, app.Schemas()))
	body := `{"routing_key": 7, "payload": {"summary": ["x"], "source": 1, "timestamp": 1437122578, "custom_details": {"a": 1}}, "links": {"href": "x"}}`
	want := []string{
		"'routing_key' must be a string, not number",
		"'payload.summary' must be a string, not array",
		"'payload.source' must be a string, not number",
		"'payload.timestamp' must be a string, not number",
		"'links' must be a list of objects",
	}
	for _, path := range []string{"/v2/enqueue", "/v2/change/enqueue"} {
		code, raw := e.call("POST", path, "", body)
		var got struct {
			Status string   `json:"status"`
			Errors []string `json:"errors"`
		}
		json.Unmarshal(raw, &got)
		if code != http.StatusBadRequest || got.Status != "invalid event" || strings.Join(got.Errors, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s answered %d %s; want 400 naming\n%s", path, code, raw, strings.Join(want, "\n"))
		}
	}
}
