package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// pager is nines wired as serve wires it, with a real SMTP server for pages, a fake clock,
// and a responder token: the edges of paging are tried through the interfaces people use.
type pager struct {
	*env
	app  *app.App
	smtp *notifytest.SMTP
}

// startPager runs nines on db with the config yaml, where SMTP_PORT stands for the port of
// the test's SMTP server.
func startPager(t *testing.T, db *store.DB, yaml string, now time.Time) *pager {
	t.Helper()
	smtp := notifytest.StartSMTP(t, "none")
	clk := clock.NewFake(now)
	n := webtest.Start(t, webtest.Options{Config: webtest.Parse(t, strings.ReplaceAll(yaml, "SMTP_PORT", fmt.Sprint(smtp.Port()))), DB: db, Clock: clk})
	p := &pager{env: &env{t: t, url: n.URL, clock: clk, srv: n.App, app: n.App}, app: n.App, smtp: smtp}
	var err error
	p.responder, _, err = n.Tokens.Create(context.Background(), "ops", auth.Responder, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// trigger sends a PagerDuty Events v2 trigger and returns the incident it opened or joined.
func (p *pager) trigger(key, dedup, severity, summary string) incident.Incident {
	p.t.Helper()
	body := fmt.Sprintf(`{"routing_key":%q,"event_action":"trigger","dedup_key":%q,"payload":{"summary":%q,"source":"db-1","severity":%q}}`,
		key, dedup, summary, severity)
	p.want(http.StatusAccepted, "POST", "/v2/enqueue", "", body, nil)
	var list struct{ Incidents []incident.Incident }
	p.want(http.StatusOK, "GET", "/api/v1/incidents?limit=1", p.responder, nil, &list)
	if len(list.Incidents) == 0 {
		p.t.Fatal("the trigger opened no incident")
	}
	return list.Incidents[0]
}

func (p *pager) incident(id int64) incident.Incident {
	p.t.Helper()
	var inc incident.Incident
	p.want(http.StatusOK, "GET", fmt.Sprintf("/api/v1/incidents/%d", id), p.responder, nil, &inc)
	return inc
}

// timeline reads the incident's timeline through the API once deliveries under way are done.
func (p *pager) timeline(id int64) []incident.Event {
	p.t.Helper()
	p.app.Escalation.Wait()
	var tl struct{ Events []incident.Event }
	p.want(http.StatusOK, "GET", fmt.Sprintf("/api/v1/incidents/%d/timeline", id), p.responder, nil, &tl)
	return tl.Events
}

// data returns the data of the timeline events of a type, in order.
func timelineData(evs []incident.Event, typ string) []map[string]any {
	var out []map[string]any
	for _, e := range evs {
		if e.Type == typ {
			var m map[string]any
			json.Unmarshal(e.Data, &m)
			out = append(out, m)
		}
	}
	return out
}

// mailsTo counts the pages the SMTP server accepted for addr.
func (p *pager) mailsTo(addr string) int {
	n := 0
	for _, m := range p.smtp.Mails() {
		for _, to := range m.To {
			if to == addr {
				n++
			}
		}
	}
	return n
}

func (p *pager) waitMail(addr string, n int) {
	p.t.Helper()
	storetest.Eventually(p.t, 5*time.Second, fmt.Sprintf("%d page(s) to %s", n, addr), func() bool { return p.mailsTo(addr) >= n })
}

// advance moves the clock and lets due timers run.
func (p *pager) advance(d time.Duration) {
	p.clock.Advance(d)
	for i := 0; i < 5; i++ {
		p.app.Runner.Wake()
		time.Sleep(20 * time.Millisecond)
		p.app.Escalation.Wait()
	}
}

const (
	nightWebKey   = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	nightBatchKey = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// nightConfig: alice is on call on office hours only; bob is always reachable; dave has no
// way to be reached; fiona is the fallback of the batch policy, which reaches nobody at night.
const nightConfig = `
users:
  - {id: alice, contact_methods: [{type: email, address: alice@example.com}]}
  - {id: bob, contact_methods: [{type: email, address: bob@example.com}]}
  - {id: dave}
  - {id: fiona, contact_methods: [{type: email, address: fiona@example.com}]}
schedules:
  - id: day
    time_zone: UTC
    layers:
      - name: office
        rotation: {length: 1w, handoff: "2026-01-05T09:00"}
        users: [alice]
        restrictions: [{days: [weekdays], start: "09:00", end: "18:00"}]
escalation_policies:
  - id: day-then-bob
    steps:
      - escalate_after: 10m
        targets: [{schedule: day}]
      - escalate_after: 10m
        targets: [{user: bob}]
  - id: nobody-at-night
    fallback: [fiona]
    steps:
      - escalate_after: 10m
        targets: [{schedule: day}]
      - escalate_after: 15m
        targets: [{user: dave}]
services:
  - {id: web, escalation_policy: day-then-bob, integrations: [{type: events_v2, key: ` + nightWebKey + `}]}
  - {id: batch, escalation_policy: nobody-at-night, integrations: [{type: events_v2, key: ` + nightBatchKey + `}]}
notifications:
  email: {smtp: {host: 127.0.0.1, port: SMTP_PORT, from: nines@example.com, tls: none}}
`

// threeAM is a Monday at 03:00 UTC: nobody is on call on the office-hours schedule.
var threeAM = time.Date(2026, 3, 30, 3, 0, 0, 0, time.UTC)

func TestAStepThatReachesNobodyIsSkippedAtOnce(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		p := startPager(t, db, nightConfig, threeAM)
		inc := p.trigger(nightWebKey, "disk-full", "critical", "Disk full on web-1")

		// The clock does not move: bob, the second step, is paged at once.
		p.waitMail("bob@example.com", 1)
		if n := p.mailsTo("alice@example.com"); n != 0 {
			t.Errorf("alice, off shift, got %d pages", n)
		}
		evs := p.timeline(inc.ID)
		skipped := timelineData(evs, escalate.EventSkipped)
		if len(skipped) != 1 || skipped[0]["step"] != float64(1) ||
			skipped[0]["reason"] != "schedule day has nobody on call at 2026-03-30T03:00:00Z" {
			t.Fatalf("escalation.skipped events = %v, want step 1 skipped because nobody is on call on day", skipped)
		}
		steps := timelineData(evs, escalate.EventStep)
		if len(steps) != 1 || steps[0]["step"] != float64(2) || fmt.Sprint(steps[0]["users"]) != "[bob]" {
			t.Fatalf("escalation.step events = %v, want step 2 paging bob", steps)
		}
		if got := p.incident(inc.ID); got.ReachedNobodyAt != nil {
			t.Errorf("bob was reached, yet the incident says nobody was: %+v", got)
		}

		// Reassigning to someone no page can reach is refused, not done in silence.
		code, body := p.call("POST", fmt.Sprintf("/api/v1/incidents/%d/reassign", inc.ID), p.responder, map[string]string{"user_id": "dave"})
		if code != http.StatusBadRequest || !strings.Contains(string(body), "user_id: cannot be paged: user dave has no contact method") {
			t.Errorf("reassigning to dave: %d %s", code, body)
		}

		// Step 2 waits its escalate_after as usual; the policy then runs out.
		p.advance(9 * time.Minute)
		if n := p.mailsTo("bob@example.com"); n != 1 {
			t.Fatalf("bob got %d pages before step 2's escalate_after, want 1", n)
		}
	})
}

func TestARoundThatReachesNobodyPagesTheFallbackLoudly(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		p := startPager(t, db, nightConfig, threeAM)
		inc := p.trigger(nightBatchKey, "backup-failed", "error", "Nightly backup failed")

		p.waitMail("fiona@example.com", 1)
		evs := p.timeline(inc.ID)
		if n := len(timelineData(evs, escalate.EventSkipped)); n != 2 {
			t.Errorf("%d steps skipped, want both", n)
		}
		nobody := timelineData(evs, escalate.EventNobody)
		want := "no step reached anyone (step 1: schedule day has nobody on call at 2026-03-30T03:00:00Z; step 2: user dave has no contact method)"
		if len(nobody) != 1 || nobody[0]["reason"] != want || fmt.Sprint(nobody[0]["fallback"]) != "[fiona]" {
			t.Fatalf("escalation.nobody events = %v\nwant one with reason %q and fallback [fiona]", nobody, want)
		}

		got := p.incident(inc.ID)
		if got.ReachedNobodyAt == nil || !got.ReachedNobodyAt.Equal(threeAM) {
			t.Fatalf("the API does not say the policy reached nobody: reached_nobody_at = %v", got.ReachedNobodyAt)
		}

		b := webtest.SignIn(t, p.url, p.app.Users, "viewer", auth.Viewer)
		_, page := b.Do("GET", fmt.Sprintf("/incidents/%d", inc.ID), nil, nil)
		if !strings.Contains(page, `<p class="nobody" role="alert" id="reached-nobody">Nobody on the escalation policy was reached`) ||
			!strings.Contains(page, "step 2: user dave has no contact method") || !strings.Contains(page, "paging the fallback, fiona.") {
			t.Fatalf("the incident page does not say loudly that nobody was reached:\n%s", page)
		}

		// The fallback waits like the last step; nothing else happens until then.
		p.advance(14 * time.Minute)
		if n := p.mailsTo("fiona@example.com"); n != 1 {
			t.Fatalf("fiona got %d pages, want 1: the policy does not repeat", n)
		}
		// Acknowledging stops the fallback like any step.
		p.want(http.StatusOK, "POST", fmt.Sprintf("/api/v1/incidents/%d/acknowledge", inc.ID), p.responder, nil, nil)
	})
}

const (
	urgReportsKey  = "cccccccccccccccccccccccccccccccc"
	urgCheckoutKey = "dddddddddddddddddddddddddddddddd"
)

// urgencyConfig: reports is a low-urgency service whose policy raises critical alerts to high
// urgency; checkout is high urgency and groups every alert into its open incident. alice works
// weekdays 09:00-18:00 UTC (the default).
const urgencyConfig = `
users:
  - {id: alice, contact_methods: [{type: email, address: alice@example.com}]}
escalation_policies:
  - id: reports-policy
    severity_urgency: {critical: high}
    steps: [{escalate_after: 30m, targets: [{user: alice}]}]
  - id: checkout-policy
    steps: [{escalate_after: 30m, targets: [{user: alice}]}]
services:
  - {id: reports, urgency: low, escalation_policy: reports-policy, integrations: [{type: events_v2, key: ` + urgReportsKey + `}]}
  - {id: checkout, urgency: high, incident_grouping: service, escalation_policy: checkout-policy, integrations: [{type: events_v2, key: ` + urgCheckoutKey + `}]}
notifications:
  email: {smtp: {host: 127.0.0.1, port: SMTP_PORT, from: nines@example.com, tls: none}}
`

func TestADeclaredIncidentIsPagedAtItsServicesUrgency(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		p := startPager(t, db, urgencyConfig, threeAM)
		var inc incident.Incident
		p.want(http.StatusCreated, "POST", "/api/v1/incidents", p.responder,
			map[string]any{"service": "reports", "title": "Monthly report is wrong", "sev": "SEV2"}, &inc)
		if inc.Urgency != "low" {
			t.Fatalf("a declared incident on a low-urgency service has urgency %q, want low", inc.Urgency)
		}
		evs := p.timeline(inc.ID)
		deferred := timelineData(evs, escalate.EventDeferred)
		if len(deferred) != 1 || deferred[0]["until"] != "2026-03-30T09:00:00Z" {
			t.Fatalf("notification.deferred = %v, want alice's page deferred to 09:00", deferred)
		}
		if n := len(p.smtp.Mails()); n != 0 {
			t.Fatalf("%d pages at 03:00 for a low-urgency incident", n)
		}
		// At 09:00 the page goes out.
		p.advance(6 * time.Hour)
		p.waitMail("alice@example.com", 1)

		// The same declaration on a high-urgency service wakes alice at once.
		p.want(http.StatusCreated, "POST", "/api/v1/incidents", p.responder,
			map[string]any{"service": "checkout", "title": "Checkout is slow", "sev": "SEV3"}, &inc)
		if inc.Urgency != "high" {
			t.Fatalf("a declared incident on a high-urgency service has urgency %q", inc.Urgency)
		}
		p.waitMail("alice@example.com", 2)
	})
}

func TestALaterAlertRaisesTheSEVAndTheUrgency(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		p := startPager(t, db, urgencyConfig, threeAM)
		sevChanges := func(id int64) []string {
			var out []string
			for _, d := range timelineData(p.timeline(id), incident.EventSEVChanged) {
				out = append(out, fmt.Sprintf("%v->%v (%v)", d["from"], d["to"], d["reason"]))
			}
			return out
		}

		// A declared SEV3 joined by a critical alert becomes SEV1.
		var declared incident.Incident
		p.want(http.StatusCreated, "POST", "/api/v1/incidents", p.responder,
			map[string]any{"service": "checkout", "title": "Checkout errors", "sev": "SEV3"}, &declared)
		if joined := p.trigger(urgCheckoutKey, "5xx", "critical", "Checkout 5xx over 5%"); joined.ID != declared.ID {
			t.Fatalf("the alert opened incident %d instead of joining the declared %d", joined.ID, declared.ID)
		}
		if got := p.incident(declared.ID); got.SEV != "SEV1" || got.Severity != "critical" {
			t.Fatalf("after a critical alert the declared incident is %s/%s, want SEV1/critical", got.SEV, got.Severity)
		}
		if got := sevChanges(declared.ID); fmt.Sprint(got) != "[SEV3->SEV1 (an alert raised the severity from warning to critical)]" {
			t.Errorf("incident.sev_changed = %v", got)
		}

		// A warning on the low-urgency service waits for working hours; the same alert
		// repeated as critical raises the SEV, and the urgency the policy maps critical to.
		inc := p.trigger(urgReportsKey, "lag", "warning", "Report lag")
		if inc.SEV != "SEV3" || inc.Urgency != "low" {
			t.Fatalf("a warning opened %s at %s urgency, want SEV3 at low", inc.SEV, inc.Urgency)
		}
		p.trigger(urgReportsKey, "lag", "critical", "Report lag: 6 hours")
		got := p.incident(inc.ID)
		if got.SEV != "SEV1" || got.Urgency != "high" {
			t.Fatalf("after the critical repeat the incident is %s at %s urgency, want SEV1 at high", got.SEV, got.Urgency)
		}
		urg := timelineData(p.timeline(inc.ID), incident.EventUrgencyChanged)
		if len(urg) != 1 || urg[0]["from"] != "low" || urg[0]["to"] != "high" {
			t.Errorf("incident.urgency_changed = %v", urg)
		}
		if got := sevChanges(inc.ID); len(got) != 1 {
			t.Errorf("incident.sev_changed = %v, want one", got)
		}

		// A SEV lowered by hand stays while the alerts get no worse.
		p.want(http.StatusOK, "POST", fmt.Sprintf("/api/v1/incidents/%d/sev", inc.ID), p.responder, map[string]string{"sev": "SEV4", "reason": "one tenant"}, nil)
		p.trigger(urgReportsKey, "lag", "critical", "Report lag: 7 hours")
		if got := p.incident(inc.ID); got.SEV != "SEV4" {
			t.Errorf("a repeat at the same severity moved the SEV set by hand to %s", got.SEV)
		}
	})
}
