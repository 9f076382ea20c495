package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/incident"
)

type incidentPage struct {
	Incidents  []incident.Incident `json:"incidents"`
	NextCursor string              `json:"next_cursor"`
}

func TestTheAPINeedsAValidToken(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	id := s.trigger("k", "x")
	expiring, _, err := s.srv.Tokens.Create(context.Background(), "expiring", auth.Admin, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Minute)
	paths := []string{"/api/v1/incidents", fmt.Sprintf("/api/v1/incidents/%d", id), fmt.Sprintf("/api/v1/incidents/%d/timeline", id), "/api/v1/services"}
	for _, path := range paths {
		for name, token := range map[string]string{"no token": "", "an unknown token": auth.TokenPrefix + "nope", "an expired token": expiring, "an integration key": v2Key} {
			r := s.do(request{method: "GET", path: path, token: token})
			if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "unauthorized") || r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("GET %s with %s: %d %s", path, name, r.status, r.body)
			}
		}
		if r := s.get(path, auth.Viewer); r.status != http.StatusOK {
			t.Errorf("GET %s as a viewer: %d %s", path, r.status, r.body)
		}
	}
}

func TestAViewerCannotAct(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	id := s.trigger("k", "x")
	before := s.rows()
	for _, action := range []string{"acknowledge", "resolve", "notes"} {
		r := s.post(fmt.Sprintf("/api/v1/incidents/%d/%s", id, action), `{"text":"hi"}`, auth.Viewer)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "needs the responder role") || !strings.Contains(r.body, "token:viewer has viewer") {
			t.Errorf("a viewer's %s: %d %s", action, r.status, r.body)
		}
	}
	if after := s.rows(); after != before {
		t.Errorf("refused actions wrote rows: %s -> %s", before, after)
	}
}

func TestListingIncidentsFiltersAndPages(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	var ids []int64
	for i := range 7 {
		ids = append(ids, s.trigger(fmt.Sprint("k", i), fmt.Sprint("incident ", i)))
	}
	// search gets one incident through its own key.
	r := s.do(request{method: "POST", path: "/api/v1/ingest/alertmanager/" + searchKey, body: readPayload(t, "alertmanager-v4-firing.json")})
	if r.status != http.StatusAccepted {
		t.Fatal(r.body)
	}
	s.post(fmt.Sprintf("/api/v1/incidents/%d/resolve", ids[1]), "", auth.Responder)
	s.post(fmt.Sprintf("/api/v1/incidents/%d/acknowledge", ids[2]), "", auth.Responder)

	list := func(query string) incidentPage {
		t.Helper()
		r := s.get("/api/v1/incidents"+query, auth.Viewer)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", query, r.status, r.body)
		}
		var p incidentPage
		r.json(t, &p)
		if strings.Contains(r.body, `"next_cursor"`) && p.NextCursor == "" {
			t.Errorf("%s: an empty next_cursor should be left out", query)
		}
		return p
	}
	titles := func(p incidentPage) string {
		var out []string
		for _, inc := range p.Incidents {
			out = append(out, strings.TrimPrefix(inc.Title, "incident "))
		}
		return strings.Join(out, ",")
	}

	all := list("")
	if len(all.Incidents) != 8 || all.NextCursor != "" {
		t.Fatalf("all incidents: %d, next %q", len(all.Incidents), all.NextCursor)
	}
	top := all.Incidents[0]
	if top.ServiceID != "search" || top.State != incident.Triggered || top.Severity != "critical" || top.AlertCount != 2 || top.CreatedAt.IsZero() || top.UpdatedAt.IsZero() {
		t.Errorf("newest incident = %+v", top)
	}
	cases := map[string]string{
		"?service=checkout":                   "6,5,4,3,2,1,0",
		"?service=checkout&state=triggered":   "6,5,4,3,0",
		"?state=resolved":                     "1",
		"?state=open&service=checkout":        "6,5,4,3,2,0",
		"?state=acknowledged,resolved":        "2,1",
		"?state=triggered&state=acknowledged": "CheckoutHighLatency: p99 latency of checkout is 2.4s (threshold 1s),6,5,4,3,2,0",
		"?service=search,checkout&limit=2":    "CheckoutHighLatency: p99 latency of checkout is 2.4s (threshold 1s),6",
	}
	for q, want := range cases {
		if got := titles(list(q)); got != want {
			t.Errorf("GET /api/v1/incidents%s = %s, want %s", q, got, want)
		}
	}

	// Pages of 3 through checkout's 7 incidents: 3, 3, 1, and no cursor on the last.
	var seen []string
	cursor, pages := "", 0
	for {
		p := list("?service=checkout&limit=3" + cursor)
		pages++
		seen = append(seen, titles(p))
		if p.NextCursor == "" {
			break
		}
		cursor = "&cursor=" + p.NextCursor
	}
	if got := strings.Join(seen, "|"); got != "6,5,4|3,2,1|0" || pages != 3 {
		t.Errorf("pages = %s", got)
	}

	for q, want := range map[string]string{
		"?limit=0":            `limit: \"0\" is not a whole number from 1 to 1000`,
		"?limit=1001":         `limit: \"1001\"`,
		"?limit=ten":          `limit: \"ten\"`,
		"?state=closed":       `state: \"closed\" is not one of triggered, acknowledged, resolved, open`,
		"?service=billing":    `service: unknown service \"billing\"`,
		"?cursor=not-a-page!": "cursor: not a cursor from a previous page",
	} {
		r := s.get("/api/v1/incidents"+q, auth.Viewer)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, want) {
			t.Errorf("GET /api/v1/incidents%s: %d %s, want 400 with %s", q, r.status, r.body, want)
		}
	}
}

func TestActingOnAnIncidentThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	id := s.trigger("k", "checkout 5xx")
	path := fmt.Sprintf("/api/v1/incidents/%d", id)

	var inc incident.Incident
	r := s.get(path, auth.Viewer)
	r.json(t, &inc)
	if r.status != http.StatusOK || inc.ID != id || inc.State != incident.Triggered || inc.Title != "checkout 5xx" || inc.ServiceID != "checkout" {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}

	s.clock.Advance(time.Minute)
	r = s.do(request{method: "POST", path: path + "/acknowledge", token: s.token[auth.Responder], header: map[string]string{"X-Nines-Client": "cli"}})
	r.json(t, &inc)
	if r.status != http.StatusOK || inc.State != incident.Acknowledged || inc.AcknowledgedAt == nil || !inc.AcknowledgedAt.Equal(spineEpoch.Add(time.Minute)) {
		t.Fatalf("acknowledge: %d %s", r.status, r.body)
	}
	r = s.post(path+"/notes", `{"text": "  rolling back  "}`, auth.Responder)
	var note struct {
		Type, Actor, Source string
		Data                map[string]string
	}
	r.json(t, &note)
	if r.status != http.StatusCreated || note.Type != "note" || note.Actor != "token:responder" || note.Source != "api" || note.Data["text"] != "rolling back" {
		t.Errorf("note: %d %s", r.status, r.body)
	}
	r = s.post(path+"/resolve", "", auth.Manager)
	r.json(t, &inc)
	if r.status != http.StatusOK || inc.State != incident.Resolved {
		t.Fatalf("resolve: %d %s", r.status, r.body)
	}
	r = s.post(path+"/acknowledge", "", auth.Admin)
	if r.status != http.StatusConflict || !strings.Contains(r.body, "is resolved; cannot acknowledge it") {
		t.Errorf("acknowledging a resolved incident: %d %s", r.status, r.body)
	}

	var tl struct {
		Events []struct {
			Type   string         `json:"type"`
			At     time.Time      `json:"at"`
			Actor  string         `json:"actor"`
			Source string         `json:"source"`
			Data   map[string]any `json:"data"`
		} `json:"events"`
	}
	r = s.get(path+"/timeline", auth.Viewer)
	r.json(t, &tl)
	var got []string
	for _, e := range tl.Events {
		got = append(got, e.Type+" "+e.Actor+" "+e.Source)
	}
	want := "incident.triggered integration:events_v2 events_v2|alert.triggered integration:events_v2 events_v2|" +
		"incident.acknowledged token:responder cli|note token:responder api|incident.resolved token:manager api"
	if strings.Join(got, "|") != want {
		t.Errorf("timeline:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if tl.Events[1].Data["dedup_key"] != "k" || !tl.Events[2].At.Equal(spineEpoch.Add(time.Minute)) {
		t.Errorf("timeline entries lost their data or time: %+v", tl.Events)
	}

	var alerts struct {
		Alerts []struct {
			DedupKey string `json:"dedup_key"`
			State    string `json:"state"`
			Count    int    `json:"count"`
		} `json:"alerts"`
	}
	r = s.get(path+"/alerts", auth.Viewer)
	r.json(t, &alerts)
	if r.status != http.StatusOK || len(alerts.Alerts) != 1 || alerts.Alerts[0].DedupKey != "k" || alerts.Alerts[0].State != "resolved" {
		t.Errorf("alerts: %d %s", r.status, r.body)
	}

	for _, p := range []string{"/api/v1/incidents/999", "/api/v1/incidents/999/timeline", "/api/v1/incidents/999/alerts", "/api/v1/incidents/abc", "/api/v1/incidents/-1"} {
		if r := s.get(p, auth.Viewer); r.status != http.StatusNotFound || !strings.Contains(r.body, "not found") {
			t.Errorf("GET %s: %d %s", p, r.status, r.body)
		}
	}
	if r := s.post("/api/v1/incidents/999/resolve", "", auth.Responder); r.status != http.StatusNotFound {
		t.Errorf("resolving an unknown incident: %d %s", r.status, r.body)
	}
}

func TestBadNotesAreRefusedAndWriteNothing(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	id := s.trigger("k", "x")
	path := fmt.Sprintf("/api/v1/incidents/%d/notes", id)
	cases := []struct {
		name, body string
		status     int
		want       string
	}{
		{"malformed JSON", `{"text": "unfinished`, 400, "malformed JSON"},
		{"text that is a number", `{"text": 42}`, 400, "text: wrong type: got number, want string"},
		{"an unknown field", `{"text": "x", "author": "mallory"}`, 400, `unknown field \"author\"`},
		{"no text", `{}`, 400, "text: a note needs some text"},
		{"blank text", `{"text": " \n "}`, 400, "text: a note needs some text"},
		{"text over 64 KiB", `{"text": "` + strings.Repeat("n", 65<<10) + `"}`, 400, "text: a note is at most 64 KiB"},
		{"a body over 512 KiB", `{"text": "` + strings.Repeat("n", 600<<10) + `"}`, 413, "larger than 512 KiB"},
		{"a list", `["x"]`, 400, "wrong type"},
		{"a second object after the first", `{"text": "a"} {"text": "b"}`, 400, "data after the JSON object"},
	}
	for _, c := range cases {
		before := s.rows()
		r := s.post(path, c.body, auth.Responder)
		if r.status != c.status || !strings.Contains(r.body, c.want) {
			t.Errorf("%s: %d %.200s, want %d with %s", c.name, r.status, r.body, c.status, c.want)
		}
		if after := s.rows(); after != before {
			t.Errorf("%s wrote rows: %s -> %s", c.name, before, after)
		}
	}
}

func TestServicesAreListedWithoutTheirKeys(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	s.trigger("k", "x")
	r := s.get("/api/v1/services", auth.Viewer)
	var body struct {
		Services []struct {
			ID            string   `json:"id"`
			Name          string   `json:"name"`
			Description   string   `json:"description"`
			Integrations  []string `json:"integrations"`
			OpenIncidents int      `json:"open_incidents"`
		} `json:"services"`
	}
	r.json(t, &body)
	if r.status != http.StatusOK || len(body.Services) != 2 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	c, sr := body.Services[0], body.Services[1]
	if c.ID != "checkout" || c.Name != "Checkout API" || c.Description != "Takes orders and payments." || c.OpenIncidents != 1 ||
		strings.Join(c.Integrations, ",") != "events_v2,alertmanager,generic" || sr.ID != "search" || sr.OpenIncidents != 0 {
		t.Errorf("services = %+v", body.Services)
	}
	for _, key := range []string{v2Key, amKey, genKey, searchKey} {
		if strings.Contains(r.body, key) {
			t.Errorf("the service list shows integration key %s", key)
		}
	}
}
