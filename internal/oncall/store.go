package oncall

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
)

// Schema holds overrides. Times are UTC unix milliseconds. Migration 2 lets an override cover
// one layer.
var Schema = store.Schema{Component: "oncall", Migrations: []string{`
CREATE TABLE oncall_overrides (
	id {{id}},
	schedule_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	start_at BIGINT NOT NULL,
	end_at BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	created_by TEXT NOT NULL
);
CREATE INDEX oncall_overrides_schedule ON oncall_overrides (schedule_id, end_at);
`, `
ALTER TABLE oncall_overrides ADD COLUMN layer TEXT NOT NULL DEFAULT '';
`}}

// Service answers who is on call from the config in force and the overrides in the database.
type Service struct {
	db    *store.DB
	cfg   *config.Live
	clock clock.Clock

	// current caches each schedule's current and future overrides for a second: every page
	// asks who is on call now, and at a thousand pages a second the answer barely changes.
	// Changes made through this Service show at once; those made on another node within
	// cacheTTL.
	mu      sync.Mutex
	current map[string]cachedOverrides
}

type cachedOverrides struct {
	fetched time.Time // wall clock, for the TTL
	since   time.Time // the list holds every override ending after this instant
	list    []Override
}

const cacheTTL = time.Second

// New returns the on-call service.
func New(db *store.DB, cfg *config.Live, c clock.Clock) *Service {
	return &Service{db: db, cfg: cfg, clock: c}
}

// ErrUnknownSchedule is returned for a schedule id the config does not declare.
var ErrUnknownSchedule = errors.New("unknown schedule")

// ErrOverrideNotFound is returned when deleting an override that does not exist.
var ErrOverrideNotFound = errors.New("override not found")

// MaxOverride is the longest override accepted; longer cover belongs in the config.
const MaxOverride = 92 * 24 * time.Hour

// Schedule returns the declared schedule id.
func (s *Service) Schedule(id string) (*config.Schedule, error) {
	sc := s.cfg.Get().Schedule(id)
	if sc == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownSchedule, id)
	}
	return sc, nil
}

// Overrides lists the overrides of a schedule that overlap [from, to), oldest first (so later
// ones win in Shifts).
func (s *Service) Overrides(ctx context.Context, scheduleID string, from, to time.Time) ([]Override, error) {
	rows, err := s.db.Query(ctx, `SELECT id, schedule_id, user_id, layer, start_at, end_at, created_at, created_by
		FROM oncall_overrides WHERE schedule_id = ? AND end_at > ? AND start_at < ? ORDER BY id`,
		scheduleID, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Override{}
	for rows.Next() {
		var o Override
		var start, end, created int64
		if err := rows.Scan(&o.ID, &o.ScheduleID, &o.UserID, &o.Layer, &start, &end, &created, &o.CreatedBy); err != nil {
			return nil, err
		}
		o.Start, o.End, o.CreatedAt = ms(start), ms(end), ms(created)
		out = append(out, o)
	}
	return out, rows.Err()
}

// AddOverride puts o.UserID on call for o.ScheduleID over [o.Start, o.End): on o.Layer only
// when it names one, else on the whole schedule.
func (s *Service) AddOverride(ctx context.Context, o Override) (Override, error) {
	cfg := s.cfg.Get()
	sc, err := s.Schedule(o.ScheduleID)
	if err != nil {
		return o, err
	}
	var layers []string
	for _, l := range sc.Layers {
		layers = append(layers, l.Name)
	}
	switch {
	case o.Layer != "" && !contains(layers, o.Layer):
		return o, invalid.Field("layer", "schedule %s has no layer %q (it has %s; leave layer out to cover the whole schedule)",
			sc.ID, o.Layer, strings.Join(layers, ", "))
	case o.UserID == "":
		return o, invalid.Field("", "user_id is required")
	case cfg.User(o.UserID) == nil:
		return o, invalid.Field("user_id", "unknown user %q", o.UserID)
	case o.Start.IsZero() || o.End.IsZero():
		return o, invalid.Field("", "start and end are required (RFC 3339 instants)")
	case !o.End.After(o.Start):
		return o, invalid.Field("", "end must be after start")
	case o.End.Sub(o.Start) > MaxOverride:
		return o, invalid.Field("", "an override may last at most %d days; change the schedule for longer cover", int(MaxOverride.Hours()/24))
	}
	o.Start, o.End = o.Start.UTC().Truncate(time.Millisecond), o.End.UTC().Truncate(time.Millisecond)
	o.CreatedAt = s.clock.Now().UTC().Truncate(time.Millisecond)
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		id, err := tx.InsertID(ctx, `INSERT INTO oncall_overrides (schedule_id, user_id, layer, start_at, end_at, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, o.ScheduleID, o.UserID, o.Layer, o.Start.UnixMilli(), o.End.UnixMilli(), o.CreatedAt.UnixMilli(), o.CreatedBy)
		o.ID = id
		return err
	})
	s.forget(o.ScheduleID)
	return o, err
}

// DeleteOverride removes an override of a schedule.
func (s *Service) DeleteOverride(ctx context.Context, scheduleID string, id int64) error {
	if _, err := s.Schedule(scheduleID); err != nil {
		return err
	}
	res, err := s.db.Exec(ctx, `DELETE FROM oncall_overrides WHERE schedule_id = ? AND id = ?`, scheduleID, id)
	s.forget(scheduleID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: schedule %s has no override %d", ErrOverrideNotFound, scheduleID, id)
	}
	return nil
}

// GuardDelete refuses the delete of a schedule an override not yet ended names: a schedule
// made again with that id would take it. It answers configdb.Store.GuardDelete, in the
// delete's transaction.
func (s *Service) GuardDelete(ctx context.Context, tx *store.Tx, scheduleID string, now time.Time) error {
	rows, err := tx.Query(ctx, `SELECT id, user_id, start_at, end_at FROM oncall_overrides
		WHERE schedule_id = ? AND end_at > ? ORDER BY start_at, id`, scheduleID, now.UnixMilli())
	if err != nil {
		return err
	}
	defer rows.Close()
	// Each override is a problem of its own (the first ten, then how many more).
	refused := &invalid.Error{}
	n := 0
	for rows.Next() {
		var id, start, end int64
		var user string
		if err := rows.Scan(&id, &user, &start, &end); err != nil {
			return err
		}
		if n++; n <= 10 {
			refused.Add("id", "schedule %s is named by override %d (%s, %s to %s), not yet ended; remove it first (a schedule made again with this id would take it)",
				scheduleID, id, user, ms(start).Format("2006-01-02 15:04"), ms(end).Format("2006-01-02 15:04 UTC"))
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n > 10 {
		refused.Add("id", "schedule %s is named by %d more overrides not yet ended", scheduleID, n-10)
	}
	return refused.Err()
}

// OnCall returns who is on call for a schedule at t.
func (s *Service) OnCall(ctx context.Context, scheduleID string, t time.Time) ([]Shift, error) {
	return s.OnCallLayers(ctx, scheduleID, nil, t)
}

// OnCallLayers returns who is on call at t on some layers of a schedule (all when layers is
// empty), overrides included: what a step targeting those layers pages.
func (s *Service) OnCallLayers(ctx context.Context, scheduleID string, layers []string, t time.Time) ([]Shift, error) {
	sc, err := s.Schedule(scheduleID)
	if err != nil {
		return nil, err
	}
	for _, l := range layers {
		if !hasLayer(sc, l) {
			return nil, invalid.Field("layer", "schedule %s has no layer %q", sc.ID, l)
		}
	}
	ovs, err := s.overridesAt(ctx, scheduleID, t)
	if err != nil {
		return nil, err
	}
	out := AtOn(sc, layers, ovs, t)
	if out == nil {
		out = []Shift{}
	}
	return out, nil
}

// overridesAt returns overrides that may cover t: from the cache when t is recent or future.
func (s *Service) overridesAt(ctx context.Context, scheduleID string, t time.Time) ([]Override, error) {
	s.mu.Lock()
	c, ok := s.current[scheduleID]
	s.mu.Unlock()
	if ok && time.Since(c.fetched) < cacheTTL && !t.Before(c.since) {
		return c.list, nil
	}
	since := s.clock.Now().Add(-time.Hour)
	if t.Before(since) {
		return s.Overrides(ctx, scheduleID, t, t.Add(time.Millisecond))
	}
	fetched := time.Now()
	list, err := s.Overrides(ctx, scheduleID, since, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.current == nil {
		s.current = map[string]cachedOverrides{}
	}
	s.current[scheduleID] = cachedOverrides{fetched: fetched, since: since, list: list}
	s.mu.Unlock()
	return list, nil
}

func (s *Service) forget(scheduleID string) {
	s.mu.Lock()
	delete(s.current, scheduleID)
	s.mu.Unlock()
}

// Shifts returns the final shifts of a schedule over [from, to).
func (s *Service) Shifts(ctx context.Context, scheduleID string, from, to time.Time) ([]Shift, error) {
	return s.ShiftsOn(ctx, scheduleID, nil, from, to)
}

// UserShifts returns a user's shifts on every schedule over [from, to), in time order.
func (s *Service) UserShifts(ctx context.Context, userID string, from, to time.Time) ([]Shift, error) {
	var out []Shift
	for _, sc := range s.cfg.Get().Schedules {
		shs, err := s.Shifts(ctx, sc.ID, from, to)
		if err != nil {
			return nil, err
		}
		for _, sh := range shs {
			if sh.UserID == userID {
				out = append(out, sh)
			}
		}
	}
	sortShifts(out)
	return out, nil
}

func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

func hasLayer(sc *config.Schedule, name string) bool {
	for _, l := range sc.Layers {
		if l.Name == name {
			return true
		}
	}
	return false
}

// ShiftsOn returns the shifts of some layers (all when layers is empty) of a schedule over
// [from, to), with the overrides that cover them: whom a step targeting those layers pages.
func (s *Service) ShiftsOn(ctx context.Context, scheduleID string, layers []string, from, to time.Time) ([]Shift, error) {
	sc, err := s.Schedule(scheduleID)
	if err != nil {
		return nil, err
	}
	ovs, err := s.Overrides(ctx, scheduleID, from, to)
	if err != nil {
		return nil, err
	}
	return ShiftsOn(sc, layers, ovs, from, to), nil
}
