package escalate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/timers"
)

var schemas = []store.Schema{store.OwnSchema, incident.Schema, timers.Schema, oncall.Schema, Schema}

// referenceConfig is the reference config of docs/oncall (config/testdata), with extra
// documents, pointed at the test's SMTP port.
func referenceConfig(t testing.TB, port int, extra string) *config.Config {
	t.Helper()
	ref, err := os.ReadFile("../config/testdata/oncall_reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse("nines.yaml", append(ref, "\n---\nserver: {base_url: \"http://nines.test\"}\n"+extra...))
	if err != nil {
		t.Fatal(err)
	}
	c.Notifications.Email.SMTP.Port = port
	return c
}

type harness struct {
	t         *testing.T
	db        *store.DB
	clock     *clock.Fake
	incidents *incident.Service
	engine    *Engine
	runner    *timers.Runner
	live      *config.Live
}

// start is the reference Monday: 2026-03-30 07:30Z, alice on call.
var start = time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)

func newHarness(t *testing.T, db *store.DB, cfg *config.Config, at time.Time) *harness {
	clk := clock.NewFake(at)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	live := config.NewLive(cfg)
	rules := &incident.Rules{}
	incs := incident.New(db, clk, rules)
	runner := timers.NewRunner(db, clk, log)
	e := New(db, live, incs, oncall.New(db, live, clk), runner, clk, log, Options{Rules: rules})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { runner.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; e.Wait() })
	return &harness{t: t, db: db, clock: clk, incidents: incs, engine: e, runner: runner, live: live}
}

func (h *harness) open(title string) incident.Incident {
	return h.openWith(title, "checkout", "critical", "high")
}

func (h *harness) openWith(title, service, severity, urgency string) incident.Incident {
	h.t.Helper()
	var inc incident.Incident
	err := h.db.Tx(context.Background(), func(tx *store.Tx) error {
		var err error
		inc, err = h.incidents.Open(context.Background(), tx, incident.OpenParams{ServiceID: service, Severity: severity, Urgency: urgency,
			Title: title, At: h.clock.Now(), Actor: incident.Actor{Name: "integration:test", Source: "test"}})
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return inc
}

// advance moves the clock and lets the runner and direct deliveries settle.
func (h *harness) advance(d time.Duration) {
	h.clock.Advance(d)
	h.settle()
}

func (h *harness) settle() {
	for i := 0; i < 5; i++ {
		h.runner.Wake()
		time.Sleep(20 * time.Millisecond)
		h.engine.Wait()
	}
}

func (h *harness) events(id int64, typ string) []map[string]any {
	h.t.Helper()
	evs, err := h.incidents.Timeline(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
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

func recipients(mails []notifytest.Mail) []string {
	var out []string
	for _, m := range mails {
		out = append(out, strings.Join(m.To, ","))
	}
	return out
}

func waitMails(t *testing.T, srv *notifytest.SMTP, n int) []notifytest.Mail {
	t.Helper()
	storetest.Eventually(t, 5*time.Second, fmt.Sprintf("%d mails", n), func() bool { return len(srv.Mails()) >= n })
	return srv.Mails()
}

func TestEscalationWalksThePolicy(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		srv := notifytest.StartSMTP(t, "none")
		h := newHarness(t, db, referenceConfig(t, srv.Port(), ""), start)
		inc := h.open("Checkout is down")

		mails := waitMails(t, srv, 1)
		if got := recipients(mails); len(got) != 1 || got[0] != "alice@example.com" {
			t.Fatalf("first page went to %v, want alice (on call on ops at 07:30Z)", got)
		}
		if !strings.Contains(mails[0].Data, "http://nines.test/a/") {
			t.Errorf("page lacks an acknowledge link:\n%s", mails[0].Data)
		}
		h.settle()
		if n := len(h.events(inc.ID, EventSent)); n != 1 {
			t.Errorf("%d notification.sent events, want 1", n)
		}

		h.advance(9 * time.Minute)
		if n := len(srv.Mails()); n != 1 {
			t.Fatalf("after 9 minutes %d mails, want still 1", n)
		}
		h.advance(time.Minute)
		waitMails(t, srv, 2)
		h.advance(10 * time.Minute) // repeat: step 1 again
		waitMails(t, srv, 3)
		h.advance(10 * time.Minute) // and step 2 again
		waitMails(t, srv, 4)
		h.advance(time.Hour) // the policy has run out
		if got := recipients(srv.Mails()); strings.Join(got, " ") != "alice@example.com carol@example.com alice@example.com carol@example.com" {
			t.Fatalf("pages went to %v", got)
		}
		steps := h.events(inc.ID, EventStep)
		if len(steps) != 4 {
			t.Fatalf("%d escalation steps on the timeline, want 4", len(steps))
		}
		if steps[1]["step"] != float64(2) || steps[2]["round"] != float64(2) {
			t.Errorf("steps = %v", steps)
		}
	})
}

func TestAcknowledgeStopsEscalationAndResolveStopsEverything(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		srv := notifytest.StartSMTP(t, "none")
		h := newHarness(t, db, referenceConfig(t, srv.Port(), ""), start)
		a := h.open("acknowledged soon")
		waitMails(t, srv, 1)
		h.settle()
		if _, err := h.incidents.Acknowledge(context.Background(), a.ID, incident.Actor{Name: "user:alice", Source: "test"}); err != nil {
			t.Fatal(err)
		}
		h.advance(time.Hour)
		if n := len(srv.Mails()); n != 1 {
			t.Fatalf("%d mails after acknowledge, want 1", n)
		}
		if len(h.events(a.ID, EventStopped)) != 1 {
			t.Errorf("no escalation.stopped on the timeline")
		}
		pend, _ := h.runner.Pending(context.Background(), kindEscalate)
		if len(pend) != 0 {
			t.Errorf("escalation timers left after acknowledge: %+v", pend)
		}

		r := h.open("resolved soon")
		waitMails(t, srv, 2)
		h.settle()
		if _, err := h.incidents.Resolve(context.Background(), r.ID, incident.Actor{Name: "user:alice", Source: "test"}); err != nil {
			t.Fatal(err)
		}
		h.advance(time.Hour)
		if n := len(srv.Mails()); n != 2 {
			t.Fatalf("%d mails after resolve, want 2", n)
		}
	})
}

func TestNotificationRulesFireWhileUnacknowledged(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		srv := notifytest.StartSMTP(t, "none")
		sms := notifytest.StartReceiver(t)
		voice := notifytest.StartReceiver(t)
		extra := fmt.Sprintf(`---
users:
  - id: dave
    time_zone: UTC
    contact_methods:
      - {type: email, address: dave@example.com}
      - {id: phone, type: webhook, address: "%s/sms"}
      - {id: call, type: webhook, address: "%s/voice"}
    notification_rules:
      - {contact_method: email, after: 0s}
      - {contact_method: phone, after: 1m}
      - {contact_method: call, after: 3m}
escalation_policies:
  - id: dave-policy
    steps: [{escalate_after: 30m, targets: [{user: dave}]}]
services:
  - {id: db, escalation_policy: dave-policy}
`, sms.URL, voice.URL)
		h := newHarness(t, db, referenceConfig(t, srv.Port(), extra), start)
		inc := h.openWith("db is slow", "db", "critical", "high")
		waitMails(t, srv, 1)
		h.advance(time.Minute)
		storetest.Eventually(t, 5*time.Second, "sms after 1m", func() bool { return len(sms.Requests()) == 1 })
		if len(voice.Requests()) != 0 {
			t.Fatalf("the call came before 3 minutes")
		}
		if _, err := h.incidents.Acknowledge(context.Background(), inc.ID, incident.Actor{Name: "user:dave", Source: "test"}); err != nil {
			t.Fatal(err)
		}
		h.advance(5 * time.Minute)
		if len(voice.Requests()) != 0 {
			t.Fatalf("the call was placed after the acknowledgement")
		}
	})
}

// TestSMTPOutage: the mail server is down when the incident opens; escalation reaches step 2
// meanwhile; when the server returns, each page arrives exactly once.
func TestSMTPOutage(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		srv := notifytest.StartSMTP(t, "none")
		port := srv.Port()
		srv.Stop()
		h := newHarness(t, db, referenceConfig(t, port, ""), start)
		inc := h.open("Checkout is down")
		h.settle()
		for i := 0; i < 5; i++ {
			h.advance(2 * time.Minute)
		}
		steps := h.events(inc.ID, EventStep)
		if len(steps) != 2 || steps[1]["step"] != float64(2) {
			t.Fatalf("escalation did not reach step 2 during the outage: %v", steps)
		}
		failed := h.events(inc.ID, EventFailed)
		if len(failed) < 3 {
			t.Fatalf("%d failures recorded, want several retries on the timeline", len(failed))
		}
		if len(h.events(inc.ID, EventSent)) != 0 || len(srv.Mails()) != 0 {
			t.Fatalf("something was sent while SMTP was down")
		}

		srv.Restart()
		h.advance(5 * time.Minute) // the longest backoff
		h.advance(time.Second)
		got := recipients(waitMails(t, srv, 2))
		h.advance(time.Second)
		h.advance(3 * time.Minute) // still before the repeat at 20 minutes
		got = recipients(srv.Mails())
		if strings.Join(got, " ") != "alice@example.com carol@example.com" && strings.Join(got, " ") != "carol@example.com alice@example.com" {
			t.Fatalf("after the outage pages went to %v, want alice and carol once each", got)
		}
		sent := h.events(inc.ID, EventSent)
		if len(sent) != 2 {
			t.Fatalf("%d notification.sent events, want 2", len(sent))
		}
	})
}

// flaky fails its first calls, then records.
type flaky struct {
	mu    sync.Mutex
	fails int
	got   []notify.Message
	keys  []string // of every attempt, failed ones included
}

func (f *flaky) Notify(ctx context.Context, to config.ContactMethod, m notify.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, m.Key)
	if f.fails > 0 {
		f.fails--
		return fmt.Errorf("receiver down")
	}
	f.got = append(f.got, m)
	return nil
}

func (f *flaky) messages() []notify.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]notify.Message(nil), f.got...)
}

func TestRateLimitBundlesAStorm(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		extra := `---
users:
  - {id: erin, time_zone: UTC, contact_methods: [{type: webhook, address: "http://127.0.0.1:1/x", rate_limit: {count: 2, per: 1m}}]}
escalation_policies:
  - {id: erin-policy, steps: [{escalate_after: 1h, targets: [{user: erin}]}]}
services:
  - {id: storm, escalation_policy: erin-policy}
`
		h := newHarness(t, db, referenceConfig(t, 1, extra), start)
		rec := &flaky{}
		h.engine.Channel = func(*config.Config, string) notify.Notifier { return rec }
		for i := 0; i < 30; i++ {
			h.openWith(fmt.Sprintf("storm %d", i), "storm", "critical", "high")
			h.engine.Wait()
		}
		h.settle()
		if n := len(rec.messages()); n != 2 {
			t.Fatalf("%d messages during the storm, want 2 (the rate limit)", n)
		}
		h.advance(time.Minute)
		storetest.Eventually(t, 5*time.Second, "the bundle", func() bool { return len(rec.messages()) == 3 })
		b := rec.messages()[2]
		if len(b.Bundle) != 27 {
			t.Fatalf("the bundle holds %d more incidents, want 27", len(b.Bundle))
		}
		h.advance(time.Minute)
		if n := len(rec.messages()); n != 3 {
			t.Fatalf("%d messages, want 3: a storm of 30 becomes 3 messages", n)
		}
	})
}

func TestLowUrgencyWaitsForWorkingHours(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		extra := `---
users:
  - {id: fay, time_zone: Europe/Paris, working_hours: {days: [weekdays], start: "09:00", end: "18:00"}, contact_methods: [{type: webhook, address: "http://127.0.0.1:1/x"}]}
escalation_policies:
  - {id: fay-policy, steps: [{escalate_after: 1h, targets: [{user: fay}]}], severity_urgency: {critical: high}}
services:
  - {id: batch, escalation_policy: fay-policy, urgency: low}
`
		// Saturday 2026-04-04 03:00 in Paris.
		h := newHarness(t, db, referenceConfig(t, 1, extra), time.Date(2026, 4, 4, 1, 0, 0, 0, time.UTC))
		rec := &flaky{}
		h.engine.Channel = func(*config.Config, string) notify.Notifier { return rec }
		low := h.openWith("nightly batch late", "batch", "warning", "low")
		h.openWith("batch lost data", "batch", "critical", "low")
		h.settle()
		if got := rec.messages(); len(got) != 1 || got[0].Title != "batch lost data" {
			t.Fatalf("at 3 AM on a Saturday sent %v; want only the critical one (severity makes it high urgency)", got)
		}
		d := h.events(low.ID, EventDeferred)
		if len(d) != 1 || d[0]["until"] != "2026-04-06T07:00:00Z" {
			t.Fatalf("deferred = %v, want until Monday 09:00 Paris (07:00Z)", d)
		}
		h.clock.Set(time.Date(2026, 4, 6, 7, 0, 0, 0, time.UTC))
		h.settle()
		storetest.Eventually(t, 5*time.Second, "the low-urgency page on Monday morning", func() bool { return len(rec.messages()) == 2 })
	})
}

func TestRetriesUseTheSameIdempotencyKey(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db, referenceConfig(t, 1, ""), start)
		rec := &flaky{fails: 3}
		h.engine.Channel = func(*config.Config, string) notify.Notifier { return rec }
		inc := h.open("flaky receiver")
		for i := 0; i < 6; i++ {
			h.advance(8 * time.Second)
		}
		install, err := db.InstallID(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("inc%d.%d.%s:r0:s0:alice:email", inc.ID, inc.CreatedAt.UnixMilli(), install)
		got := rec.messages()
		if len(got) != 1 || got[0].Key != want {
			t.Fatalf("messages %+v; want one with key %s", got, want)
		}
		rec.mu.Lock()
		for i, k := range rec.keys {
			if k != want {
				t.Errorf("attempt %d carried key %s; want every attempt to carry %s", i+1, k, want)
			}
		}
		rec.mu.Unlock()
		failed := h.events(inc.ID, EventFailed)
		if len(failed) != 2 {
			t.Fatalf("%d failure rows on the timeline, want 2 (the first, and one counting the repeats)", len(failed))
		}
		if failed[0]["attempt"] != float64(1) || failed[1]["attempt"] != float64(3) || failed[1]["count"] != float64(2) {
			t.Errorf("failures recorded as %v", failed)
		}
		if sent := h.events(inc.ID, EventSent); len(sent) != 1 || sent[0]["attempt"] != float64(4) {
			t.Errorf("sent = %v, want one, on attempt 4", sent)
		}
	})
}

func TestManualEscalationAndReassignment(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db, referenceConfig(t, 1, ""), start)
		rec := &flaky{}
		h.engine.Channel = func(*config.Config, string) notify.Notifier { return rec }
		inc := h.open("manual")
		h.settle()
		ctx := context.Background()
		if err := h.engine.EscalateNow(ctx, inc.ID, incident.Actor{Name: "user:alice", Source: "test"}); err != nil {
			t.Fatal(err)
		}
		h.settle()
		if err := h.engine.Reassign(ctx, inc.ID, "bob", incident.Actor{Name: "user:carol", Source: "test"}); err != nil {
			t.Fatal(err)
		}
		h.settle()
		var to []string
		for _, m := range rec.messages() {
			to = append(to, m.Key[strings.Index(m.Key, ":s"):])
		}
		if strings.Join(to, " ") != ":s0:alice:email :s1:carol:email :s-1:bob:email" {
			t.Fatalf("pages %v; want alice, then carol by hand, then bob by reassignment", to)
		}
		h.advance(time.Hour)
		if n := len(rec.messages()); n != 3 {
			t.Fatalf("%d pages; the policy must stop after a reassignment", n)
		}
		if err := h.engine.Reassign(ctx, inc.ID, "zed", incident.Actor{}); err == nil {
			t.Errorf("reassigning to an unknown user was accepted")
		}
	})
}

func TestLinks(t *testing.T) {
	db := storetest.SQLite(t, schemas)
	// A link acts for a user of the config in force; this one has dots in its id, which the
	// link's payload must carry whole.
	h := newHarness(t, db, referenceConfig(t, 1, "users: [{id: alice.b, contact_methods: [{type: email, address: ab@example.com}]}]\n"), start)
	h.engine.Channel = func(*config.Config, string) notify.Notifier { return &flaky{} }
	inc := h.open("linked")
	ctx := context.Background()
	tok, err := h.engine.SignLink(ctx, Link{Incident: inc.ID, User: "alice.b", Action: ActionAcknowledge, Expires: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"a changed signature is refused", tok[:len(tok)-2] + "AA", ErrLinkInvalid},
		{"a changed incident is refused", strings.Replace(tok, tok[:4], "cmVz", 1), ErrLinkInvalid},
		{"garbage is refused", "not-a-token", ErrLinkInvalid},
	}
	for _, tc := range cases {
		if _, err := h.engine.VerifyLink(ctx, tc.token); err != tc.want {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
	lk, got, err := h.engine.UseLink(ctx, tok)
	if err != nil || got.State != incident.Acknowledged || lk.User != "alice.b" {
		t.Fatalf("UseLink = %+v, %+v, %v", lk, got, err)
	}
	evs, _ := h.incidents.Timeline(ctx, inc.ID)
	found := false
	for _, e := range evs {
		found = found || (e.Type == incident.EventAcknowledged && e.Actor == "user:alice.b" && e.Source == "link")
	}
	if !found {
		t.Errorf("the acknowledgement is not on the timeline as alice.b via link")
	}
	h.clock.Advance(2 * time.Hour)
	if _, err := h.engine.VerifyLink(ctx, tok); err != ErrLinkExpired {
		t.Errorf("expired link: err = %v", err)
	}
}

// TestCrashAfterCommitLosesNoPage: the process dies between the commit and the delivery; the
// durable timer delivers the page once, after the grace period.
func TestCrashAfterCommitLosesNoPage(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db, referenceConfig(t, 1, ""), start)
		rec := &flaky{}
		h.engine.Channel = func(*config.Config, string) notify.Notifier { return rec }
		h.engine.crashAfterCommit = true
		inc := h.open("nobody was there to send it")
		h.settle()
		if n := len(rec.messages()); n != 0 {
			t.Fatalf("%d pages sent by a crashed process", n)
		}
		h.advance(directGrace)
		storetest.Eventually(t, 5*time.Second, "the page from the timer", func() bool { return len(rec.messages()) == 1 })
		// Recorded and its timer gone before the clock jumps past the timer's lease, as they are
		// long before in real time.
		storetest.Eventually(t, 5*time.Second, "the page recorded", func() bool { return len(h.events(inc.ID, EventSent)) == 1 })
		storetest.Eventually(t, 5*time.Second, "the page's timer done", func() bool {
			pend, err := h.runner.Pending(context.Background(), kindNotify)
			return err == nil && len(pend) == 0
		})
		h.advance(5 * time.Minute)
		if got := rec.messages(); len(got) != 1 || got[0].IncidentID != inc.ID {
			t.Fatalf("pages %+v, want exactly one", got)
		}
	})
}

func FuzzVerifyLink(f *testing.F) {
	db := storetest.SQLite(f, schemas)
	l := &links{db: db}
	good, _ := l.sign(context.Background(), Link{Incident: 7, User: "alice", Action: ActionAcknowledge, Expires: start.Add(time.Hour)})
	all, _ := l.sign(context.Background(), Link{Bundle: 3, User: "alice", Action: ActionAcknowledgeAll, Expires: start.Add(time.Hour)})
	f.Add(good)
	f.Add(all)
	f.Add("")
	f.Add(".")
	f.Add("YWNrLjcuMTc3NDg1NTgwMC5hbGljZQ.xxxx")
	f.Fuzz(func(t *testing.T, token string) {
		lk, err := l.verify(context.Background(), token, start)
		if err == nil && token != good && token != all {
			t.Fatalf("a forged token %q was accepted as %+v", token, lk)
		}
	})
}

func TestLoadReportCountsOffHoursWork(t *testing.T) {
	db := storetest.SQLite(t, schemas)
	night := time.Date(2026, 3, 31, 1, 0, 0, 0, time.UTC) // Tuesday 03:00 in Paris
	h := newHarness(t, db, referenceConfig(t, 1, ""), night)
	h.engine.Channel = func(*config.Config, string) notify.Notifier { return &flaky{} }
	ctx := context.Background()
	handle := func(ackAfter, resolveAfter time.Duration) {
		inc := h.open("work")
		h.settle()
		h.clock.Advance(ackAfter)
		tok, _ := h.engine.SignLink(ctx, Link{Incident: inc.ID, User: "alice", Action: ActionAcknowledge, Expires: h.clock.Now().Add(time.Hour)})
		if _, _, err := h.engine.UseLink(ctx, tok); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(resolveAfter)
		if _, err := h.incidents.Resolve(ctx, inc.ID, incident.Actor{Name: "user:alice", Source: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	handle(10*time.Minute, 5*time.Hour) // acknowledged 03:10, resolved 08:10 Paris
	h.clock.Set(time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC))
	handle(5*time.Minute, time.Hour)                         // Wednesday noon in Paris
	h.clock.Set(time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)) // the period is over
	rep, err := h.engine.oncall.LoadReport(ctx, h.engine, h.incidents, nil, time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var alice *oncall.Load
	for i := range rep.Users {
		if rep.Users[i].UserID == "alice" {
			alice = &rep.Users[i]
		}
	}
	want := oncall.Load{UserID: "alice", Name: "Alice", OnCallHours: 65, Pages: 2, OffHoursPages: 1, Incidents: 2, WorkHours: 6, OffHoursWork: 5, DaysOwed: 1}
	if alice == nil || *alice != want {
		t.Fatalf("alice's load = %+v\nwant %+v", alice, want)
	}
}

func TestStepTargetsTeamsLayersAndUsersOnce(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		extra := `---
teams: [{id: leads, members: [carol]}]
schedules:
  - id: two
    time_zone: Europe/Paris
    layers:
      - {name: secondary, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [bob]}
      - {name: primary, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [alice]}
escalation_policies:
  - id: wide
    steps: [{escalate_after: 1h, targets: [{schedule: two, layers: [secondary]}, {team: leads}, {user: carol}, {schedule: two}]}]
services:
  - {id: wide, escalation_policy: wide}
`
		h := newHarness(t, db, referenceConfig(t, 1, extra), start)
		rec := &flaky{}
		h.engine.Channel = func(*config.Config, string) notify.Notifier { return rec }
		inc := h.openWith("everyone", "wide", "critical", "high")
		h.settle()
		steps := h.events(inc.ID, EventStep)
		if len(steps) != 1 || fmt.Sprint(steps[0]["users"]) != "[bob carol alice]" {
			t.Fatalf("step = %v; want bob (the secondary layer, though primary is above it), carol (team and user, once) and alice (the schedule's final answer)", steps)
		}
		if n := len(rec.messages()); n != 3 {
			t.Fatalf("%d pages, want 3", n)
		}
	})
}

// TestNoPageAfterAcknowledgeFromAStaleSnapshot: a delivery that started from the incident as
// committed must not page once the incident has been acknowledged meanwhile.
func TestNoPageAfterAcknowledgeFromAStaleSnapshot(t *testing.T) {
	db := storetest.SQLite(t, schemas)
	h := newHarness(t, db, referenceConfig(t, 1, ""), start)
	rec := &flaky{}
	h.engine.Channel = func(*config.Config, string) notify.Notifier { return rec }
	h.engine.crashAfterCommit = true
	inc := h.open("acknowledged in a hurry")
	if _, err := h.incidents.Acknowledge(context.Background(), inc.ID, incident.Actor{Name: "user:alice", Source: "test"}); err != nil {
		t.Fatal(err)
	}
	j := job{Incident: inc.ID, User: "alice", Method: "email"}
	if err := h.engine.send(context.Background(), j, inc, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.messages()); n != 0 {
		t.Fatalf("%d pages sent for an acknowledged incident", n)
	}
	j.Step = -1 // a reassignment still pages
	if err := h.engine.send(context.Background(), j, inc, 1); err != nil || len(rec.messages()) != 1 {
		t.Fatalf("reassignment: %v, %d pages", err, len(rec.messages()))
	}
}

func TestOnCallForNamesThePolicysPeopleInOrder(t *testing.T) {
	h := newHarness(t, storetest.SQLite(t, schemas), referenceConfig(t, 1, ""), start)
	got, err := h.engine.OnCallFor(context.Background(), "checkout", start)
	if err != nil || strings.Join(got, " ") != "alice carol" {
		t.Fatalf("OnCallFor = %v, %v; want alice (on call on ops) then carol", got, err)
	}
	if got, _ := h.engine.OnCallFor(context.Background(), "nope", start); len(got) != 0 {
		t.Fatalf("a service without a policy has %v on call", got)
	}
}

func TestStepsThatReachNobodyAreSkipped(t *testing.T) {
	extra := `---
users:
  - {id: dave}
  - id: erin
    contact_methods: [{type: email, address: erin@example.com}]
    notification_rules: [{contact_method: email, urgency: high}]
fallback: [bob]
schedules:
  - id: nights
    time_zone: UTC
    layers: [{name: n, rotation: {length: 1w, handoff: "2026-01-05T00:00"}, users: [carol], restrictions: [{start: "22:00", end: "06:00"}]}]
escalation_policies:
  - id: partial
    repeat: 1
    steps: [{escalate_after: 10m, targets: [{schedule: ops}]}, {escalate_after: 10m, targets: [{user: dave}]}]
  - id: dark
    repeat: 1
    steps: [{escalate_after: 10m, targets: [{schedule: nights}]}, {escalate_after: 5m, targets: [{user: erin}]}]
services:
  - {id: partial, escalation_policy: partial}
  - {id: dark, escalation_policy: dark}
`
	paged := func(rec *flaky) []string {
		var out []string
		for _, m := range rec.messages() {
			out = append(out, fmt.Sprintf("#%d step %d", m.IncidentID, m.Step))
		}
		return out
	}
	t.Run("a round that reached someone goes on to the next round at once", func(t *testing.T) {
		h := newHarness(t, storetest.SQLite(t, schemas), referenceConfig(t, 1, extra), start)
		rec := &flaky{}
		h.engine.Channel = func(*config.Config, string) notify.Notifier { return rec }
		inc := h.openWith("half dark", "partial", "critical", "high")
		h.settle()
		h.advance(10 * time.Minute) // step 2 reaches nobody: round 2's step 1 pages alice again now
		if got := paged(rec); len(got) != 2 {
			t.Fatalf("pages %v, want alice twice: at once, then at once again when dave could not be reached", got)
		}
		h.advance(10 * time.Minute) // round 2's step 2 reaches nobody; the policy has run out
		if got := paged(rec); len(got) != 2 {
			t.Fatalf("pages %v after the policy ran out", got)
		}
		got, _ := h.incidents.Get(context.Background(), inc.ID)
		if got.ReachedNobodyAt != nil || len(h.events(inc.ID, EventNobody)) != 0 {
			t.Fatalf("every round reached alice, yet the incident says nobody was reached")
		}
		if n := len(h.events(inc.ID, EventSkipped)); n != 2 {
			t.Fatalf("%d steps skipped, want 2", n)
		}
	})
	t.Run("a round that reached nobody pages the top-level fallback, again each round", func(t *testing.T) {
		h := newHarness(t, storetest.SQLite(t, schemas), referenceConfig(t, 1, extra), start)
		rec := &flaky{}
		h.engine.Channel = func(*config.Config, string) notify.Notifier { return rec }
		inc := h.openWith("dark", "dark", "warning", "low") // erin takes high-urgency pages only
		h.settle()
		nobody := h.events(inc.ID, EventNobody)
		if len(nobody) != 1 || fmt.Sprint(nobody[0]["fallback"]) != "[bob]" ||
			nobody[0]["reason"] != "no step reached anyone (step 1: schedule nights has nobody on call at 2026-03-30T07:30:00Z; step 2: user erin has no contact method for low urgency)" {
			t.Fatalf("escalation.nobody = %v", nobody)
		}
		if got := paged(rec); fmt.Sprint(got) != fmt.Sprintf("[#%d step 3]", inc.ID) {
			t.Fatalf("pages %v, want bob paged as the step after the last", got)
		}
		h.advance(5 * time.Minute) // the last step's escalate_after: round 2, nobody again
		if n := len(h.events(inc.ID, EventNobody)); n != 2 || len(rec.messages()) != 2 {
			t.Fatalf("round 2: %d escalation.nobody, %d pages; want the fallback paged again", n, len(rec.messages()))
		}
		h.advance(time.Hour)
		if n := len(rec.messages()); n != 2 {
			t.Fatalf("%d pages after the policy ran out", n)
		}
	})
	t.Run("a fallback nobody can reach is said so", func(t *testing.T) {
		h := newHarness(t, storetest.SQLite(t, schemas), referenceConfig(t, 1, extra), start)
		h.engine.Channel = func(*config.Config, string) notify.Notifier { return nil } // no channel is set up
		inc := h.openWith("dark", "dark", "critical", "high")
		h.settle()
		nobody := h.events(inc.ID, EventNobody)
		if len(nobody) != 1 || nobody[0]["fallback_problem"] != "the fallback reaches nobody either: user bob has no contact method whose channel is set up under notifications" {
			t.Fatalf("escalation.nobody = %v", nobody)
		}
	})
}
