package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

const metricsToken = "e2e-metrics-token-0123456789"

// The alerting rules for nines itself pass promtool's checks and their unit tests.
func TestTheAlertingRulesForNinesPassPromtool(t *testing.T) {
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Fatal("promtool is not installed (Debian package prometheus); ./scripts/test installs it")
	}
	dir := filepath.Join(repoRoot(t), "examples", "prometheus")
	for _, args := range [][]string{{"check", "rules", "nines-alerts.yml"}, {"test", "rules", "nines-alerts.test.yml"}} {
		cmd := exec.Command("promtool", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// prometheus is a real Prometheus on loopback.
type prometheus struct {
	t    *testing.T
	base string
}

// startPrometheusFor runs Prometheus scraping s as job "nines", with the metrics token, and
// the alerting rules for nines loaded.
func startPrometheusFor(t *testing.T, s *server) *prometheus {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is not installed (Debian package prometheus); ./scripts/test installs it")
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 500ms
  scrape_timeout: 400ms
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: nines
    authorization: {credentials: %q}
    static_configs:
      - targets: [%q]
`, filepath.Join(repoRoot(t), "examples", "prometheus", "nines-alerts.yml"), metricsToken, s.addr)
	os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644)
	addr := freeAddr(t)
	p := &prometheus{t: t, base: "http://" + addr}
	startReady(t, "prometheus", p.base, bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	return p
}

// sample is one series of an instant query's answer.
type sample struct {
	Metric map[string]string
	Value  float64
}

// query runs an instant query; a query Prometheus refuses fails the test.
func (p *prometheus) query(q string) []sample {
	p.t.Helper()
	resp, err := http.Get(p.base + "/api/v1/query?" + url.Values{"query": {q}}.Encode())
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" {
		p.t.Fatalf("query %q: %v %s %s", q, err, r.Status, r.Error)
	}
	var out []sample
	for _, x := range r.Data.Result {
		v, _ := strconv.ParseFloat(x.Value[1].(string), 64)
		out = append(out, sample{x.Metric, v})
	}
	return out
}

// value waits until q answers exactly one sample satisfying ok.
func (p *prometheus) wait(q string, ok func(float64) bool, what string) {
	p.t.Helper()
	eventually(p.t, 20*time.Second, func() string {
		got := p.query(q)
		if len(got) != 1 || !ok(got[0].Value) {
			return fmt.Sprintf("%s: %s answered %+v", what, q, got)
		}
		return ""
	})
}

// A real Prometheus scrapes nines with its token: nines' own metrics of every domain arrive
// with the values of what happened, the alerting rules for nines evaluate without error, and
// every query of the Grafana dashboard is valid PromQL over metrics nines exports.
func TestPrometheusScrapesNinesOwnMetricsAndTheDashboardQueriesThem(t *testing.T) {
	hook := &pages{}
	receiver := httptest.NewServer(hook)
	defer receiver.Close()
	s := newServer(t, "")
	s.env = []string{"NINES_E2E_METRICS_TOKEN=" + metricsToken}
	s.writeConfig(strings.Replace(baseConfig, "    name: Payments\n", "    name: Payments\n    escalation_policy: payments\n", 1) + `server:
  metrics_token_env: NINES_E2E_METRICS_TOKEN
users:
  - {id: ann, contact_methods: [{type: webhook, address: "` + receiver.URL + `/ann"}]}
escalation_policies:
  - id: payments
    steps: [{escalate_after: 10m, targets: [{user: ann}]}]
monitors:
  - {id: receiver, service: payments, type: http, url: "` + receiver.URL + `/health", interval: 1s, timeout: 500ms}
slos:
  - id: payments-availability
    service: payments
    objective: 99
    window: 30d
    sli: {events: {source: push}}
`)
	s.start()
	if code, _, body := enqueue(t, s, "metrics-disk-full"); code != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", code, body)
	}
	eventually(t, 10*time.Second, func() string {
		if hook.count() < 1 {
			return "ann was not paged"
		}
		return ""
	})

	// Without the token /metrics answers nothing; OpenMetrics to whoever asks for it.
	if code, _, _ := getStatus(t, s.url("/metrics")); code != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d; want 401", code)
	}
	req, _ := http.NewRequest("GET", s.url("/metrics"), nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") || !strings.HasSuffix(string(text), "# EOF\n") {
		t.Errorf("asked for OpenMetrics, got %q ending %q", ct, text[max(0, len(text)-20):])
	}

	// The log names the incident (and the alert) of what happened to it. A page's line is written
	// once its outcome is recorded, which may come just after the receiver has it.
	for _, want := range []string{"msg=incident.triggered incident=1", "msg=escalation.step incident=1", "msg=notification.sent incident=1 ", "msg=alert.triggered incident=1 alert=1 dedup_key=metrics-disk-full"} {
		eventually(t, 5*time.Second, func() string {
			if !strings.Contains(s.log.String(), want) {
				return fmt.Sprintf("the log has no line %q", want)
			}
			return ""
		})
	}

	p := startPrometheusFor(t, s)
	p.wait(`up{job="nines"}`, func(v float64) bool { return v == 1 }, "Prometheus scrapes nines with the token")
	// What happened, as nines counts it.
	for _, c := range []struct {
		query string
		ok    func(float64) bool
		what  string
	}{
		{`nines_notifications_total{channel="webhook", outcome="sent"}`, func(v float64) bool { return v >= 1 }, "the page counted as sent by the webhook channel"},
		{`nines_escalation_steps_total{outcome="paged"}`, func(v float64) bool { return v == 1 }, "one escalation step paged someone"},
		{`sum(nines_ingest_batch_events_sum)`, func(v float64) bool { return v >= 1 }, "the event went through a group commit"},
		{`sum(nines_ingest_commit_seconds_count)`, func(v float64) bool { return v >= 1 }, "its commit latency was observed"},
		{`nines_monitors{type="http", state="up"}`, func(v float64) bool { return v == 1 }, "the monitor is up"},
		{`sum(nines_probe_duration_seconds_count{type="http"})`, func(v float64) bool { return v >= 1 }, "probe durations observed"},
		{`nines_probe_lease_held`, func(v float64) bool { return v == 1 }, "the only node holds the probe lease"},
		{`nines_slo_error_budget_remaining_ratio{slo="payments-availability", service="payments"}`, func(v float64) bool { return v == 1 }, "an SLO without bad events keeps its whole budget"},
		{`nines_timers_due`, func(v float64) bool { return v == 0 }, "no timer is due and unclaimed"},
		{`nines_timers_oldest_due_seconds`, func(v float64) bool { return v < 5 }, "no timer waits"},
		{`min(nines_health_check_ok)`, func(v float64) bool { return v == 1 }, "every health check holds"},
		{`count(nines_health_check_ok)`, func(v float64) bool { return v == 3 }, "three health checks"},
		{`nines_database_errors_total{op="write"}`, func(v float64) bool { return v == 0 }, "no database errors"},
		{`nines_database_size_bytes{file="db"}`, func(v float64) bool { return v > 0 }, "the database has a size"},
		{`nines_open_incidents{service="payments"}`, func(v float64) bool { return v == 1 }, "one open incident (with the token)"},
		{`count(nines_build_info{version!="", commit!=""})`, func(v float64) bool { return v == 1 }, "build info names version and commit"},
	} {
		p.wait(c.query, c.ok, c.what)
	}

	// The alerting rules for nines are loaded and evaluate without error; none fires.
	eventually(t, 20*time.Second, func() string {
		resp, err := http.Get(p.base + "/api/v1/rules")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name, Health, State, LastError string
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		json.NewDecoder(resp.Body).Decode(&r)
		n := 0
		for _, g := range r.Data.Groups {
			for _, rule := range g.Rules {
				n++
				if rule.Health != "ok" || rule.State == "firing" {
					return fmt.Sprintf("rule %s: health %q state %q %s", rule.Name, rule.Health, rule.State, rule.LastError)
				}
			}
		}
		if n != 10 {
			return fmt.Sprintf("%d rules loaded, want 10", n)
		}
		return ""
	})

	// Every dashboard query is valid PromQL over metrics nines exports.
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "grafana", "nines.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("examples/grafana/nines.json: %v", err)
	}
	exported := map[string]bool{}
	for _, smp := range p.query(`count by (__name__) ({job="nines"})`) {
		exported[smp.Metric["__name__"]] = true
	}
	// Series that exist only once what they count has happened.
	exported["nines_notifications_held_total"] = true
	name := regexp.MustCompile(`\b(nines_[a-z_]+|process_[a-z_]+|up)\b`)
	queries := 0
	for _, panel := range dash.Panels {
		for _, target := range panel.Targets {
			queries++
			q := strings.NewReplacer("$job", "nines", "$instance", ".*", "$__rate_interval", "1m").Replace(target.Expr)
			p.query(q) // fails the test if Prometheus refuses it
			for _, m := range name.FindAllString(target.Expr, -1) {
				base := regexp.MustCompile(`_(bucket|sum|count)$`).ReplaceAllString(m, "")
				if !exported[m] && !exported[base] && !exported[base+"_bucket"] {
					names := make([]string, 0, len(exported))
					for n := range exported {
						names = append(names, n)
					}
					sort.Strings(names)
					t.Errorf("panel %q queries %s, which nines does not export (it exports %v)", panel.Title, m, names)
				}
			}
		}
	}
	if queries < 20 {
		t.Errorf("the dashboard has %d queries; want its panels to cover nines", queries)
	}
}
