package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/probe"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

const monitorsTestConfig = `services: [{id: backups}, {id: shop}]
monitors:
  - id: nightly-backup
    service: backups
    type: heartbeat
    uuid: 5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10
    period: 24h
  - id: shop-api
    service: shop
    type: http
    url: http://127.0.0.1:1/health
    locations: [eu-west, us-east]
    quorum: 1
`

type monitorsTestEnv struct {
	srv               *webtest.Nines
	viewer, responder string
	agents            map[string]string // location -> agent token
	incidents         *incident.Service
	mon               *probe.Monitors
	db                *store.DB
}

func newMonitorsTestEnv(t *testing.T) *monitorsTestEnv {
	return newMonitorsTestEnvWith(t, monitorsTestConfig, clock.Real{})
}

// newMonitorsTestEnvWith serves the monitors of yaml on clk, with the durable timers running.
func newMonitorsTestEnvWith(t *testing.T, yaml string, clk clock.Clock) *monitorsTestEnv {
	srv := webtest.Start(t, webtest.Options{Config: webtest.Parse(t, yaml), Clock: clk})
	mon, tokens := srv.Monitors, srv.Tokens
	viewer, _, _ := tokens.Create(context.Background(), "v", auth.Viewer, time.Hour)
	responder, _, _ := tokens.Create(context.Background(), "r", auth.Responder, time.Hour)
	agents := map[string]string{}
	for _, loc := range []string{"eu-west", "ap-south"} {
		agents[loc], _, _ = tokens.CreateAgent(context.Background(), "agent-"+loc, loc, time.Hour, nil)
	}
	storetest.Eventually(t, 5*time.Second, "the probe lease", mon.Leading)
	return &monitorsTestEnv{srv: srv, viewer: viewer, responder: responder, agents: agents, incidents: srv.Incidents, mon: mon, db: srv.DB}
}

func (e *monitorsTestEnv) do(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPingURLsSpeakHealthchecksShapes(t *testing.T) {
	e := newMonitorsTestEnv(t)
	const u = "/ping/5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10"
	cases := []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"a GET ping is a success", "GET", u, 200, "OK"},
		{"a HEAD ping is a success", "HEAD", u, 200, ""},
		{"a POST ping is a success", "POST", u, 200, "OK"},
		{"an upper-case uuid is the same heartbeat", "GET", "/ping/" + strings.ToUpper(u[6:]), 200, "OK"},
		{"a start ping is taken", "POST", u + "/start", 200, "OK"},
		{"exit code 0 is taken", "POST", u + "/0", 200, "OK"},
		{"an unknown uuid answers OK (not found), as healthchecks.io does", "GET", "/ping/00000000-0000-4000-8000-000000000000", 200, "OK (not found)"},
		{"an exit code above 255 is refused", "GET", u + "/300", 400, "invalid url format"},
		{"an unknown suffix is refused", "GET", u + "/finish", 400, "not start, fail"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do(t, tc.method, tc.path, "", "log line")
			if status != tc.status || !strings.Contains(body, tc.body) {
				t.Fatalf("%s %s: %d %q, want %d with %q", tc.method, tc.path, status, body, tc.status, tc.body)
			}
		})
	}
	t.Run("a failing exit code opens an incident and a success resolves it", func(t *testing.T) {
		if status, _ := e.do(t, "POST", u+"/1", "", "disk full"); status != 200 {
			t.Fatalf("status %d", status)
		}
		incs, _, _ := e.incidents.List(context.Background(), incident.Filter{ServiceIDs: []string{"backups"}})
		if len(incs) != 1 || incs[0].State != incident.Triggered {
			t.Fatalf("incidents %+v, want one triggered", incs)
		}
		e.do(t, "GET", u, "", "")
		incs, _, _ = e.incidents.List(context.Background(), incident.Filter{ServiceIDs: []string{"backups"}})
		if incs[0].State != incident.Resolved {
			t.Fatalf("incident %s after a success, want resolved", incs[0].State)
		}
	})
}

func TestMonitorAPI(t *testing.T) {
	e := newMonitorsTestEnv(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	results := func(loc string, ok bool) string {
		return fmt.Sprintf(`{"location": %q, "results": [{"monitor_id": "shop-api", "at": %q, "ok": %v, "latency_ns": 12000000, "cause": "%s", "message": "x"}]}`,
			loc, now.Format(time.RFC3339Nano), ok, map[bool]string{true: "", false: "connect"}[ok])
	}
	cases := []struct {
		name, method, path, token, body string
		status                          int
		want                            string
	}{
		{"listing needs a token", "GET", "/api/v1/monitors", "", "", 401, "unauthorized"},
		{"a viewer lists monitors", "GET", "/api/v1/monitors", "viewer", "", 200, `"status":"pending"`},
		{"an unknown status filter is named", "GET", "/api/v1/monitors?status=sideways", "viewer", "", 400, "status"},
		{"an unknown monitor is not found", "GET", "/api/v1/monitors/nope", "viewer", "", 404, "nope"},
		{"a bad range is named", "GET", "/api/v1/monitors/shop-api?from=yesterday", "viewer", "", 400, "from"},
		{"a viewer may not post results", "POST", "/api/v1/probe/results", "viewer", results("eu-west", true), 403, "agent"},
		{"a viewer may not read assignments", "GET", "/api/v1/probe/assignments?location=eu-west", "viewer", "", 403, "agent"},
		{"a responder may not read assignments, which carry the targets' credentials", "GET", "/api/v1/probe/assignments?location=eu-west", "responder", "", 403, "agent"},
		{"a responder may not post results", "POST", "/api/v1/probe/results", "responder", results("eu-west", false), 403, "agent"},
		{"an agent reads its location's monitors", "GET", "/api/v1/probe/assignments", "agent eu-west", "", 200, `"id":"shop-api"`},
		{"an agent may name its own location", "GET", "/api/v1/probe/assignments?location=eu-west", "agent eu-west", "", 200, `"id":"shop-api"`},
		{"an agent may not read another location's monitors", "GET", "/api/v1/probe/assignments?location=us-east", "agent eu-west", "", 403, `eu-west\", not \"us-east`},
		{"another location has none", "GET", "/api/v1/probe/assignments", "agent ap-south", "", 200, `"monitors":[]`},
		{"results from a location the monitor does not list are refused", "POST", "/api/v1/probe/results", "agent ap-south", results("ap-south", false), 400, "does not run from location"},
		{"an agent may not post results as another location", "POST", "/api/v1/probe/results", "agent ap-south", results("eu-west", false), 403, `ap-south\", not \"eu-west`},
		{"results for a heartbeat are refused", "POST", "/api/v1/probe/results", "agent eu-west",
			`{"location": "eu-west", "results": [{"monitor_id": "nightly-backup", "at": "2026-01-01T00:00:00Z", "ok": true}]}`, 400, "heartbeat"},
		{"an unknown field is named", "POST", "/api/v1/probe/results", "agent eu-west", `{"location": "eu-west", "extra": 1}`, 400, "extra"},
		{"a down result from one location of quorum 1 takes the monitor down", "POST", "/api/v1/probe/results", "agent eu-west", results("eu-west", false), 200, `"accepted":1`},
		{"the monitor shows down with its cause and location", "GET", "/api/v1/monitors/shop-api", "viewer", "", 200, `"cause":"connect"`},
	}
	tokens := map[string]string{"viewer": e.viewer, "responder": e.responder, "agent eu-west": e.agents["eu-west"], "agent ap-south": e.agents["ap-south"]}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do(t, tc.method, tc.path, tokens[tc.token], tc.body)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s, want %d with %s", status, body, tc.status, tc.want)
			}
		})
	}
	v, _ := e.mon.View("shop-api")
	if v.Status != probe.StatusDown || v.Locations["eu-west"].Status != probe.StatusDown {
		t.Fatalf("view %+v, want down as eu-west saw it", v)
	}
	// The rejected batches changed nothing: only the accepted result is in the history.
	if err := e.mon.History.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var n int
	e.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM probe_results`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d results recorded, want 1", n)
	}
	_, body := e.do(t, "GET", "/api/v1/monitors/shop-api", e.viewer, "")
	var m struct {
		Status         string `json:"status"`
		RecentFailures []struct {
			Cause string `json:"cause"`
		} `json:"recent_failures"`
		Range struct {
			Checks int `json:"checks"`
		} `json:"range"`
	}
	json.Unmarshal([]byte(body), &m)
	if m.Status != "down" || len(m.RecentFailures) != 1 || m.RecentFailures[0].Cause != "connect" || m.Range.Checks != 1 {
		t.Fatalf("monitor %s, want down with one recent connect failure and one check in range", body)
	}
}

func TestMonitorPagesRender(t *testing.T) {
	e := newMonitorsTestEnv(t)
	e.do(t, "GET", "/ping/5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10", "", "")
	e.mon.History.Flush(context.Background())
	for _, tc := range []struct{ path, want string }{
		{"/monitors", `href="/monitors/nightly-backup"`},
		{"/monitors/nightly-backup", `<svg class="bars"`},
		{"/monitors/shop-api", `No latency recorded yet`},
	} {
		status, body := e.do(t, "GET", tc.path, e.viewer, "")
		if status != 200 || !strings.Contains(body, tc.want) {
			t.Fatalf("GET %s: %d, want 200 with %s:\n%s", tc.path, status, tc.want, body)
		}
	}
	e.do(t, "POST", "/ping/5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10/2", "", "tar: disk full")
	_, body := e.do(t, "GET", "/monitors/nightly-backup", e.viewer, "")
	if !strings.Contains(body, "tar: disk full") || !strings.Contains(body, "<td>2</td>") {
		t.Fatalf("the heartbeat page does not show the failing run's exit code and log:\n%s", body)
	}
	if strings.Contains(body, "5b6c1c36") {
		t.Fatal("the page shows the heartbeat's uuid, which lets anyone who reads it send pings")
	}
	if strings.Count(body, "<rect ") != 90 {
		t.Fatalf("%d day bars, want 90", strings.Count(body, "<rect "))
	}
}
