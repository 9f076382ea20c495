package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/toxitest"
)

// drillServeConfig: a checkout service behind a Toxiproxy proxy, monitored through the proxy
// every second; alice is on call and paged by email; the team works around the clock, so the
// drill may run whenever the test does.
const drillServeConfig = `teams:
  - id: payments
    members: [alice]
    working_hours: {time_zone: UTC, start: "00:00", end: "24:00"}
users:
  - {id: alice, name: Alice, contact_methods: [{type: email, address: alice@example.com}]}
schedules:
  - id: rota
    layers: [{name: primary, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [alice]}]
escalation_policies:
  - {id: pay-policy, steps: [{escalate_after: 10m, targets: [{schedule: rota}]}]}
services:
  - id: checkout
    name: Checkout
    team: payments
    escalation_policy: pay-policy
    integrations: [{type: events_v2, key: 0123456789abcdef0123456789abcdef}]
    readiness: {drills: true, health_check: checkout-health}
monitors:
  - {id: checkout-health, name: Checkout health, service: checkout, type: http, url: "http://PROXY/healthz", interval: 1s, timeout: 500ms}
drills:
  - id: checkout-hangs
    service: checkout
    kind: toxiproxy
    toxiproxy: {url: "TOXIPROXY", proxy: checkout, toxic: timeout, attributes: {timeout: 0}}
    targets: {detect: 30s, page: 40s, acknowledge: 2m}
    limit: 3m
notifications:
  email:
    smtp: {host: 127.0.0.1, port: SMTP_PORT, from: nines@example.com, tls: none}
`

type apiRun struct {
	ID             int64      `json:"id"`
	State          string     `json:"state"`
	Reason         string     `json:"reason"`
	IncidentID     int64      `json:"incident_id"`
	AcknowledgedBy string     `json:"acknowledged_by"`
	FaultRemovedAt *time.Time `json:"fault_removed_at"`
	Score          struct {
		DetectS      *float64 `json:"detect_s"`
		PageS        *float64 `json:"page_s"`
		AcknowledgeS *float64 `json:"acknowledge_s"`
	} `json:"score"`
}

// post sends a JSON body with a token and returns the status and body.
func (s *server) post(token, path, body string) (int, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest("POST", s.url(path), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestChaosDrillReachesAHumanAndKillNineRemovesTheToxic runs `nines serve` with a real HTTP
// service behind a real Toxiproxy, monitored through the proxy. The drill adds a timeout toxic;
// the monitor fails, an incident titled [DRILL] opens (a real Events v2 alert meanwhile opens
// its own incident, paged without [DRILL]), alice gets an email at a real SMTP server
// that says it is a drill, acknowledges, and the drill is scored and the toxic removed. Then a
// second drill is under way when nines is killed with SIGKILL: the toxic stays while nines is
// down, and is removed when it comes back.
func TestChaosDrillReachesAHumanAndKillNineRemovesTheToxic(t *testing.T) {
	service := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer service.Close()
	toxi := toxitest.Start(t)
	proxy := toxi.Proxy("checkout", strings.TrimPrefix(service.URL, "http://"))
	mail := notifytest.StartSMTP(t, "none")
	smtpPort := fmt.Sprint(mail.Port())

	s := newServer(t, "")
	cfg := strings.NewReplacer("PROXY", proxy, "TOXIPROXY", toxi.API, "SMTP_PORT", smtpPort).Replace(drillServeConfig)
	if err := os.WriteFile(filepath.Join(s.dir, "nines.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.start()
	responder := s.token("responder")
	monitorIs := func(status string) func() string {
		return func() string {
			var m apiMonitor
			s.get(responder, "/api/v1/monitors/checkout-health", &m)
			if m.Status != status {
				return "the monitor is " + m.Status + ", want " + status
			}
			return ""
		}
	}
	eventually(t, 20*time.Second, monitorIs("up"))

	code, body := s.post(responder, "/api/v1/services/checkout/drills/checkout-hangs/runs", "{}")
	if code != http.StatusAccepted {
		t.Fatalf("run the drill: %d %s", code, body)
	}
	var run apiRun
	json.Unmarshal(body, &run)
	if toxics := toxi.Toxics("checkout"); len(toxics) != 1 || toxics[0] != fmt.Sprintf("nines-drill-%d:timeout", run.ID) {
		t.Fatalf("toxics during the drill: %v", toxics)
	}
	// A real alert during the drill, from a signal that cannot see the fault: it is paged as
	// what it is, never as the drill.
	if code, body := s.post("", "/v2/enqueue", `{"routing_key": "0123456789abcdef0123456789abcdef", "event_action": "trigger", "dedup_key": "disk",
		"payload": {"summary": "Database disk full", "source": "db-host-3", "severity": "critical"}}`); code != http.StatusAccepted {
		t.Fatalf("the real alert: %d %s", code, body)
	}
	eventually(t, 20*time.Second, monitorIs("down"))
	subjects := map[bool]string{}
	for range 2 {
		page := mail.Next(t)
		subject := page.Subject(t)
		if len(page.To) != 1 || page.To[0] != "alice@example.com" {
			t.Fatalf("the page %q went to %s; want alice", subject, page.To)
		}
		subjects[strings.Contains(subject, "Database disk full")] = subject
	}
	if real, drilled := subjects[true], subjects[false]; strings.Contains(real, "DRILL") || !strings.Contains(drilled, "[DRILL]") {
		t.Fatalf("pages: real %q, drill %q; want only the monitor's saying [DRILL]", real, drilled)
	}
	var incs, realIncs []apiIncident
	for _, inc := range s.incidents(responder, "service=checkout") {
		if strings.HasPrefix(inc.Title, "[DRILL] ") {
			incs = append(incs, inc)
		} else {
			realIncs = append(realIncs, inc)
		}
	}
	if len(incs) != 1 || len(realIncs) != 1 || realIncs[0].Title != "Database disk full" {
		t.Fatalf("incidents: drill %+v, real %+v; want one of each", incs, realIncs)
	}
	if code, body := s.post(responder, fmt.Sprintf("/api/v1/incidents/%d/resolve", realIncs[0].ID), "{}"); code != http.StatusOK {
		t.Fatalf("resolve the real incident: %d %s", code, body)
	}
	runPath := fmt.Sprintf("/api/v1/services/checkout/drill-runs/%d", run.ID)
	eventually(t, 10*time.Second, func() string {
		s.get(responder, runPath, &run)
		if run.Score.PageS == nil {
			return "the page is not recorded on the drill"
		}
		return ""
	})
	if code, body := s.post(responder, fmt.Sprintf("/api/v1/incidents/%d/acknowledge", incs[0].ID), "{}"); code != http.StatusOK {
		t.Fatalf("acknowledge: %d %s", code, body)
	}
	eventually(t, 10*time.Second, func() string {
		s.get(responder, runPath, &run)
		if run.State != "passed" {
			return "the drill is " + run.State + " (" + run.Reason + ")"
		}
		return ""
	})
	if toxics := toxi.Toxics("checkout"); len(toxics) != 0 {
		t.Errorf("toxics after the drill: %v", toxics)
	}
	if d := run.Score.DetectS; d == nil || *d <= 0 || *d > 30 {
		t.Errorf("time to detect: %v, want within the 30s target", d)
	}
	if p, a := run.Score.PageS, run.Score.AcknowledgeS; p == nil || a == nil || *p < *run.Score.DetectS || *a < *p {
		t.Errorf("detect %v, page %v, acknowledge %v: each after the one before", *run.Score.DetectS, p, a)
	}
	t.Logf("scored: detected in %.1fs, paged in %.1fs, acknowledged in %.1fs by %s", *run.Score.DetectS, *run.Score.PageS, *run.Score.AcknowledgeS, run.AcknowledgedBy)
	// The service is back, so its incident resolves and a drill may run again.
	eventually(t, 20*time.Second, monitorIs("up"))
	eventually(t, 10*time.Second, func() string {
		if open := s.incidents(responder, "state=open"); len(open) > 0 {
			return fmt.Sprintf("%d incidents still open", len(open))
		}
		return ""
	})

	code, body = s.post(responder, "/api/v1/services/checkout/drills/checkout-hangs/runs", "{}")
	if code != http.StatusAccepted {
		t.Fatalf("run the drill again: %d %s", code, body)
	}
	json.Unmarshal(body, &run)
	if len(toxi.Toxics("checkout")) != 1 {
		t.Fatal("the second drill added no toxic")
	}
	s.kill()
	time.Sleep(time.Second)
	if toxics := toxi.Toxics("checkout"); len(toxics) != 1 {
		t.Fatalf("toxics while nines is down: %v; the kill should have left the toxic behind", toxics)
	}
	s.start()
	runPath = fmt.Sprintf("/api/v1/services/checkout/drill-runs/%d", run.ID)
	eventually(t, 40*time.Second, func() string {
		if toxics := toxi.Toxics("checkout"); len(toxics) != 0 {
			return fmt.Sprintf("toxics after the restart: %v", toxics)
		}
		return ""
	})
	eventually(t, 10*time.Second, func() string {
		s.get(responder, runPath, &run)
		if run.State != "interrupted" || run.FaultRemovedAt == nil {
			return "the killed drill is " + run.State + " (" + run.Reason + ")"
		}
		return ""
	})
	if !strings.Contains(run.Reason, "nines stopped while the drill ran") {
		t.Errorf("the interrupted drill says %q", run.Reason)
	}
}
