package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// inhibitRepeatConfig pages alice for two services; a node down inhibits the warnings (and
// infos) of the same instance, as Alertmanager's usual rule does.
const inhibitRepeatConfig = `
users:
  - {id: alice, name: Alice, contact_methods: [{type: email, address: alice@example.com}]}
escalation_policies:
  - {id: ops, steps: [{escalate_after: 10m, targets: [{user: alice}]}]}
services:
  - {id: infra, escalation_policy: ops, integrations: [{type: events_v2, key: 11111111111111111111111111111111}]}
  - {id: checkout, escalation_policy: ops, integrations: [{type: events_v2, key: 0123456789abcdef0123456789abcdef}]}
inhibit_rules:
  - source_matchers: ['alertname="NodeDown"']
    target_matchers: ['severity=~"warning|info"']
    equal: [instance]
notifications:
  email:
    smtp: {host: 127.0.0.1, port: %d, from: nines@example.com, tls: none}
`

// TestARepeatThatNoLongerMatchesTheTargetReleasesTheAlert: a warning inhibited by a node down
// is sent again as critical under the same dedup key. The rule targets warnings and infos only,
// and an alert is judged by its current labels (as Alertmanager does): the repeat releases it
// (alert.uninhibited on its timeline) and its incident pages.
func TestARepeatThatNoLongerMatchesTheTargetReleasesTheAlert(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		w := startWired(t, db, inhibitRepeatConfig, time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC))
		send := func(key, dedup, severity string, details map[string]any) {
			w.call("POST", "/v2/enqueue", map[string]any{"routing_key": key, "event_action": "trigger", "dedup_key": dedup,
				"payload": map[string]any{"summary": dedup + " " + severity, "source": "db1", "severity": severity, "custom_details": details}}, http.StatusAccepted, nil)
		}
		send("11111111111111111111111111111111", "node-db1", "critical", map[string]any{"alertname": "NodeDown", "instance": "db1"})
		storetest.Eventually(t, 5*time.Second, "the node down to page", func() bool { return w.pages() == 1 })

		send("0123456789abcdef0123456789abcdef", "disk-db1", "warning", map[string]any{"alertname": "DiskFull", "instance": "db1"})
		time.Sleep(200 * time.Millisecond)
		if n := w.pages(); n != 1 {
			t.Fatalf("%d pages after an inhibited warning, want still 1", n)
		}
		var incidentID int64
		if err := db.QueryRow(context.Background(), `SELECT incident_id FROM alerts WHERE dedup_key = 'disk-db1'`).Scan(&incidentID); err != nil {
			t.Fatal(err)
		}
		if !w.timelineHas(incidentID, alert.EventInhibited) {
			t.Fatal("the warning is not recorded as inhibited")
		}

		// The same alert again, now critical: no rule's target matches it any longer.
		send("0123456789abcdef0123456789abcdef", "disk-db1", "critical", map[string]any{"alertname": "DiskFull", "instance": "db1"})
		if !w.timelineHas(incidentID, alert.EventUninhibited) {
			t.Fatal("a repeat raised to critical left the alert inhibited (no alert.uninhibited)")
		}
		storetest.Eventually(t, 5*time.Second, "the released incident to page", func() bool { return w.pages() == 2 })
		var inhibitedBy *int64
		db.QueryRow(context.Background(), `SELECT inhibited_by FROM alerts WHERE dedup_key = 'disk-db1'`).Scan(&inhibitedBy)
		if inhibitedBy != nil {
			t.Errorf("the released alert is still marked inhibited by alert %d", *inhibitedBy)
		}

		// A repeat that still matches changes nothing: a second warning while the node is down.
		send("0123456789abcdef0123456789abcdef", "disk-db2", "warning", map[string]any{"alertname": "DiskFull", "instance": "db1"})
		send("0123456789abcdef0123456789abcdef", "disk-db2", "info", map[string]any{"alertname": "DiskFull", "instance": "db1"})
		time.Sleep(200 * time.Millisecond)
		if n := w.pages(); n != 2 {
			t.Fatalf("%d pages after an inhibited warning repeated as info, want still 2", n)
		}
	})
}
