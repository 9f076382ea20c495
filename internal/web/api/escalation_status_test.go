package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// statusConfig pages dave by mail (a real SMTP server) and by a webhook whose receiver always
// answers 500, then carol; erin is mailed at most once an hour.
const statusConfig = `
users:
  - {id: dave, name: Dave, time_zone: UTC, contact_methods: [{id: mail, type: email, address: dave@example.com}, {id: hook, type: webhook, address: "%s/hook"}]}
  - {id: erin, name: Erin, time_zone: UTC, contact_methods: [{id: mail, type: email, address: erin@example.com, rate_limit: {count: 1, per: 1h}}]}
escalation_policies:
  - id: night
    steps:
      - {escalate_after: 5m, targets: [{user: dave}]}
      - {escalate_after: 5m, targets: [{user: carol}]}
  - id: erin-policy
    steps: [{escalate_after: 30m, targets: [{user: erin}]}]
services:
  - {id: payments, name: Payments, escalation_policy: night, integrations: [{type: events_v2, key: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}]}
  - {id: search, name: Search, escalation_policy: erin-policy, integrations: [{type: events_v2, key: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb}]}
`

type statusReply struct {
	ID         int64           `json:"id"`
	State      string          `json:"state"`
	Escalation escalate.Status `json:"escalation"`
}

func (e *oncallEnv) status(t *testing.T, id int64) statusReply {
	t.Helper()
	code, body := e.do(t, "GET", fmt.Sprintf("/api/v1/incidents/%d", id), e.viewer, nil)
	if code != 200 {
		t.Fatalf("GET incident %d: %d %s", id, code, body)
	}
	var r statusReply
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func notificationOf(p escalate.PagedPerson, method string) escalate.Notification {
	for _, n := range p.Notifications {
		if n.Method == method {
			return n
		}
	}
	return escalate.Notification{}
}

// TestTheIncidentSaysWhoWasPagedHowEachPageFaredAndWhatIsNext triggers real pages: a mail to
// a real SMTP server, a webhook to a receiver that refuses it, a mail over its contact
// method's rate limit; then reads the incident's escalation through the API.
func TestTheIncidentSaysWhoWasPagedHowEachPageFaredAndWhatIsNext(t *testing.T) {
	storetest.Each(t, oncallSchemas, func(t *testing.T, db *store.DB) {
		clk := clock.NewFake(pagingStart)
		hook := notifytest.StartReceiver(t)
		hook.Status = func(int) int { return 500 }
		env := startOnCallWith(t, db, clk, pagingConfig(t, fmt.Sprintf(statusConfig, hook.URL), nil))
		env.trigger(t, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "pay-1", "Payments fail")
		id := lastIncident(t, env)

		var st statusReply
		storetest.Eventually(t, 10*time.Second, "dave's mail sent and his webhook failed", func() bool {
			st = env.status(t, id)
			return len(st.Escalation.Paged) == 1 && notificationOf(st.Escalation.Paged[0], "mail").State == "sent" &&
				notificationOf(st.Escalation.Paged[0], "hook").State == "failed"
		})
		esc := st.Escalation
		t.Run("the step, the person and each contact method's outcome", func(t *testing.T) {
			if esc.Policy != "night" || esc.Kind != "step" || esc.Round != 1 || esc.Step != 1 || esc.Steps != 2 {
				t.Fatalf("policy/step: %+v", esc)
			}
			p := esc.Paged[0]
			if p.User != "dave" || p.Name != "Dave" {
				t.Fatalf("paged: %+v", p)
			}
			hookN := notificationOf(p, "hook")
			if hookN.Type != "webhook" || !strings.Contains(hookN.Error, "500") || hookN.Until == nil || !hookN.Until.After(pagingStart) || hookN.Permanent {
				t.Fatalf("the failing webhook: %+v", hookN)
			}
			if mail := notificationOf(p, "mail"); mail.Type != "email" || mail.Error != "" {
				t.Fatalf("the mail: %+v", mail)
			}
			if len(pagesTo(t, env.smtp, "dave@example.com")) != 1 {
				t.Fatal("the SMTP server did not get dave's page")
			}
		})
		t.Run("the next step, its time and whom it pages", func(t *testing.T) {
			n := esc.Next
			if n == nil || n.Step != 2 || n.Round != 1 || !n.At.Equal(pagingStart.Add(5*time.Minute)) ||
				strings.Join(n.Targets, ",") != "user carol" || strings.Join(n.Users, ",") != "Carol" {
				t.Fatalf("next: %+v", n)
			}
			if !esc.Reached || esc.Alarm != "" {
				t.Fatalf("a page was sent, yet reached=%v alarm=%q", esc.Reached, esc.Alarm)
			}
		})

		t.Run("a page held by the rate limit, and nobody reached yet, raise the alarm", func(t *testing.T) {
			env.trigger(t, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "search-1", "Search is slow")
			first := lastIncident(t, env)
			env.trigger(t, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "search-2-other", "Search index is stale")
			second := lastIncident(t, env)
			if first == second {
				t.Fatal("the second alert joined the first incident")
			}
			var s statusReply
			storetest.Eventually(t, 10*time.Second, "erin's second mail held", func() bool {
				s = env.status(t, second)
				return len(s.Escalation.Paged) == 1 && notificationOf(s.Escalation.Paged[0], "mail").State == "held"
			})
			n := notificationOf(s.Escalation.Paged[0], "mail")
			if n.Until == nil || !n.Until.Equal(pagingStart.Add(time.Hour)) || !strings.Contains(n.Reason, "rate limit") {
				t.Fatalf("held: %+v", n)
			}
			if s.Escalation.Reached || !strings.Contains(s.Escalation.Alarm, "No page has reached anyone yet") {
				t.Fatalf("reached=%v alarm=%q", s.Escalation.Reached, s.Escalation.Alarm)
			}
			if f := env.status(t, first); !f.Escalation.Reached || f.Escalation.Alarm != "" {
				t.Fatalf("the first incident, whose mail left: %+v", f.Escalation)
			}
		})

		t.Run("a page queued behind a held one says until when: when the queue is due to drain", func(t *testing.T) {
			env.trigger(t, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "search-3-other", "Search returns nothing")
			third := lastIncident(t, env)
			var s statusReply
			storetest.Eventually(t, 10*time.Second, "erin's third mail held", func() bool {
				s = env.status(t, third)
				return len(s.Escalation.Paged) == 1 && notificationOf(s.Escalation.Paged[0], "mail").State == "held"
			})
			n := notificationOf(s.Escalation.Paged[0], "mail")
			if !strings.Contains(n.Reason, "earlier pages") || n.Until == nil || !n.Until.Equal(pagingStart.Add(time.Hour)) {
				t.Fatalf("the page queued behind the held one: %+v, want until %v", n, pagingStart.Add(time.Hour))
			}
		})

		t.Run("the acknowledge link says who acknowledged first instead of offering the button again", func(t *testing.T) {
			mails := pagesTo(t, env.smtp, "erin@example.com")
			m := linkRe.FindStringSubmatch(mails[0].body)
			if m == nil {
				t.Fatalf("no acknowledge link in %q", mails[0].body)
			}
			path := m[1][strings.Index(m[1], "/a/"):]
			if code, body := env.do(t, "GET", path, "", nil); code != 200 || !strings.Contains(string(body), "<button") {
				t.Fatalf("the link before anyone acted: %d %s", code, body)
			}
			if code, body := env.do(t, "POST", path, "", nil); code != 200 {
				t.Fatalf("using the link: %d %s", code, body)
			}
			code, body := env.do(t, "GET", path, "", nil)
			if code != 200 || !strings.Contains(string(body), `Already acknowledged by Erin at <time datetime="2026-03-30T07:30:00Z" title="2026-03-30 07:30:00 UTC">2026-03-30 07:30:00 UTC</time>.`) || strings.Contains(string(body), "<button type=\"submit\">Acknowledge") {
				t.Fatalf("the link once acknowledged: %d %s", code, body)
			}
		})

		t.Run("snooze: refused durations name the field and change nothing", func(t *testing.T) {
			for _, tc := range []struct{ name, body, want string }{
				{"no duration", `{}`, "duration: say how long"},
				{"not a duration", `{"duration": "soon"}`, `duration: \"soon\" is not a duration`},
				{"too short", `{"duration": "30s"}`, "duration: 30s is out of range"},
				{"too long", `{"duration": "200h"}`, "duration: 200h is out of range"},
			} {
				code, body := env.do(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/snooze", id), env.responder, json.RawMessage(tc.body))
				if code != 400 || !strings.Contains(string(body), tc.want) {
					t.Errorf("%s: %d %s", tc.name, code, body)
				}
			}
			if s := env.status(t, id); s.State != "triggered" || s.Escalation.SnoozedUntil != nil {
				t.Fatalf("a refused snooze changed the incident: %+v", s)
			}
		})

		t.Run("snooze acknowledges, stops the steps, and triggers again when it ends", func(t *testing.T) {
			code, body := env.do(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/snooze", id), env.responder, map[string]string{"duration": "30m"})
			if code != 200 || !strings.Contains(string(body), `"state":"acknowledged"`) ||
				!strings.Contains(string(body), `"snoozed_until":"`+pagingStart.Add(30*time.Minute).Format(time.RFC3339)+`"`) {
				t.Fatalf("snooze: %d %s", code, body)
			}
			s := env.status(t, id)
			if s.Escalation.Next != nil || s.Escalation.SnoozedUntil == nil || !s.Escalation.SnoozedUntil.Equal(pagingStart.Add(30*time.Minute)) {
				t.Fatalf("while snoozed: %+v", s.Escalation)
			}
			mails := len(pagesTo(t, env.smtp, "dave@example.com"))
			clk.Set(pagingStart.Add(29 * time.Minute))
			time.Sleep(200 * time.Millisecond)
			if s := env.status(t, id); s.State != "acknowledged" {
				t.Fatalf("triggered before the snooze ended: %s", s.State)
			}
			clk.Set(pagingStart.Add(30 * time.Minute))
			storetest.Eventually(t, 10*time.Second, "the incident triggered again and dave paged again", func() bool {
				return env.status(t, id).State == "triggered" && len(pagesTo(t, env.smtp, "dave@example.com")) == mails+1
			})
			s = env.status(t, id)
			if s.Escalation.Step != 1 || s.Escalation.Next == nil || !s.Escalation.Next.At.Equal(pagingStart.Add(35*time.Minute)) {
				t.Fatalf("after the snooze: %+v", s.Escalation)
			}
			evs, err := env.srv.Incidents.Timeline(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, e := range evs {
				types = append(types, e.Type)
			}
			all := strings.Join(types, " ")
			if !strings.Contains(all, escalate.EventSnoozed) || !strings.Contains(all, incident.EventRetriggered) {
				t.Fatalf("timeline: %s", all)
			}
			// The policy starts over: its first round, as people count them.
			if s.Escalation.Round != 1 || s.Escalation.Next.Round != 1 {
				t.Errorf("after the snooze, round %d and next round %d; want 1, as people count the policy's repeats", s.Escalation.Round, s.Escalation.Next.Round)
			}
			_, tl := env.do(t, "GET", fmt.Sprintf("/api/v1/incidents/%d/timeline", id), env.viewer, nil)
			if m := regexp.MustCompile(`"text":"[^"]*round \d{3}`).FindString(string(tl)); m != "" {
				t.Errorf("the timeline tells an internal round number: %s", m)
			}
		})

		t.Run("a resolved incident cannot be snoozed, and resolving ends a snooze", func(t *testing.T) {
			if code, body := env.do(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/snooze", id), env.responder, map[string]string{"duration": "15m"}); code != 200 {
				t.Fatalf("snooze: %d %s", code, body)
			}
			if code, body := env.do(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", id), env.responder, nil); code != 200 {
				t.Fatalf("resolve: %d %s", code, body)
			}
			if s := env.status(t, id); s.Escalation.SnoozedUntil != nil || s.Escalation.Stopped != "resolved" {
				t.Fatalf("resolved: %+v", s.Escalation)
			}
			code, body := env.do(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/snooze", id), env.responder, map[string]string{"duration": "1h"})
			if code != 409 || !strings.Contains(string(body), "cannot snooze") {
				t.Fatalf("snoozing a resolved incident: %d %s", code, body)
			}
			clk.Set(pagingStart.Add(50 * time.Minute)) // past the end of the 15-minute snooze
			time.Sleep(200 * time.Millisecond)
			if s := env.status(t, id); s.State != "resolved" {
				t.Fatalf("a resolved incident triggered again: %s", s.State)
			}
		})
	})
}

func lastIncident(t *testing.T, env *oncallEnv) int64 {
	t.Helper()
	code, body := env.do(t, "GET", "/api/v1/incidents?limit=1", env.viewer, nil)
	var r struct {
		Incidents []struct {
			ID int64 `json:"id"`
		} `json:"incidents"`
	}
	if code != 200 || json.Unmarshal(body, &r) != nil || len(r.Incidents) == 0 {
		t.Fatalf("list: %d %s", code, body)
	}
	return r.Incidents[0].ID
}
