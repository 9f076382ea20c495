package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

type oncallEnv struct {
	url               string
	viewer, responder string
	srv               *webtest.Nines
	smtp              *notifytest.SMTP
	client            *http.Client
}

func startOnCall(t *testing.T, db *store.DB, clk clock.Clock) *oncallEnv {
	t.Helper()
	ref, err := config.Load("../../config/testdata/oncall_reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return startOnCallWith(t, db, clk, ref)
}

// startOnCallWith runs the on-call routes on ref, its mail going to a real SMTP server.
func startOnCallWith(t *testing.T, db *store.DB, clk clock.Clock, ref *config.Config) *oncallEnv {
	t.Helper()
	smtp := notifytest.StartSMTP(t, "none")
	ref.Notifications.Email.SMTP.Port = smtp.Port()
	srv := webtest.Start(t, webtest.Options{Config: ref, DB: db, Clock: clk})
	tokens := srv.Tokens
	env := &oncallEnv{url: srv.URL, srv: srv, smtp: smtp, client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	env.viewer, _, _ = tokens.Create(context.Background(), "viewer", auth.Viewer, time.Hour)
	env.responder, _, _ = tokens.Create(context.Background(), "ops", auth.Responder, time.Hour)
	return env
}

func (e *oncallEnv) do(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func TestWhoIsOnCallAPI(t *testing.T) {
	env := startOnCall(t, storetest.SQLite(t, oncallSchemas), clock.NewFake(time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)))
	cases := []struct {
		name, path, token string
		status            int
		want              string
	}{
		{"the reference query finds alice with her shift", "/api/v1/oncall?schedule=ops&at=2026-03-30T07:30:00Z", env.viewer, 200,
			`{"oncall":[{"user_id":"alice","schedule_id":"ops","layer":"primary","start":"2026-03-30T07:00:00Z","end":"2026-04-06T07:00:00Z"}],"at":"2026-03-30T07:30:00Z"}`},
		{"at defaults to now", "/api/v1/oncall?schedule=ops", env.viewer, 200, `"user_id":"alice"`},
		{"a past instant in winter time", "/api/v1/oncall?schedule=ops&at=2026-03-23T07:59:00Z", env.viewer, 200, `"user_id":"bob"`},
		{"a malformed instant is a 400 naming the parameter", "/api/v1/oncall?schedule=ops&at=yesterday", env.viewer, 400, `at: \"yesterday\" is not an RFC 3339 instant`},
		{"an unknown schedule is a 404", "/api/v1/oncall?schedule=nope", env.viewer, 404, `unknown schedule \"nope\"`},
		{"no token is a 401", "/api/v1/oncall?schedule=ops", "", 401, "unauthorized"},
		{"a layer is asked of one schedule", "/api/v1/oncall?schedule=ops&layer=primary&at=2026-03-30T07:30:00Z", env.viewer, 200, `"user_id":"alice","schedule_id":"ops","layer":"primary"`},
		{"a layer without a schedule is a 400", "/api/v1/oncall?layer=primary", env.viewer, 400, `layer: say which schedule`},
		{"a layer the schedule lacks is a 400 naming it", "/api/v1/oncall?schedule=ops&layer=nope", env.viewer, 400, `layer: schedule ops has no layer \"nope\"`},
		{"shifts of the next days are listed", "/api/v1/schedules/ops/shifts?from=2026-03-30T00:00:00Z&to=2026-04-07T00:00:00Z", env.viewer, 200, `"user_id":"bob","schedule_id":"ops","layer":"primary","start":"2026-04-06T07:00:00Z"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := env.do(t, "GET", tc.path, tc.token, nil)
			if status != tc.status || !strings.Contains(string(body), tc.want) {
				t.Fatalf("%d %s\nwant %d containing %s", status, body, tc.status, tc.want)
			}
		})
	}
}

func TestOverridesAPI(t *testing.T) {
	storetest.Each(t, oncallSchemas, func(t *testing.T, db *store.DB) {
		env := startOnCall(t, db, clock.NewFake(time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)))
		body := map[string]string{"user_id": "bob", "start": "2026-03-31T12:00:00Z", "end": "2026-04-01T12:00:00Z"}
		if status, b := env.do(t, "POST", "/api/v1/schedules/ops/overrides", env.viewer, body); status != 403 {
			t.Fatalf("a viewer created an override: %d %s", status, b)
		}
		status, b := env.do(t, "POST", "/api/v1/schedules/ops/overrides", env.responder, body)
		if status != 201 {
			t.Fatalf("create: %d %s", status, b)
		}
		var o oncall.Override
		json.Unmarshal(b, &o)
		if o.ID == 0 || o.CreatedBy != "token:ops" {
			t.Fatalf("override %+v", o)
		}
		_, b = env.do(t, "GET", "/api/v1/oncall?schedule=ops&at=2026-04-01T00:00:00Z", env.viewer, nil)
		if !strings.Contains(string(b), `"user_id":"bob","schedule_id":"ops","layer":"override"`) {
			t.Fatalf("during the override: %s", b)
		}
		_, b = env.do(t, "GET", "/api/v1/schedules/ops/overrides", env.viewer, nil)
		if !strings.Contains(string(b), fmt.Sprintf(`"id":%d`, o.ID)) {
			t.Fatalf("list: %s", b)
		}
		bad := []struct {
			name string
			body any
			want string
		}{
			{"an unknown user", map[string]string{"user_id": "zed", "start": "2026-03-31T12:00:00Z", "end": "2026-04-01T12:00:00Z"}, `unknown user \"zed\"`},
			{"an end before the start", map[string]string{"user_id": "bob", "start": "2026-04-01T12:00:00Z", "end": "2026-03-31T12:00:00Z"}, "end must be after start"},
			{"an unknown field", map[string]string{"user": "bob"}, `unknown field \"user\"`},
			{"a malformed time", map[string]string{"user_id": "bob", "start": "tomorrow", "end": "2026-04-01T12:00:00Z"}, `start: \"tomorrow\" is not an RFC 3339 instant`},
			{"a layer the schedule lacks", map[string]string{"user_id": "bob", "layer": "secondary", "start": "2026-03-31T12:00:00Z", "end": "2026-04-01T12:00:00Z"},
				`layer: schedule ops has no layer \"secondary\" (it has primary; leave layer out to cover the whole schedule)`},
		}
		for _, tc := range bad {
			status, b := env.do(t, "POST", "/api/v1/schedules/ops/overrides", env.responder, tc.body)
			if status != 400 || !strings.Contains(string(b), tc.want) {
				t.Errorf("%s: %d %s", tc.name, status, b)
			}
		}
		if status, _ := env.do(t, "POST", "/api/v1/schedules/nope/overrides", env.responder, body); status != 404 {
			t.Errorf("unknown schedule: %d", status)
		}
		if status, b := env.do(t, "DELETE", fmt.Sprintf("/api/v1/schedules/ops/overrides/%d", o.ID), env.responder, nil); status != 204 {
			t.Fatalf("delete: %d %s", status, b)
		}
		if status, _ := env.do(t, "DELETE", fmt.Sprintf("/api/v1/schedules/ops/overrides/%d", o.ID), env.responder, nil); status != 404 {
			t.Errorf("second delete: %d", status)
		}
	})
}

var oncallSchemas = app.Schemas()

var linkRe = regexp.MustCompile(`Acknowledge: (http://\S+/a/\S+)`)

// TestPageReachesSMTPAndItsLinkAcknowledges is the whole path on the real clock: an Events
// API v2 trigger, an email on a real SMTP server within a second, a GET of its link that only
// asks, and a POST that acknowledges.
func TestPageReachesSMTPAndItsLinkAcknowledges(t *testing.T) {
	storetest.Each(t, oncallSchemas, func(t *testing.T, db *store.DB) {
		env := startOnCall(t, db, clock.Real{})
		_, b := env.do(t, "GET", "/api/v1/oncall?schedule=ops", env.viewer, nil)
		var who struct{ OnCall []oncall.Shift }
		json.Unmarshal(b, &who)
		if len(who.OnCall) != 1 {
			t.Fatalf("on call now: %s", b)
		}
		sent := time.Now()
		status, b := env.do(t, "POST", "/v2/enqueue", "", map[string]any{"routing_key": "0123456789abcdef0123456789abcdef", "event_action": "trigger",
			"payload": map[string]string{"summary": "Checkout is down", "source": "lb-1", "severity": "critical"}})
		if status != 202 {
			t.Fatalf("enqueue: %d %s", status, b)
		}
		var mail notifytest.Mail
		select {
		case mail = <-env.smtp.Arrived:
		case <-time.After(time.Second):
			t.Fatalf("no page on the SMTP server within a second of the event")
		}
		t.Logf("event -> mail on the SMTP server: %v", time.Since(sent))
		if mail.To[0] != who.OnCall[0].UserID+"@example.com" {
			t.Fatalf("page went to %v, want %s", mail.To, who.OnCall[0].UserID)
		}
		plain := []byte(mail.Body(t))
		m := linkRe.FindSubmatch(plain)
		if m == nil {
			t.Fatalf("no acknowledge link in:\n%s", plain)
		}
		link := string(m[1])
		storetest.Eventually(t, 5*time.Second, "notification.sent on the timeline", func() bool {
			evs, _ := env.srv.Incidents.Timeline(context.Background(), 1)
			for _, e := range evs {
				if e.Type == escalate.EventSent {
					return true
				}
			}
			return false
		})
		u, _ := url.Parse(link)

		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(page), `<form method="post">`) || !strings.Contains(string(page), "Checkout is down") {
			t.Fatalf("GET %s: %d\n%s", u.Path, resp.StatusCode, page)
		}
		incs, _, _ := env.srv.Incidents.List(context.Background(), incident.Filter{})
		if len(incs) != 1 || incs[0].State != incident.Triggered {
			t.Fatalf("a GET of the link changed the incident: %+v", incs)
		}
		resp, err = http.Post(link, "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		page, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(page), "Done: the incident is acknowledged.") {
			t.Fatalf("POST: %d\n%s", resp.StatusCode, page)
		}
		inc, _ := env.srv.Incidents.Get(context.Background(), incs[0].ID)
		if inc.State != incident.Acknowledged {
			t.Fatalf("state %s after the link's POST", inc.State)
		}
		evs, _ := env.srv.Incidents.Timeline(context.Background(), inc.ID)
		var types []string
		for _, e := range evs {
			types = append(types, e.Type+"/"+e.Actor)
		}
		joined := strings.Join(types, " ")
		for _, want := range []string{escalate.EventStep, escalate.EventSent, "incident.acknowledged/user:" + who.OnCall[0].UserID, escalate.EventStopped} {
			if !strings.Contains(joined, want) {
				t.Errorf("timeline lacks %s: %s", want, joined)
			}
		}
		// A tampered link is refused and changes nothing.
		resp, _ = http.Post(link+"x", "", nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("tampered link: %d", resp.StatusCode)
		}
	})
}

func TestCalendarFeeds(t *testing.T) {
	env := startOnCall(t, storetest.SQLite(t, oncallSchemas), clock.NewFake(time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)))
	_, b := env.do(t, "GET", "/api/v1/schedules", env.viewer, nil)
	var list struct {
		Schedules []struct {
			ID      string `json:"id"`
			FeedURL string `json:"feed_url"`
		}
	}
	json.Unmarshal(b, &list)
	if len(list.Schedules) != 1 || !strings.Contains(list.Schedules[0].FeedURL, "/api/v1/schedules/ops/shifts.ics?key=") {
		t.Fatalf("schedules: %s", b)
	}
	u, _ := url.Parse(list.Schedules[0].FeedURL)
	cases := []struct {
		name, path, token string
		status            int
	}{
		{"the secret key opens the feed", u.RequestURI(), "", 200},
		{"a viewer token opens the feed", "/api/v1/schedules/ops/shifts.ics", env.viewer, 200},
		{"a wrong key is refused", "/api/v1/schedules/ops/shifts.ics?key=00000000000000000000000000000000", "", 401},
		{"the key of one schedule does not open a user's feed", "/api/v1/users/alice/shifts.ics?key=" + u.Query().Get("key"), "", 401},
		{"nothing at all is refused", "/api/v1/schedules/ops/shifts.ics", "", 401},
		{"a user's feed with a token", "/api/v1/users/alice/shifts.ics", env.viewer, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := env.do(t, "GET", tc.path, tc.token, nil)
			if status != tc.status {
				t.Fatalf("%d %s", status, body)
			}
			if status == 200 && (!bytes.HasPrefix(body, []byte("BEGIN:VCALENDAR\r\n")) || !bytes.Contains(body, []byte("DTSTART:20260330T070000Z"))) {
				t.Fatalf("feed:\n%s", body)
			}
		})
	}
}

func TestOverrideFromTheWeb(t *testing.T) {
	env := startOnCall(t, storetest.SQLite(t, oncallSchemas), clock.NewFake(time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)))
	signedIn := webtest.SignIn(t, env.url, env.srv.Users, "ops", auth.Responder)
	get := func(path string) (int, string) {
		resp, body := signedIn.Do("GET", path, nil, nil)
		return resp.StatusCode, body
	}
	post := func(path string, form url.Values) (int, string) {
		resp, body := signedIn.Do("POST", path, strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		return resp.StatusCode, body
	}
	status, page := get("/schedules/ops")
	if status != 200 || !strings.Contains(page, `<h2 id="cal-title">March 2026</h2>`) || !strings.Contains(page, "<strong>Alice</strong>") {
		t.Fatalf("schedule page: %d\n%s", status, page)
	}
	for _, bad := range []string{"?month=2026-13", "?week=someday"} {
		if status, body := get("/schedules/ops" + bad); status != 400 || !strings.Contains(body, strings.Split(bad[1:], "=")[0]) {
			t.Fatalf("schedule page%s: %d, want 400 naming the parameter", bad, status)
		}
	}
	if status, page := get("/schedules/ops?month=2026-04"); status != 200 || !strings.Contains(page, `<h2 id="cal-title">April 2026</h2>`) || !strings.Contains(page, `href="?month=2026-05"`) {
		t.Fatalf("April's calendar: %d", status)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(page)
	if csrf == nil {
		t.Fatalf("no CSRF token on the page")
	}
	form := url.Values{"user_id": {"carol"}, "start": {"2026-03-31T09:00"}, "end": {"2026-03-31T18:00"}}
	if status, _ := post("/schedules/ops/overrides", form); status != 403 {
		t.Fatalf("a form without the CSRF token was accepted: %d", status)
	}
	form.Set("csrf", csrf[1])
	if status, body := post("/schedules/ops/overrides", form); status != 303 {
		t.Fatalf("create: %d %s", status, body)
	}
	_, b := env.do(t, "GET", "/api/v1/oncall?schedule=ops&at=2026-03-31T08:00:00Z", env.viewer, nil)
	if !strings.Contains(string(b), `"user_id":"carol","schedule_id":"ops","layer":"override","start":"2026-03-31T07:00:00Z","end":"2026-03-31T16:00:00Z"`) {
		t.Fatalf("the form's local times were not read in Europe/Paris: %s", b)
	}
	// The form covers one layer when asked to; nines oncall for that layer then shows it.
	if !strings.Contains(page, `<select name="layer"><option value="">The whole schedule</option><option value="primary">Layer primary</option></select>`) {
		t.Fatalf("the form offers no choice of layer:\n%s", page)
	}
	form.Set("layer", "primary")
	form.Set("user_id", "bob")
	form.Set("start", "2026-04-02T09:00")
	form.Set("end", "2026-04-02T18:00")
	if status, body := post("/schedules/ops/overrides", form); status != 303 {
		t.Fatalf("create for a layer: %d %s", status, body)
	}
	_, b = env.do(t, "GET", "/api/v1/oncall?schedule=ops&layer=primary&at=2026-04-02T08:00:00Z", env.viewer, nil)
	if !strings.Contains(string(b), `"user_id":"bob","schedule_id":"ops","layer":"primary","start":"2026-04-02T07:00:00Z","end":"2026-04-02T16:00:00Z","override_id":2`) {
		t.Fatalf("the layer override is not who the layer has on call: %s", b)
	}
	if _, page := get("/schedules/ops"); !strings.Contains(page, "<strong>bob</strong> covers layer primary from") || !strings.Contains(page, "<strong>carol</strong> covers the whole schedule from") {
		t.Fatalf("the override list does not say what each override covers:\n%s", page)
	}
	form.Set("layer", "tertiary")
	if status, body := post("/schedules/ops/overrides", form); status != 400 || !strings.Contains(body, "has no layer &#34;tertiary&#34;") {
		t.Fatalf("a layer the schedule lacks: %d\n%s", status, body)
	}
	form.Set("layer", "")
	form.Set("end", "2026-03-30T08:00")
	if status, body := post("/schedules/ops/overrides", form); status != 400 || !strings.Contains(body, "end must be after start") {
		t.Fatalf("bad form: %d", status)
	}
	status, page = get("/schedules")
	if status != 200 || !strings.Contains(page, "On call now") || !strings.Contains(page, "alice") {
		t.Fatalf("schedules page: %d\n%s", status, page)
	}
}

func TestEscalateAndReassignAPI(t *testing.T) {
	env := startOnCall(t, storetest.SQLite(t, oncallSchemas), clock.NewFake(time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)))
	var inc incident.Incident
	env.srv.DB.Tx(context.Background(), func(tx *store.Tx) error {
		var err error
		inc, err = env.srv.Incidents.Open(context.Background(), tx, incident.OpenParams{ServiceID: "checkout", Severity: "critical", Title: "x", At: env.srv.Clock.Now()})
		return err
	})
	path := fmt.Sprintf("/api/v1/incidents/%d/", inc.ID)
	if status, b := env.do(t, "POST", path+"escalate", env.viewer, nil); status != 403 {
		t.Fatalf("viewer escalated: %d %s", status, b)
	}
	if status, b := env.do(t, "POST", path+"escalate", env.responder, nil); status != 200 {
		t.Fatalf("escalate: %d %s", status, b)
	}
	if status, b := env.do(t, "POST", path+"reassign", env.responder, map[string]string{"user_id": "zed"}); status != 400 || !strings.Contains(string(b), `unknown user \"zed\"`) {
		t.Fatalf("reassign to unknown: %d %s", status, b)
	}
	if status, b := env.do(t, "POST", path+"reassign", env.responder, map[string]string{"user_id": "bob"}); status != 200 {
		t.Fatalf("reassign: %d %s", status, b)
	}
	env.srv.Escalation.Wait()
	storetest.Eventually(t, 5*time.Second, "three pages", func() bool { return len(env.smtp.Mails()) == 3 })
	env.srv.Incidents.Resolve(context.Background(), inc.ID, incident.Actor{Name: "x", Source: "test"})
	if status, _ := env.do(t, "POST", path+"escalate", env.responder, nil); status != 409 {
		t.Errorf("escalating a resolved incident: %d", status)
	}
	status, b := env.do(t, "GET", "/api/v1/reports/oncall?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z", env.viewer, nil)
	if status != 200 || !strings.Contains(string(b), `"user_id":"bob"`) || !strings.Contains(string(b), `"pages":1`) {
		t.Fatalf("report: %d %s", status, b)
	}
}

func TestFrontPageShowsWhoIsOnCall(t *testing.T) {
	env := startOnCall(t, storetest.SQLite(t, oncallSchemas), clock.NewFake(time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)))
	resp, b := webtest.SignIn(t, env.url, env.srv.Users, "viewer", auth.Viewer).Do("GET", "/", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `<strong>On call now:</strong>`) || !strings.Contains(string(b), `<a href="/schedules/ops">ops</a> alice`) {
		t.Fatalf("front page: %d\n%s", resp.StatusCode, b)
	}
}

func TestPressingOneOnTheCallAcknowledges(t *testing.T) {
	env := startOnCall(t, storetest.SQLite(t, oncallSchemas), clock.NewFake(time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)))
	ctx := context.Background()
	var inc incident.Incident
	env.srv.DB.Tx(ctx, func(tx *store.Tx) error {
		var err error
		inc, err = env.srv.Incidents.Open(ctx, tx, incident.OpenParams{ServiceID: "checkout", Severity: "critical", Title: "call me", At: env.srv.Clock.Now()})
		return err
	})
	tok, _ := env.srv.Escalation.SignLink(ctx, escalate.Link{Incident: inc.ID, User: "alice", Action: escalate.ActionAcknowledge, Expires: env.srv.Clock.Now().Add(time.Hour)})
	press := func(digits string) string {
		resp, err := http.PostForm(env.url+"/a/"+tok+"/voice", url.Values{"Digits": {digits}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := press("2"); !strings.Contains(got, "Not acknowledged") {
		t.Fatalf("pressing 2: %s", got)
	}
	if i, _ := env.srv.Incidents.Get(ctx, inc.ID); i.State != incident.Triggered {
		t.Fatalf("pressing 2 acknowledged the incident")
	}
	if got := press("1"); got != fmt.Sprintf("<Response><Say>Incident %d is acknowledged. Thank you.</Say></Response>", inc.ID) {
		t.Fatalf("pressing 1: %s", got)
	}
	if i, _ := env.srv.Incidents.Get(ctx, inc.ID); i.State != incident.Acknowledged {
		t.Fatalf("state %s after pressing 1", i.State)
	}
	resp, _ := http.PostForm(env.url+"/a/"+tok+"x/voice", url.Values{"Digits": {"1"}})
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "not valid. Nothing was done.") {
		t.Fatalf("a forged token: %s", b)
	}
}
