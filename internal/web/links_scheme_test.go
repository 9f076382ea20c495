package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/auth"
)

// TestUnsafeLinksAreLeftOutOfEventsAndChangesAlike: a javascript: link was kept with an alert
// event (and handed on to every reader of its details), while the same link refused a whole
// change event. Both PagerDuty routes now read links one way: a link or image that is not an
// absolute http(s) URL is left out, the event is kept, and the 202 answer says what was left out.
func TestUnsafeLinksAreLeftOutOfEventsAndChangesAlike(t *testing.T) {
	w := startWholeNines(t)
	const key = "0123456789abcdef0123456789abcdef"
	links := `"links": [{"href": "javascript:alert(document.cookie)", "text": "Dashboard"}, {"href": "https://dash.example.com/checkout", "text": "Real dashboard"},
		{"href": " JaVaScRiPt:alert(1)"}, {"href": "data:text/html,<script>alert(1)</script>"}, {"href": "/relative"}],
		"images": [{"src": "https://img.example.com/graph.png", "href": "vbscript:msgbox(1)"}, {"src": "https://img.example.com/ok.png"}]`
	type answer struct {
		Status   string
		Warnings []string
	}
	wantWarnings := []string{"links[0].href", "links[2].href", "links[3].href", "links[4].href", "images[0].href"}
	check := func(what string, status int, body string) {
		t.Helper()
		var a answer
		json.Unmarshal([]byte(body), &a)
		if status != http.StatusAccepted || a.Status != "success" || len(a.Warnings) != len(wantWarnings) {
			t.Fatalf("%s: %d %s, want 202 with %d warnings", what, status, body, len(wantWarnings))
		}
		for i, field := range wantWarnings {
			if !strings.Contains(a.Warnings[i], "'"+field+"'") || !strings.Contains(a.Warnings[i], "left out") {
				t.Errorf("%s: warning %d is %q, want it to name %s as left out", what, i, a.Warnings[i], field)
			}
		}
	}

	status, body := w.call(t, "POST", "/v2/enqueue", "", `{"routing_key": "`+key+`", "event_action": "trigger", "dedup_key": "links",
		"payload": {"summary": "Checkout is down", "source": "lb1", "severity": "critical"}, `+links+`}`)
	check("an alert event", status, body)
	var incs struct{ Incidents []struct{ ID int64 } }
	w.mustJSON(t, "GET", "/api/v1/incidents", w.tokens[auth.Viewer], "", &incs)
	if len(incs.Incidents) != 1 {
		t.Fatalf("incidents %+v, want the one the event opened", incs)
	}
	_, alerts := w.call(t, "GET", "/api/v1/incidents/"+itoa(incs.Incidents[0].ID)+"/alerts", w.tokens[auth.Viewer], "")
	for _, bad := range []string{"javascript", "JaVaScRiPt", "data:", "vbscript", "/relative"} {
		if strings.Contains(alerts, bad) {
			t.Errorf("the alert keeps %q: %s", bad, alerts)
		}
	}
	if !strings.Contains(alerts, "https://dash.example.com/checkout") || !strings.Contains(alerts, "https://img.example.com/ok.png") {
		t.Errorf("the alert lost its safe link or image: %s", alerts)
	}

	status, body = w.call(t, "POST", "/v2/change/enqueue", "", `{"routing_key": "`+key+`",
		"payload": {"summary": "Deployed checkout v42", "source": "ci", "custom_details": {"version": "v42"}}, `+links+`}`)
	check("a change event", status, body)
	_, changes := w.call(t, "GET", "/api/v1/services/checkout/changes?to=2026-04-01", w.tokens[auth.Viewer], "")
	if strings.Contains(changes, "javascript") || strings.Contains(changes, "/relative") || !strings.Contains(changes, "https://dash.example.com/checkout") {
		t.Errorf("the change's links: %s, want only the https one", changes)
	}

	// nines' own API refuses such a link, naming it, as it refuses any bad field.
	status, body = w.call(t, "POST", "/api/v1/changes", w.tokens[auth.Responder], `{"service": "checkout", "version": "v43", "links": [{"href": "javascript:alert(1)"}]}`)
	if status != http.StatusBadRequest || !strings.Contains(body, "links[0].href") {
		t.Errorf("a deploy with a javascript: link: %d %s, want 400 naming links[0].href", status, body)
	}
}
