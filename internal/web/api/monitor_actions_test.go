package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/probe"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// expiredTLS serves TLS on loopback with a certificate that expired an hour ago.
func expiredTLS(t *testing.T) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

type checkEnv struct {
	*monitorsTestEnv
	manager  string
	release  chan struct{} // closing it lets /slow answer
	blocking sync.WaitGroup
	target   string // base URL of a server answering /ok 200, /down 503, /slow when released
}

func newCheckEnv(t *testing.T, db *store.DB, clk clock.Clock) *checkEnv {
	e := newCheckNode(t, db, clk)
	storetest.Eventually(t, 5*time.Second, "the probe lease", e.mon.Leading)
	return e
}

// newCheckNode is newCheckEnv for a node that may not hold the probe lease.
func newCheckNode(t *testing.T, db *store.DB, clk clock.Clock) *checkEnv {
	e := &checkEnv{release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/slow":
			e.blocking.Done()
			<-e.release
		}
		io.WriteString(w, "hello")
	}))
	t.Cleanup(func() { srv.Close() })
	t.Cleanup(func() {
		select {
		case <-e.release:
		default:
			close(e.release)
		}
	})
	e.target = srv.URL
	yaml := fmt.Sprintf(`services: [{id: shop}, {id: backups}]
probes: {location: local}
monitors:
  - id: shop-down
    service: shop
    type: http
    url: %s/down
    interval: 1h
    locations: [local]
  - id: shop-agent
    service: shop
    type: http
    url: %s/ok
    locations: [eu-west]
  - id: nightly
    service: backups
    type: heartbeat
    uuid: 0d3f5a4e-6d1c-4b8e-9f4a-2a1b3c4d5e6f
    period: 1h
    grace: 10m
`, srv.URL, srv.URL)
	n := webtest.Start(t, webtest.Options{Config: webtest.Parse(t, yaml), DB: db, Clock: clk})
	ctx := context.Background()
	viewer, _, _ := n.Tokens.Create(ctx, "v", auth.Viewer, 30*24*time.Hour)
	responder, _, _ := n.Tokens.Create(ctx, "r", auth.Responder, 30*24*time.Hour)
	e.manager, _, _ = n.Tokens.Create(ctx, "m", auth.Manager, 30*24*time.Hour)
	agent, _, _ := n.Tokens.CreateAgent(ctx, "agent-eu", "eu-west", 30*24*time.Hour, nil)
	e.monitorsTestEnv = &monitorsTestEnv{srv: n, viewer: viewer, responder: responder, agents: map[string]string{"eu-west": agent},
		incidents: n.Incidents, mon: n.Monitors, db: n.DB}
	return e
}

type checkAnswer struct {
	Status    string  `json:"status"`
	Up        bool    `json:"up"`
	LatencyMS float64 `json:"latency_ms"`
	Cause     string  `json:"cause"`
	CauseText string  `json:"cause_text"`
	Message   string  `json:"message"`
	Recorded  bool    `json:"recorded"`
}

func TestCheckNowSaysWhyATargetIsDown(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		e := newCheckEnv(t, db, clock.Real{})
		expired, closed := expiredTLS(t), closedPort(t)
		cases := []struct {
			name, body string
			up         bool
			cause      string
			words      string // in cause_text
			message    string // in message
		}{
			{"a server answering 200 is up", `{"service": "shop", "type": "http", "url": "` + e.target + `/ok"}`, true, "", "", ""},
			{"a server answering 503 is down by its status code", `{"service": "shop", "type": "http", "url": "` + e.target + `/down"}`, false, "status", "status code", "503"},
			{"a closed port is a refused connection", `{"service": "shop", "type": "tcp", "address": "` + closed + `"}`, false, "connect", "connection", "refused"},
			{"an expired certificate fails TLS, saying it expired", `{"service": "shop", "type": "tls", "address": "` + expired + `"}`, false, "tls", "certificate", "expired"},
			{"a name that does not resolve is a DNS failure", `{"service": "shop", "type": "http", "url": "http://no-such-host.invalid/"}`, false, "dns", "DNS failure", "no-such-host.invalid"},
			{"a body that does not match says so", `{"service": "shop", "type": "http", "url": "` + e.target + `/ok", "expect": {"body_contains": "goodbye"}}`, false, "body", "body did not match", "goodbye"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				status, body := e.do(t, "POST", "/api/v1/monitors/check", e.manager, tc.body)
				if status != http.StatusOK {
					t.Fatalf("%d %s", status, body)
				}
				var got checkAnswer
				json.Unmarshal([]byte(body), &got)
				if got.Up != tc.up || got.Cause != tc.cause || !strings.Contains(got.CauseText, tc.words) || !strings.Contains(got.Message, tc.message) || got.Recorded {
					t.Fatalf("got %s, want up=%v cause %q (%q) message with %q, not recorded", body, tc.up, tc.cause, tc.words, tc.message)
				}
				if want := map[bool]string{true: "up", false: "down"}[tc.up]; got.Status != want {
					t.Fatalf("status %q, want %q", got.Status, want)
				}
			})
		}

		refused := []struct {
			name, token, body string
			status            int
			field             string
		}{
			{"a field of the wrong type is named", e.manager, `{"service": "shop", "type": "http", "url": "http://x/", "expect": {"status": "ok"}}`, 400, `expect.status`},
			{"an unknown field is named", e.manager, `{"servce": "shop", "type": "http", "url": "http://x/"}`, 400, `servce`},
			{"an unknown service is named", e.manager, `{"service": "nope", "type": "http", "url": "http://x/"}`, 400, `unknown service \"nope\"`},
			{"a bad URL is named", e.manager, `{"service": "shop", "type": "http", "url": "ftp://x/"}`, 400, `"url: monitor check: url \"ftp://x/\"`},
			{"text that is not JSON is refused", e.manager, `{"service": `, 400, "monitor"},
			{"a heartbeat is pinged, not probed", e.manager, `{"service": "backups", "type": "heartbeat", "uuid": "9a3f5a4e-6d1c-4b8e-9f4a-2a1b3c4d5e6f", "period": "1h"}`, 409, "pinged, not probed"},
			{"a responder may not check", e.responder, `{"service": "shop", "type": "tcp", "address": "` + closed + `"}`, 403, "manager"},
			{"a viewer may not check", e.viewer, `{"service": "shop", "type": "tcp", "address": "` + closed + `"}`, 403, "manager"},
		}
		for _, tc := range refused {
			t.Run(tc.name, func(t *testing.T) {
				status, body := e.do(t, "POST", "/api/v1/monitors/check", tc.token, tc.body)
				if status != tc.status || !strings.Contains(body, tc.field) {
					t.Fatalf("%d %s, want %d naming %s", status, body, tc.status, tc.field)
				}
			})
		}

		t.Run("a monitor of the config checked now counts as its result", func(t *testing.T) {
			status, body := e.do(t, "POST", "/api/v1/monitors/shop-down/check", e.manager, "")
			var got checkAnswer
			json.Unmarshal([]byte(body), &got)
			if status != 200 || got.Up || got.Cause != "status" || !got.Recorded {
				t.Fatalf("%d %s, want a recorded failure by status", status, body)
			}
			storetest.Eventually(t, 5*time.Second, "the result in the monitor's failures", func() bool {
				e.mon.History.Flush(context.Background())
				_, body := e.do(t, "GET", "/api/v1/monitors/shop-down", e.viewer, "")
				return strings.Contains(body, `"cause":"status"`) && strings.Contains(body, `"location":"local"`)
			})
		})
		t.Run("a monitor only agents run is checked but not recorded", func(t *testing.T) {
			status, body := e.do(t, "POST", "/api/v1/monitors/shop-agent/check", e.manager, "")
			if status != 200 || !strings.Contains(body, `"recorded":false`) || !strings.Contains(body, `"up":true`) {
				t.Fatalf("%d %s", status, body)
			}
		})
		t.Run("checking a heartbeat or an unknown monitor is refused", func(t *testing.T) {
			if status, body := e.do(t, "POST", "/api/v1/monitors/nightly/check", e.manager, ""); status != 409 {
				t.Fatalf("%d %s", status, body)
			}
			if status, body := e.do(t, "POST", "/api/v1/monitors/nope/check", e.manager, ""); status != 404 {
				t.Fatalf("%d %s", status, body)
			}
		})
		t.Run("one caller has at most three checks running", func(t *testing.T) {
			slow := `{"service": "shop", "type": "http", "url": "` + e.target + `/slow", "timeout": "20s"}`
			e.blocking.Add(3)
			var wg sync.WaitGroup
			for range 3 {
				wg.Add(1)
				go func() { defer wg.Done(); e.do(t, "POST", "/api/v1/monitors/check", e.manager, slow) }()
			}
			e.blocking.Wait() // three checks hold a connection each
			status, body := e.do(t, "POST", "/api/v1/monitors/check", e.manager, slow)
			if status != http.StatusTooManyRequests || !strings.Contains(body, "too many checks") {
				t.Fatalf("a fourth check: %d %s, want 429", status, body)
			}
			other, _, _ := e.srv.Tokens.Create(context.Background(), "m2", auth.Manager, time.Hour)
			if status, body := e.do(t, "POST", "/api/v1/monitors/check", other, `{"service": "shop", "type": "http", "url": "`+e.target+`/ok"}`); status != 200 {
				t.Fatalf("another caller: %d %s, want 200", status, body)
			}
			close(e.release)
			wg.Wait()
		})
	})
}

// TestPauseLeavesPausedTimeOutOfUptime pauses a monitor run by an agent, which then sends the
// results it measured while the server was away, some during the pause.
//
// Hand-worked fixture (fake clock from 07:30):
//
//	07:31 .. 07:35  five results up                       counted
//	07:35:30        paused (by the responder token "r")
//	07:36 .. 07:40  five results down, measured paused     not counted (sent at 07:41)
//	07:40:30        resumed
//	07:41           one down, 07:42 one up                 counted
//
// Over 07:30-07:43: 7 checks counted, 1 failed: uptime 6/7 = 0.857142857...; counting the
// paused ones would give 6/12 = 0.5.
func TestPauseLeavesPausedTimeOutOfUptime(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		clk := clock.NewFake(webtest.Epoch)
		e := newCheckEnv(t, db, clk)
		at := func(hm string) time.Time {
			d, _ := time.ParseDuration(strings.Replace(hm, ":", "h", 1) + "m")
			return webtest.Epoch.Truncate(24 * time.Hour).Add(d)
		}
		send := func(ok bool, ats ...time.Time) {
			t.Helper()
			var rs []string
			for _, a := range ats {
				rs = append(rs, fmt.Sprintf(`{"monitor_id": "shop-agent", "at": %q, "ok": %v, "latency_ns": 1000000, "cause": %q, "message": "m"}`,
					a.Format(time.RFC3339Nano), ok, map[bool]string{true: "", false: "status"}[ok]))
			}
			if status, body := e.do(t, "POST", "/api/v1/probe/results", e.agents["eu-west"], `{"results": [`+strings.Join(rs, ",")+`]}`); status != 200 {
				t.Fatalf("results: %d %s", status, body)
			}
		}
		for _, hm := range []string{"07:31", "07:32", "07:33", "07:34", "07:35"} {
			clk.Set(at(hm))
			send(true, at(hm))
		}
		clk.Set(at("07:35").Add(30 * time.Second))
		if status, body := e.do(t, "POST", "/api/v1/monitors/shop-agent/pause", e.responder, ""); status != 200 || !strings.Contains(body, `"paused_by":"token:r"`) {
			t.Fatalf("pause: %d %s", status, body)
		}
		if status, body := e.do(t, "POST", "/api/v1/monitors/shop-agent/pause", e.responder, ""); status != 409 || !strings.Contains(body, "token:r paused it") {
			t.Fatalf("pausing again: %d %s, want 409 saying who paused it", status, body)
		}
		if _, body := e.do(t, "GET", "/api/v1/monitors/shop-agent", e.viewer, ""); !strings.Contains(body, `"status":"paused"`) {
			t.Fatalf("a paused monitor shows %s", body)
		}
		clk.Set(at("07:40").Add(30 * time.Second))
		if status, body := e.do(t, "POST", "/api/v1/monitors/shop-agent/resume", e.responder, ""); status != 200 || !strings.Contains(body, `"resumed_by":"token:r"`) {
			t.Fatalf("resume: %d %s", status, body)
		}
		if status, _ := e.do(t, "POST", "/api/v1/monitors/shop-agent/resume", e.responder, ""); status != 409 {
			t.Fatalf("resuming a running monitor: %d, want 409", status)
		}
		clk.Set(at("07:41"))
		send(false, at("07:36"), at("07:37"), at("07:38"), at("07:39"), at("07:40"), at("07:41"))
		clk.Set(at("07:42"))
		send(true, at("07:42"))
		clk.Set(at("07:43"))
		e.mon.History.Flush(context.Background())
		status, body := e.do(t, "GET", "/api/v1/monitors/shop-agent?from="+at("07:30").Format(time.RFC3339)+"&to="+at("07:43").Format(time.RFC3339), e.viewer, "")
		var got struct {
			Range struct {
				Checks, Failures int64
				Uptime           float64
			} `json:"range"`
			Pauses []probe.Pause `json:"pauses"`
		}
		json.Unmarshal([]byte(body), &got)
		if status != 200 || got.Range.Checks != 7 || got.Range.Failures != 1 || math.Abs(got.Range.Uptime-6.0/7) > 1e-9 {
			t.Fatalf("range %+v (%d), want 7 checks, 1 failure, uptime 6/7", got.Range, status)
		}
		entries, err := e.srv.Audit.List(context.Background(), 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		audited := map[string]bool{}
		for _, en := range entries {
			if en.Actor == "token:r" && strings.HasPrefix(en.Detail, "200") {
				audited[en.Action] = true
			}
		}
		if !audited["POST /api/v1/monitors/{id}/pause"] || !audited["POST /api/v1/monitors/{id}/resume"] {
			t.Fatalf("the audit log does not say who paused and resumed: %+v", entries)
		}
		if len(got.Pauses) != 1 || got.Pauses[0].PausedBy != "token:r" || got.Pauses[0].ResumedAt == nil || !got.Pauses[0].ResumedAt.Equal(at("07:40").Add(30*time.Second)) {
			t.Fatalf("pauses %+v", got.Pauses)
		}
	})
}

func TestAPausedMonitorProbesNothingAndSurvivesARestart(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		clk := clock.NewFake(webtest.Epoch)
		e := newCheckEnv(t, db, clk)
		until := webtest.Epoch.Add(2 * time.Hour)
		if status, body := e.do(t, "POST", "/api/v1/monitors/shop-agent/pause", e.responder, `{"until": "`+until.Format(time.RFC3339)+`"}`); status != 200 {
			t.Fatalf("pause: %d %s", status, body)
		}
		for _, bad := range []string{`{"until": "yesterday"}`, `{"until": "2020-01-01T00:00:00Z"}`} {
			if status, body := e.do(t, "POST", "/api/v1/monitors/shop-down/pause", e.responder, bad); status != 400 || !strings.Contains(body, "until") {
				t.Fatalf("pause %s: %d %s, want 400 naming until", bad, status, body)
			}
		}
		t.Run("a paused monitor gets no assignment and its results are dropped", func(t *testing.T) {
			_, body := e.do(t, "GET", "/api/v1/probe/assignments", e.agents["eu-west"], "")
			if strings.Contains(body, "shop-agent") {
				t.Fatalf("assignments of a paused monitor: %s", body)
			}
			clk.Advance(time.Minute)
			res := fmt.Sprintf(`{"results": [{"monitor_id": "shop-agent", "at": %q, "ok": false, "latency_ns": 1, "cause": "status", "message": "m"}]}`, clk.Now().Format(time.RFC3339Nano))
			e.do(t, "POST", "/api/v1/probe/results", e.agents["eu-west"], res)
			incs, _, _ := e.incidents.List(context.Background(), incident.Filter{ServiceIDs: []string{"shop"}})
			if len(incs) != 0 {
				t.Fatalf("a paused monitor opened %+v", incs)
			}
		})
		t.Run("the pause survives a restart", func(t *testing.T) {
			e.srv.Stop()
			n := webtest.Start(t, webtest.Options{Config: e.srv.Config.Get(), DB: db, Clock: clk})
			storetest.Eventually(t, 5*time.Second, "the probe lease", n.Monitors.Leading)
			v, _ := n.Monitors.View("shop-agent")
			if p, ok := n.Monitors.Paused("shop-agent"); !ok || v.Status != probe.StatusPaused || p.PausedBy != "token:r" || p.Until == nil || !p.Until.Equal(until) {
				t.Fatalf("after a restart: %+v %v, status %s", p, ok, v.Status)
			}
			t.Run("and its end resumes it by the durable timer", func(t *testing.T) {
				clk.Set(until.Add(time.Second))
				storetest.Eventually(t, 10*time.Second, "the monitor resumed by itself", func() bool {
					_, ok := n.Monitors.Paused("shop-agent")
					return !ok
				})
				ps, _ := n.Monitors.Pauses(context.Background(), "shop-agent", webtest.Epoch, clk.Now())
				if len(ps) != 1 || ps[0].ResumedBy != probe.ResumedBySchedule {
					t.Fatalf("pauses %+v, want one resumed by schedule", ps)
				}
				if v, _ := n.Monitors.View("shop-agent"); v.Status != probe.StatusPending {
					t.Fatalf("status %s after resuming, want pending", v.Status)
				}
			})
		})
	})
}

// A paused heartbeat is not late however long it is silent; resumed, it gets a full period and
// grace (1h + 10m) from the resume, as healthchecks.io does.
func TestAPausedHeartbeatDoesNotFire(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		clk := clock.NewFake(webtest.Epoch)
		e := newCheckEnv(t, db, clk)
		const ping = "/ping/0d3f5a4e-6d1c-4b8e-9f4a-2a1b3c4d5e6f"
		if status, _ := e.do(t, "GET", ping, "", ""); status != 200 {
			t.Fatalf("ping %d", status)
		}
		if status, body := e.do(t, "POST", "/api/v1/monitors/nightly/pause", e.responder, ""); status != 200 {
			t.Fatalf("pause: %d %s", status, body)
		}
		clk.Advance(5 * time.Hour) // long past 1h + 10m
		time.Sleep(300 * time.Millisecond)
		incs, _, _ := e.incidents.List(context.Background(), incident.Filter{ServiceIDs: []string{"backups"}})
		if len(incs) != 0 {
			t.Fatalf("a paused heartbeat opened %+v", incs)
		}
		if status, body := e.do(t, "POST", "/api/v1/monitors/nightly/resume", e.responder, ""); status != 200 {
			t.Fatalf("resume: %d %s", status, body)
		}
		resumed := clk.Now()
		_, body := e.do(t, "GET", "/api/v1/monitors/nightly", e.viewer, "")
		var got struct {
			Heartbeat struct {
				LateAt *time.Time `json:"late_at"`
			} `json:"heartbeat"`
		}
		json.Unmarshal([]byte(body), &got)
		if want := resumed.Add(70 * time.Minute).Truncate(time.Millisecond); got.Heartbeat.LateAt == nil || !got.Heartbeat.LateAt.Equal(want) {
			t.Fatalf("late_at %v after resuming, want %v: %s", got.Heartbeat.LateAt, want, body)
		}
		clk.Advance(69 * time.Minute)
		time.Sleep(300 * time.Millisecond)
		if incs, _, _ := e.incidents.List(context.Background(), incident.Filter{ServiceIDs: []string{"backups"}}); len(incs) != 0 {
			t.Fatalf("late before its fresh grace ran out: %+v", incs)
		}
		clk.Advance(2 * time.Minute)
		storetest.Eventually(t, 10*time.Second, "the heartbeat late after its fresh grace", func() bool {
			incs, _, _ := e.incidents.List(context.Background(), incident.Filter{ServiceIDs: []string{"backups"}})
			return len(incs) == 1
		})
	})
}

// Two nodes on one PostgreSQL database: a pause made through one node stops the monitor on the
// node holding the probe lease, and a resume through the other is seen by both.
func TestAPauseReachesEveryNode(t *testing.T) {
	url := storetest.PostgresURL(t)
	open := func() *store.DB {
		db, err := store.Open(context.Background(), store.Options{URL: url, Key: storetest.Key})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(context.Background(), app.Schemas()); err != nil {
			t.Fatal(err)
		}
		return db
	}
	a := newCheckNode(t, open(), clock.Real{})
	b := newCheckNode(t, open(), clock.Real{})
	lead, other := a, b
	storetest.Eventually(t, 20*time.Second, "one node holding the probe lease", func() bool { return a.mon.Leading() != b.mon.Leading() })
	if b.mon.Leading() {
		lead, other = b, a
	}
	token, _, _ := other.srv.Tokens.Create(context.Background(), "r2", auth.Responder, time.Hour)
	if status, body := other.do(t, "POST", "/api/v1/monitors/shop-down/pause", token, ""); status != 200 {
		t.Fatalf("pause through the node off the lease: %d %s", status, body)
	}
	storetest.Eventually(t, 5*time.Second, "the lease holder applying the pause", func() bool {
		_, paused := lead.mon.Paused("shop-down")
		v, _ := lead.mon.View("shop-down")
		return paused && v.Status == probe.StatusPaused
	})
	for _, m := range lead.mon.Assignments("local") {
		if m.ID == "shop-down" {
			t.Fatalf("the lease holder still runs a paused monitor")
		}
	}
	if status, body := lead.do(t, "POST", "/api/v1/monitors/shop-down/resume", lead.responder, ""); status != 200 {
		t.Fatalf("resume through the lease holder: %d %s", status, body)
	}
	storetest.Eventually(t, 5*time.Second, "the other node seeing the resume", func() bool {
		_, paused := other.mon.Paused("shop-down")
		return !paused
	})
}
