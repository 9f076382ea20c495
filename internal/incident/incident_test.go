package incident_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

var schemas = []store.Schema{store.OwnSchema, incident.Schema}

var epoch = time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)

var (
	monitor = incident.Actor{Name: "integration:events_v2", Source: "events_v2"}
	bob     = incident.Actor{Name: "user:bob", Source: "api"}
)

func newService(t *testing.T, db *store.DB) (*incident.Service, *clock.Fake) {
	c := clock.NewFake(epoch)
	return incident.New(db, c, nil), c
}

// open opens an incident in its own transaction and returns its id.
func open(t *testing.T, db *store.DB, s *incident.Service, service, title string) int64 {
	t.Helper()
	var id int64
	err := db.Tx(context.Background(), func(tx *store.Tx) error {
		inc, err := s.Open(context.Background(), tx, incident.OpenParams{ServiceID: service, Severity: "error", Title: title, At: s.Now(), Actor: monitor})
		id = inc.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestOpenRecordsTheIncidentAndItsFirstTimelineEntry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		ctx := context.Background()
		var opened incident.Incident
		err := db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			opened, err = s.Open(ctx, tx, incident.OpenParams{ServiceID: "checkout", Severity: "critical", Title: strings.Repeat("é", 1100),
				At: epoch, Actor: monitor, Data: map[string]string{"dedup_key": "k"}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, opened.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != incident.Triggered || got.Urgency != "high" || got.Severity != "critical" || got.ServiceID != "checkout" ||
			!got.CreatedAt.Equal(epoch) || !got.UpdatedAt.Equal(epoch) || got.AcknowledgedAt != nil || got.ResolvedAt != nil {
			t.Errorf("incident = %+v", got)
		}
		// The title is cut at 1024 characters, the most an alert summary has, so a summary
		// of any script is the title whole.
		if n := utf8.RuneCountInString(got.Title); n != 1024 || got.Title != strings.Repeat("é", 1024) || got.Title != opened.Title {
			t.Errorf("title of %d characters, want the first 1024", n)
		}
		tl, err := s.Timeline(ctx, opened.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(tl) != 1 || tl[0].Type != incident.EventTriggered || tl[0].Actor != monitor.Name || tl[0].Source != monitor.Source ||
			!tl[0].At.Equal(epoch) || string(tl[0].Data) != `{"dedup_key":"k"}` {
			t.Errorf("timeline = %+v", tl)
		}
	})
}

func TestTransitionsFollowTheLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s, c := newService(t, db)
		ctx := context.Background()
		id := open(t, db, s, "checkout", "x")

		c.Advance(time.Minute)
		inc, err := s.Acknowledge(ctx, id, bob)
		if err != nil || inc.State != incident.Acknowledged || !inc.AcknowledgedAt.Equal(epoch.Add(time.Minute)) {
			t.Fatalf("Acknowledge = %+v, %v", inc, err)
		}
		c.Advance(time.Minute)
		// Acknowledging again changes nothing: not the time of the first acknowledgement, not the timeline.
		inc, err = s.Acknowledge(ctx, id, bob)
		if err != nil || !inc.AcknowledgedAt.Equal(epoch.Add(time.Minute)) {
			t.Errorf("second Acknowledge = %+v, %v", inc, err)
		}
		c.Advance(time.Minute)
		inc, err = s.Resolve(ctx, id, bob)
		if err != nil || inc.State != incident.Resolved || !inc.ResolvedAt.Equal(epoch.Add(3*time.Minute)) || !inc.AcknowledgedAt.Equal(epoch.Add(time.Minute)) {
			t.Fatalf("Resolve = %+v, %v", inc, err)
		}
		if _, err := s.Resolve(ctx, id, bob); err != nil {
			t.Errorf("resolving a resolved incident: %v, want a no-op", err)
		}
		_, err = s.Acknowledge(ctx, id, bob)
		var es *incident.ErrState
		if !errors.As(err, &es) || es.State != incident.Resolved || !strings.Contains(err.Error(), "cannot acknowledge") {
			t.Errorf("acknowledging a resolved incident: %v, want an ErrState", err)
		}
		err = db.Tx(ctx, func(tx *store.Tx) error {
			_, _, err := s.Transition(ctx, tx, id, incident.Triggered, s.Now(), bob, nil)
			return err
		})
		if !errors.As(err, &es) {
			t.Errorf("re-triggering: %v, want an ErrState", err)
		}
		tl, _ := s.Timeline(ctx, id)
		var types []string
		for _, e := range tl {
			types = append(types, e.Type)
		}
		if got := strings.Join(types, " "); got != "incident.triggered incident.acknowledged incident.resolved" {
			t.Errorf("timeline = %s; no-op transitions must not add entries", got)
		}
		for _, missing := range []func() error{
			func() error { _, err := s.Acknowledge(ctx, 999, bob); return err },
			func() error { _, err := s.Resolve(ctx, 999, bob); return err },
			func() error { _, err := s.AddNote(ctx, 999, "x", bob); return err },
			func() error { _, err := s.Timeline(ctx, 999); return err },
			func() error { _, err := s.Get(ctx, 999); return err },
		} {
			if err := missing(); !errors.Is(err, incident.ErrNotFound) {
				t.Errorf("an unknown incident: %v, want ErrNotFound", err)
			}
		}
	})
}

func TestHooksSeeEveryChangeInsideItsTransaction(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		var seen []string
		errNo := errors.New("policy says no")
		s.OnChange(func(ctx context.Context, tx *store.Tx, ch incident.Change) error {
			// The change is already written in the hook's transaction.
			var state string
			if err := tx.QueryRow(ctx, `SELECT state FROM incidents WHERE id = ?`, ch.Incident.ID).Scan(&state); err != nil {
				return err
			}
			seen = append(seen, fmt.Sprintf("%s->%s(%s) by %s", ch.From, ch.Incident.State, state, ch.Actor.Name))
			if ch.Incident.State == incident.Resolved {
				return errNo
			}
			return nil
		})
		ctx := context.Background()
		id := open(t, db, s, "checkout", "x")
		if _, err := s.Acknowledge(ctx, id, bob); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Resolve(ctx, id, bob); !errors.Is(err, errNo) {
			t.Fatalf("Resolve with a failing hook: %v", err)
		}
		want := "->triggered(triggered) by integration:events_v2, triggered->acknowledged(acknowledged) by user:bob, acknowledged->resolved(resolved) by user:bob"
		if got := strings.Join(seen, ", "); got != want {
			t.Errorf("hooks saw %s\nwant %s", got, want)
		}
		inc, _ := s.Get(ctx, id)
		tl, _ := s.Timeline(ctx, id)
		if inc.State != incident.Acknowledged || inc.ResolvedAt != nil || len(tl) != 2 || tl[1].Type != incident.EventAcknowledged {
			t.Errorf("after a failed resolve: incident %+v, timeline %+v; want neither the change nor its entry", inc, tl)
		}
	})
}

func TestNotesAreAppendedAndTouchTheIncident(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s, c := newService(t, db)
		ctx := context.Background()
		id := open(t, db, s, "checkout", "x")
		c.Advance(5 * time.Minute)
		ev, err := s.AddNote(ctx, id, `rolled back "v2" <script>`, bob)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != incident.EventNote || ev.Actor != "user:bob" || ev.Source != "api" || !ev.At.Equal(epoch.Add(5*time.Minute)) {
			t.Errorf("note = %+v", ev)
		}
		tl, _ := s.Timeline(ctx, id)
		if len(tl) != 2 || string(tl[1].Data) != `{"text":"rolled back \"v2\" \u003cscript\u003e"}` {
			t.Errorf("timeline = %+v", tl)
		}
		if inc, _ := s.Get(ctx, id); !inc.UpdatedAt.Equal(epoch.Add(5 * time.Minute)) {
			t.Errorf("updated_at = %v after a note", inc.UpdatedAt)
		}
	})
}

func TestListFiltersByServiceAndState(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		ctx := context.Background()
		ids := map[string]int64{}
		for _, name := range []string{"checkout-1", "search-1", "checkout-2", "search-2", "checkout-3"} {
			svc, _, _ := strings.Cut(name, "-")
			ids[name] = open(t, db, s, svc, name)
		}
		s.Acknowledge(ctx, ids["checkout-2"], bob)
		s.Resolve(ctx, ids["checkout-1"], bob)
		s.Resolve(ctx, ids["search-2"], bob)

		cases := []struct {
			name   string
			filter incident.Filter
			want   string
		}{
			{"everything, newest first", incident.Filter{}, "checkout-3 search-2 checkout-2 search-1 checkout-1"},
			{"one service", incident.Filter{ServiceIDs: []string{"checkout"}}, "checkout-3 checkout-2 checkout-1"},
			{"two services", incident.Filter{ServiceIDs: []string{"checkout", "search"}}, "checkout-3 search-2 checkout-2 search-1 checkout-1"},
			{"a service with no incidents", incident.Filter{ServiceIDs: []string{"billing"}}, ""},
			{"one state", incident.Filter{States: []incident.State{incident.Resolved}}, "search-2 checkout-1"},
			{"open states", incident.Filter{States: []incident.State{incident.Triggered, incident.Acknowledged}}, "checkout-3 checkout-2 search-1"},
			{"service and state", incident.Filter{ServiceIDs: []string{"checkout"}, States: []incident.State{incident.Triggered}}, "checkout-3"},
			{"a limit", incident.Filter{Limit: 2}, "checkout-3 search-2"},
		}
		for _, c := range cases {
			incs, _, err := s.List(ctx, c.filter)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			var titles []string
			for _, inc := range incs {
				titles = append(titles, inc.Title)
			}
			if got := strings.Join(titles, " "); got != c.want {
				t.Errorf("%s: %q, want %q", c.name, got, c.want)
			}
		}
		counts, err := s.OpenCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(counts) != 2 || counts["checkout"] != 2 || counts["search"] != 1 {
			t.Errorf("OpenCounts = %v, want checkout 2 and search 1", counts)
		}
	})
}

func TestListPagesThroughEveryIncidentOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		ctx := context.Background()
		const total = 23
		for i := range total {
			svc := "checkout"
			if i%3 == 0 {
				svc = "search"
			}
			open(t, db, s, svc, fmt.Sprint(i))
		}
		for _, limit := range []int{1, 5, 10, 23, 24, 1000} {
			var seen []int64
			cursor, pages := "", 0
			for {
				incs, next, err := s.List(ctx, incident.Filter{Limit: limit, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(incs) > limit {
					t.Fatalf("limit %d: a page of %d", limit, len(incs))
				}
				for _, inc := range incs {
					seen = append(seen, inc.ID)
				}
				if next == "" {
					break
				}
				if len(incs) != limit {
					t.Fatalf("limit %d: a short page of %d with a next cursor", limit, len(incs))
				}
				cursor = next
			}
			if len(seen) != total {
				t.Errorf("limit %d: saw %d incidents, want %d", limit, len(seen), total)
			}
			for i := 1; i < len(seen); i++ {
				if seen[i] >= seen[i-1] {
					t.Fatalf("limit %d: ids not strictly newest first: %v", limit, seen)
				}
			}
			if want := (total + limit - 1) / limit; pages != want {
				t.Errorf("limit %d: %d pages, want %d (no empty last page)", limit, pages, want)
			}
		}
		// A cursor keeps its filter's meaning across pages.
		incs, next, _ := s.List(ctx, incident.Filter{ServiceIDs: []string{"search"}, Limit: 5})
		more, last, _ := s.List(ctx, incident.Filter{ServiceIDs: []string{"search"}, Limit: 5, Cursor: next})
		if len(incs) != 5 || len(more) != 3 || last != "" {
			t.Errorf("search pages: %d then %d (next %q), want 5 then 3 and no cursor", len(incs), len(more), last)
		}
		for _, inc := range append(incs, more...) {
			if inc.ServiceID != "search" {
				t.Errorf("a filtered page holds %s", inc.ServiceID)
			}
		}
		for _, bad := range []string{"!!!", "bm90LWEtbnVtYmVy" /* "not-a-number" */} {
			if _, _, err := s.List(ctx, incident.Filter{Cursor: bad}); !errors.Is(err, incident.ErrCursor) {
				t.Errorf("cursor %q: %v, want ErrCursor", bad, err)
			}
		}
		all, _, _ := s.List(ctx, incident.Filter{Limit: 5000})
		if len(all) != total {
			t.Errorf("a limit over 1000 returned %d", len(all))
		}
	})
}

func TestAlertAddedCountsAndRaisesSeverity(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		ctx := context.Background()
		id := open(t, db, s, "checkout", "x") // opened at error
		for _, sev := range []string{"warning", "critical", "info", "bogus"} {
			err := db.Tx(ctx, func(tx *store.Tx) error {
				return s.AlertAdded(ctx, tx, id, sev, s.Now(), incident.Actor{Name: "integration:test", Source: "test"})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		inc, _ := s.Get(ctx, id)
		if inc.AlertCount != 4 || inc.Severity != "critical" {
			t.Errorf("incident = %+v, want 4 alerts at critical", inc)
		}
	})
}

func TestANoteIsTimedWhenItIsWritten(t *testing.T) {
	// Not parallel: it reads every goroutine's stack to see the note wait, and must not mistake
	// another test's notes for its own.
	db := storetest.SQLite(t, schemas)
	s, c := newService(t, db)
	ctx := context.Background()
	id := open(t, db, s, "checkout", "x")

	// An acknowledgement holds SQLite's writer while the note waits for it.
	acquired, release := make(chan struct{}), make(chan struct{})
	ackDone := make(chan error, 1)
	go func() {
		ackDone <- db.Tx(ctx, func(tx *store.Tx) error {
			close(acquired)
			<-release
			_, _, err := s.Transition(ctx, tx, id, incident.Acknowledged, s.Now(), bob, nil)
			return err
		})
	}()
	<-acquired
	noted := make(chan error, 1)
	go func() {
		_, err := s.AddNote(ctx, id, "looking", monitor)
		noted <- err
	}()
	storetest.Eventually(t, 10*time.Second, "the note to wait for the database", func() bool {
		buf := make([]byte, 1<<20)
		return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "incident.(*Service).AddNote")
	})
	c.Advance(time.Minute)
	close(release)
	if err := <-ackDone; err != nil {
		t.Fatal(err)
	}
	if err := <-noted; err != nil {
		t.Fatal(err)
	}
	tl, _ := s.Timeline(ctx, id)
	if len(tl) != 3 || tl[1].Type != incident.EventAcknowledged || tl[2].Type != incident.EventNote || tl[2].At.Before(tl[1].At) {
		t.Errorf("timeline = %+v; the note was written after the acknowledgement", tl)
	}
}

func TestAPanickingHookAbortsItsChangeLikeAnError(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		ctx := context.Background()
		id := open(t, db, s, "checkout", "x")
		s.OnChange(func(ctx context.Context, tx *store.Tx, ch incident.Change) error {
			var policies map[string][]string
			policies["none"] = append(policies["none"], "boom") // a hook's bug
			return nil
		})
		if _, err := s.Acknowledge(ctx, id, bob); err == nil || !strings.Contains(err.Error(), "hook panicked") {
			t.Fatalf("Acknowledge with a panicking hook: %v", err)
		}
		inc, _ := s.Get(ctx, id)
		tl, _ := s.Timeline(ctx, id)
		if inc.State != incident.Triggered || len(tl) != 1 {
			t.Errorf("the aborted change was kept: %+v, %d timeline entries", inc, len(tl))
		}
		if _, err := s.AddNote(ctx, id, "the database is still writable", bob); err != nil {
			t.Errorf("a write after the panic: %v", err)
		}
	})
}

// TestADecisionTakenOnAnIncidentHoldsUntilItCommits: a transaction that read an incident with
// GetTx to decide (page or not) commits before an acknowledgement made meanwhile, which waits
// for it: the page is never sent on a state that no longer held. (SQLite has one writer, so
// the acknowledgement waits there by construction.)
func TestADecisionTakenOnAnIncidentHoldsUntilItCommits(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		id := open(t, db, s, "checkout", "Checkout is down")
		ctx := context.Background()
		read, decide := make(chan struct{}), make(chan struct{})
		acked := make(chan error, 1)
		txDone := make(chan error, 1)
		go func() {
			txDone <- db.Tx(ctx, func(tx *store.Tx) error {
				inc, err := s.GetTx(ctx, tx, id)
				if err != nil {
					return err
				}
				if inc.State != incident.Triggered {
					return fmt.Errorf("state %s, want triggered", inc.State)
				}
				close(read)
				<-decide
				return nil
			})
		}()
		<-read
		go func() { _, err := s.Acknowledge(ctx, id, bob); acked <- err }()
		select {
		case err := <-acked:
			t.Fatalf("the acknowledgement committed (err %v) while a decision on the triggered incident was open", err)
		case <-time.After(300 * time.Millisecond):
		}
		close(decide)
		if err := <-txDone; err != nil {
			t.Fatal(err)
		}
		if err := <-acked; err != nil {
			t.Fatal(err)
		}
	})
}

func TestRulesLeftUnsetAreNamed(t *testing.T) {
	cases := []struct {
		name  string
		rules incident.Rules
		want  string
	}{
		{"no rule set names all four, with who sets each", incident.Rules{},
			"incident rules unset: SEVFor (from the config's incidents.sev_for), UrgencyFor (from escalation), Retitle (from drills), OnCallFor (from escalation)"},
		{"a missing urgency rule is named alone", incident.Rules{SEVFor: func(string) string { return "SEV1" },
			Retitle:   func(context.Context, *store.Tx, incident.OpenParams) (string, error) { return "", nil },
			OnCallFor: func(context.Context, string, time.Time) ([]string, error) { return nil, nil }},
			"incident rules unset: UrgencyFor (from escalation)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.rules.Check()
			if err == nil || err.Error() != c.want {
				t.Errorf("Check() = %v, want %q", err, c.want)
			}
		})
	}
	all := incident.Rules{SEVFor: func(string) string { return "SEV1" },
		UrgencyFor: func(_, _, asked string) string { return asked },
		Retitle:    func(context.Context, *store.Tx, incident.OpenParams) (string, error) { return "", nil },
		OnCallFor:  func(context.Context, string, time.Time) ([]string, error) { return nil, nil }}
	if err := all.Check(); err != nil {
		t.Errorf("every rule set: Check() = %v", err)
	}
}
