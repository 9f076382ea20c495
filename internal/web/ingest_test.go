package web_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
)

func readPayload(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../alert/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEventsV2AnswersAsPagerDutyDoes(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)

	r := s.do(request{method: "POST", path: "/v2/enqueue", body: readPayload(t, "alertmanager-pagerduty-trigger.json")})
	var ok map[string]string
	r.json(t, &ok)
	want := map[string]string{"status": "success", "message": "Event processed", "dedup_key": "3e1d6b5f0c6f4ea1a6f3f49a1c5e0b7d9f2a8c4e6b1d3f5a7c9e0b2d4f6a8c1e"}
	if r.status != http.StatusAccepted || len(ok) != 3 || ok["status"] != want["status"] || ok["message"] != want["message"] || ok["dedup_key"] != want["dedup_key"] {
		t.Errorf("trigger answered %d %v, want 202 %v", r.status, ok, want)
	}
	incs, _, _ := s.incidents.List(context.Background(), incident.Filter{})
	if len(incs) != 1 || incs[0].ServiceID != "checkout" || incs[0].Title != "[FIRING:2] CheckoutHighLatency checkout shop" || incs[0].Severity != "critical" {
		t.Fatalf("incidents = %+v", incs)
	}

	// A trigger without a dedup key gets one, and says which.
	r = s.do(request{method: "POST", path: "/v2/enqueue", body: `{"routing_key":"` + v2Key + `","event_action":"trigger","payload":{"summary":"s","source":"x","severity":"info"}}`})
	r.json(t, &ok)
	if r.status != http.StatusAccepted || len(ok["dedup_key"]) != 32 {
		t.Errorf("trigger without dedup key: %d %s", r.status, r.body)
	}

	r = s.do(request{method: "POST", path: "/v2/enqueue", body: readPayload(t, "alertmanager-pagerduty-resolve.json")})
	if r.status != http.StatusAccepted {
		t.Errorf("resolve answered %d %s", r.status, r.body)
	}
	if inc, _ := s.incidents.Get(context.Background(), incs[0].ID); inc.State != incident.Resolved {
		t.Errorf("incident is %s after Alertmanager's resolve", inc.State)
	}

	var bad struct {
		Status  string   `json:"status"`
		Message string   `json:"message"`
		Errors  []string `json:"errors"`
	}
	r = s.do(request{method: "POST", path: "/v2/enqueue", body: `{"routing_key":"` + v2Key + `","event_action":"trigger","payload":{"summary":"s","severity":"urgent"}}`})
	r.json(t, &bad)
	if r.status != http.StatusBadRequest || bad.Status != "invalid event" || bad.Message != "Event object is invalid" ||
		len(bad.Errors) != 2 || !strings.Contains(bad.Errors[0], "'payload.source' is missing") || !strings.Contains(bad.Errors[1], "'payload.severity' is invalid") {
		t.Errorf("an invalid event answered %d %+v", r.status, bad)
	}
	r = s.do(request{method: "POST", path: "/v2/enqueue", body: `{"routing_key":"ffffffffffffffffffffffffffffffff","event_action":"trigger","payload":{"summary":"s","source":"x","severity":"info"}}`})
	r.json(t, &bad)
	if r.status != http.StatusNotFound || bad.Status != "unrecognized routing key" || !strings.Contains(bad.Message, "unknown integration key") || len(bad.Errors) != 1 {
		t.Errorf("an unknown routing key answered %d %+v", r.status, bad)
	}
}

func TestAlertmanagerWebhookOpensAndResolvesIncidents(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	r := s.do(request{method: "POST", path: "/api/v1/ingest/alertmanager/" + amKey, body: readPayload(t, "alertmanager-v4-firing.json")})
	var res struct {
		Status  string `json:"status"`
		Results []struct {
			DedupKey   string `json:"dedup_key"`
			Outcome    string `json:"outcome"`
			IncidentID int64  `json:"incident_id"`
		} `json:"results"`
	}
	r.json(t, &res)
	if r.status != http.StatusAccepted || res.Status != "success" || len(res.Results) != 2 ||
		res.Results[0].DedupKey != "6e9a4f3c2b1d0a87" || res.Results[0].Outcome != "opened" || res.Results[1].Outcome != "opened" ||
		res.Results[0].IncidentID == res.Results[1].IncidentID {
		t.Fatalf("firing webhook answered %d %s", r.status, r.body)
	}
	// The key may come as a bearer token instead of in the path.
	r = s.do(request{method: "POST", path: "/api/v1/ingest/alertmanager", token: amKey, body: readPayload(t, "alertmanager-v4-resolved.json")})
	r.json(t, &res)
	if r.status != http.StatusAccepted || len(res.Results) != 1 || res.Results[0].Outcome != "resolved" {
		t.Fatalf("resolved webhook answered %d %s", r.status, r.body)
	}
	first, _ := s.incidents.Get(context.Background(), res.Results[0].IncidentID)
	if first.State != incident.Resolved {
		t.Errorf("the resolved alert's incident is %s", first.State)
	}
	open, _, _ := s.incidents.List(context.Background(), incident.Filter{States: []incident.State{incident.Triggered}})
	if len(open) != 1 || open[0].Severity != "warning" {
		t.Errorf("open incidents = %+v; the second alert's should stay", open)
	}
	// The search service folds alerts into one incident.
	r = s.do(request{method: "POST", path: "/api/v1/ingest/alertmanager/" + searchKey, body: readPayload(t, "alertmanager-v4-firing.json")})
	r.json(t, &res)
	if r.status != http.StatusAccepted || res.Results[0].IncidentID != res.Results[1].IncidentID {
		t.Errorf("a service-grouped service answered %d %s", r.status, r.body)
	}
}

func TestGenericWebhook(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	r := s.do(request{method: "POST", path: "/api/v1/ingest/generic/" + genKey, body: readPayload(t, "generic-trigger.json")})
	var res map[string]any
	r.json(t, &res)
	if r.status != http.StatusAccepted || res["status"] != "success" || res["dedup_key"] != "backup/orders" || res["outcome"] != "opened" || res["incident_id"] == float64(0) {
		t.Fatalf("generic trigger answered %d %s", r.status, r.body)
	}
	r = s.do(request{method: "POST", path: "/api/v1/ingest/generic/" + genKey, body: readPayload(t, "generic-trigger.json")})
	r.json(t, &res)
	if res["outcome"] != "repeated" {
		t.Errorf("the same trigger again: %s", r.body)
	}
	r = s.do(request{method: "POST", path: "/api/v1/ingest/generic/" + genKey, body: `{"action":"resolve","dedup_key":"backup/orders"}`})
	r.json(t, &res)
	if r.status != http.StatusAccepted || res["outcome"] != "resolved" {
		t.Errorf("generic resolve answered %d %s", r.status, r.body)
	}
}

// TestRefusedIngestIsA4xxThatNamesTheProblemAndWritesNothing sends each ingest route what a
// broken or hostile sender might, and checks the answer and the database.
func TestRefusedIngestIsA4xxThatNamesTheProblemAndWritesNothing(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	s.trigger("existing", "already open")
	big := `{"summary":"` + strings.Repeat("x", 600<<10) + `"}`
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	routes := map[string]string{
		"events_v2":    "/v2/enqueue",
		"alertmanager": "/api/v1/ingest/alertmanager/" + amKey,
		"generic":      "/api/v1/ingest/generic/" + genKey,
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
		{"a wrong type", []string{"events_v2"}, "", "", `{"routing_key": "` + v2Key + `", "event_action": "trigger", "payload": {"summary": "s", "source": "x", "severity": 3}}`, 400, "'payload.severity' must be a string, not number"},
		{"a wrong type", []string{"alertmanager"}, "", "", `{"version": "4", "alerts": [{"status": "firing", "annotations": "summary"}]}`, 400, "'alerts.annotations' must be an object, not string"},
		{"a missing field", []string{"alertmanager"}, "", "", `{"version": "4"}`, 400, "'alerts' is missing or empty"},
		{"one bad alert among good ones", []string{"alertmanager"}, "", "", `{"version": "4", "alerts": [{"status": "firing", "labels": {"a": "1"}}, {"status": "sleeping"}]}`, 400, "'alerts[1].status'"},
		{"an unknown key in the path", nil, "/api/v1/ingest/generic/no-such-key", "", `{"summary": "x"}`, 404, "unknown integration key"},
		{"an unknown key in the path", nil, "/api/v1/ingest/alertmanager/no-such-key", "", readPayload(t, "alertmanager-v4-firing.json"), 404, "unknown integration key"},
		{"an unknown bearer key", nil, "/api/v1/ingest/alertmanager", "no-such-key", readPayload(t, "alertmanager-v4-firing.json"), 404, "unknown integration key"},
		{"no key at all", nil, "/api/v1/ingest/alertmanager", "", readPayload(t, "alertmanager-v4-firing.json"), 401, "integration key missing"},
		{"a key of another integration type", nil, "/api/v1/ingest/generic/" + amKey, "", `{"summary": "x"}`, 404, "no generic integration has this key"},
		{"an acknowledgement without a key", []string{"events_v2"}, "", "", `{"routing_key": "` + v2Key + `", "event_action": "acknowledge"}`, 400, "'dedup_key' is required"},
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
			before := s.rows()
			body := c.body
			if strings.HasPrefix(path, "/v2/") && c.name == "a body over 512 KiB" {
				body = `{"routing_key": "` + v2Key + `", "x": "` + strings.Repeat("x", 600<<10) + `"}`
			}
			r := s.do(request{method: "POST", path: path, body: body, token: c.token})
			if r.status != c.status || !strings.Contains(r.body, c.want) {
				t.Errorf("%s to %s: %d %.300s\nwant %d with %q", c.name, path, r.status, r.body, c.status, c.want)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s to %s: answered as %s", c.name, path, ct)
			}
			if after := s.rows(); after != before {
				t.Errorf("%s to %s wrote rows: %s -> %s", c.name, path, before, after)
			}
		}
	}
}

func TestAReloadedConfigDecidesWhichKeysAreAccepted(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	body := `{"summary": "x"}`
	if r := s.do(request{method: "POST", path: "/api/v1/ingest/generic/" + genKey, body: body}); r.status != http.StatusAccepted {
		t.Fatalf("before the reload: %d %s", r.status, r.body)
	}
	next, err := config.Parse("nines.yaml", []byte("services:\n  - id: checkout\n    integrations:\n      - {type: generic, key: rotated-key-2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s.srv.Config.Swap(next)
	if r := s.do(request{method: "POST", path: "/api/v1/ingest/generic/" + genKey, body: body}); r.status != http.StatusNotFound {
		t.Errorf("the retired key after the reload: %d %s", r.status, r.body)
	}
	if r := s.do(request{method: "POST", path: "/api/v1/ingest/generic/rotated-key-2", body: body}); r.status != http.StatusAccepted {
		t.Errorf("the new key after the reload: %d %s", r.status, r.body)
	}
}

// TestATruncatedPayloadIsNeverA500 cuts real payloads short at many places, as a sender that
// dies mid-request does, and checks every answer is a 4xx that wrote nothing (or a whole 202).
func TestATruncatedPayloadIsNeverA500(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	for path, payload := range map[string]string{
		"/v2/enqueue":                          readPayload(t, "alertmanager-pagerduty-trigger.json"),
		"/api/v1/ingest/alertmanager/" + amKey: readPayload(t, "alertmanager-v4-firing.json"),
		"/api/v1/ingest/generic/" + genKey:     readPayload(t, "generic-trigger.json"),
	} {
		for cut := 0; cut < len(payload); cut += 1 + len(payload)/60 {
			before := s.rows()
			r := s.do(request{method: "POST", path: path, body: payload[:cut]})
			switch {
			case r.status == http.StatusAccepted:
			case r.status == http.StatusBadRequest:
				if after := s.rows(); after != before {
					t.Errorf("%s cut at %d: a 400 that wrote rows: %s -> %s", path, cut, before, after)
				}
			default:
				t.Errorf("%s cut at byte %d: %d %s", path, cut, r.status, r.body)
			}
		}
	}
}
