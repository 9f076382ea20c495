package alert_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// newNode is one nines node: its own incident service and pipeline (and so its own open keys)
// on a database other nodes may share, on clock c.
func newNode(t *testing.T, db *store.DB, c *clock.Fake, hooks ...incident.Hook) *spine {
	s := &spine{t: t, db: db, clock: c, incidents: incident.New(db, c, nil)}
	s.p = alert.NewPipeline(db, s.incidents, c, alert.Options{})
	for _, h := range hooks {
		s.incidents.OnChange(h)
	}
	s.stopped = make(chan struct{})
	go func() { s.p.Run(); close(s.stopped) }()
	t.Cleanup(func() { s.p.Close(); <-s.stopped })
	return s
}

// repeatEntry is the data of an alert.repeated entry.
type repeatEntry struct {
	AlertID int64     `json:"alert_id"`
	Count   int       `json:"count"`
	LastAt  time.Time `json:"last_at"`
}

// bursts reads the alert.repeated entries of an incident's timeline, as the API shows them.
func (s *spine) bursts(incidentID int64) []repeatEntry {
	s.t.Helper()
	var out []repeatEntry
	for _, e := range s.timeline(incidentID) {
		if e.Type != alert.EventRepeated {
			continue
		}
		var d repeatEntry
		if err := json.Unmarshal(e.Data, &d); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// alertByID reads one alert of an incident.
func (s *spine) alertByID(incidentID, id int64) alert.Alert {
	s.t.Helper()
	for _, a := range s.alerts(incidentID) {
		if a.ID == id {
			return a
		}
	}
	s.t.Fatalf("incident %d has no alert %d", incidentID, id)
	return alert.Alert{}
}

func TestTwoNodesCountEveryRepeatWhenEachOpensAndResolvesWhatTheOtherKnows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		c := clock.NewFake(epoch)
		a, b := newNode(t, db, c), newNode(t, db, c)

		// A opens the alert; B, which has never seen the key, gets a repeat of it: its insert
		// meets A's open alert, and it counts the repeat there.
		first := a.one(byAlert, trigger("db/disk", "warning", "disk 90%"))
		c.Advance(time.Second)
		if r := b.one(byAlert, trigger("db/disk", "warning", "disk 91%")); r.Outcome != alert.Repeated || r.AlertID != first.AlertID {
			t.Fatalf("B's trigger of A's open alert: %+v, want a repeat of alert %d", r, first.AlertID)
		}
		// Both go on counting into the one burst B started.
		for i := 0; i < 3; i++ {
			c.Advance(time.Second)
			for _, n := range []*spine{a, b} {
				if r := n.one(byAlert, trigger("db/disk", "critical", "disk 95%")); r.Outcome != alert.Repeated || r.AlertID != first.AlertID {
					t.Fatalf("repeat %d: %+v", i, r)
				}
			}
		}
		got := a.alertByID(first.IncidentID, first.AlertID)
		if got.Count != 8 || !got.LastSeen.Equal(epoch.Add(4*time.Second)) {
			t.Errorf("alert counts %d, last seen %v; want 8 triggers, the last at %v", got.Count, got.LastSeen, epoch.Add(4*time.Second))
		}
		if bs := a.bursts(first.IncidentID); len(bs) != 1 || bs[0].Count != 7 || !bs[0].LastAt.Equal(epoch.Add(4*time.Second)) {
			t.Errorf("repeat entries = %+v; want one burst of 7 repeats ending at %v", bs, epoch.Add(4*time.Second))
		}
		if inc := a.incident(first.IncidentID); inc.Severity != incident.Critical {
			t.Errorf("incident severity %s after critical repeats, want critical", inc.Severity)
		}

		// B resolves it. A still knows the alert as open: its next trigger finds it resolved
		// and opens a new alert, which B, knowing none, then repeats.
		c.Advance(time.Second)
		if r := b.one(byAlert, resolve("db/disk")); r.Outcome != alert.Resolved {
			t.Fatalf("resolve: %+v", r)
		}
		c.Advance(time.Second)
		second := a.one(byAlert, trigger("db/disk", "error", "disk 99%"))
		if second.Outcome != alert.Opened || second.AlertID == first.AlertID || second.IncidentID == first.IncidentID {
			t.Fatalf("A's trigger after B resolved: %+v, want a new alert and incident", second)
		}
		if r := b.one(byAlert, trigger("db/disk", "error", "disk 99%")); r.Outcome != alert.Repeated || r.AlertID != second.AlertID {
			t.Fatalf("B's trigger of A's new alert: %+v, want a repeat of %d", r, second.AlertID)
		}

		// A person resolves the new incident through A; B, which knows the alert as open,
		// opens a third.
		if _, err := a.incidents.Resolve(context.Background(), second.IncidentID, alice); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Second)
		third := b.one(byAlert, trigger("db/disk", "error", "disk 99%"))
		if third.Outcome != alert.Opened || third.AlertID == second.AlertID {
			t.Fatalf("B's trigger after the incident was resolved: %+v, want a new alert", third)
		}
		if r := a.one(byAlert, trigger("db/disk", "error", "disk 99%")); r.Outcome != alert.Repeated || r.AlertID != third.AlertID {
			t.Fatalf("A's trigger of B's third alert: %+v", r)
		}

		var alerts, open, total int
		db.QueryRow(context.Background(), `SELECT COUNT(*), SUM(CASE WHEN state <> 'resolved' THEN 1 ELSE 0 END), SUM(count) FROM alerts`).Scan(&alerts, &open, &total)
		if alerts != 3 || open != 1 || total != 12 {
			t.Errorf("%d alerts (%d open) counting %d triggers; want 3 alerts, 1 open, 12 triggers", alerts, open, total)
		}
	})
}

func TestRepeatsWithoutAPauseShareOneTimelineEntry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s := newSpine(t, db)
		opened := s.one(byAlert, trigger("api/5xx", "error", "5xx above 5%"))
		for i := 1; i <= 3; i++ {
			s.clock.Advance(time.Minute)
			s.one(byAlert, trigger("api/5xx", "error", "5xx above 5%"))
		}
		// A burst still counting is read with its latest figures.
		if bs := s.bursts(opened.IncidentID); len(bs) != 1 || bs[0].Count != 3 || !bs[0].LastAt.Equal(epoch.Add(3*time.Minute)) {
			t.Fatalf("after three repeats a minute apart: %+v, want one entry of 3 repeats ending at +3m", bs)
		}
		// Past five minutes of quiet, the next repeat starts a new entry, and the one before
		// keeps its final figures in the timeline itself.
		if inc := s.incident(opened.IncidentID); !inc.UpdatedAt.Equal(epoch.Add(time.Minute)) {
			t.Errorf("incident updated at %v; want the burst's first repeat, %v", inc.UpdatedAt, epoch.Add(time.Minute))
		}
		s.clock.Advance(5*time.Minute + time.Millisecond)
		s.one(byAlert, trigger("api/5xx", "error", "5xx above 5%"))
		if inc := s.incident(opened.IncidentID); !inc.UpdatedAt.Equal(epoch.Add(8*time.Minute + time.Millisecond)) {
			t.Errorf("incident updated at %v; want the second burst's first repeat, %v", inc.UpdatedAt, epoch.Add(8*time.Minute+time.Millisecond))
		}
		s.clock.Advance(time.Minute)
		s.one(byAlert, trigger("api/5xx", "critical", "5xx above 20%"))
		bs := s.bursts(opened.IncidentID)
		if len(bs) != 2 || bs[0].Count != 3 || !bs[0].LastAt.Equal(epoch.Add(3*time.Minute)) ||
			bs[1].Count != 2 || !bs[1].LastAt.Equal(epoch.Add(9*time.Minute+time.Millisecond)) {
			t.Fatalf("bursts = %+v; want 3 repeats ending at +3m, then 2 ending at +9m", bs)
		}
		var stored string
		if err := db.QueryRow(context.Background(), `SELECT data FROM timeline WHERE type = 'alert.repeated' ORDER BY id LIMIT 1`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		var first repeatEntry
		json.Unmarshal([]byte(stored), &first)
		if first.Count != 3 || !first.LastAt.Equal(epoch.Add(3*time.Minute)) {
			t.Errorf("the finished burst as stored: %s, want its final count and time", stored)
		}
		a := s.alertByID(opened.IncidentID, opened.AlertID)
		if a.Count != 6 || !a.LastSeen.Equal(epoch.Add(9*time.Minute+time.Millisecond)) || a.Summary != "5xx above 20%" {
			t.Errorf("alert = %+v; want 6 triggers, the latest's time and summary", a)
		}
		inc := s.incident(opened.IncidentID)
		if inc.Severity != incident.Critical || !inc.UpdatedAt.Equal(epoch.Add(9*time.Minute+time.Millisecond)) {
			t.Errorf("incident = %+v; want critical, updated by the repeat that raised it", inc)
		}
		if got := s.types(opened.IncidentID); got != "incident.triggered alert.triggered alert.repeated alert.repeated incident.sev_changed" {
			t.Errorf("timeline = %s", got)
		}
	})
}

func TestARolledBackRequestTeachesThePipelineNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s := newSpine(t, db)
		errBoom := errors.New("boom")
		s.incidents.OnAppend(func(ctx context.Context, tx *store.Tx, incidentID int64, typ string, at time.Time, data string) error {
			var d struct {
				DedupKey string `json:"dedup_key"`
			}
			json.Unmarshal([]byte(data), &d)
			if d.DedupKey == "boom" {
				return errBoom
			}
			return nil
		})
		opened := s.one(byAlert, trigger("k", "warning", "queue backing up"))
		s.clock.Advance(time.Second)
		s.one(byAlert, trigger("k", "warning", "queue backing up"))

		// One request: a critical repeat of k (which would raise its incident), a new alert
		// "fresh", then an event that fails. None of it may stay, in the database or in what
		// the pipeline remembers.
		s.clock.Advance(time.Second)
		_, err := s.p.Submit(context.Background(), byAlert, []alert.Event{
			trigger("k", "critical", "queue full"), trigger("fresh", "error", "new"), trigger("boom", "error", "fails")})
		if !errors.Is(err, errBoom) {
			t.Fatalf("the failing request: %v", err)
		}
		if inc := s.incident(opened.IncidentID); inc.Severity != incident.Warning {
			t.Fatalf("the rolled back repeat raised the incident to %s", inc.Severity)
		}
		// Another alert may now take the row ids the rolled back one had.
		other := s.one(byAlert, trigger("other", "error", "other"))
		s.clock.Advance(time.Second)
		fresh := s.one(byAlert, trigger("fresh", "error", "new"))
		if fresh.Outcome != alert.Opened || fresh.AlertID == other.AlertID {
			t.Errorf("fresh after its rolled back opening: %+v, want a new alert of its own", fresh)
		}
		if r := s.one(byAlert, trigger("k", "critical", "queue full")); r.Outcome != alert.Repeated || r.AlertID != opened.AlertID {
			t.Fatalf("k after the rollback: %+v", r)
		}
		if inc := s.incident(opened.IncidentID); inc.Severity != incident.Critical {
			t.Errorf("incident severity %s after a committed critical repeat, want critical", inc.Severity)
		}
		if a := s.alertByID(opened.IncidentID, opened.AlertID); a.Count != 3 {
			t.Errorf("k counts %d triggers, want 3 (the rolled back one not among them)", a.Count)
		}
		if a := s.alertByID(other.IncidentID, other.AlertID); a.Count != 1 || a.DedupKey != "other" {
			t.Errorf("other = %+v, want its own single trigger", a)
		}
		if bs := s.bursts(opened.IncidentID); len(bs) != 1 || bs[0].Count != 2 {
			t.Errorf("bursts of k = %+v, want one of 2 repeats", bs)
		}
	})
}

// A node that did not see a burst begin (one started again after a crash, another node of a
// cluster) counts a repeat in it as the node that began it does: in the burst, the incident
// not marked updated again.
func TestARepeatInABurstBegunBeforeARestartLeavesTheIncidentAsItWas(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		c := clock.NewFake(epoch)
		before := newNode(t, db, c)
		opened := before.one(byAlert, trigger("disk/full", "error", "Disk full"))
		c.Advance(time.Minute)
		before.one(byAlert, trigger("disk/full", "error", "Disk full"))
		c.Advance(time.Minute)
		before.one(byAlert, trigger("disk/full", "error", "Disk full"))

		after := newNode(t, db, c) // as started again on the same database
		c.Advance(time.Minute)
		after.one(byAlert, trigger("disk/full", "warning", "Disk full"))
		if inc := after.incident(opened.IncidentID); !inc.UpdatedAt.Equal(epoch.Add(time.Minute)) {
			t.Errorf("incident updated at %v; want the burst's first repeat, %v", inc.UpdatedAt, epoch.Add(time.Minute))
		}
		if bs := after.bursts(opened.IncidentID); len(bs) != 1 || bs[0].Count != 3 {
			t.Errorf("bursts %+v, want one of 3 repeats", bs)
		}
		// A repeat that raises the incident still does, and marks it updated.
		c.Advance(time.Minute)
		after.one(byAlert, trigger("disk/full", "critical", "Disk full"))
		if inc := after.incident(opened.IncidentID); inc.Severity != incident.Critical || !inc.UpdatedAt.Equal(epoch.Add(4*time.Minute)) {
			t.Errorf("after a critical repeat: %s, updated at %v; want critical, updated then", inc.Severity, inc.UpdatedAt)
		}
	})
}
