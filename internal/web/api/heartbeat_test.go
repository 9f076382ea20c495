package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/storetest"
)

const pingKey = "fqOOd6-F4MMNuCEnzTU01w"

const heartbeatTestConfig = `services: [{id: backups}]
probes:
  ping_key: ` + pingKey + `
monitors:
  - id: nightly-backup
    service: backups
    type: heartbeat
    uuid: 5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10
    period: 24h
    grace: 10m
  - id: db-dump
    service: backups
    type: heartbeat
    slug: database-dump
    uuid: 0f0e0d0c-0b0a-4908-8706-050403020100
    cron: "0 3 * * *"
    time_zone: Europe/Paris
    grace: 30m
`

const (
	backupURL = "/ping/5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10"
	runA      = "6a1f2c58-0e5b-4d8e-9a53-5c0f7a2b9e10"
	runB      = "9d2e3b47-1f6c-4c7d-8b42-4d1e6a3c8f21"
)

var hbT0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

type heartbeatAPI struct {
	Status    string `json:"status"`
	Cause     string `json:"cause"`
	Message   string `json:"message"`
	Heartbeat struct {
		PingURL      string     `json:"ping_url"`
		SlugPingURL  string     `json:"slug_ping_url"`
		Slug         string     `json:"slug"`
		PeriodS      float64    `json:"period_s"`
		Cron         string     `json:"cron"`
		TimeZone     string     `json:"time_zone"`
		GraceS       float64    `json:"grace_s"`
		LastPingAt   *time.Time `json:"last_ping_at"`
		NextPingAt   *time.Time `json:"next_ping_at"`
		LateAt       *time.Time `json:"late_at"`
		RunStartedAt *time.Time `json:"run_started_at"`
		RunID        string     `json:"run_id"`
		RunLateAt    *time.Time `json:"run_late_at"`
	} `json:"heartbeat"`
	Pings []struct {
		Kind       string `json:"kind"`
		RunID      string `json:"rid"`
		DurationMS int64  `json:"duration_ms"`
		Body       string `json:"body"`
	} `json:"pings"`
}

func (e *monitorsTestEnv) heartbeat(t *testing.T, id, token string) heartbeatAPI {
	t.Helper()
	status, body := e.do(t, "GET", "/api/v1/monitors/"+id, token, "")
	if status != 200 {
		t.Fatalf("GET %s: %d %s", id, status, body)
	}
	var out heartbeatAPI
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *monitorsTestEnv) ping(t *testing.T, method, path, body string) {
	t.Helper()
	want := "OK\n"
	if method == "HEAD" {
		want = ""
	}
	if status, answer := e.do(t, method, path, "", body); status != 200 || answer != want {
		t.Fatalf("%s %s: %d %q, want 200 OK", method, path, status, answer)
	}
}

func TestRunIDsPairEachStartWithItsOwnFinish(t *testing.T) {
	clk := clock.NewFake(hbT0)
	e := newMonitorsTestEnvWith(t, heartbeatTestConfig, clk)
	// Two runs overlap: A starts, B starts 10s later, A ends 5s after that, B 20s after A.
	e.ping(t, "POST", backupURL+"/start?rid="+runA, "")
	clk.Advance(10 * time.Second)
	e.ping(t, "POST", backupURL+"/start?rid="+runB, "")
	clk.Advance(5 * time.Second)
	e.ping(t, "POST", backupURL+"/0?rid="+runA, "run A done")
	clk.Advance(20 * time.Second)
	e.ping(t, "POST", backupURL+"/0?rid="+strings.ToUpper(runB), "run B done")
	hb := e.heartbeat(t, "nightly-backup", e.viewer)
	if len(hb.Pings) != 4 {
		t.Fatalf("%d pings, want 4", len(hb.Pings))
	}
	got := map[string]int64{}
	for _, p := range hb.Pings {
		if p.Kind == "success" {
			got[p.RunID] = p.DurationMS
		}
	}
	// Without run ids, B's finish would have had no start left and A's would have measured 5s.
	if got[runA] != 15000 || got[runB] != 25000 {
		t.Fatalf("durations by run %v, want %s 15s and %s 25s", got, runA, runB)
	}
	if hb.Heartbeat.RunStartedAt != nil {
		t.Fatalf("a run is shown running (%s) after both finished", hb.Heartbeat.RunStartedAt)
	}
}

func TestAStartWithoutAFinishWithinTheGraceIsLate(t *testing.T) {
	clk := clock.NewFake(hbT0)
	e := newMonitorsTestEnvWith(t, heartbeatTestConfig, clk)
	openIncidents := func() []incident.Incident {
		incs, _, _ := e.incidents.List(context.Background(), incident.Filter{ServiceIDs: []string{"backups"}})
		var open []incident.Incident
		for _, inc := range incs {
			if inc.State != incident.Resolved {
				open = append(open, inc)
			}
		}
		return open
	}

	// A run that finishes within the grace is not late, even once the grace has passed.
	e.ping(t, "GET", backupURL+"/start?rid="+runA, "")
	clk.Advance(9 * time.Minute)
	e.ping(t, "GET", backupURL+"?rid="+runA, "")
	clk.Advance(5 * time.Minute)
	time.Sleep(100 * time.Millisecond)
	if hb := e.heartbeat(t, "nightly-backup", e.viewer); hb.Status != "up" || len(openIncidents()) != 0 {
		t.Fatalf("status %s with %d incidents after a run finished in time, want up and none", hb.Status, len(openIncidents()))
	}

	// The next run starts and never finishes.
	e.ping(t, "HEAD", backupURL+"/start?rid="+runB, "")
	hb := e.heartbeat(t, "nightly-backup", e.viewer)
	if hb.Heartbeat.RunID != runB || hb.Heartbeat.RunLateAt == nil || !hb.Heartbeat.RunLateAt.Equal(clk.Now().Add(10*time.Minute)) {
		t.Fatalf("running %+v, want run B late at start + 10m", hb.Heartbeat)
	}
	clk.Advance(9*time.Minute + 59*time.Second)
	time.Sleep(100 * time.Millisecond)
	if n := len(openIncidents()); n != 0 {
		t.Fatalf("%d incidents before the grace ran out, want none", n)
	}
	clk.Advance(2 * time.Second)
	storetest.Eventually(t, 5*time.Second, "the unfinished run to open an incident", func() bool { return len(openIncidents()) == 1 })
	hb = e.heartbeat(t, "nightly-backup", e.viewer)
	if hb.Status != "down" || hb.Cause != "late" || !strings.Contains(hb.Message, "run "+runB+" started at 2026-03-02T10:14:00Z and has not finished within the 10m0s grace") {
		t.Fatalf("status %s cause %s message %q, want down as late naming run B", hb.Status, hb.Cause, hb.Message)
	}
	// It finishes at last: the incident resolves.
	e.ping(t, "POST", backupURL+"/0?rid="+runB, "")
	storetest.Eventually(t, 5*time.Second, "the incident to resolve", func() bool { return len(openIncidents()) == 0 })
}

func TestPingsBySlugWithThePingKey(t *testing.T) {
	clk := clock.NewFake(hbT0)
	e := newMonitorsTestEnvWith(t, heartbeatTestConfig, clk)
	slugURL := "/ping/" + pingKey + "/database-dump"
	cases := []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"a slug ping is a success", "GET", slugURL, 200, "OK\n"},
		{"a slug start is taken", "POST", slugURL + "/start?rid=" + runA, 200, "OK\n"},
		{"a slug log is taken", "POST", slugURL + "/log", 200, "OK\n"},
		{"a slug exit code is taken", "POST", slugURL + "/0?rid=" + runA, 200, "OK\n"},
		{"a heartbeat's id is its slug by default", "HEAD", "/ping/" + pingKey + "/nightly-backup", 200, ""},
		{"a wrong ping key is not found", "GET", "/ping/wrongwrongwrongwrong00/database-dump", 404, "not found\n"},
		{"an unknown slug is not found", "GET", "/ping/" + pingKey + "/no-such-job", 404, "not found\n"},
		{"a slug with the wrong case is not found", "GET", "/ping/" + pingKey + "/Database-Dump", 404, "not found\n"},
		{"an unknown uuid is OK (not found)", "POST", "/ping/00000000-0000-4000-8000-000000000000/start", 200, "OK (not found)\n"},
		{"a ping key alone is no URL", "GET", "/ping/" + pingKey, 400, "invalid url format"},
		{"a fourth segment is refused", "GET", slugURL + "/start/again", 400, "invalid url format"},
		{"a run id that is not a UUID is refused", "GET", slugURL + "?rid=42", 400, "invalid url format: rid"},
		{"an exit code above 255 is refused", "GET", slugURL + "/256", 400, "invalid url format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader("log line"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			buf := make([]byte, 512)
			for {
				n, err := resp.Body.Read(buf)
				b.Write(buf[:n])
				if err != nil {
					break
				}
			}
			if resp.StatusCode != tc.status || !strings.HasPrefix(b.String(), tc.body) {
				t.Fatalf("%s %s: %d %q, want %d %q", tc.method, tc.path, resp.StatusCode, b.String(), tc.status, tc.body)
			}
			if resp.Header.Get("Ping-Body-Limit") != "10240" {
				t.Fatalf("Ping-Body-Limit %q, want 10240", resp.Header.Get("Ping-Body-Limit"))
			}
		})
	}
	hb := e.heartbeat(t, "db-dump", e.viewer)
	if len(hb.Pings) != 4 || hb.Pings[0].Kind != "success" || hb.Pings[0].RunID != runA || hb.Pings[1].Kind != "log" {
		t.Fatalf("pings %+v, want the four slug pings, newest first", hb.Pings)
	}
}

func TestTheAPIShowsHowAndWhenAHeartbeatIsExpected(t *testing.T) {
	clk := clock.NewFake(hbT0)
	e := newMonitorsTestEnvWith(t, heartbeatTestConfig, clk)
	hb := e.heartbeat(t, "nightly-backup", e.responder)
	if hb.Heartbeat.PingURL != e.srv.URL+backupURL || hb.Heartbeat.SlugPingURL != e.srv.URL+"/ping/"+pingKey+"/nightly-backup" ||
		hb.Heartbeat.PeriodS != 86400 || hb.Heartbeat.GraceS != 600 || hb.Heartbeat.NextPingAt != nil {
		t.Fatalf("before the first ping: %+v", hb.Heartbeat)
	}
	e.ping(t, "GET", backupURL, "")
	hb = e.heartbeat(t, "nightly-backup", e.responder)
	if !hb.Heartbeat.LastPingAt.Equal(hbT0) || !hb.Heartbeat.NextPingAt.Equal(hbT0.Add(24*time.Hour)) ||
		!hb.Heartbeat.LateAt.Equal(hbT0.Add(24*time.Hour+10*time.Minute)) {
		t.Fatalf("after a ping at %s: %+v, want next at +24h and late at +24h10m", hbT0, hb.Heartbeat)
	}
	// A cron heartbeat: pinged at 11:00 Paris on the 2nd, next due at 03:00 Paris (02:00 UTC).
	e.ping(t, "GET", "/ping/0f0e0d0c-0b0a-4908-8706-050403020100", "")
	hb = e.heartbeat(t, "db-dump", e.responder)
	next := time.Date(2026, 3, 3, 2, 0, 0, 0, time.UTC)
	if hb.Heartbeat.Cron != "0 3 * * *" || hb.Heartbeat.TimeZone != "Europe/Paris" || hb.Heartbeat.Slug != "database-dump" ||
		!hb.Heartbeat.NextPingAt.Equal(next) || !hb.Heartbeat.LateAt.Equal(next.Add(30*time.Minute)) {
		t.Fatalf("cron heartbeat %+v, want next at %s and late 30m after", hb.Heartbeat, next)
	}
	// The ping URLs hold the secrets: a viewer sees the schedule but not them.
	hb = e.heartbeat(t, "nightly-backup", e.viewer)
	if hb.Heartbeat.PingURL != "" || hb.Heartbeat.SlugPingURL != "" || hb.Heartbeat.NextPingAt == nil {
		t.Fatalf("a viewer sees %+v, want the schedule without the ping URLs", hb.Heartbeat)
	}
	status, body := e.do(t, "GET", "/api/v1/monitors", e.viewer, "")
	if status != 200 || strings.Contains(body, "5b6c1c36") || !strings.Contains(body, `"next_ping_at":"2026-03-03T10:00:00Z"`) {
		t.Fatalf("the list: %d %s", status, body)
	}
	_, page := e.do(t, "GET", "/monitors/nightly-backup", e.responder, "")
	if !strings.Contains(page, e.srv.URL+backupURL) || !strings.Contains(page, "Next ping expected") || !strings.Contains(page, "24h0m0s") {
		t.Fatalf("the monitor page does not show the ping URL and the schedule to a responder:\n%s", page)
	}
}
