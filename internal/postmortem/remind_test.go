package postmortem_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/notify/channels"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

var (
	// The business day before the default due date (Tuesday 1 December) of an item created on
	// Friday 20 November, at the start of the working day; and the business day after it.
	beforeDue = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	afterDue  = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
)

// reminderScene is an incident with a postmortem and one action item owned by alice, whose
// contact methods are extra plus email to alice@example.com, with reminders going through the
// channels nines pages with. The timer runner runs until the test ends.
type reminderScene struct {
	*world
	inc  incident.Incident
	item postmortem.ActionItem
	rem  *postmortem.ContactReminder
}

func newReminderScene(t *testing.T, db *store.DB, smtp *notifytest.SMTP, methods, settings string) *reminderScene {
	t.Helper()
	ctx := context.Background()
	yaml := testConfig + fmt.Sprintf(`
users:
  - id: alice
    name: Alice
    contact_methods:
      - {type: email, address: alice@example.com}
%s
notifications:
  email: {smtp: {host: 127.0.0.1, port: %d, from: nines@example.com, tls: none}}
%s
server: {base_url: "https://nines.example.com/"}
`, methods, smtp.Port(), settings)
	w := newWorldWith(t, db, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), yaml,
		postmortem.Options{Channel: channels.For(notify.DefaultClient), BaseURL: "http://127.0.0.1:1"})
	sc := &reminderScene{world: w}
	sc.rem = w.pm.Reminder.(*postmortem.ContactReminder)
	var err error
	sc.inc, err = w.incidents.Declare(ctx, incident.DeclareParams{ServiceID: "checkout", Title: "Payments fail", SEV: "SEV2", Actor: alice}, w.cfg.Get())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.pm.Draft(ctx, sc.inc.ID, alice); err != nil {
		t.Fatal(err)
	}
	sc.item, err = w.pm.AddAction(ctx, sc.inc.ID, postmortem.NewAction{Title: "Retry card authorization once", Owner: "alice", Kind: "fix"}, alice)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.runner.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	return sc
}

// events returns the data of the scene's incident's timeline events of one type.
func (sc *reminderScene) events(t *testing.T, typ string) []map[string]any {
	t.Helper()
	return sc.world.events(t, sc.inc.ID, typ)
}

// events returns the data of an incident's timeline events of one type.
func (w *world) events(t *testing.T, incidentID int64, typ string) []map[string]any {
	t.Helper()
	tl, err := w.incidents.Timeline(context.Background(), incidentID)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, e := range tl {
		if e.Type == typ {
			var d map[string]any
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
	}
	return out
}

// waitForNextReminder returns once the reminder has been handled and the overdue one is
// scheduled: after that nothing more is sent until the clock reaches afterDue.
func (sc *reminderScene) waitForNextReminder(t *testing.T) {
	t.Helper()
	storetest.Eventually(t, 10*time.Second, "the overdue reminder to be scheduled", func() bool {
		p, _ := sc.runner.Pending(context.Background(), reminderKind)
		return len(p) == 1 && p[0].Due.Equal(afterDue)
	})
}

// waitForRetry returns once a failed reminder waits for its retry: moving the clock before
// that would leave the retry due after the moved time.
func (sc *reminderScene) waitForRetry(t *testing.T) {
	t.Helper()
	storetest.Eventually(t, 10*time.Second, "the failed reminder to wait for its retry", func() bool {
		p, _ := sc.runner.Pending(context.Background(), reminderKind)
		return len(p) == 1 && p[0].Attempts > 0
	})
}

// readMail decodes the subject and the quoted-printable body of a message.
func readMail(t *testing.T, m notifytest.Mail) (subject, body string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return subject, strings.ReplaceAll(string(b), "\r\n", "\n")
}

func TestTheOwnerGetsExactlyOneEmailWhenTheBeforeDueReminderFalls(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		smtp := notifytest.StartSMTP(t, "none")
		twilio := notifytest.StartReceiver(t)
		sc := newReminderScene(t, db, smtp, `      - {id: call, type: voice, address: "+33612345678"}`,
			fmt.Sprintf(`  twilio: {base_url: %q, account_sid: AC0, auth_token: tok, from: "+15550001111"}`, twilio.URL))

		sc.clock.Set(beforeDue)
		storetest.Eventually(t, 10*time.Second, "the reminder email", func() bool { return len(smtp.Mails()) > 0 })
		sc.waitForNextReminder(t)

		mails := smtp.Mails()
		if len(mails) != 1 {
			t.Fatalf("%d mails, want exactly one", len(mails))
		}
		if got := mails[0].To; len(got) != 1 || got[0] != "alice@example.com" {
			t.Errorf("mail to %v, want alice@example.com", got)
		}
		subject, body := readMail(t, mails[0])
		if want := "[nines] Action item due 2026-12-01: Retry card authorization once"; subject != want {
			t.Errorf("subject = %q, want %q", subject, want)
		}
		for _, want := range []string{
			fmt.Sprintf("Action item #%d (fix) from incident #%d on Checkout API: Payments fail", sc.item.ID, sc.inc.ID),
			"Retry card authorization once",
			"It is due on Tuesday 1 December 2026, the next business day.",
			fmt.Sprintf("Incident: https://nines.example.com/incidents/%d\n", sc.inc.ID),
			fmt.Sprintf("nines postmortem done %d", sc.item.ID),
		} {
			if !strings.Contains(body, want) {
				t.Errorf("body lacks %q:\n%s", want, body)
			}
		}
		if n := len(twilio.Requests()); n != 0 {
			t.Errorf("the reminder reached Twilio %d times; a reminder never phones anybody", n)
		}
		sent := sc.events(t, postmortem.EventActionReminder)
		if len(sent) != 1 || sent[0]["method"] != "email" || sent[0]["when"] != postmortem.Before {
			t.Errorf("timeline reminders = %v, want one sent by email before the due date", sent)
		}
		if failed := sc.events(t, postmortem.EventActionReminderFailed); len(failed) != 0 {
			t.Errorf("timeline has failed reminders: %v", failed)
		}
	})
}

func TestARemindersEmailArrivesExactlyOnceAfterTheMailServerComesBack(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		smtp := notifytest.StartSMTP(t, "none")
		sc := newReminderScene(t, db, smtp, "", "")
		smtp.Stop()

		sc.clock.Set(beforeDue)
		storetest.Eventually(t, 10*time.Second, "the failed delivery on the timeline", func() bool {
			return len(sc.events(t, postmortem.EventActionReminderFailed)) > 0
		})
		failed := sc.events(t, postmortem.EventActionReminderFailed)[0]
		if failed["method"] != "email" || failed["retry_in"] != "1s" || !strings.Contains(fmt.Sprint(failed["error"]), "smtp") {
			t.Errorf("failure recorded as %v, want the email method, its SMTP error and a retry in 1s", failed)
		}
		sc.waitForRetry(t)

		smtp.Restart()
		sc.clock.Advance(time.Minute)
		storetest.Eventually(t, 10*time.Second, "the reminder email", func() bool { return len(smtp.Mails()) > 0 })
		sc.waitForNextReminder(t)
		if n := len(smtp.Mails()); n != 1 {
			t.Fatalf("%d mails after the server came back, want exactly one", n)
		}
		if sent := sc.events(t, postmortem.EventActionReminder); len(sent) != 1 || sent[0]["attempt"] != float64(2) {
			t.Errorf("timeline reminders = %v, want one, sent on the second attempt", sent)
		}
	})
}

func TestARetrySendsOnlyToTheContactMethodsThatFailed(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		smtp := notifytest.StartSMTP(t, "none")
		hook := notifytest.StartReceiver(t)
		hook.Status = func(n int) int {
			if n == 1 {
				return 503
			}
			return 200
		}
		sc := newReminderScene(t, db, smtp, fmt.Sprintf(`      - {id: hook, type: webhook, address: %q}`, hook.URL), "")

		sc.clock.Set(beforeDue)
		storetest.Eventually(t, 10*time.Second, "the email and the refused webhook", func() bool {
			return len(smtp.Mails()) == 1 && len(hook.Requests()) == 1
		})
		sc.waitForRetry(t)
		sc.clock.Advance(time.Minute)
		sc.waitForNextReminder(t)
		if n := len(smtp.Mails()); n != 1 {
			t.Errorf("%d mails, want one: the email went through on the first attempt", n)
		}
		reqs := hook.Requests()
		if len(reqs) != 2 {
			t.Fatalf("webhook got %d requests, want the refused one and its retry", len(reqs))
		}
		if k1, k2 := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key"); k1 == "" || k1 != k2 {
			t.Errorf("idempotency keys %q and %q, want the same key on the retry", k1, k2)
		}
		var p struct{ Event, Headline, Text, URL string }
		if err := json.Unmarshal(reqs[1].Body, &p); err != nil {
			t.Fatal(err)
		}
		if p.Event != postmortem.EventActionReminder || !strings.Contains(p.Headline, "Retry card authorization once") ||
			p.URL != fmt.Sprintf("https://nines.example.com/incidents/%d", sc.inc.ID) || !strings.Contains(p.Text, "Tuesday 1 December 2026") {
			t.Errorf("webhook payload = %s, want an action_item.reminder naming the item, its due date and the incident page", reqs[1].Body)
		}

		// Running the same reminder again, as after a crash before its timer was deleted,
		// sends nothing: every contact method has its delivery recorded.
		item, err := sc.pm.Action(context.Background(), sc.item.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := sc.rem.Remind(context.Background(), postmortem.Notice{Item: item, When: postmortem.Before, At: beforeDue, Attempt: 1}); err != nil {
			t.Fatal(err)
		}
		if m, r := len(smtp.Mails()), len(hook.Requests()); m != 1 || r != 2 {
			t.Errorf("after running the reminder again: %d mails, %d webhook requests; want 1 and 2", m, r)
		}
	})
}

func TestAContactMethodThatStaysDownDoesNotHoldBackTheNextReminder(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		smtp := notifytest.StartSMTP(t, "none")
		hook := notifytest.StartReceiver(t)
		hook.Status = func(int) int { return 503 }
		sc := newReminderScene(t, db, smtp, fmt.Sprintf(`      - {id: hook, type: webhook, address: %q}`, hook.URL), "")

		sc.clock.Set(beforeDue)
		storetest.Eventually(t, 10*time.Second, "the email and the refused webhook", func() bool {
			return len(smtp.Mails()) == 1 && len(hook.Requests()) == 1
		})
		sc.waitForRetry(t)
		sc.clock.Set(afterDue.Add(time.Hour))
		storetest.Eventually(t, 10*time.Second, "the overdue reminder email", func() bool { return len(smtp.Mails()) == 2 })
		storetest.Eventually(t, 10*time.Second, "the overdue reminder's webhook to wait for its retry", func() bool {
			p, _ := sc.runner.Pending(context.Background(), reminderKind)
			return len(p) == 1 && p[0].Attempts > 0 && strings.Contains(p[0].Payload, `"when":"overdue"`)
		})
		if subject, _ := readMail(t, smtp.Mails()[1]); !strings.HasPrefix(subject, "[nines] Overdue action item (due 2026-12-01)") {
			t.Errorf("second mail's subject = %q, want the overdue reminder", subject)
		}
		if n := len(smtp.Mails()); n != 2 {
			t.Errorf("%d mails, want the before-due and the overdue reminder once each", n)
		}
	})
}

func TestAnOwnerWithoutContactMethodsHasTheReminderRecordedAsUndeliverable(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
		rem := postmortem.NewContactReminder(w.pm, channels.For(notify.DefaultClient), "")
		inc, err := w.incidents.Declare(ctx, incident.DeclareParams{ServiceID: "checkout", Title: "Payments fail", SEV: "SEV2", Actor: alice}, w.cfg.Get())
		if err != nil {
			t.Fatal(err)
		}
		item, err := w.pm.AddAction(ctx, inc.ID, postmortem.NewAction{Title: "Add a runbook", Owner: "nobody", Kind: "docs"}, alice)
		if err != nil {
			t.Fatal(err)
		}
		if err := rem.Remind(ctx, postmortem.Notice{Item: item, When: postmortem.Overdue, At: afterDue, Attempt: 1}); err != nil {
			t.Fatalf("Remind = %v; an owner nobody can reach is not worth retrying", err)
		}
		got := w.events(t, inc.ID, postmortem.EventActionReminderFailed)
		if len(got) != 1 || got[0]["error"] != "nobody has no contact method a reminder can use" || got[0]["permanent"] != true {
			t.Errorf("failed reminders on the timeline = %v, want one saying nobody cannot be reached, for good", got)
		}
	})
}
