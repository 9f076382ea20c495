package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/slo"
)

const sloTestConfig = `
services:
  - id: checkout
  - id: search
slos:
  - id: checkout-availability
    service: checkout
    objective: 99.9          # percent
    window: 30d
    sli:
      events: {source: push}
`

type sloServer struct {
	url, admin, viewer string
	clock              *clock.Fake
}

// startSLOServer runs the real HTTP server with the SLO engine on a real SQLite database.
func startSLOServer(t *testing.T, now time.Time) *sloServer {
	t.Helper()
	cfg, err := config.Parse("nines.yaml", []byte(sloTestConfig))
	if err != nil {
		t.Fatal(err)
	}
	n := startNines(t, cfg, now)
	// The responder's token is named admin after what it does here: it pushes SLI events.
	s := &sloServer{url: n.url, clock: n.clock, admin: n.token(t, "responder", auth.Responder), viewer: n.token(t, "viewer", auth.Viewer)}
	return s
}

func (s *sloServer) call(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPushedCountsThroughTheAPIAndTheGate(t *testing.T) {
	s := startSLOServer(t, time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC))
	ctx := context.Background()
	gate := func() (int, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, []string{"gate", "checkout", "--server", s.url, "--token", s.viewer}, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := gate(); code != 0 || !strings.Contains(out, "ship") {
		t.Fatalf("gate with an untouched budget: exit %d, %q; want 0 and ship", code, out)
	}

	// The example: 999 good of 1000 at 10:00.
	code, body := s.call(t, "POST", "/api/v1/slis/checkout-availability/events", s.admin,
		`{"events":[{"timestamp":"2026-11-22T10:00:00Z","good":999,"total":1000},{"timestamp":"2026-11-22T10:01:00Z","good":1000,"total":1000}]}`)
	if code != http.StatusAccepted {
		t.Fatalf("push: %d %s", code, body)
	}
	code, body = s.call(t, "GET", "/api/v1/slos/checkout-availability", s.viewer, "")
	if code != 200 {
		t.Fatalf("get: %d %s", code, body)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "service_id", "objective", "window", "sli_value", "error_budget_remaining", "burn_rates", "exhaustion_at"} {
		if _, ok := st[k]; !ok {
			t.Errorf("GET /api/v1/slos/{id} lacks %q: %s", k, body)
		}
	}
	// 1 bad of 2000 over a 0.1% budget: half of it is left.
	if r := st["error_budget_remaining"].(float64); r < 0.5-1e-9 || r > 0.5+1e-9 {
		t.Errorf("error_budget_remaining = %v, want 0.5", r)
	}
	burns := st["burn_rates"].(map[string]any)
	for _, w := range []string{"5m", "30m", "1h", "6h", "1d", "3d"} {
		if _, ok := burns[w]; !ok {
			t.Errorf("burn_rates lacks %s", w)
		}
	}

	// Resending the 10:00 point with more failures replaces it and spends the budget.
	code, body = s.call(t, "POST", "/api/v1/slis/checkout-availability/events", s.admin,
		`{"events":[{"timestamp":"2026-11-22T10:00:00Z","good":990,"total":1000}]}`)
	if code != http.StatusAccepted {
		t.Fatalf("push: %d %s", code, body)
	}
	code, out := gate()
	if code != 1 || !strings.Contains(out, "slow down") || !strings.Contains(out, "checkout-availability") {
		t.Fatalf("gate with the budget spent: exit %d, %q; want 1 naming the SLO", code, out)
	}

	var status bytes.Buffer
	if code := run(ctx, []string{"slo", "status", "--server", s.url, "--token", s.viewer}, &status, &status); code != 0 ||
		!strings.Contains(status.String(), "checkout-availability") || !strings.Contains(status.String(), "-400%") {
		t.Errorf("slo status: exit %d:\n%s", code, status.String())
	}

	var list struct {
		SLOs []slo.Status `json:"slos"`
	}
	code, body = s.call(t, "GET", "/api/v1/slos", s.viewer, "")
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list.SLOs) != 1 {
		t.Errorf("list: %d %s", code, body)
	}
}

func TestSLOAPIRefusesBadInput(t *testing.T) {
	s := startSLOServer(t, time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC))
	cases := []struct {
		name, method, path, token, body string
		status                          int
		want                            string
	}{
		{"an unknown SLO", "POST", "/api/v1/slis/nope/events", s.admin, `{"events":[]}`, 404, "not found"},
		{"an unknown field", "POST", "/api/v1/slis/checkout-availability/events", s.admin, `{"points":[]}`, 400, "unknown field"},
		{"good above total", "POST", "/api/v1/slis/checkout-availability/events", s.admin,
			`{"events":[{"timestamp":"2026-11-22T10:00:00Z","good":5,"total":4}]}`, 400, "more than total"},
		{"a timestamp that is not RFC 3339", "POST", "/api/v1/slis/checkout-availability/events", s.admin,
			`{"events":[{"timestamp":"yesterday","good":1,"total":1}]}`, 400, "timestamp"},
		{"a viewer pushing", "POST", "/api/v1/slis/checkout-availability/events", s.viewer,
			`{"events":[{"timestamp":"2026-11-22T10:00:00Z","good":1,"total":1}]}`, 403, "responder"},
		{"no token", "GET", "/api/v1/slos", "", "", 401, "unauthorized"},
		{"the gate of an unknown service", "GET", "/api/v1/services/nope/gate", s.viewer, "", 404, "not found"},
		{"an SLA report without a period", "GET", "/api/v1/services/checkout/sla", s.viewer, "", 400, "period: is required"},
		{"an SLA report for a bad period", "GET", "/api/v1/services/checkout/sla?period=2026-13", s.viewer, "", 400, "want a month"},
		{"a fraction of an event", "POST", "/api/v1/slis/checkout-availability/events", s.admin,
			`{"events":[{"timestamp":"2026-11-22T10:00:00Z","good":1.5,"total":2}]}`, 400, `"errors":["events[0]: good (1.5) and total (2) must be whole numbers`},
		{"every bad point named", "POST", "/api/v1/slis/checkout-availability/events", s.admin,
			`{"events":[{"timestamp":"2026-11-22T10:00:00Z","good":1,"total":1},{"timestamp":"2026-11-22T10:01:00Z","good":1,"total":2.5},` +
				`{"timestamp":"2026-11-22T10:02:00Z","good":1,"total":1},{"timestamp":"2026-11-22T10:03:00Z","good":3,"total":2}]}`,
			400, `"error":"2 bad events, nothing stored; the first: events[1]: good (1) and total (2.5) must be whole numbers: they count events",` +
				`"errors":["events[1]: good (1) and total (2.5) must be whole numbers: they count events","events[3]: good (3) is more than total (2)"]`},
		{"an error with one thing wrong still lists it", "GET", "/api/v1/services/checkout/sla", s.viewer, "", 400, `"errors":["period: is required`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := s.call(t, c.method, c.path, c.token, c.body)
			if code != c.status || !strings.Contains(body, c.want) {
				t.Errorf("%s %s: %d %s; want %d mentioning %q", c.method, c.path, code, body, c.status, c.want)
			}
		})
	}
	code, body := s.call(t, "GET", "/api/v1/slos/checkout-availability", s.viewer, "")
	if code != 200 || !strings.Contains(body, `"events_total":0`) {
		t.Errorf("refused pushes changed the SLO: %s", body)
	}
}

// TestAPushOfTheMostPointsFitsTheBodyLimit sends 10,000 points as a client would (each with a
// nanosecond timestamp and a zone, counts of 15 digits): about 1 MB, which the route takes.
func TestAPushOfTheMostPointsFitsTheBodyLimit(t *testing.T) {
	s := startSLOServer(t, time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC))
	var b strings.Builder
	b.WriteString(`{"events": [`)
	start := time.Date(2026, 11, 15, 0, 0, 0, 0, time.FixedZone("", 5*3600+1800))
	for i := 0; i < slo.MaxPoints; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `{"timestamp": %q, "good": 999999999999999, "total": 999999999999999}`,
			start.Add(time.Duration(i)*time.Minute+123456789).Format(time.RFC3339Nano))
	}
	b.WriteString("]}")
	if b.Len() <= 512<<10 {
		t.Fatalf("the body is %d bytes: not over the general limit, so it proves nothing", b.Len())
	}
	code, body := s.call(t, "POST", "/api/v1/slis/checkout-availability/events", s.admin, b.String())
	if code != 202 || !strings.Contains(body, `"events":10000`) {
		t.Fatalf("a push of %d points in %d bytes: %d %s", slo.MaxPoints, b.Len(), code, body)
	}
}

func TestSLAReportAndPagesRender(t *testing.T) {
	s := startSLOServer(t, time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC))
	s.call(t, "POST", "/api/v1/slis/checkout-availability/events", s.admin,
		`{"events":[{"timestamp":"2026-10-05T10:00:00Z","good":900,"total":1000},{"timestamp":"2026-11-22T10:00:00Z","good":999,"total":1000}]}`)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"report", "sla", "--service", "checkout", "--month", "2026-10", "--server", s.url, "--token", s.viewer}, &out, &errOut)
	if code != 0 {
		t.Fatalf("report sla: exit %d: %s", code, errOut.String())
	}
	// 100 bad of 1000 in October: 90% achieved against 99.9%, breached.
	for _, want := range []string{"checkout-availability", "99.9%", "90%", "breached", "44m38.4s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	for _, page := range []string{"/slos", "/slos/checkout-availability"} {
		code, body := s.call(t, "GET", page, s.viewer, "")
		if code != 200 || !strings.Contains(body, "checkout-availability") {
			t.Errorf("GET %s: %d", page, code)
		}
		if page != "/slos" && (!strings.Contains(body, "<svg") || !strings.Contains(body, "polyline")) {
			t.Errorf("SLO page has no budget chart")
		}
	}
}

func TestSLOExportWritesPrometheusRules(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "nines.yaml")
	os.WriteFile(cfg, []byte(`
services: [{id: checkout}]
slos:
  - id: api
    service: checkout
    objective: 99.5
    sli: {prometheus: {url: "http://127.0.0.1:9090", good: 'ok_total', total: 'all_total'}}
`), 0o644)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"slo", "export", "--format", "prometheus", "--config", cfg}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "alert: NinesSLOBurnRatePage") || !strings.Contains(out.String(), "last_over_time(all_total[1h]) - all_total offset 1h") {
		t.Errorf("export:\n%s", out.String())
	}
}

func TestAPushedPointIsItsMinuteAndAResendReplacesIt(t *testing.T) {
	s := startSLOServer(t, time.Date(2026, 11, 22, 20, 30, 0, 0, time.UTC))
	push := func(body string) (int, string) {
		t.Helper()
		return s.call(t, "POST", "/api/v1/slis/checkout-availability/events", s.admin, body)
	}
	total := func() (good, all float64) {
		t.Helper()
		code, body := s.call(t, "GET", "/api/v1/slos/checkout-availability", s.viewer, "")
		var st slo.Status
		if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil {
			t.Fatalf("get: %d %s", code, body)
		}
		return st.EventsGood, st.EventsTotal
	}
	steps := []struct {
		name, body  string
		code        int
		good, total float64 // events in the window afterwards, worked by hand
	}{
		{"a point at 20:00:00 counts the minute 20:00", `{"events":[{"timestamp":"2026-11-22T20:00:00Z","good":99,"total":100}]}`, 202, 99, 100},
		{"a point at 20:00:10 is the same minute and replaces it", `{"events":[{"timestamp":"2026-11-22T20:00:10Z","good":195,"total":200}]}`, 202, 195, 200},
		{"so does one at 20:00:30, re-sent once more", `{"events":[{"timestamp":"2026-11-22T20:00:30Z","good":290,"total":300}]}`, 202, 290, 300},
		{"the same again changes nothing", `{"events":[{"timestamp":"2026-11-22T20:00:30Z","good":290,"total":300}]}`, 202, 290, 300},
		{"the next minute adds", `{"events":[{"timestamp":"2026-11-22T20:01:59.999Z","good":10,"total":10}]}`, 202, 300, 310},
		{"two points of one minute in one request are refused", `{"events":[{"timestamp":"2026-11-22T20:02:00Z","good":1,"total":1},{"timestamp":"2026-11-22T20:02:10Z","good":1,"total":1}]}`, 400, 300, 310},
	}
	for _, st := range steps {
		code, body := push(st.body)
		if code != st.code {
			t.Fatalf("%s: %d %s", st.name, code, body)
		}
		if code == 400 && !strings.Contains(body, "events[1] falls in the minute of events[0] (2026-11-22T20:02:00Z)") {
			t.Errorf("%s: %s", st.name, body)
		}
		if good, all := total(); good != st.good || all != st.total {
			t.Errorf("%s: %v good of %v, want %v of %v", st.name, good, all, st.good, st.total)
		}
	}
}
