package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// openCheckout opens an incident on the checkout service, whose policy pages the ops schedule.
// oncallEnv is nines on the on-call reference config: alice on call on ops first, bob next,
// pages mailed to a real SMTP server.
type oncallEnv struct {
	url string
	srv *webtest.Nines
}

func startOnCall(t *testing.T, db *store.DB, clk clock.Clock) *oncallEnv {
	t.Helper()
	ref, err := config.Load("../../config/testdata/oncall_reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ref.Notifications.Email.SMTP.Port = notifytest.StartSMTP(t, "none").Port()
	srv := webtest.Start(t, webtest.Options{Config: ref, DB: db, Clock: clk})
	return &oncallEnv{url: srv.URL, srv: srv}
}

func (e *oncallEnv) openCheckout(t *testing.T) int64 {
	t.Helper()
	var inc incident.Incident
	if err := e.srv.DB.Tx(context.Background(), func(tx *store.Tx) error {
		var err error
		inc, err = e.srv.Incidents.Open(context.Background(), tx, incident.OpenParams{ServiceID: "checkout", Severity: "critical", Title: "Checkout down", At: e.srv.Clock.Now()})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return inc.ID
}

func (e *oncallEnv) timeline(t *testing.T, id int64) []incident.Event {
	t.Helper()
	e.srv.Escalation.Wait()
	evs, err := e.srv.Incidents.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// sentTo reports whether the timeline records a page delivered to user.
func sentTo(evs []incident.Event, user string) bool {
	for _, ev := range evs {
		var d struct{ User string }
		if ev.Type == escalate.EventSent && json.Unmarshal(ev.Data, &d) == nil && d.User == user {
			return true
		}
	}
	return false
}

func findEvent(evs []incident.Event, typ string) (incident.Event, bool) {
	for _, ev := range evs {
		if ev.Type == typ {
			return ev, true
		}
	}
	return incident.Event{}, false
}

func TestEscalateNowFromTheIncidentPagePagesTheNextStep(t *testing.T) {
	env := startOnCall(t, storetest.SQLite(t, app.Schemas()), clock.NewFake(time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)))
	id := env.openCheckout(t)
	b := webtest.SignIn(t, env.url, env.srv.Users, "ops", auth.Responder)
	page := fmt.Sprintf("/incidents/%d", id)

	if _, body := b.Do("GET", page, nil, nil); !strings.Contains(body, `action="`+page+`/escalate"`) || !strings.Contains(body, `id="reassign-target"`) {
		t.Fatalf("a triggered incident's page offers no escalate button or reassign form:\n%s", body)
	}
	// The reference policy's second step is carol, whom nothing else pages.
	if sentTo(env.timeline(t, id), "carol") {
		t.Fatal("carol was paged before anyone escalated")
	}
	steps := 0
	for _, ev := range env.timeline(t, id) {
		if ev.Type == escalate.EventStep {
			steps++
		}
	}
	resp, _ := b.PostForm(page+"/escalate", nil, true)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page+"?done=escalated" {
		t.Fatalf("escalate: %d to %q, want 303 to %s?done=escalated", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	evs := env.timeline(t, id)
	manual, ok := findEvent(evs, escalate.EventManual)
	if !ok || manual.Actor != "user:ops" || manual.Source != "web" {
		t.Fatalf("no manual escalation by user:ops via web on the timeline: %+v", evs)
	}
	after := 0
	for _, ev := range evs {
		if ev.Type == escalate.EventStep {
			after++
		}
	}
	if after != steps+1 {
		t.Fatalf("the timeline has %d escalation steps after escalating, want %d", after, steps+1)
	}
	storetest.Eventually(t, 5*time.Second, "carol paged by the second step", func() bool { return sentTo(env.timeline(t, id), "carol") })
	_, body := b.Do("GET", page+"?done=escalated", nil, nil)
	if !strings.Contains(body, `role="status">Escalated: the next step`) {
		t.Fatalf("the incident page does not confirm the escalation:\n%s", body)
	}
	// A page delivered is said as the timeline says it ("Paged Carol by email, delivered").
	if !strings.Contains(body, `<span class="nstate">delivered</span>`) || strings.Contains(body, `<span class="nstate">sent</span>`) {
		t.Errorf("who is paged does not say delivered:\n%s", regexp.MustCompile(`(?s)<section id="paging".*?</section>`).FindString(body))
	}
}

func TestReassignFromTheIncidentPagePagesThePersonChosen(t *testing.T) {
	env := startOnCall(t, storetest.SQLite(t, app.Schemas()), clock.NewFake(time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)))
	b := webtest.SignIn(t, env.url, env.srv.Users, "ops", auth.Responder)
	for _, tc := range []struct {
		name, target, paged string
	}{
		{"a person chosen by name is paged", "user:bob", "bob"},
		{"a schedule chosen pages whoever is on call on it now", "schedule:ops", "alice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := env.openCheckout(t)
			page := fmt.Sprintf("/incidents/%d", id)
			resp, _ := b.PostForm(page+"/reassign", url.Values{"target": {tc.target}}, true)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page+"?done=reassigned&to="+tc.paged {
				t.Fatalf("reassign: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			ev, ok := findEvent(env.timeline(t, id), escalate.EventReassigned)
			if !ok || ev.Actor != "user:ops" || ev.Source != "web" || !strings.Contains(string(ev.Data), `"user":"`+tc.paged+`"`) {
				t.Fatalf("no reassignment to %s by user:ops via web: %+v", tc.paged, ev)
			}
			storetest.Eventually(t, 5*time.Second, tc.paged+" paged", func() bool { return sentTo(env.timeline(t, id), tc.paged) })
			_, body := b.Do("GET", resp.Header.Get("Location"), nil, nil)
			if !strings.Contains(body, `role="status">Reassigned: `) {
				t.Fatalf("the incident page does not confirm the reassignment:\n%s", body)
			}
			if strings.Contains(body, "the policy has run out") || !strings.Contains(body, "No further step: reassigned by hand, which stopped the escalation policy.") {
				t.Errorf("the next step after a reassignment:\n%s", regexp.MustCompile(`(?s)<p class="next".*?</p>`).FindString(body))
			}
		})
	}
}

func TestIncidentPageEscalationFormsRefuseBadRequests(t *testing.T) {
	env := startOnCall(t, storetest.SQLite(t, app.Schemas()), clock.NewFake(time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)))
	id := env.openCheckout(t)
	page := fmt.Sprintf("/incidents/%d", id)
	responder := webtest.SignIn(t, env.url, env.srv.Users, "ops", auth.Responder)
	viewer := webtest.SignIn(t, env.url, env.srv.Users, "watcher", auth.Viewer)
	before := len(env.timeline(t, id))
	for _, tc := range []struct {
		name     string
		b        *webtest.SignedIn
		path     string
		form     url.Values
		withCSRF bool
		status   int
		want     string
	}{
		{"a viewer cannot escalate", viewer, "/escalate", nil, true, 403, ""},
		{"a viewer cannot reassign", viewer, "/reassign", url.Values{"target": {"user:bob"}}, true, 403, ""},
		{"an escalation without the CSRF token is refused", responder, "/escalate", nil, false, 403, ""},
		{"a reassignment without the CSRF token is refused", responder, "/reassign", url.Values{"target": {"user:bob"}}, false, 403, ""},
		{"a reassignment to nobody names the field", responder, "/reassign", url.Values{}, true, 400, "target: choose a person or a schedule"},
		{"a reassignment to an unknown user names the user", responder, "/reassign", url.Values{"target": {"user:zed"}}, true, 400, "unknown user &#34;zed&#34;"},
		{"a reassignment to an unknown schedule names the schedule", responder, "/reassign", url.Values{"target": {"schedule:nope"}}, true, 400, "unknown schedule &#34;nope&#34;"},
		{"a target that is neither a user nor a schedule is refused", responder, "/reassign", url.Values{"target": {"bob"}}, true, 400, "is neither user:ID nor schedule:ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := tc.b.PostForm(page+tc.path, tc.form, tc.withCSRF)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("%d, want %d containing %q:\n%s", resp.StatusCode, tc.status, tc.want, body)
			}
			if got := len(env.timeline(t, id)); got != before {
				t.Fatalf("the timeline grew from %d to %d events", before, got)
			}
		})
	}
	t.Run("an acknowledged incident offers reassignment but no escalation, which would be refused", func(t *testing.T) {
		if _, err := env.srv.Incidents.Acknowledge(context.Background(), id, incident.Actor{Name: "user:ops", Source: "test"}); err != nil {
			t.Fatal(err)
		}
		_, body := responder.Do("GET", page, nil, nil)
		if strings.Contains(body, `action="`+page+`/escalate"`) || !strings.Contains(body, `action="`+page+`/reassign"`) {
			t.Fatalf("page of an acknowledged incident:\n%s", body)
		}
		if resp, body := responder.PostForm(page+"/escalate", nil, true); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "is acknowledged") {
			t.Fatalf("escalating an acknowledged incident: %d\n%s", resp.StatusCode, body)
		}
	})
	t.Run("a resolved incident offers neither", func(t *testing.T) {
		if _, err := env.srv.Incidents.Resolve(context.Background(), id, incident.Actor{Name: "user:ops", Source: "test"}); err != nil {
			t.Fatal(err)
		}
		_, body := responder.Do("GET", page, nil, nil)
		if strings.Contains(body, page+`/escalate`) || strings.Contains(body, page+`/reassign`) {
			t.Fatalf("page of a resolved incident offers escalation actions:\n%s", body)
		}
		if resp, _ := responder.PostForm(page+"/reassign", url.Values{"target": {"user:bob"}}, true); resp.StatusCode != http.StatusConflict {
			t.Fatalf("reassigning a resolved incident: %d, want 409", resp.StatusCode)
		}
	})
}
