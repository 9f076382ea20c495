package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

const alertmanagerBin = "/usr/bin/prometheus-alertmanager"

// alertmanagerConfig routes alerts labelled via="webhook" to nines' Alertmanager endpoint and
// those labelled via="pagerduty" through Alertmanager's unmodified PagerDuty integration to
// nines' Events API v2. Group timings are short so a notification leaves within a fraction of a
// second. resolve_timeout is long on purpose: the test sets endsAt itself, so an incident can
// only resolve because the test sent the resolved alerts, never because Alertmanager timed
// them out.
const alertmanagerConfig = `global:
  resolve_timeout: 1h
route:
  receiver: nines-webhook
  group_by: [alertname]
  group_wait: 50ms
  group_interval: 200ms
  repeat_interval: 1h
  routes:
    - matchers: ['via="webhook"']
      receiver: nines-webhook
    - matchers: ['via="pagerduty"']
      receiver: nines-pagerduty
receivers:
  - name: nines-webhook
    webhook_configs:
      - url: %[1]s/api/v1/ingest/alertmanager/%[2]s
        send_resolved: true
  - name: nines-pagerduty
    pagerduty_configs:
      - routing_key: %[3]s
        url: %[1]s/v2/enqueue
        send_resolved: true
`

// startAlertmanager runs the real Prometheus Alertmanager on a free loopback port, pointed at
// nines, and returns its base URL.
func startAlertmanager(t *testing.T, nines string) string {
	t.Helper()
	if _, err := os.Stat(alertmanagerBin); err != nil {
		t.Fatalf("%s is missing: ./scripts/test installs the prometheus-alertmanager package", alertmanagerBin)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(alertmanagerConfig, nines, alertmanagerKey, routingKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	base := "http://" + addr
	startReady(t, "alertmanager", base, alertmanagerBin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=debug")
	return base
}

// amAlert is an alert as Alertmanager's API v2 takes it.
type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
}

func postAlerts(t *testing.T, am string, alerts []amAlert) {
	t.Helper()
	body, _ := json.Marshal(alerts)
	resp, err := http.Post(am+"/api/v2/alerts", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST /api/v2/alerts: %s: %s", resp.Status, b)
	}
}

func TestAlertmanagerOpensAndResolvesIncidentsThroughBothIntegrations(t *testing.T) {
	nines := newServer(t, "")
	nines.start()
	token := nines.token("viewer")
	am := startAlertmanager(t, nines.url(""))

	started := time.Now().Add(-time.Minute).UTC()
	firing := []amAlert{
		// Two alerts of one group through the webhook: one incident each (checkout groups by alert).
		{Labels: map[string]string{"alertname": "DiskFull", "instance": "db-1", "severity": "critical", "via": "webhook"},
			Annotations: map[string]string{"summary": "disk / is 97% full"}},
		{Labels: map[string]string{"alertname": "DiskFull", "instance": "db-2", "severity": "warning", "via": "webhook"},
			Annotations: map[string]string{"summary": "disk / is 91% full"}},
		// Two alerts of one group through PagerDuty: Alertmanager sends one event per group.
		{Labels: map[string]string{"alertname": "PaymentsLatency", "instance": "pay-1", "via": "pagerduty"},
			Annotations: map[string]string{"summary": "p99 above 2s"}},
		{Labels: map[string]string{"alertname": "PaymentsLatency", "instance": "pay-2", "via": "pagerduty"},
			Annotations: map[string]string{"summary": "p99 above 2s"}},
	}
	for i := range firing {
		// An endsAt in the future, as Prometheus sends, keeps the alert firing until told otherwise.
		firing[i].StartsAt, firing[i].EndsAt = started, time.Now().Add(time.Hour).UTC()
	}
	postAlerts(t, am, firing)

	var checkout, payments []apiIncident
	eventually(t, 20*time.Second, func() string {
		checkout = nines.incidents(token, "service=checkout&state=open")
		payments = nines.incidents(token, "service=payments&state=open")
		if len(checkout) != 2 || len(payments) != 1 {
			return fmt.Sprintf("want 2 open checkout incidents and 1 open payments incident, have %d and %d", len(checkout), len(payments))
		}
		return ""
	})

	// The webhook carries each alert with its labels: one alert per incident, keyed by
	// Alertmanager's fingerprint, its summary from the annotations.
	var summaries []string
	for _, inc := range checkout {
		alerts := nines.alerts(token, inc.ID)
		if len(alerts) != 1 {
			t.Fatalf("checkout incident %d has %d alerts, want 1", inc.ID, len(alerts))
		}
		a := alerts[0]
		if len(a.DedupKey) != 16 {
			t.Errorf("alert %d dedup key %q is not Alertmanager's 16-digit fingerprint", a.ID, a.DedupKey)
		}
		var details struct {
			Labels map[string]string `json:"labels"`
		}
		json.Unmarshal(a.Details, &details)
		if details.Labels["alertname"] != "DiskFull" || details.Labels["via"] != "webhook" {
			t.Errorf("alert %d details lost the labels: %s", a.ID, a.Details)
		}
		summaries = append(summaries, a.Summary)
	}
	sort.Strings(summaries)
	want := []string{"DiskFull: disk / is 91% full", "DiskFull: disk / is 97% full"}
	if strings.Join(summaries, "|") != strings.Join(want, "|") {
		t.Errorf("checkout alert summaries = %q, want %q", summaries, want)
	}
	// PagerDuty: one event for the group, with Alertmanager's default description as summary.
	if !strings.Contains(payments[0].Title, "PaymentsLatency") || !strings.Contains(payments[0].Title, "FIRING:2") {
		t.Errorf("payments incident title %q does not come from Alertmanager's PagerDuty description", payments[0].Title)
	}

	resolved := make([]amAlert, len(firing))
	copy(resolved, firing)
	for i := range resolved {
		resolved[i].EndsAt = time.Now().Add(-time.Second).UTC()
	}
	postAlerts(t, am, resolved)

	eventually(t, 20*time.Second, func() string {
		open := nines.incidents(token, "state=open")
		if len(open) != 0 {
			return fmt.Sprintf("%d incidents still open after Alertmanager resolved every alert", len(open))
		}
		return ""
	})
	all := nines.incidents(token, "")
	if len(all) != 3 {
		t.Fatalf("have %d incidents, want 3 (resolving must not open new ones)", len(all))
	}
	for _, inc := range all {
		if inc.State != "resolved" {
			t.Errorf("incident %d is %s, want resolved", inc.ID, inc.State)
		}
		for _, a := range nines.alerts(token, inc.ID) {
			if a.State != "resolved" {
				t.Errorf("alert %d of incident %d is %s, want resolved", a.ID, inc.ID, a.State)
			}
		}
	}
}
