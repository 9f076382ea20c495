package alert_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

var schemas = []store.Schema{store.OwnSchema, incident.Schema, alert.Schema}

var epoch = time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)

var (
	byAlert   = alert.Target{ServiceID: "checkout", Integration: "events_v2", Grouping: "alert"}
	byService = alert.Target{ServiceID: "search", Integration: "alertmanager", Grouping: "service"}
	alice     = incident.Actor{Name: "user:alice", Source: "web"}
)

// spine is the alert pipeline and incident service on one database and a fake clock.
type spine struct {
	t         *testing.T
	db        *store.DB
	clock     *clock.Fake
	incidents *incident.Service
	p         *alert.Pipeline
	stopped   chan struct{} // closed when Run has returned
}

func newSpine(t *testing.T, db *store.DB, hooks ...incident.Hook) *spine {
	return newNode(t, db, clock.NewFake(epoch), hooks...)
}

func trigger(key, severity, summary string) alert.Event {
	return alert.Event{Action: alert.Trigger, DedupKey: key, Severity: severity, Summary: summary, Source: "test", Details: json.RawMessage(`{}`)}
}

func ack(key string) alert.Event     { return alert.Event{Action: alert.Acknowledge, DedupKey: key} }
func resolve(key string) alert.Event { return alert.Event{Action: alert.Resolve, DedupKey: key} }

func (s *spine) submit(t alert.Target, events ...alert.Event) []alert.Result {
	s.t.Helper()
	res, err := s.p.Submit(context.Background(), t, events)
	if err != nil {
		s.t.Fatalf("Submit: %v", err)
	}
	if len(res) != len(events) {
		s.t.Fatalf("%d results for %d events", len(res), len(events))
	}
	return res
}

func (s *spine) one(t alert.Target, ev alert.Event) alert.Result { return s.submit(t, ev)[0] }

func (s *spine) incident(id int64) incident.Incident {
	s.t.Helper()
	inc, err := s.incidents.Get(context.Background(), id)
	if err != nil {
		s.t.Fatalf("incident %d: %v", id, err)
	}
	return inc
}

func (s *spine) alerts(incidentID int64) []alert.Alert {
	s.t.Helper()
	as, err := s.p.ForIncident(context.Background(), incidentID)
	if err != nil {
		s.t.Fatal(err)
	}
	return as
}

func (s *spine) timeline(id int64) []incident.Event {
	s.t.Helper()
	evs, err := s.incidents.Timeline(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	return evs
}

func (s *spine) types(id int64) string {
	var out []string
	for _, e := range s.timeline(id) {
		out = append(out, e.Type)
	}
	return strings.Join(out, " ")
}

// rows counts the rows of every spine table, to check that something changed nothing.
func (s *spine) rows() string {
	s.t.Helper()
	var out []string
	for _, table := range []string{"alerts", "incidents", "timeline"} {
		var n int
		if err := s.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s=%d", table, n))
	}
	return strings.Join(out, " ")
}

func TestARepeatTriggerAddsToTheOpenAlert(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s := newSpine(t, db)
		first := s.one(byAlert, trigger("disk/db-1", "warning", "disk 90% full"))
		s.clock.Advance(time.Minute)
		again := s.one(byAlert, trigger("disk/db-1", "warning", "disk 95% full"))
		if first.Outcome != alert.Opened || again.Outcome != alert.Repeated {
			t.Fatalf("outcomes %s, %s; want opened, repeated", first.Outcome, again.Outcome)
		}
		if again.AlertID != first.AlertID || again.IncidentID != first.IncidentID || again.DedupKey != "disk/db-1" {
			t.Errorf("the repeat went to alert %d of incident %d, want %d of %d", again.AlertID, again.IncidentID, first.AlertID, first.IncidentID)
		}
		as := s.alerts(first.IncidentID)
		if len(as) != 1 {
			t.Fatalf("%d alerts, want 1", len(as))
		}
		a := as[0]
		if a.Count != 2 || !a.FirstSeen.Equal(epoch) || !a.LastSeen.Equal(epoch.Add(time.Minute)) || a.Summary != "disk 95% full" || a.State != "triggered" {
			t.Errorf("alert = %+v; want count 2, first seen at the start, last seen a minute later, the latest summary", a)
		}
		inc := s.incident(first.IncidentID)
		if inc.AlertCount != 1 || !inc.UpdatedAt.Equal(epoch.Add(time.Minute)) || inc.Title != "disk 90% full" {
			t.Errorf("incident = %+v; want 1 alert, updated at the repeat, titled by the first summary", inc)
		}
		if got := s.types(first.IncidentID); got != "incident.triggered alert.triggered alert.repeated" {
			t.Errorf("timeline = %s", got)
		}
	})
}

func TestAcknowledgeAndResolveActOnTheOpenAlert(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s := newSpine(t, db)
		opened := s.one(byAlert, trigger("k", "critical", "checkout down"))
		s.clock.Advance(time.Minute)
		acked := s.one(byAlert, ack("k"))
		if acked.Outcome != alert.Acknowledged || acked.AlertID != opened.AlertID {
			t.Fatalf("ack = %+v", acked)
		}
		inc := s.incident(opened.IncidentID)
		if inc.State != incident.Acknowledged || inc.AcknowledgedAt == nil || !inc.AcknowledgedAt.Equal(epoch.Add(time.Minute)) {
			t.Errorf("incident after ack = %+v", inc)
		}
		if a := s.alerts(opened.IncidentID)[0]; a.State != "acknowledged" || a.AcknowledgedAt == nil {
			t.Errorf("alert after ack = %+v", a)
		}
		if again := s.one(byAlert, ack("k")); again.Outcome != alert.Ignored {
			t.Errorf("acknowledging an acknowledged alert: %s, want ignored", again.Outcome)
		}
		s.clock.Advance(time.Minute)
		resolved := s.one(byAlert, resolve("k"))
		if resolved.Outcome != alert.Resolved || resolved.AlertID != opened.AlertID {
			t.Fatalf("resolve = %+v", resolved)
		}
		inc = s.incident(opened.IncidentID)
		if inc.State != incident.Resolved || inc.ResolvedAt == nil || !inc.ResolvedAt.Equal(epoch.Add(2*time.Minute)) {
			t.Errorf("incident after its only alert resolved = %+v", inc)
		}
		if a := s.alerts(opened.IncidentID)[0]; a.State != "resolved" || a.ResolvedAt == nil {
			t.Errorf("alert after resolve = %+v", a)
		}
		if again := s.one(byAlert, resolve("k")); again.Outcome != alert.Ignored {
			t.Errorf("resolving a resolved alert: %s, want ignored", again.Outcome)
		}
	})
}

func TestATriggerAfterResolveOpensANewAlertAndIncident(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s := newSpine(t, db)
		first := s.one(byAlert, trigger("k", "error", "first time"))
		s.one(byAlert, resolve("k"))
		second := s.one(byAlert, trigger("k", "error", "second time"))
		if second.Outcome != alert.Opened || second.AlertID == first.AlertID || second.IncidentID == first.IncidentID {
			t.Errorf("trigger after resolve = %+v, first was %+v; want a new alert and incident", second, first)
		}
		if s.incident(first.IncidentID).State != incident.Resolved || s.incident(second.IncidentID).State != incident.Triggered {
			t.Error("the old incident must stay resolved and the new one be triggered")
		}
	})
}

func TestAcknowledgeOrResolveOfAnUnknownKeyIsIgnored(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s := newSpine(t, db)
		s.one(byAlert, trigger("known", "error", "x"))
		before := s.rows()
		for _, ev := range []alert.Event{ack("unknown"), resolve("unknown")} {
			r := s.one(byAlert, ev)
			if r.Outcome != alert.Ignored || r.AlertID != 0 || r.IncidentID != 0 || r.DedupKey != "unknown" {
				t.Errorf("%s of an unknown key = %+v, want ignored", ev.Action, r)
			}
		}
		// The same key on another service is another alert.
		if r := s.one(byService, resolve("known")); r.Outcome != alert.Ignored {
			t.Errorf("resolving service checkout's key on service search: %s, want ignored", r.Outcome)
		}
		if after := s.rows(); after != before {
			t.Errorf("ignored events wrote rows: %s -> %s", before, after)
		}
	})
}

func TestServiceGroupingFoldsAlertsIntoOneIncident(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s := newSpine(t, db)
		a := s.one(byService, trigger("a", "warning", "search slow"))
		b := s.one(byService, trigger("b", "critical", "search down"))
		c := s.one(byService, trigger("c", "info", "index lag"))
		if b.IncidentID != a.IncidentID || c.IncidentID != a.IncidentID || b.AlertID == a.AlertID {
			t.Fatalf("alerts of a service-grouped service went to incidents %d, %d, %d", a.IncidentID, b.IncidentID, c.IncidentID)
		}
		inc := s.incident(a.IncidentID)
		if inc.AlertCount != 3 || inc.Severity != "critical" || inc.Title != "search slow" {
			t.Errorf("incident = %+v; want 3 alerts, raised to critical and kept there, titled by the first", inc)
		}
		s.one(byService, resolve("a"))
		s.one(byService, resolve("b"))
		if st := s.incident(a.IncidentID).State; st != incident.Triggered {
			t.Errorf("incident is %s with one alert still open", st)
		}
		s.one(byService, resolve("c"))
		if st := s.incident(a.IncidentID).State; st != incident.Resolved {
			t.Errorf("incident is %s once all its alerts resolved", st)
		}
		d := s.one(byService, trigger("a", "warning", "search slow again"))
		if d.IncidentID == a.IncidentID {
			t.Error("a trigger after the service's incident resolved joined the resolved incident")
		}
	})
}

func TestAlertGroupingOpensOneIncidentPerKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s := newSpine(t, db)
		for _, target := range []alert.Target{byAlert, {ServiceID: "default", Integration: "generic"}} {
			a := s.one(target, trigger("a", "error", "one"))
			b := s.one(target, trigger("b", "error", "two"))
			if a.IncidentID == b.IncidentID {
				t.Errorf("grouping %q: two keys share incident %d", target.Grouping, a.IncidentID)
			}
		}
	})
}

func TestARepeatTriggerWithAHigherSeverityRaisesTheIncident(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s := newSpine(t, db)
		r := s.one(byAlert, trigger("k", "warning", "disk 90%"))
		s.one(byAlert, trigger("k", "critical", "disk 99%"))
		if inc := s.incident(r.IncidentID); inc.Severity != "critical" {
			t.Errorf("incident severity = %s after its alert went critical", inc.Severity)
		}
		s.one(byAlert, trigger("k", "info", "disk 99%"))
		if inc := s.incident(r.IncidentID); inc.Severity != "critical" {
			t.Errorf("a lower repeat lowered the incident to %s", inc.Severity)
		}
		if a := s.alerts(r.IncidentID)[0]; a.Severity != "info" || a.Count != 3 {
			t.Errorf("alert = %+v; it keeps the severity last sent", a)
		}
	})
}

func TestAPersonAcknowledgingOrResolvingAnIncidentMovesItsAlerts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s := newSpine(t, db)
		ctx := context.Background()
		a := s.one(byService, trigger("a", "error", "one"))
		s.one(byService, trigger("b", "error", "two"))
		s.clock.Advance(time.Minute)
		inc, err := s.incidents.Acknowledge(ctx, a.IncidentID, alice)
		if err != nil {
			t.Fatal(err)
		}
		if inc.State != incident.Acknowledged {
			t.Fatalf("incident = %+v", inc)
		}
		for _, al := range s.alerts(a.IncidentID) {
			if al.State != "acknowledged" || al.AcknowledgedAt == nil || !al.AcknowledgedAt.Equal(epoch.Add(time.Minute)) {
				t.Errorf("alert %s after the incident was acknowledged: %+v", al.DedupKey, al)
			}
		}
		if r := s.one(byService, ack("a")); r.Outcome != alert.Ignored {
			t.Errorf("acknowledging an alert a person already acknowledged: %s", r.Outcome)
		}
		if r := s.one(byService, trigger("a", "error", "one")); r.Outcome != alert.Repeated {
			t.Errorf("a trigger for an acknowledged alert: %s, want repeated", r.Outcome)
		}
		if st := s.incident(a.IncidentID).State; st != incident.Acknowledged {
			t.Errorf("a repeat trigger moved the acknowledged incident to %s", st)
		}
		s.clock.Advance(time.Minute)
		if _, err := s.incidents.Resolve(ctx, a.IncidentID, alice); err != nil {
			t.Fatal(err)
		}
		for _, al := range s.alerts(a.IncidentID) {
			if al.State != "resolved" || al.ResolvedAt == nil || !al.ResolvedAt.Equal(epoch.Add(2*time.Minute)) {
				t.Errorf("alert %s after the incident was resolved: %+v", al.DedupKey, al)
			}
		}
		if r := s.one(byService, resolve("b")); r.Outcome != alert.Ignored {
			t.Errorf("the sender resolving an alert a person resolved: %s, want ignored", r.Outcome)
		}
		if r := s.one(byService, trigger("a", "error", "back")); r.Outcome != alert.Opened || r.IncidentID == a.IncidentID {
			t.Errorf("a trigger after a person resolved the incident = %+v; want a new alert and incident", r)
		}
		if _, err := s.incidents.Acknowledge(ctx, a.IncidentID, alice); err == nil {
			t.Error("acknowledging a resolved incident succeeded")
		}
	})
}

func TestTheTimelineRecordsEveryChangeInOrderWithActorAndSource(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s := newSpine(t, db)
		ctx := context.Background()
		r := s.one(byAlert, trigger("k", "error", "checkout 5xx"))
		s.clock.Advance(time.Second)
		s.one(byAlert, trigger("k", "error", "checkout 5xx"))
		s.clock.Advance(time.Second)
		if _, err := s.incidents.Acknowledge(ctx, r.IncidentID, alice); err != nil {
			t.Fatal(err)
		}
		s.clock.Advance(time.Second)
		if _, err := s.incidents.AddNote(ctx, r.IncidentID, "rolling back deploy 42", incident.Actor{Name: "token:ci", Source: "cli"}); err != nil {
			t.Fatal(err)
		}
		s.clock.Advance(time.Second)
		s.one(byAlert, resolve("k"))

		integration := "integration:events_v2 events_v2"
		want := []string{
			"0s incident.triggered " + integration,
			"0s alert.triggered " + integration,
			"1s alert.repeated " + integration,
			"2s incident.acknowledged user:alice web",
			"2s alert.acknowledged user:alice web", // the alert records who acknowledged it, and how
			"3s note token:ci cli",
			"4s alert.resolved " + integration,
			"4s incident.resolved " + integration,
		}
		evs := s.timeline(r.IncidentID)
		var got []string
		for _, e := range evs {
			got = append(got, fmt.Sprintf("%v %s %s %s", e.At.Sub(epoch), e.Type, e.Actor, e.Source))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		var data map[string]any
		json.Unmarshal(evs[1].Data, &data)
		if data["dedup_key"] != "k" || data["alert_id"] != float64(r.AlertID) || data["summary"] != "checkout 5xx" || data["action"] != "trigger" {
			t.Errorf("alert.triggered data = %s", evs[1].Data)
		}
		data = nil
		json.Unmarshal(evs[4].Data, &data)
		if data["alert_id"] != float64(r.AlertID) || data["dedup_key"] != "k" || data["reason"] != "incident acknowledged" {
			t.Errorf("alert.acknowledged data = %s", evs[4].Data)
		}
		json.Unmarshal(evs[5].Data, &data)
		if data["text"] != "rolling back deploy 42" {
			t.Errorf("note data = %s", evs[5].Data)
		}
		json.Unmarshal(evs[7].Data, &data)
		if data["reason"] != "all alerts resolved" {
			t.Errorf("incident.resolved data = %s; it should say why", evs[7].Data)
		}
	})
}

var errHook = errors.New("escalation policy missing")

func TestAFailingHookLeavesNeitherTheChangeNorItsTimelineEntry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		hook := func(ctx context.Context, tx *store.Tx, ch incident.Change) error {
			if ch.Incident.Title == "boom" || ch.Incident.State == incident.Acknowledged {
				return errHook
			}
			return nil
		}
		s := newSpine(t, db, hook)
		ctx := context.Background()

		before := s.rows()
		if _, err := s.p.Submit(ctx, byAlert, []alert.Event{trigger("k", "error", "boom")}); !errors.Is(err, errHook) {
			t.Errorf("Submit err = %v, want the hook's", err)
		}
		if after := s.rows(); after != before {
			t.Errorf("a trigger whose incident hook failed wrote rows: %s -> %s", before, after)
		}

		r := s.one(byAlert, trigger("k", "error", "fine"))
		before = s.rows()
		if _, err := s.p.Submit(ctx, byAlert, []alert.Event{ack("k")}); !errors.Is(err, errHook) {
			t.Errorf("Submit(ack) err = %v, want the hook's", err)
		}
		if _, err := s.incidents.Acknowledge(ctx, r.IncidentID, alice); !errors.Is(err, errHook) {
			t.Errorf("Acknowledge err = %v, want the hook's", err)
		}
		if after := s.rows(); after != before {
			t.Errorf("acknowledgements whose hook failed wrote rows: %s -> %s", before, after)
		}
		if inc := s.incident(r.IncidentID); inc.State != incident.Triggered || inc.AcknowledgedAt != nil {
			t.Errorf("incident = %+v; the failed acknowledgement changed it", inc)
		}
		if a := s.alerts(r.IncidentID)[0]; a.State != "triggered" {
			t.Errorf("alert is %s after a failed acknowledgement", a.State)
		}
		if got := s.types(r.IncidentID); got != "incident.triggered alert.triggered" {
			t.Errorf("timeline = %s", got)
		}
	})
}

func TestARequestIsCommittedWholeOrNotAtAll(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s := newSpine(t, db, func(ctx context.Context, tx *store.Tx, ch incident.Change) error {
			if ch.Incident.Title == "boom" {
				return errHook
			}
			return nil
		})
		before := s.rows()
		res, err := s.p.Submit(context.Background(), byAlert, []alert.Event{trigger("a", "error", "fine"), trigger("b", "error", "boom")})
		if !errors.Is(err, errHook) || res != nil {
			t.Fatalf("Submit = %v, %v; want the hook's error and no results", res, err)
		}
		if after := s.rows(); after != before {
			t.Errorf("half a request was written: %s -> %s", before, after)
		}
	})
}

// waitQueued waits until n goroutines are parked in Pipeline.Submit waiting for their answer,
// that is, until n requests are queued.
func waitQueued(t *testing.T, n int) {
	t.Helper()
	storetest.Eventually(t, 10*time.Second, fmt.Sprintf("%d queued requests", n), func() bool {
		buf := make([]byte, 1<<22)
		buf = buf[:runtime.Stack(buf, true)]
		waiting := 0
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "[select") && strings.Contains(g, "alert.(*Pipeline).Submit") {
				waiting++
			}
		}
		return waiting >= n
	})
}

func TestOneFailingRequestDoesNotAffectTheOthersInItsBatch(t *testing.T) {
	// Not parallel: it reads every goroutine's stack to see where the pipeline waits, and must
	// not mistake another test's goroutines for its own.
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		gate, inGate := make(chan struct{}), make(chan struct{})
		var gateOnce sync.Once
		var mu sync.Mutex
		txOf := map[string]*store.Tx{} // incident title -> the transaction it was opened in
		s := newSpine(t, db, func(ctx context.Context, tx *store.Tx, ch incident.Change) error {
			mu.Lock()
			txOf[ch.Incident.Title] = tx
			mu.Unlock()
			switch ch.Incident.Title {
			case "gate":
				gateOnce.Do(func() { close(inGate) })
				<-gate
			case "boom":
				return errHook
			}
			return nil
		})
		var batches []int
		s.p.Committed = func(events int, took time.Duration) {
			mu.Lock()
			batches = append(batches, events)
			mu.Unlock()
		}
		ctx := context.Background()

		// The first request holds the pipeline while the others queue up behind it. Its batch is
		// closed once its hook runs: only then can no later request join it.
		gateDone := make(chan error, 1)
		go func() {
			_, err := s.p.Submit(ctx, byAlert, []alert.Event{trigger("gate", "error", "gate")})
			gateDone <- err
		}()
		<-inGate

		const n = 40
		var wg sync.WaitGroup
		results := make([][]alert.Result, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				title := fmt.Sprint("ok-", i)
				if i == n/2 {
					title = "boom"
				}
				results[i], errs[i] = s.p.Submit(ctx, byAlert, []alert.Event{trigger(fmt.Sprint("k", i), "error", title)})
			}()
		}
		waitQueued(t, n+1)
		close(gate)
		wg.Wait()
		if err := <-gateDone; err != nil {
			t.Fatal(err)
		}

		for i := range n {
			if i == n/2 {
				if !errors.Is(errs[i], errHook) {
					t.Errorf("the failing request returned %v", errs[i])
				}
				continue
			}
			if errs[i] != nil || len(results[i]) != 1 || results[i][0].Outcome != alert.Opened {
				t.Errorf("request %d: %v, %v", i, results[i], errs[i])
			}
		}
		var alerts, incidents int
		db.QueryRow(ctx, `SELECT COUNT(*) FROM alerts`).Scan(&alerts)
		db.QueryRow(ctx, `SELECT COUNT(*) FROM incidents WHERE title = 'boom'`).Scan(&incidents)
		if alerts != n || incidents != 0 {
			t.Errorf("%d alerts (want %d: the gate and every good request) and %d incidents of the failed request (want 0)", alerts, n, incidents)
		}
		mu.Lock()
		defer mu.Unlock()
		if txOf["boom"] == nil || txOf["boom"] != txOf["ok-0"] || txOf["boom"] != txOf[fmt.Sprint("ok-", n-1)] {
			t.Errorf("the failing request did not share its batch with the others (batches %v)", batches)
		}
		if len(batches) != 2 || batches[0] != 1 || batches[1] != n {
			t.Errorf("batches = %v, want [1 %d]: the gate alone, then everything queued behind it", batches, n)
		}
	})
}

// submitOnTwoNodes sends n one-event requests at once, alternating between two pipelines on
// one database (two nodes of a cluster), and fails the test if any is refused.
func submitOnTwoNodes(t *testing.T, db *store.DB, target alert.Target, n int, event func(i int) alert.Event) {
	t.Helper()
	nodes := []*spine{newSpine(t, db), newSpine(t, db)}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := nodes[i%2].p.Submit(context.Background(), target, []alert.Event{event(i)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestConcurrentTriggersOfOneKeyMakeOneAlert(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		const n = 30
		submitOnTwoNodes(t, db, byAlert, n, func(int) alert.Event { return trigger("same", "error", "flapping") })
		var alerts, total int
		db.QueryRow(context.Background(), `SELECT COUNT(*), SUM(count) FROM alerts`).Scan(&alerts, &total)
		if alerts != 1 || total != n {
			t.Errorf("%d alerts with %d triggers counted; want 1 alert counting %d", alerts, total, n)
		}
	})
}

func TestSubmitAfterCloseIsRefused(t *testing.T) {
	t.Parallel()
	db := storetest.SQLite(t, schemas)
	s := newSpine(t, db)
	s.p.Close()
	<-s.stopped
	if _, err := s.p.Submit(context.Background(), byAlert, []alert.Event{trigger("k", "error", "x")}); !errors.Is(err, alert.ErrClosed) {
		t.Errorf("Submit after Close: %v, want ErrClosed", err)
	}
}

func TestTwoNodesFoldAServicesAlertsIntoOneIncident(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		const n = 30
		submitOnTwoNodes(t, db, byService, n, func(i int) alert.Event { return trigger(fmt.Sprint("key-", i), "error", "search slow") })
		var incidents, alertCount int
		db.QueryRow(context.Background(), `SELECT COUNT(*), SUM(alert_count) FROM incidents WHERE service_id = 'search'`).Scan(&incidents, &alertCount)
		if incidents != 1 || alertCount != n {
			t.Errorf("%d incidents holding %d alerts; want one incident holding all %d", incidents, alertCount, n)
		}
	})
}

func TestAPanickingHookFailsOnlyItsRequest(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s := newSpine(t, db, func(ctx context.Context, tx *store.Tx, ch incident.Change) error {
			if ch.Incident.Title == "panic" {
				var m map[string]int
				m["boom"]++ // a hook's bug
			}
			return nil
		})
		before := s.rows()
		if _, err := s.p.Submit(context.Background(), byAlert, []alert.Event{trigger("p", "error", "panic")}); err == nil || !strings.Contains(err.Error(), "panic") {
			t.Errorf("Submit with a panicking hook: %v, want an error saying so", err)
		}
		if after := s.rows(); after != before {
			t.Errorf("the panicking request wrote rows: %s -> %s", before, after)
		}
		if r := s.one(byAlert, trigger("k", "error", "fine")); r.Outcome != alert.Opened {
			t.Errorf("the pipeline after a panic: %+v", r)
		}
	})
}

func TestOneRequestMayTriggerRepeatAndResolveOneKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s := newSpine(t, db)
		res := s.submit(byAlert, trigger("k", "error", "x"), trigger("k", "error", "x"), resolve("k"), trigger("k", "error", "again"))
		var got []string
		for _, r := range res {
			got = append(got, string(r.Outcome))
		}
		if strings.Join(got, " ") != "opened repeated resolved opened" || res[3].IncidentID == res[0].IncidentID {
			t.Errorf("outcomes %v (incidents %d, %d)", got, res[0].IncidentID, res[3].IncidentID)
		}
	})
}

// waitStack waits until some goroutine's stack holds every one of parts.
func waitStack(t *testing.T, what string, parts ...string) {
	t.Helper()
	storetest.Eventually(t, 10*time.Second, what, func() bool {
		buf := make([]byte, 1<<22)
		buf = buf[:runtime.Stack(buf, true)]
	next:
		for _, g := range strings.Split(string(buf), "\n\n") {
			for _, p := range parts {
				if !strings.Contains(g, p) {
					continue next
				}
			}
			return true
		}
		return false
	})
}

func TestEventsAreTimedWhenTheyAreWrittenNotWhenTheyQueued(t *testing.T) {
	// Not parallel: it reads every goroutine's stack to see where the pipeline waits, and must
	// not mistake another test's goroutines for its own.
	db := storetest.SQLite(t, schemas)
	s := newSpine(t, db)
	ctx := context.Background()
	r := s.one(byAlert, trigger("k", "error", "x"))

	// A person's acknowledgement holds the database while the sender's resolve waits for it.
	acquired, release := make(chan struct{}), make(chan struct{})
	ackDone := make(chan error, 1)
	go func() {
		ackDone <- db.Tx(ctx, func(tx *store.Tx) error {
			close(acquired)
			<-release
			_, _, err := s.incidents.Transition(ctx, tx, r.IncidentID, incident.Acknowledged, s.incidents.Now(), alice, nil)
			return err
		})
	}()
	<-acquired
	resolved := make(chan error, 1)
	go func() {
		_, err := s.p.Submit(ctx, byAlert, []alert.Event{resolve("k")})
		resolved <- err
	}()
	waitStack(t, "the pipeline to wait for the database", "alert.(*Pipeline).commit", "database/sql")
	s.clock.Advance(time.Minute)
	close(release)
	if err := <-ackDone; err != nil {
		t.Fatal(err)
	}
	if err := <-resolved; err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Minute)

	inc := s.incident(r.IncidentID)
	if inc.State != incident.Resolved || inc.ResolvedAt.Before(*inc.AcknowledgedAt) {
		t.Errorf("incident acknowledged at %v but resolved at %v: the resolve was written after the acknowledgement", inc.AcknowledgedAt, inc.ResolvedAt)
	}
	if got := s.types(r.IncidentID); got != "incident.triggered alert.triggered incident.acknowledged alert.acknowledged alert.resolved incident.resolved" {
		t.Errorf("timeline = %s", got)
	}
}
