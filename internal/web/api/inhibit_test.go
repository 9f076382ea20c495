package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

const (
	dbKey       = "dddddddddddddddddddddddddddddddd"
	checkoutKey = "cccccccccccccccccccccccccccccccc"
)

// inhibitConfig pages dana for the database and carl for checkout, each through a webhook to a
// real receiver. Two rules: an outage of the database (an Events v2 event of class outage)
// inhibits checkout's alerts in the same datacenter; Alertmanager's NodeDown inhibits the
// warnings of the same instance.
const inhibitConfig = `
users:
  - {id: dana, name: Dana, contact_methods: [{type: webhook, address: "%[1]s/dana", rate_limit: {count: 100, per: 1m}}]}
  - {id: carl, name: Carl, contact_methods: [{type: webhook, address: "%[1]s/carl", rate_limit: {count: 100, per: 1m}}]}
escalation_policies:
  - {id: database, steps: [{escalate_after: 30m, targets: [{user: dana}]}]}
  - {id: checkout, steps: [{escalate_after: 30m, targets: [{user: carl}]}]}
services:
  - id: database
    escalation_policy: database
    integrations: [{type: events_v2, key: ` + dbKey + `}]
  - id: checkout
    escalation_policy: checkout
    integrations:
      - {type: events_v2, key: ` + checkoutKey + `}
      - {type: alertmanager, key: am-checkout-key}
inhibit_rules:
  - name: a database outage mutes checkout in its datacenter
    source_matchers: [nines_service=database, class=outage]
    target_matchers: [nines_service=checkout]
    equal: [dc]
  - source_matchers: ['alertname="NodeDown"']
    target_matchers: ['severity="warning"']
    equal: [instance]
`

type inhibitEnv struct {
	*env
	app      *app.App
	receiver *notifytest.Receiver
}

func newInhibitEnv(t *testing.T, db *store.DB) *inhibitEnv {
	t.Helper()
	rc := notifytest.StartReceiver(t)
	e := newEnvWith(t, db, fmt.Sprintf(inhibitConfig, rc.URL))
	return &inhibitEnv{env: e, app: e.app, receiver: rc}
}

// event sends an Events v2 event.
func (e *inhibitEnv) event(key, action, dedup, summary, class string, details map[string]any) {
	e.t.Helper()
	body := map[string]any{"routing_key": key, "event_action": action, "dedup_key": dedup,
		"payload": map[string]any{"summary": summary, "source": "test", "severity": "critical", "class": class, "custom_details": details}}
	if code, out := e.call("POST", "/v2/enqueue", "", body); code != http.StatusAccepted {
		e.t.Fatalf("%s %s: %d %s", action, dedup, code, out)
	}
}

// pages returns who was paged for which incident title, as the receiver got them, once every
// delivery under way has finished.
func (e *inhibitEnv) pages() []string {
	e.t.Helper()
	e.app.Escalation.Wait()
	var out []string
	for _, r := range e.receiver.Requests() {
		var p struct {
			Title string `json:"title"`
		}
		json.Unmarshal(r.Body, &p)
		out = append(out, strings.TrimPrefix(r.Path, "/")+": "+p.Title)
	}
	return out
}

// incidentOf finds the incident an alert of dedup key opened.
func (e *inhibitEnv) incidentOf(dedup string) int64 {
	e.t.Helper()
	var id int64
	if err := e.app.DB.QueryRow(context.Background(), `SELECT incident_id FROM alerts WHERE dedup_key = ? ORDER BY id DESC LIMIT 1`, dedup).Scan(&id); err != nil {
		e.t.Fatalf("no alert %s: %v", dedup, err)
	}
	return id
}

// timeline lists the types of an incident's timeline events, with the text of inhibition ones.
func (e *inhibitEnv) timeline(id int64) string {
	e.t.Helper()
	tl, err := e.app.Incidents.Timeline(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range tl {
		out = append(out, ev.Type)
	}
	return strings.Join(out, " ")
}

// wantPages compares the pages received with those wanted, in any order: the pages of one
// commit leave at once, side by side.
func wantPages(t *testing.T, got []string, want ...string) {
	t.Helper()
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("pages at the receiver:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestAnInhibitedEventsV2AlertPagesNobodyUntilItsSourceResolves(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		e := newInhibitEnv(t, db)
		e.event(dbKey, "trigger", "db-down", "Database primary down", "outage", map[string]any{"dc": "eu-west"})
		wantPages(t, e.pages(), "dana: Database primary down")

		// Checkout in the same datacenter: inhibited. In another: pages.
		e.event(checkoutKey, "trigger", "checkout-eu", "Checkout errors in eu-west", "errors", map[string]any{"dc": "eu-west"})
		e.event(checkoutKey, "trigger", "checkout-us", "Checkout errors in us-east", "errors", map[string]any{"dc": "us-east"})
		// Without dc on either side, equal holds too (missing on both): inhibited by nothing here,
		// since the database alert has dc=eu-west.
		e.event(checkoutKey, "trigger", "checkout-nodc", "Checkout errors somewhere", "errors", nil)
		wantPages(t, e.pages(), "dana: Database primary down", "carl: Checkout errors in us-east", "carl: Checkout errors somewhere")

		inhibited := e.incidentOf("checkout-eu")
		if tl := e.timeline(inhibited); tl != "incident.triggered alert.triggered alert.inhibited" {
			t.Errorf("timeline of the inhibited incident: %s", tl)
		}
		var alerts struct{ Alerts []alert.Alert }
		e.want(http.StatusOK, "GET", fmt.Sprintf("/api/v1/incidents/%d/alerts", inhibited), e.viewer, nil, &alerts)
		if len(alerts.Alerts) != 1 || alerts.Alerts[0].InhibitedBy == nil || alerts.Alerts[0].Labels["dc"] != "eu-west" ||
			alerts.Alerts[0].Labels["nines_service"] != "checkout" {
			t.Errorf("the inhibited alert reads %+v", alerts.Alerts)
		}
		tl, _ := e.app.Incidents.Timeline(context.Background(), inhibited)
		if text := string(tl[2].Data); !strings.Contains(text, `Inhibited by alert \"Database primary down\" (db-down, service database`) ||
			!strings.Contains(text, "a database outage mutes checkout in its datacenter") {
			t.Errorf("alert.inhibited says %s", text)
		}

		// The incident page says so too.
		browser := webtest.SignIn(t, e.url, e.app.Users, "viewer", auth.Viewer)
		if resp, page := browser.Do("GET", fmt.Sprintf("/incidents/%d", inhibited), nil, nil); resp.StatusCode != http.StatusOK ||
			!strings.Contains(page, "triggered · inhibited, pages nobody") || !strings.Contains(page, "Inhibited by alert &#34;Database primary down&#34;") {
			t.Errorf("the incident page (%d) does not show the inhibition:\n%s", resp.StatusCode, page)
		}

		// A repeat of the inhibited alert still pages nobody.
		e.event(checkoutKey, "trigger", "checkout-eu", "Checkout errors in eu-west", "errors", map[string]any{"dc": "eu-west"})
		wantPages(t, e.pages(), "dana: Database primary down", "carl: Checkout errors in us-east", "carl: Checkout errors somewhere")

		// The database recovers: checkout-eu, still open, pages now.
		e.event(dbKey, "resolve", "db-down", "", "", nil)
		wantPages(t, e.pages(), "dana: Database primary down", "carl: Checkout errors in us-east", "carl: Checkout errors somewhere",
			"carl: Checkout errors in eu-west")
		if tl := e.timeline(inhibited); !strings.HasPrefix(tl, "incident.triggered alert.triggered alert.inhibited alert.repeated alert.uninhibited escalation.step") {
			t.Errorf("timeline once the source resolved: %s", tl)
		}
	})
}

func TestAnAlertResolvedWhileInhibitedNeverPages(t *testing.T) {
	e := newInhibitEnv(t, storetest.SQLite(t, app.Schemas()))
	e.event(dbKey, "trigger", "db-down", "Database primary down", "outage", map[string]any{"dc": "eu-west"})
	// Dana's page has gone out before anything resolves (a page not yet sent when its incident
	// resolves is not sent, and this test is about checkout's page only).
	wantPages(t, e.pages(), "dana: Database primary down")
	e.event(checkoutKey, "trigger", "checkout-eu", "Checkout errors in eu-west", "errors", map[string]any{"dc": "eu-west"})
	e.event(checkoutKey, "resolve", "checkout-eu", "", "", nil)
	e.event(dbKey, "resolve", "db-down", "", "", nil)
	wantPages(t, e.pages(), "dana: Database primary down")
}

func TestAResolvedIncidentReleasesWhatItsAlertsInhibited(t *testing.T) {
	e := newInhibitEnv(t, storetest.SQLite(t, app.Schemas()))
	e.event(dbKey, "trigger", "db-down", "Database primary down", "outage", map[string]any{"dc": "eu-west"})
	e.event(checkoutKey, "trigger", "checkout-eu", "Checkout errors in eu-west", "errors", map[string]any{"dc": "eu-west"})
	// Dana's page has gone out (a page not yet sent when its incident resolves is not sent).
	wantPages(t, e.pages(), "dana: Database primary down")
	// A responder resolves the database incident by hand: its alert resolves with it.
	e.want(http.StatusOK, "POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", e.incidentOf("db-down")), e.responder, nil, nil)
	wantPages(t, e.pages(), "dana: Database primary down", "carl: Checkout errors in eu-west")
}

func TestAlertmanagerWebhookAlertsInhibitAsInAlertmanager(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		e := newInhibitEnv(t, db)
		am := func(alerts ...map[string]any) {
			t.Helper()
			body, _ := json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "nines", "alerts": alerts})
			if code, out := e.call("POST", "/api/v1/ingest/alertmanager/am-checkout-key", "", string(body)); code != http.StatusAccepted {
				t.Fatalf("webhook: %d %s", code, out)
			}
		}
		alertOf := func(status, name, severity, instance string) map[string]any {
			return map[string]any{"status": status, "fingerprint": name + "/" + instance,
				"labels":      map[string]string{"alertname": name, "severity": severity, "instance": instance},
				"annotations": map[string]string{"summary": name + " on " + instance}}
		}
		// One group holds the symptom before its cause: the cause is applied first all the same.
		am(alertOf("firing", "HighLatency", "warning", "node-1"), alertOf("firing", "NodeDown", "critical", "node-1"),
			alertOf("firing", "HighLatency", "warning", "node-2"))
		// NodeDown is critical, not a warning: it does not inhibit itself and pages.
		wantPages(t, e.pages(), "carl: NodeDown on node-1", "carl: HighLatency on node-2")
		if tl := e.timeline(e.incidentOf("HighLatency/node-1")); !strings.Contains(tl, "alert.inhibited") {
			t.Errorf("HighLatency on node-1 has %s", tl)
		}
		// node-1 comes back: its warning, still firing, pages.
		am(alertOf("resolved", "NodeDown", "critical", "node-1"))
		wantPages(t, e.pages(), "carl: NodeDown on node-1", "carl: HighLatency on node-2",
			"carl: HighLatency on node-1")
	})
}

func TestAnAlertOnBothSidesOfARuleIsNotInhibitedByItsLike(t *testing.T) {
	// Two NodeDown warnings match both sides of the rule: neither inhibits the other.
	e := newInhibitEnv(t, storetest.SQLite(t, app.Schemas()))
	body := `{"version": "4", "status": "firing", "alerts": [
		{"status": "firing", "fingerprint": "nd-1", "labels": {"alertname": "NodeDown", "severity": "warning", "instance": "a", "replica": "1"}},
		{"status": "firing", "fingerprint": "nd-2", "labels": {"alertname": "NodeDown", "severity": "warning", "instance": "a", "replica": "2"}}]}`
	if code, out := e.call("POST", "/api/v1/ingest/alertmanager/am-checkout-key", "", body); code != http.StatusAccepted {
		t.Fatalf("webhook: %d %s", code, out)
	}
	wantPages(t, e.pages(), "carl: NodeDown on a", "carl: NodeDown on a")
}
