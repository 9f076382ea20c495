package escalate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// twilioConfig is referenceConfig with SMS and calls going to a Twilio-compatible receiver.
func twilioConfig(t testing.TB, port int, twilioURL, extra string) *config.Config {
	t.Helper()
	ref, err := os.ReadFile("../config/testdata/oncall_reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// notifications is the reference's last section.
	ref = append(ref, fmt.Sprintf("  twilio: {base_url: %q, account_sid: AC0, auth_token: tok, from: \"+15550001111\"}\n", twilioURL)...)
	c, err := config.Parse("nines.yaml", append(ref, "\n---\nserver: {base_url: \"http://nines.test\"}\n"+extra...))
	if err != nil {
		t.Fatal(err)
	}
	c.Notifications.Email.SMTP.Port = port
	return c
}

// mailsTo lists the mails one address received, as (incident header, Message-ID).
func mailsTo(t *testing.T, srv *notifytest.SMTP, to string) []struct{ incident, id string } {
	t.Helper()
	var out []struct{ incident, id string }
	for _, m := range srv.Mails() {
		if strings.Join(m.To, ",") != to {
			continue
		}
		h := m.Header(t)
		out = append(out, struct{ incident, id string }{h.Get("X-Nines-Incident"), h.Get("Message-ID")})
	}
	return out
}

// row is one timeline event: its time and its data.
type row struct {
	at   time.Time
	data map[string]any
}

func (h *harness) rows(id int64, typ string) []row {
	h.t.Helper()
	evs, err := h.incidents.Timeline(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []row
	for _, e := range evs {
		if e.Type == typ {
			r := row{at: e.At}
			json.Unmarshal(e.Data, &r.data)
			out = append(out, r)
		}
	}
	return out
}

// lastFailure is the newest notification.failed row of an incident, when its attempt was made
// (the row's time or, on the row that counts repeated failures, last_at) and its retry_in.
func (h *harness) lastFailure(id int64) (map[string]any, time.Time, time.Duration) {
	h.t.Helper()
	failed := h.rows(id, EventFailed)
	if len(failed) == 0 {
		h.t.Fatalf("incident %d has no notification.failed row", id)
	}
	f := failed[len(failed)-1]
	when := f.at
	if last, ok := f.data["last_at"].(string); ok {
		var err error
		if when, err = time.Parse(time.RFC3339Nano, last); err != nil {
			h.t.Fatalf("last_at %q: %v", last, err)
		}
	}
	d, err := time.ParseDuration(fmt.Sprint(f.data["retry_in"]))
	if err != nil {
		h.t.Fatalf("failure row without retry_in: %v", f.data)
	}
	return f.data, when, d
}

// followRetries moves the clock to each retry the timeline announces, until the page is sent
// or for as long as until, and checks that every attempt happened exactly when announced (not
// a millisecond before) and no later than 30 s after the one before it.
func (h *harness) followRetries(id int64, until time.Duration) {
	h.t.Helper()
	begin := h.clock.Now()
	for h.clock.Now().Sub(begin) < until && len(h.rows(id, EventSent)) == 0 {
		f, at, d := h.lastFailure(id)
		if d > 30*time.Second {
			h.t.Fatalf("retry_in %v: a recovered channel would wait longer than 30 s", d)
		}
		due := at.Add(d)
		h.clock.Set(due.Add(-time.Millisecond))
		h.settle()
		if g, _, _ := h.lastFailure(id); g["attempt"] != f["attempt"] || len(h.rows(id, EventSent)) > 0 {
			h.t.Fatalf("the retry announced in %v at %v (row %v) ran before that (row %v)", d, at, f, g)
		}
		h.clock.Set(due)
		storetest.Eventually(h.t, 10*time.Second, "the announced retry", func() bool {
			h.runner.Wake()
			g, _, _ := h.lastFailure(id)
			return g["attempt"] != f["attempt"] || len(h.rows(id, EventSent)) > 0
		})
		h.engine.Wait()
		if sent := h.rows(id, EventSent); len(sent) > 0 {
			if !sent[0].at.Equal(due) {
				h.t.Fatalf("the retry announced in %v at %v was sent at %v", d, at, sent[0].at)
			}
			return
		}
		if g, gotAt, _ := h.lastFailure(id); !gotAt.Equal(due) {
			h.t.Fatalf("the retry announced in %v at %v (row %v) ran at %v (row %v)", d, at, f, gotAt, g)
		}
	}
}

// TestARecoveredMailServerGetsTheWaitingPageFirstAndOnce: the SMTP server is down when the
// incident opens; it comes back on the same port three minutes later, and a second incident
// opens at that moment. The page that waited arrives within 30 s of the recovery, before the
// later one, each exactly once; and the timeline's retry_in was each time the real delay.
func TestARecoveredMailServerGetsTheWaitingPageFirstAndOnce(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		srv := notifytest.StartSMTP(t, "none")
		port := srv.Port()
		srv.Stop()
		h := newHarness(t, db, referenceConfig(t, port, ""), start)
		first := h.open("waited through the outage")
		h.settle()
		h.followRetries(first.ID, 3*time.Minute)
		if n := len(srv.Mails()); n != 0 {
			t.Fatalf("%d mails while the server was down", n)
		}

		srv.Restart()
		recovered := h.clock.Now()
		later := h.open("opened once the server was back")
		h.settle()
		if n := len(srv.Mails()); n != 0 {
			t.Fatalf("%d mails before the next attempt: the later page did not wait", n)
		}
		_, at, d := h.lastFailure(first.ID)
		h.clock.Set(at.Add(d)) // the next attempt the timeline announced
		storetest.Eventually(t, 10*time.Second, "both pages", func() bool {
			h.runner.Wake()
			return len(mailsTo(t, srv, "alice@example.com")) == 2
		})
		took := h.clock.Now().Sub(recovered)
		t.Logf("both pages delivered %v after the server came back", took)
		storetest.Eventually(t, 5*time.Second, "both pages recorded", func() bool {
			return len(h.rows(first.ID, EventSent)) == 1 && len(h.rows(later.ID, EventSent)) == 1
		})
		if took > 30*time.Second {
			t.Fatalf("the pages arrived %v after the server came back, want within 30 s", took)
		}
		h.advance(3 * time.Minute) // still before step 2, at 10 minutes
		got := mailsTo(t, srv, "alice@example.com")
		if len(got) != 2 || got[0].incident != fmt.Sprint(first.ID) || got[1].incident != fmt.Sprint(later.ID) {
			t.Fatalf("alice got %v; want incident %d, then %d, once each", got, first.ID, later.ID)
		}

		failed := h.events(first.ID, EventFailed)
		if len(failed) != 2 {
			t.Fatalf("%d notification.failed rows; want 2, the first failure and one that counts the rest: %v", len(failed), failed)
		}
		rest := failed[1]
		if rest["attempt"] != float64(1+rest["count"].(float64)) || rest["count"].(float64) < 5 || !strings.Contains(fmt.Sprint(rest["error"]), "connect") {
			t.Errorf("the row of repeated failures = %v", rest)
		}
		sent := h.rows(first.ID, EventSent)
		_, lastAt, retryIn := h.lastFailure(first.ID)
		if len(sent) != 1 {
			t.Fatalf("sent = %v", sent)
		}
		if !sent[0].at.Equal(lastAt.Add(retryIn)) {
			t.Errorf("sent at %v; the last failure (%v) said retry in %v", sent[0].at, lastAt, retryIn)
		}
		if len(h.events(later.ID, EventFailed)) != 0 || len(h.events(later.ID, EventSent)) != 1 {
			t.Errorf("the later page: failed %v, sent %v", h.events(later.ID, EventFailed), h.events(later.ID, EventSent))
		}
	})
}

// TestAWebhookThatAnswers500ThenRecovers: six 500s, then 200. The page is delivered once
// under one idempotency key; the timeline holds the first failure and one row counting the
// other five with the last error, and each retry came when the timeline said it would.
func TestAWebhookThatAnswers500ThenRecovers(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		rc := notifytest.StartReceiver(t)
		rc.Status = func(n int) int {
			if n <= 6 {
				return 500
			}
			return 200
		}
		extra := fmt.Sprintf(`---
users:
  - {id: hank, time_zone: UTC, contact_methods: [{type: webhook, address: "%s/hook"}]}
escalation_policies:
  - {id: hank-policy, steps: [{escalate_after: 1h, targets: [{user: hank}]}]}
services:
  - {id: hooked, escalation_policy: hank-policy}
`, rc.URL)
		h := newHarness(t, db, referenceConfig(t, 1, extra), start)
		inc := h.openWith("behind a failing proxy", "hooked", "critical", "high")
		h.settle()
		h.followRetries(inc.ID, time.Hour)
		h.advance(30 * time.Minute)
		reqs := rc.Requests()
		if len(reqs) != 7 {
			t.Fatalf("%d requests; want 7 (six 500s, one 200)", len(reqs))
		}
		for _, r := range reqs {
			if r.Header.Get("Idempotency-Key") != reqs[0].Header.Get("Idempotency-Key") {
				t.Fatalf("a retry changed the idempotency key: %q then %q", reqs[0].Header.Get("Idempotency-Key"), r.Header.Get("Idempotency-Key"))
			}
		}
		failed := h.events(inc.ID, EventFailed)
		if len(failed) != 2 {
			t.Fatalf("%d notification.failed rows, want 2: %v", len(failed), failed)
		}
		if failed[0]["attempt"] != float64(1) || failed[0]["retry_in"] != "1s" {
			t.Errorf("first failure = %v", failed[0])
		}
		if f := failed[1]; f["attempt"] != float64(6) || f["count"] != float64(5) || !strings.Contains(fmt.Sprint(f["error"]), "500") {
			t.Errorf("the row of repeated failures = %v; want attempt 6, count 5, the last error", f)
		}
		if sent := h.events(inc.ID, EventSent); len(sent) != 1 || sent[0]["attempt"] != float64(7) {
			t.Errorf("sent = %v, want once, on attempt 7", sent)
		}
	})
}

// TestEveryContactMethodHasADefaultRateLimit: a burst of 12 incidents in 12 seconds reaches one
// person through every kind of contact method none of which declares a limit, and one that
// does. Counted at real receivers a minute later: calls and texts are held to one a minute,
// mail to five, webhooks let all through; the declared limit wins over the default.
func TestEveryContactMethodHasADefaultRateLimit(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		srv := notifytest.StartSMTP(t, "none")
		twilio := notifytest.StartReceiver(t)
		hook := notifytest.StartReceiver(t)
		extra := fmt.Sprintf(`---
users:
  - id: nell
    time_zone: UTC
    contact_methods:
      - {type: email, address: nell@example.com}
      - {type: sms, address: "+33600000001"}
      - {type: voice, address: "+33600000002"}
      - {type: webhook, address: "%s/hook"}
      - {id: pager, type: sms, address: "+33600000003", rate_limit: {count: 20, per: 1m}}
escalation_policies:
  - {id: nell-policy, steps: [{escalate_after: 1h, targets: [{user: nell}]}]}
services:
  - {id: burst, escalation_policy: nell-policy}
`, hook.URL)
		h := newHarness(t, db, twilioConfig(t, srv.Port(), twilio.URL, extra), start)
		for i := 0; i < 12; i++ {
			h.openWith(fmt.Sprintf("burst %d", i), "burst", "critical", "high")
			h.engine.Wait()
			h.clock.Advance(time.Second)
		}
		h.settle()
		count := func() map[string]int {
			out := map[string]int{"email": len(mailsTo(t, srv, "nell@example.com")), "webhook": len(hook.Requests())}
			for _, r := range twilio.Requests() {
				form, _ := url.ParseQuery(string(r.Body))
				out[form.Get("To")]++
			}
			return out
		}
		during := count()
		h.advance(time.Minute)
		storetest.Eventually(t, 5*time.Second, "the held messages", func() bool { return count()["+33600000002"] == 2 && count()["email"] == 6 })
		h.advance(time.Minute)
		after := count()
		cases := []struct {
			name          string
			key           string
			during, after int
		}{
			{"mail: five at once, then one for the other seven", "email", 5, 6},
			{"SMS: one at once, then one for the other eleven", "+33600000001", 1, 2},
			{"voice: one at once, then one for the other eleven", "+33600000002", 1, 2},
			{"a webhook: every one (60 a minute)", "webhook", 12, 12},
			{"an SMS method that declares 20 a minute: every one", "+33600000003", 12, 12},
		}
		for _, tc := range cases {
			if during[tc.key] != tc.during || after[tc.key] != tc.after {
				t.Errorf("%s: %d during the burst and %d after; want %d and %d", tc.name, during[tc.key], after[tc.key], tc.during, tc.after)
			}
		}
	})
}

// TestADeathMidSendRepeatsTheMessageOnceWithTheSameMessageID: the process dies right after
// the mail server accepted a message and before nines recorded it. The message is sent once
// more (by the page's timer, or once the drain's lease runs out), with the same Message-ID so
// mail clients and the receiver see one message, and never a third time.
func TestADeathMidSendRepeatsTheMessageOnceWithTheSameMessageID(t *testing.T) {
	extra := `---
users:
  - {id: ivy, time_zone: UTC, contact_methods: [{type: email, address: ivy@example.com, rate_limit: {count: 1, per: 1m}}]}
escalation_policies:
  - {id: ivy-policy, steps: [{escalate_after: 1h, targets: [{user: ivy}]}]}
services:
  - {id: ivy-svc, escalation_policy: ivy-policy}
`
	cases := []struct {
		name string
		to   string
		// die makes the process die in the middle of one send; wantMails is how many mails
		// the address gets in all, the last two being the message and its repeat.
		die       func(t *testing.T, h *harness, srv *notifytest.SMTP)
		wantMails int
		wantSent  int // pages recorded as sent in the end
	}{
		{"a page sent right after its commit is sent again by its timer", "alice@example.com", func(t *testing.T, h *harness, srv *notifytest.SMTP) {
			h.engine.crashAfterSend.Store(1)
			h.open("the first send dies")
			h.settle()
			h.advance(directGrace)
		}, 2, 1},
		{"a page retried after a failure is sent again once the lease runs out", "alice@example.com", func(t *testing.T, h *harness, srv *notifytest.SMTP) {
			srv.Stop()
			h.open("the retry dies")
			h.settle()
			srv.Restart()
			h.engine.crashAfterSend.Store(1)
			h.advance(retryDelay(1))
			waitMails(t, srv, 1)
			h.advance(2 * time.Minute) // the runner's lease
		}, 2, 1},
		{"a bundle is sent again under the same key", "ivy@example.com", func(t *testing.T, h *harness, srv *notifytest.SMTP) {
			for i := 0; i < 3; i++ {
				h.openWith(fmt.Sprintf("burst %d", i), "ivy-svc", "critical", "high")
				h.engine.Wait()
			}
			h.settle()
			h.engine.crashAfterSend.Store(1)
			h.advance(time.Minute)
			waitMails(t, srv, 2)
			h.advance(2 * time.Minute)
		}, 3, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
				srv := notifytest.StartSMTP(t, "none")
				h := newHarness(t, db, referenceConfig(t, srv.Port(), extra), start)
				tc.die(t, h, srv)
				storetest.Eventually(t, 5*time.Second, "the repeat, recorded", func() bool {
					var sent int
					h.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM notify_deliveries WHERE state = 'sent'`).Scan(&sent)
					return len(mailsTo(t, srv, tc.to)) >= tc.wantMails && sent == tc.wantSent
				})
				h.advance(5 * time.Minute) // well past every retry, before step 2
				got := mailsTo(t, srv, tc.to)
				if len(got) != tc.wantMails {
					t.Fatalf("%d mails: %v; want %d (one repeat)", len(got), got, tc.wantMails)
				}
				if a, b := got[len(got)-2], got[len(got)-1]; a.id != b.id || a.id == "" {
					t.Fatalf("the repeat has Message-ID %s, the message %s", b.id, a.id)
				}
				if h.engine.crashAfterSend.Load() != 0 {
					t.Fatalf("the send that was to die never happened")
				}
			})
		})
	}
}

// TestAMailServerThatHangsUpAfterAcceptingGetsThePageOnce: the server answers 250 to the
// message and closes the connection before QUIT. It has the page: nines records it as sent
// and never sends it again.
func TestAMailServerThatHangsUpAfterAcceptingGetsThePageOnce(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		srv := notifytest.StartSMTP(t, "none")
		srv.HangUp = true
		h := newHarness(t, db, referenceConfig(t, srv.Port(), ""), start)
		inc := h.open("a server in a hurry")
		waitMails(t, srv, 1)
		h.settle() // the outcome is recorded before the clock reaches the page's timer
		h.advance(5 * time.Minute)
		if n := len(srv.Mails()); n != 1 {
			t.Fatalf("%d mails, want 1", n)
		}
		if f, s := h.events(inc.ID, EventFailed), h.events(inc.ID, EventSent); len(f) != 0 || len(s) != 1 {
			t.Fatalf("failed %v, sent %v; want sent once", f, s)
		}
	})
}

// TestAPageWaitsBehindOnesHeldBeforeARestart: a page is held while the mail server is down;
// nines restarts (a second engine on the same database, as after a restart or on another
// node). A new page to the same person waits behind the held one, and both leave in order
// once the server is back.
func TestAPageWaitsBehindOnesHeldBeforeARestart(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		srv := notifytest.StartSMTP(t, "none")
		port := srv.Port()
		srv.Stop()
		cfg := referenceConfig(t, port, "")
		h := newHarness(t, db, cfg, start)
		first := h.open("held before the restart")
		h.settle()
		h.advance(3 * time.Second)

		after := newHarness(t, db, cfg, h.clock.Now())
		later := after.open("opened after the restart")
		after.settle()
		if held, failed := h.rows(later.ID, EventHeld), h.rows(later.ID, EventFailed); len(held) != 1 || len(failed) != 0 {
			t.Fatalf("the later page: held %v, failed %v; want it held behind the first, not tried", held, failed)
		}

		srv.Restart()
		_, at, d := h.lastFailure(first.ID)
		h.clock.Set(at.Add(d))
		storetest.Eventually(t, 10*time.Second, "both pages", func() bool {
			h.runner.Wake()
			return len(mailsTo(t, srv, "alice@example.com")) == 2
		})
		got := mailsTo(t, srv, "alice@example.com")
		if len(got) != 2 || got[0].incident != fmt.Sprint(first.ID) || got[1].incident != fmt.Sprint(later.ID) {
			t.Fatalf("alice got %v; want incident %d then %d", got, first.ID, later.ID)
		}
	})
}
