package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/web/webtest"
)

type incidentPage struct {
	Incidents  []incident.Incident `json:"incidents"`
	NextCursor string              `json:"next_cursor"`
}

func TestTheAPINeedsAValidToken(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	id := s.Trigger("k", "x")
	expiring, _, err := s.Tokens.Create(context.Background(), "expiring", auth.Admin, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(time.Minute)
	paths := []string{"/api/v1/incidents", fmt.Sprintf("/api/v1/incidents/%d", id), fmt.Sprintf("/api/v1/incidents/%d/timeline", id), "/api/v1/services"}
	for _, path := range paths {
		for name, token := range map[string]string{"no token": "", "an unknown token": auth.TokenPrefix + "nope", "an expired token": expiring, "an integration key": webtest.V2Key} {
			r := s.Do(webtest.Request{Method: "GET", Path: path, Token: token})
			if r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, "unauthorized") || r.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("GET %s with %s: %d %s", path, name, r.Status, r.Body)
			}
		}
		if r := s.Get(path, auth.Viewer); r.Status != http.StatusOK {
			t.Errorf("GET %s as a viewer: %d %s", path, r.Status, r.Body)
		}
	}
}

func TestAViewerCannotAct(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	id := s.Trigger("k", "x")
	before := s.Rows()
	for _, action := range []string{"acknowledge", "resolve", "notes"} {
		r := s.Post(fmt.Sprintf("/api/v1/incidents/%d/%s", id, action), `{"text":"hi"}`, auth.Viewer)
		if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "needs the responder role") || !strings.Contains(r.Body, "token:viewer has viewer") {
			t.Errorf("a viewer's %s: %d %s", action, r.Status, r.Body)
		}
	}
	if after := s.Rows(); after != before {
		t.Errorf("refused actions wrote rows: %s -> %s", before, after)
	}
}

func TestListingIncidentsFiltersAndPages(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	var ids []int64
	for i := range 7 {
		ids = append(ids, s.Trigger(fmt.Sprint("k", i), fmt.Sprint("incident ", i)))
	}
	// search gets one incident through its own key.
	r := s.Do(webtest.Request{Method: "POST", Path: "/api/v1/ingest/alertmanager/" + webtest.SearchKey, Body: readPayload(t, "alertmanager-v4-firing.json")})
	if r.Status != http.StatusAccepted {
		t.Fatal(r.Body)
	}
	s.Post(fmt.Sprintf("/api/v1/incidents/%d/resolve", ids[1]), "", auth.Responder)
	s.Post(fmt.Sprintf("/api/v1/incidents/%d/acknowledge", ids[2]), "", auth.Responder)

	list := func(query string) incidentPage {
		t.Helper()
		r := s.Get("/api/v1/incidents"+query, auth.Viewer)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", query, r.Status, r.Body)
		}
		var p incidentPage
		r.JSON(t, &p)
		if strings.Contains(r.Body, `"next_cursor"`) && p.NextCursor == "" {
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
		"?state=closed":       `state: \"closed\" is not one of triggered, acknowledged, resolved, open, all`,
		"?service=billing":    `service: unknown service \"billing\"`,
		"?cursor=not-a-page!": "cursor: not a cursor from a previous page",
	} {
		r := s.Get("/api/v1/incidents"+q, auth.Viewer)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, want) {
			t.Errorf("GET /api/v1/incidents%s: %d %s, want 400 with %s", q, r.Status, r.Body, want)
		}
	}
}

func TestActingOnAnIncidentThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	id := s.Trigger("k", "checkout 5xx")
	path := fmt.Sprintf("/api/v1/incidents/%d", id)

	var inc incident.Incident
	r := s.Get(path, auth.Viewer)
	r.JSON(t, &inc)
	if r.Status != http.StatusOK || inc.ID != id || inc.State != incident.Triggered || inc.Title != "checkout 5xx" || inc.ServiceID != "checkout" {
		t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
	}

	s.Clock.Advance(time.Minute)
	r = s.Do(webtest.Request{Method: "POST", Path: path + "/acknowledge", Token: s.Token[auth.Responder], Header: map[string]string{"X-Nines-Client": "cli"}})
	r.JSON(t, &inc)
	if r.Status != http.StatusOK || inc.State != incident.Acknowledged || inc.AcknowledgedAt == nil || !inc.AcknowledgedAt.Equal(webtest.SpineEpoch.Add(time.Minute)) {
		t.Fatalf("acknowledge: %d %s", r.Status, r.Body)
	}
	r = s.Post(path+"/notes", `{"text": "  rolling back  "}`, auth.Responder)
	var note struct {
		Type, Actor, Source string
		Data                map[string]string
	}
	r.JSON(t, &note)
	if r.Status != http.StatusCreated || note.Type != "note" || note.Actor != "token:responder" || note.Source != "api" || note.Data["text"] != "rolling back" {
		t.Errorf("note: %d %s", r.Status, r.Body)
	}
	r = s.Post(path+"/resolve", "", auth.Manager)
	r.JSON(t, &inc)
	if r.Status != http.StatusOK || inc.State != incident.Resolved {
		t.Fatalf("resolve: %d %s", r.Status, r.Body)
	}
	r = s.Post(path+"/acknowledge", "", auth.Admin)
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, "is resolved; cannot acknowledge it") {
		t.Errorf("acknowledging a resolved incident: %d %s", r.Status, r.Body)
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
	r = s.Get(path+"/timeline", auth.Viewer)
	r.JSON(t, &tl)
	// What paging records (here: that no policy pages anyone) is checked by the escalation
	// tests; these are the spine's events.
	spine := tl.Events[:0]
	for _, e := range tl.Events {
		if !strings.HasPrefix(e.Type, "escalation.") {
			spine = append(spine, e)
		}
	}
	tl.Events = spine
	var got []string
	for _, e := range tl.Events {
		got = append(got, e.Type+" "+e.Actor+" "+e.Source)
	}
	// Each alert of the incident records who acknowledged and resolved it, and how.
	want := "incident.triggered integration:events_v2 events_v2|alert.triggered integration:events_v2 events_v2|" +
		"incident.acknowledged token:responder cli|alert.acknowledged token:responder cli|note token:responder api|" +
		"incident.resolved token:manager api|alert.resolved token:manager api"
	if strings.Join(got, "|") != want {
		t.Errorf("timeline:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if d := tl.Events[3].Data; len(tl.Events) == 7 && (d["dedup_key"] != "k" || d["action"] != "acknowledge" || d["reason"] != "incident acknowledged") {
		t.Errorf("alert.acknowledged data = %v", d)
	}
	if d := tl.Events[6].Data; len(tl.Events) == 7 && (d["dedup_key"] != "k" || d["action"] != "resolve" || d["reason"] != "incident resolved") {
		t.Errorf("alert.resolved data = %v", d)
	}
	if tl.Events[1].Data["dedup_key"] != "k" || !tl.Events[2].At.Equal(webtest.SpineEpoch.Add(time.Minute)) {
		t.Errorf("timeline entries lost their data or time: %+v", tl.Events)
	}

	var alerts struct {
		Alerts []struct {
			DedupKey string `json:"dedup_key"`
			State    string `json:"state"`
			Count    int    `json:"count"`
		} `json:"alerts"`
	}
	r = s.Get(path+"/alerts", auth.Viewer)
	r.JSON(t, &alerts)
	if r.Status != http.StatusOK || len(alerts.Alerts) != 1 || alerts.Alerts[0].DedupKey != "k" || alerts.Alerts[0].State != "resolved" {
		t.Errorf("alerts: %d %s", r.Status, r.Body)
	}

	for _, p := range []string{"/api/v1/incidents/999", "/api/v1/incidents/999/timeline", "/api/v1/incidents/999/alerts", "/api/v1/incidents/abc", "/api/v1/incidents/-1"} {
		if r := s.Get(p, auth.Viewer); r.Status != http.StatusNotFound || !strings.Contains(r.Body, "not found") {
			t.Errorf("GET %s: %d %s", p, r.Status, r.Body)
		}
	}
	if r := s.Post("/api/v1/incidents/999/resolve", "", auth.Responder); r.Status != http.StatusNotFound {
		t.Errorf("resolving an unknown incident: %d %s", r.Status, r.Body)
	}
}

func TestBadNotesAreRefusedAndWriteNothing(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	id := s.Trigger("k", "x")
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
		before := s.Rows()
		r := s.Post(path, c.body, auth.Responder)
		if r.Status != c.status || !strings.Contains(r.Body, c.want) {
			t.Errorf("%s: %d %.200s, want %d with %s", c.name, r.Status, r.Body, c.status, c.want)
		}
		if after := s.Rows(); after != before {
			t.Errorf("%s wrote rows: %s -> %s", c.name, before, after)
		}
	}
}

func TestServicesAreListedWithoutTheirKeys(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	s.Trigger("k", "x")
	r := s.Get("/api/v1/services", auth.Viewer)
	var body struct {
		Services []struct {
			ID            string   `json:"id"`
			Name          string   `json:"name"`
			Description   string   `json:"description"`
			Integrations  []string `json:"integrations"`
			OpenIncidents int      `json:"open_incidents"`
		} `json:"services"`
	}
	r.JSON(t, &body)
	if r.Status != http.StatusOK || len(body.Services) != 2 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	c, sr := body.Services[0], body.Services[1]
	if c.ID != "checkout" || c.Name != "Checkout API" || c.Description != "Takes orders and payments." || c.OpenIncidents != 1 ||
		strings.Join(c.Integrations, ",") != "events_v2,alertmanager,generic" || sr.ID != "search" || sr.OpenIncidents != 0 {
		t.Errorf("services = %+v", body.Services)
	}
	for _, key := range []string{webtest.V2Key, webtest.AMKey, webtest.GenKey, webtest.SearchKey} {
		if strings.Contains(r.Body, key) {
			t.Errorf("the service list shows integration key %s", key)
		}
	}
}
