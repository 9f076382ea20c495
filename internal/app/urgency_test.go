package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// urgencyConfig: the database service is low urgency, so its pages wait for alice's working
// hours (Paris); its policy makes a critical incident high urgency. Alice is mailed at either
// urgency, and her pager (a webhook) is called at high urgency only.
const urgencyConfig = `
users:
  - id: alice
    name: Alice
    time_zone: Europe/Paris
    contact_methods:
      - {type: email, address: alice@example.com}
      - {id: pager, type: webhook, address: "RECEIVER/alice"}
    notification_rules:
      - {contact_method: email, after: 0s}
      - {contact_method: pager, after: 0s, urgency: high}
escalation_policies:
  - id: ops
    severity_urgency: {critical: high}
    steps: [{escalate_after: 30m, targets: [{user: alice}]}]
services:
  - id: db
    escalation_policy: ops
    urgency: low
    incident_grouping: service
    integrations: [{type: events_v2, key: dddddddddddddddddddddddddddddddd}]
notifications:
  email:
    smtp: {host: 127.0.0.1, port: %d, from: nines@example.com, tls: none}
`

// TestARiseToHighUrgencySendsTheDeferredPagesAtOnce: at 23:23 UTC (01:23 in Paris) a warning on
// a low-urgency service defers alice's page to 09:00 Paris. A second later the same alert comes
// back critical, which the policy maps to high urgency: the page leaves at once, and once only
// (nothing more at 09:00). The same holds for a declared SEV3 that a critical alert joins.
func TestARiseToHighUrgencySendsTheDeferredPagesAtOnce(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		t0 := time.Date(2026, 3, 30, 23, 23, 0, 0, time.UTC) // a Monday night
		pager := notifytest.StartReceiver(t)
		w := startWired(t, db, strings.Replace(urgencyConfig, "RECEIVER", pager.URL, 1), t0)
		send := func(dedup, severity string) {
			w.call("POST", "/v2/enqueue", map[string]any{"routing_key": "dddddddddddddddddddddddddddddddd", "event_action": "trigger", "dedup_key": dedup,
				"payload": map[string]any{"summary": "disk " + severity, "source": "db1", "severity": severity}}, http.StatusAccepted, nil)
		}
		var inc struct {
			ID      int64  `json:"id"`
			Urgency string `json:"urgency"`
		}

		send("disk-db1", "warning")
		id := w.openIncidents(1)[0].ID
		storetest.Eventually(t, 5*time.Second, "the low-urgency page to be deferred", func() bool { return w.timelineHas(id, escalate.EventDeferred) })
		if n := w.pages(); n != 0 {
			t.Fatalf("%d pages at night for a low-urgency incident, want none", n)
		}
		w.clock.Advance(time.Second)
		send("disk-db1", "critical")
		w.call("GET", fmt.Sprintf("/api/v1/incidents/%d", id), nil, http.StatusOK, &inc)
		if inc.Urgency != "high" {
			t.Fatalf("urgency %q after a critical repeat, want high", inc.Urgency)
		}
		storetest.Eventually(t, 5*time.Second, "the deferred page to leave once the urgency is high", func() bool { return w.pages() == 1 })
		// By her high-urgency rules: the pager too.
		storetest.Eventually(t, 5*time.Second, "the pager to be called", func() bool { return len(pager.Requests()) == 1 })
		// Both recorded and their timers done before the clock jumps hours past their leases, as
		// they are long before in real time.
		storetest.Eventually(t, 5*time.Second, "the pages recorded and their timers done", func() bool {
			var timers int
			if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM timers WHERE kind = 'notify'`).Scan(&timers); err != nil {
				t.Fatal(err)
			}
			return timers == 0 && w.timelineCount(id, escalate.EventSent) == 2
		})
		w.clock.Set(time.Date(2026, 3, 31, 7, 0, 1, 0, time.UTC)) // 09:00:01 in Paris
		time.Sleep(300 * time.Millisecond)
		if n, calls := w.pages(), len(pager.Requests()); n != 1 || calls != 1 {
			t.Fatalf("%d mails and %d pager calls once the working day began, want the one of each already sent", n, calls)
		}
		w.call("POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", id), nil, http.StatusOK, nil)

		// A declared SEV3 (warning: low urgency) pages nobody at night; a critical alert joining
		// it makes it high urgency and the page leaves.
		w.clock.Set(time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC))
		w.call("POST", "/api/v1/incidents", map[string]any{"service": "db", "title": "Replication lag", "sev": "SEV3"}, http.StatusCreated, &inc)
		storetest.Eventually(t, 5*time.Second, "the declared incident's page to be deferred", func() bool { return w.timelineHas(inc.ID, escalate.EventDeferred) })
		if n := w.pages(); n != 1 {
			t.Fatalf("%d pages after a declaration at night on a low-urgency service, want still 1", n)
		}
		w.clock.Advance(time.Second)
		send("lag-db1", "critical")
		storetest.Eventually(t, 5*time.Second, "the declared incident's page to leave once a critical alert joined it", func() bool { return w.pages() == 2 })
		w.call("GET", fmt.Sprintf("/api/v1/incidents/%d", inc.ID), nil, http.StatusOK, &inc)
		if inc.Urgency != "high" {
			t.Errorf("the declared incident's urgency is %q, want high", inc.Urgency)
		}
	})
}
