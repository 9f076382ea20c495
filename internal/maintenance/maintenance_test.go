package maintenance

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

const testConfig = `
services:
  - {id: checkout}
  - {id: search}
monitors:
  - {id: search-health, service: search, type: tcp, address: 'search:80'}
status_pages:
  - id: public
    components: [{name: Checkout, service: checkout}]
maintenance:
  - id: sunday-backups
    name: Sunday backups
    services: [search]
    cron: "0 2 * * 0"
    duration: 2h
    time_zone: Europe/Paris
`

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // a Monday

func newService(t *testing.T, db *store.DB) (*Service, *clock.Fake) {
	t.Helper()
	cfg, err := config.Parse("nines.yaml", []byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0)
	return New(db, clk, config.NewLive(cfg)), clk
}

func schemas() []store.Schema { return []store.Schema{store.OwnSchema, Schema} }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWindowsAreScheduledListedEditedAndCancelled(t *testing.T) {
	storetest.Each(t, schemas(), func(t *testing.T, db *store.DB) {
		s, clk := newService(t, db)
		ctx := context.Background()
		changes := 0
		s.OnChange(func(context.Context) { changes++ })
		w, err := s.Schedule(ctx, Params{Name: "Database upgrade", Services: []string{"checkout"},
			Start: "2026-03-02T12:00:00Z", End: "2026-03-02T14:00:00Z", Announce: true}, "user:alice")
		if err != nil {
			t.Fatal(err)
		}
		if w.ID != "1" || w.Source != SourceAPI || w.State != Scheduled || w.CreatedBy != "user:alice" || changes != 1 {
			t.Fatalf("scheduled window %+v (changes %d)", w, changes)
		}
		list, err := s.List(ctx, clk.Now())
		if err != nil || len(list) != 2 || list[0].ID != "1" || list[1].ID != "sunday-backups" || list[1].Source != SourceConfig {
			t.Fatalf("list: %+v %v, want the stored window (sooner) then the config one", list, err)
		}
		end := "2026-03-02T15:00:00Z"
		if w, err = s.Edit(ctx, "1", Patch{End: &end}, "user:bob"); err != nil || !w.End.Equal(at(end)) || w.UpdatedBy != "user:bob" {
			t.Fatalf("edit: %+v %v", w, err)
		}
		clk.Set(at("2026-03-02T13:00:00Z"))
		if w, _ = s.Get(ctx, "1"); w.State != InProgress {
			t.Fatalf("at 13:00 the window is %s, want in_progress", w.State)
		}
		if w, err = s.Cancel(ctx, "1", "user:bob"); err != nil || w.State != Cancelled || !w.CancelledAt.Equal(clk.Now()) || !w.End.Equal(clk.Now()) {
			t.Fatalf("cancelling a running window: %+v %v, want it cancelled, ending now", w, err)
		}
		if iv, _ := s.Intervals(ctx, Scope{Services: []string{"checkout"}}, t0, t0.Add(24*time.Hour)); len(iv) != 1 ||
			!iv[0].From.Equal(at("2026-03-02T12:00:00Z")) || !iv[0].To.Equal(at("2026-03-02T13:00:00Z")) {
			t.Fatalf("maintenance of checkout after the cancellation: %+v, want 12:00 to 13:00", iv)
		}
		for _, c := range []struct {
			name string
			err  error
			call func() error
		}{
			{"a finished window cannot be edited", ErrFinished, func() error { _, err := s.Edit(ctx, "1", Patch{End: &end}, "x"); return err }},
			{"a finished window cannot be cancelled again", ErrFinished, func() error { _, err := s.Cancel(ctx, "1", "x"); return err }},
			{"a config window is changed in the config", ErrFromConfig, func() error { _, err := s.Cancel(ctx, "sunday-backups", "x"); return err }},
			{"an unknown window is not found", ErrNotFound, func() error { _, err := s.Get(ctx, "42"); return err }},
		} {
			if err := c.call(); !errors.Is(err, c.err) {
				t.Errorf("%s: %v, want %v", c.name, err, c.err)
			}
		}
		w2, err := s.Schedule(ctx, Params{Name: "Later", Services: []string{"checkout"}, Start: "2026-03-03T12:00:00Z", End: "2026-03-03T13:00:00Z"}, "x")
		if err != nil {
			t.Fatal(err)
		}
		if w2, _ = s.Cancel(ctx, w2.ID, "x"); w2.State != Cancelled {
			t.Fatalf("a window cancelled before it starts is %s, want cancelled", w2.State)
		}
		if iv, _ := s.Intervals(ctx, Scope{Services: []string{"checkout"}}, at("2026-03-03T00:00:00Z"), at("2026-03-04T00:00:00Z")); len(iv) != 0 {
			t.Fatalf("a window cancelled before it started still covers %+v", iv)
		}
	})
}

func TestBadWindowsAreRefusedNamingTheField(t *testing.T) {
	s, _ := newService(t, storetest.SQLite(t, schemas()))
	for _, c := range []struct {
		name string
		p    Params
		want string
	}{
		{"a window needs a name", Params{Services: []string{"checkout"}, Start: "2026-03-02T12:00:00Z", End: "2026-03-02T13:00:00Z"}, "name:"},
		{"a window covers something", Params{Name: "x", Start: "2026-03-02T12:00:00Z", End: "2026-03-02T13:00:00Z"}, "services or monitors"},
		{"an unknown service is named", Params{Name: "x", Services: []string{"nope"}, Start: "2026-03-02T12:00:00Z", End: "2026-03-02T13:00:00Z"}, `unknown service "nope"`},
		{"an unknown status page is named", Params{Name: "x", Services: []string{"checkout"}, Start: "2026-03-02T12:00:00Z", End: "2026-03-02T13:00:00Z", StatusPages: []string{"zz"}}, `unknown status page "zz"`},
		{"the end comes after the start", Params{Name: "x", Services: []string{"checkout"}, Start: "2026-03-02T13:00:00Z", End: "2026-03-02T12:00:00Z"}, "end is not after start"},
		{"a start is a time", Params{Name: "x", Services: []string{"checkout"}, Start: "tomorrow", End: "2026-03-02T12:00:00Z"}, `start: "tomorrow" is not an RFC 3339 instant`},
		{"a window already over is refused", Params{Name: "x", Services: []string{"checkout"}, Start: "2026-03-01T12:00:00Z", End: "2026-03-01T13:00:00Z"}, "over already"},
		{"a recurring window needs a duration", Params{Name: "x", Services: []string{"checkout"}, Cron: "0 2 * * *"}, "needs a duration"},
		{"a bad cron is named", Params{Name: "x", Services: []string{"checkout"}, Cron: "every sunday", Duration: "1h"}, `cron "every sunday"`},
		{"a bad duration is named", Params{Name: "x", Services: []string{"checkout"}, Cron: "0 2 * * *", Duration: "long"}, `duration "long"`},
		{"a recurring window is not announced", Params{Name: "x", Services: []string{"checkout"}, Cron: "0 2 * * *", Duration: "1h", Announce: true}, "announce:"},
		{"a bad time zone is named", Params{Name: "x", Services: []string{"checkout"}, Cron: "0 2 * * *", Duration: "1h", TimeZone: "Mars/Olympus"}, `time_zone "Mars/Olympus"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Schedule(context.Background(), c.p, "x")
			var ie *invalid.Error
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want an input error naming %q", err, c.want)
			}
		})
	}
	if list, _ := s.List(context.Background(), t0); len(list) != 1 {
		t.Fatalf("%d windows after bad requests, want only the config one", len(list))
	}
}

func TestHoldCoversTheWholeServiceUntilTheLastAdjacentWindowEnds(t *testing.T) {
	s, _ := newService(t, storetest.SQLite(t, schemas()))
	ctx := context.Background()
	for _, p := range []Params{
		{Name: "first", Services: []string{"checkout"}, Start: "2026-03-02T12:00:00Z", End: "2026-03-02T13:00:00Z"},
		{Name: "second", Services: []string{"checkout"}, Start: "2026-03-02T13:00:00Z", End: "2026-03-02T13:30:00Z"},
		{Name: "monitor only", Monitors: []string{"search-health"}, Start: "2026-03-02T12:00:00Z", End: "2026-03-02T18:00:00Z"},
	} {
		if _, err := s.Schedule(ctx, p, "x"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name    string
		service string
		at      string
		held    bool
		until   string
	}{
		{"before the windows nothing is held", "checkout", "2026-03-02T11:59:59Z", false, ""},
		{"windows back to back hold until the last ends", "checkout", "2026-03-02T12:10:00Z", true, "2026-03-02T13:30:00Z"},
		{"the end is not covered", "checkout", "2026-03-02T13:30:00Z", false, ""},
		{"a window over a monitor does not hold its service", "search", "2026-03-02T12:10:00Z", false, ""},
		{"a recurring window holds in its own zone (Sunday 02:00 Paris)", "search", "2026-03-08T01:30:00Z", true, "2026-03-08T03:00:00Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			until, held, err := s.Hold(ctx, nil, c.service, at(c.at))
			if err != nil || held != c.held || (held && !until.Equal(at(c.until))) {
				t.Fatalf("hold = %v until %s (%v), want %v until %s", held, until, err, c.held, c.until)
			}
		})
	}
	if muted, _ := s.Muted(ctx, "search-health", at("2026-03-02T12:10:00Z")); !muted {
		t.Fatal("the monitor named by a window is not muted during it")
	}
	if in, _ := s.In(ctx, Scope{Monitors: []string{"search-health"}}, at("2026-03-02T19:00:00Z")); in {
		t.Fatal("the monitor is in maintenance after its window")
	}
}

func TestIntervalsMergeRecurringAndOneOffWindows(t *testing.T) {
	s, _ := newService(t, storetest.SQLite(t, schemas()))
	ctx := context.Background()
	// Sunday 2026-03-08 02:00-04:00 Paris is 01:00-03:00 UTC; a one-off window overlaps its end.
	if _, err := s.Schedule(ctx, Params{Name: "overrun", Services: []string{"search"}, Start: "2026-03-08T02:30:00Z", End: "2026-03-08T03:30:00Z"}, "x"); err != nil {
		t.Fatal(err)
	}
	iv, err := s.Intervals(ctx, Scope{Services: []string{"search"}}, at("2026-03-02T00:00:00Z"), at("2026-03-16T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Interval{
		{From: at("2026-03-08T01:00:00Z"), To: at("2026-03-08T03:30:00Z")},
		{From: at("2026-03-15T01:00:00Z"), To: at("2026-03-15T03:00:00Z")},
	}
	if len(iv) != len(want) {
		t.Fatalf("intervals %+v, want %+v", iv, want)
	}
	for i := range want {
		if !iv[i].From.Equal(want[i].From) || !iv[i].To.Equal(want[i].To) {
			t.Errorf("interval %d = %s..%s, want %s..%s", i, iv[i].From, iv[i].To, want[i].From, want[i].To)
		}
	}
}

// FuzzWindowParams feeds windows as the API receives them: whatever comes in is refused with
// an error or becomes a window whose occurrences over a year are bounded; nothing panics.
func FuzzWindowParams(f *testing.F) {
	f.Add(`{"name":"x","services":["checkout"],"start":"2026-03-02T12:00:00Z","end":"2026-03-02T13:00:00Z"}`)
	f.Add(`{"name":"x","services":["checkout"],"cron":"* * * * *","duration":"1m","time_zone":"Asia/Kolkata"}`)
	f.Add(`{"name":"x","monitors":["search-health"],"cron":"@every 1s","duration":"999w"}`)
	cfg, err := config.Parse("nines.yaml", []byte(testConfig))
	if err != nil {
		f.Fatal(err)
	}
	s := &Service{cfg: config.NewLive(cfg), clock: clock.NewFake(t0)}
	f.Fuzz(func(t *testing.T, raw string) {
		var p Params
		if json.Unmarshal([]byte(raw), &p) != nil {
			return
		}
		def, err := s.build(p, true)
		if err != nil {
			return
		}
		w := windowOf(def)
		if n := len(w.Occurrences(t0, t0.AddDate(1, 0, 0))); n > config.MaxOccurrences {
			t.Fatalf("%d occurrences in a year, above the bound", n)
		}
	})
}
