// Package maintenance keeps maintenance windows, declared in the config or scheduled through
// the API, CLI and web: one-off or recurring, over services or monitors. While a window covers
// a service nines records every signal of it but pages nobody (escalation asks Hold), a window
// over a monitor mutes that monitor's alerts, uptime figures leave the time out (Intervals),
// and status pages may announce it.
package maintenance

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
)

// Schema holds the windows scheduled through the API. A window's definition is kept as the
// JSON of what was asked; starts_at and ends_at (NULL for a recurring window) bound queries.
var Schema = store.Schema{Component: "maintenance", Migrations: []string{`
CREATE TABLE maintenance_windows (
	id {{id}},
	def TEXT NOT NULL,
	starts_at BIGINT,
	ends_at BIGINT,
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_by TEXT NOT NULL,
	updated_at BIGINT NOT NULL,
	cancelled_by TEXT NOT NULL DEFAULT '',
	cancelled_at BIGINT
);
CREATE INDEX maintenance_windows_ends ON maintenance_windows (ends_at);
`}}

// Interval is a span [From, To).
type Interval = config.Interval

// Sources of a window.
const (
	SourceConfig = "config"
	SourceAPI    = "api"
)

// States of a window.
const (
	Scheduled  = "scheduled"
	InProgress = "in_progress"
	Completed  = "completed"
	Cancelled  = "cancelled"
)

// Window is a maintenance window as the API shows it.
type Window struct {
	ID          string     `json:"id"`
	Source      string     `json:"source"` // config or api
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Services    []string   `json:"services"`
	Monitors    []string   `json:"monitors"`
	Start       *time.Time `json:"start,omitempty"` // one-off windows
	End         *time.Time `json:"end,omitempty"`
	Cron        string     `json:"cron,omitempty"` // recurring windows
	Duration    string     `json:"duration,omitempty"`
	TimeZone    string     `json:"time_zone,omitempty"`
	Announce    bool       `json:"announce"`
	StatusPages []string   `json:"status_pages"`
	// State is scheduled, in_progress, completed or cancelled, at the time it was read.
	State string `json:"state"`
	// Current is the occurrence in progress, or else the next one; nil when none is left.
	Current     *Interval  `json:"current,omitempty"`
	At          string     `json:"at,omitempty"` // where a config window is declared
	CreatedBy   string     `json:"created_by,omitempty"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	UpdatedBy   string     `json:"updated_by,omitempty"`
	UpdatedAt   *time.Time `json:"updated_at,omitempty"`
	CancelledBy string     `json:"cancelled_by,omitempty"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`

	def *config.Maintenance
}

// Occurrences returns the window's intervals that overlap [from, to), oldest first. A
// cancellation cuts the window short: nothing of it runs after it was cancelled.
func (w *Window) Occurrences(from, to time.Time) []Interval {
	if w.CancelledAt != nil && w.CancelledAt.Before(to) {
		to = *w.CancelledAt
	}
	occ := w.def.Occurrences(from, to)
	if w.CancelledAt != nil {
		keep := occ[:0]
		for _, o := range occ {
			if o.To.After(*w.CancelledAt) {
				o.To = *w.CancelledAt
			}
			if o.To.After(o.From) {
				keep = append(keep, o)
			}
		}
		occ = keep
	}
	return occ
}

// Covers reports whether the window names the service or the monitor.
func (w *Window) Covers(serviceID, monitorID string) bool { return w.def.Covers(serviceID, monitorID) }

// Recurring reports whether the window repeats.
func (w *Window) Recurring() bool { return w.def.Recurring() }

// Key is the window's id as status pages and feeds name it: stable and unique across sources.
// Config ids have a letter and stored ones are numbers, so the two never meet.
func (w *Window) Key() string { return "maintenance-" + w.ID }

func (w *Window) fill(now time.Time) {
	w.State = Completed
	horizon := now.AddDate(2, 0, 0)
	if w.def.Recurring() {
		horizon = now.AddDate(1, 0, 0)
	}
	if occ := w.Occurrences(now, horizon); len(occ) > 0 {
		o := occ[0]
		w.Current = &o
		w.State = Scheduled
		if !o.From.After(now) {
			w.State = InProgress
		}
	}
	// A window called off is cancelled, whether or not it had started; one called off while
	// it ran ended then, and says so.
	if w.CancelledAt != nil && w.State == Completed {
		w.State = Cancelled
		if w.Start != nil && w.End != nil && w.CancelledAt.After(*w.Start) && w.CancelledAt.Before(*w.End) {
			end := *w.CancelledAt
			w.End = &end
		}
	}
}

// ended is when a window that is over ended: its end, or its cancellation.
func (w *Window) ended() time.Time {
	var end time.Time
	if w.End != nil {
		end = *w.End
	}
	if w.CancelledAt != nil && (end.IsZero() || w.CancelledAt.Before(end)) {
		end = *w.CancelledAt
	}
	return end
}

// Service reads and changes maintenance windows.
type Service struct {
	db    *store.DB
	clock clock.Clock
	cfg   *config.Live

	mu    sync.Mutex
	hooks []func(ctx context.Context)
	// muted caches the windows Muted reads, for mutedTTL: a monitor down in a window asks at
	// every check. A change made through this node clears it at once.
	muted       []Window
	mutedExpiry time.Time
}

// mutedTTL bounds how late a window scheduled through another node mutes a monitor here.
const mutedTTL = 5 * time.Second

// New returns the maintenance service; a config reload counts as a change of windows.
func New(db *store.DB, c clock.Clock, live *config.Live) *Service {
	s := &Service{db: db, clock: c, cfg: live}
	live.Subscribe(func(_, _ *config.Config) { s.changed(context.Background()) })
	return s
}

// OnChange registers f to run after any window is scheduled, edited or cancelled, and after a
// config reload: status pages render again, and escalations held by a window that ended early
// are released.
func (s *Service) OnChange(f func(ctx context.Context)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks = append(s.hooks, f)
}

func (s *Service) changed(ctx context.Context) {
	s.mu.Lock()
	hooks := append([]func(context.Context){}, s.hooks...)
	s.muted = nil
	s.mu.Unlock()
	for _, h := range hooks {
		h(ctx)
	}
}

// Errors a caller can act on.
var (
	ErrNotFound   = errors.New("maintenance window not found")
	ErrFromConfig = errors.New("declared in the config")
	ErrFinished   = errors.New("already over")
)

// Params describes a window to schedule through the API.
type Params struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Services    []string `json:"services"`
	Monitors    []string `json:"monitors"`
	Start       string   `json:"start,omitempty"`
	End         string   `json:"end,omitempty"`
	Cron        string   `json:"cron,omitempty"`
	Duration    string   `json:"duration,omitempty"`
	TimeZone    string   `json:"time_zone,omitempty"`
	Announce    bool     `json:"announce"`
	StatusPages []string `json:"status_pages"`
}

// Patch changes some fields of a window; nil ones stay.
type Patch struct {
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	Services    *[]string `json:"services"`
	Monitors    *[]string `json:"monitors"`
	Start       *string   `json:"start"`
	End         *string   `json:"end"`
	Cron        *string   `json:"cron"`
	Duration    *string   `json:"duration"`
	TimeZone    *string   `json:"time_zone"`
	Announce    *bool     `json:"announce"`
	StatusPages *[]string `json:"status_pages"`
}

func (p *Params) apply(q Patch) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setList := func(dst *[]string, v *[]string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.Name, q.Name)
	set(&p.Description, q.Description)
	setList(&p.Services, q.Services)
	setList(&p.Monitors, q.Monitors)
	set(&p.Start, q.Start)
	set(&p.End, q.End)
	set(&p.Cron, q.Cron)
	set(&p.Duration, q.Duration)
	set(&p.TimeZone, q.TimeZone)
	setList(&p.StatusPages, q.StatusPages)
	if q.Announce != nil {
		p.Announce = *q.Announce
	}
	// Moving to the other kind of window drops the fields of the former one.
	if q.Cron != nil && *q.Cron != "" && q.Start == nil && q.End == nil {
		p.Start, p.End = "", ""
	}
	if (q.Start != nil || q.End != nil) && q.Cron == nil {
		p.Cron, p.Duration, p.TimeZone = "", "", ""
	}
}

// build validates params against the config in force and returns the window's definition.
func (s *Service) build(p Params, strict bool) (*config.Maintenance, error) {
	def := &config.Maintenance{Name: p.Name, Description: p.Description, Services: p.Services, Monitors: p.Monitors,
		Start: p.Start, End: p.End, Cron: p.Cron, TimeZone: p.TimeZone, Announce: p.Announce, StatusPages: p.StatusPages}
	var problems []string
	if p.Duration != "" {
		d, err := config.ParseDuration(p.Duration)
		if err != nil {
			problems = append(problems, fmt.Sprintf("duration %q: want a duration such as 2h or 90m", p.Duration))
		}
		def.Duration = config.Duration(d)
	}
	problems = append(problems, s.cfg.Get().CheckMaintenance(def)...)
	if strict && strings.TrimSpace(p.Name) == "" {
		problems = append([]string{"name: say what the maintenance is, in a few words"}, problems...)
	}
	if strict && len(problems) > 0 {
		bad := &invalid.Error{}
		for _, m := range problems {
			bad.Add("", "%s", strings.TrimPrefix(strings.TrimPrefix(m, "maintenance: "), "maintenance "))
		}
		return nil, bad
	}
	return def, nil
}

// Schedule stores a new window.
func (s *Service) Schedule(ctx context.Context, p Params, actor string) (Window, error) {
	def, err := s.build(p, true)
	if err != nil {
		return Window{}, err
	}
	now := s.clock.Now()
	if !def.Recurring() {
		if _, end := def.Bounds(); !end.After(now) {
			return Window{}, invalid.Field("end", "the window would be over already; maintenance is scheduled ahead or while it runs")
		}
	}
	raw, _ := json.Marshal(p)
	start, end := bounds(def)
	var id int64
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		id, err = tx.InsertID(ctx, `INSERT INTO maintenance_windows (def, starts_at, ends_at, created_by, created_at, updated_by, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, string(raw), start, end, actor, now.UnixMilli(), actor, now.UnixMilli())
		return err
	})
	if err != nil {
		return Window{}, err
	}
	s.changed(ctx)
	return s.Get(ctx, strconv.FormatInt(id, 10))
}

func bounds(def *config.Maintenance) (start, end any) {
	if def.Recurring() {
		return nil, nil
	}
	a, b := def.Bounds()
	return a.UnixMilli(), b.UnixMilli()
}

// Edit changes a stored window that is not over yet.
func (s *Service) Edit(ctx context.Context, id string, q Patch, actor string) (Window, error) {
	w, err := s.Get(ctx, id)
	if err != nil {
		return Window{}, err
	}
	if err := s.changeable(w); err != nil {
		return Window{}, err
	}
	p := paramsOf(w)
	p.apply(q)
	def, err := s.build(p, true)
	if err != nil {
		return Window{}, err
	}
	now := s.clock.Now()
	if !def.Recurring() {
		if _, end := def.Bounds(); !end.After(now) && w.State != InProgress {
			return Window{}, invalid.Field("end", "the window would be over already")
		}
	}
	raw, _ := json.Marshal(p)
	start, end := bounds(def)
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE maintenance_windows SET def = ?, starts_at = ?, ends_at = ?, updated_by = ?, updated_at = ? WHERE id = ?`,
			string(raw), start, end, actor, now.UnixMilli(), id)
		return err
	})
	if err != nil {
		return Window{}, err
	}
	s.changed(ctx)
	return s.Get(ctx, id)
}

// Cancel calls a window off: one not started never runs, one running ends now.
func (s *Service) Cancel(ctx context.Context, id string, actor string) (Window, error) {
	w, err := s.Get(ctx, id)
	if err != nil {
		return Window{}, err
	}
	if err := s.changeable(w); err != nil {
		return Window{}, err
	}
	now := s.clock.Now()
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE maintenance_windows SET cancelled_by = ?, cancelled_at = ?, updated_by = ?, updated_at = ? WHERE id = ? AND cancelled_at IS NULL`,
			actor, now.UnixMilli(), actor, now.UnixMilli(), id)
		return err
	})
	if err != nil {
		return Window{}, err
	}
	s.changed(ctx)
	return s.Get(ctx, id)
}

func (s *Service) changeable(w Window) error {
	switch {
	case w.Source == SourceConfig:
		return fmt.Errorf("maintenance window %s is %w at %s; change it there and reload", w.ID, ErrFromConfig, w.At)
	case w.State == Cancelled || w.State == Completed:
		return fmt.Errorf("maintenance window %s is %w (%s)", w.ID, ErrFinished, w.State)
	}
	return nil
}

func paramsOf(w Window) Params {
	p := Params{Name: w.Name, Description: w.Description, Services: w.Services, Monitors: w.Monitors, Cron: w.Cron,
		Duration: w.Duration, TimeZone: w.TimeZone, Announce: w.Announce, StatusPages: w.StatusPages}
	if w.Start != nil {
		p.Start, p.End = w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339)
	}
	return p
}

// Get returns one window: a config window by its id, a stored one by its number.
func (s *Service) Get(ctx context.Context, id string) (Window, error) {
	now := s.clock.Now()
	for _, w := range s.configWindows() {
		if w.ID == id {
			w.fill(now)
			return w, nil
		}
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return Window{}, fmt.Errorf("maintenance window %q: %w", id, ErrNotFound)
	}
	ws, err := s.stored(ctx, s.db, `WHERE id = ?`, n)
	if err != nil {
		return Window{}, err
	}
	if len(ws) == 0 {
		return Window{}, fmt.Errorf("maintenance window %q: %w", id, ErrNotFound)
	}
	ws[0].fill(now)
	return ws[0], nil
}

// List returns the windows that are not over, and with past, also those that ended since
// then: config windows first, then stored ones, soonest first.
func (s *Service) List(ctx context.Context, past time.Time) ([]Window, error) {
	ws, err := s.Windows(ctx, past)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	out := []Window{}
	for _, w := range ws {
		w.fill(now)
		if w.State == Scheduled || w.State == InProgress || w.ended().After(past) {
			out = append(out, w)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Current, out[j].Current
		switch {
		case a == nil || b == nil:
			return a != nil
		}
		return a.From.Before(b.From)
	})
	return out, nil
}

// Windows returns every window that may have an occurrence at or after since: recurring ones,
// and one-off ones ending after it. Cancelled ones are included: their Occurrences stop at the
// cancellation.
func (s *Service) Windows(ctx context.Context, since time.Time) ([]Window, error) {
	return s.windowsTx(ctx, nil, since)
}

func (s *Service) configWindows() []Window {
	cfg := s.cfg.Get()
	out := make([]Window, 0, len(cfg.Maintenance))
	for i := range cfg.Maintenance {
		mw := &cfg.Maintenance[i]
		w := windowOf(mw)
		w.ID, w.Source, w.At = mw.ID, SourceConfig, mw.Pos.String()
		if mw.Recurring() {
			w.Duration = shortDuration(mw.Duration.D())
		}
		out = append(out, w)
	}
	return out
}

// shortDuration writes 2h, 1h30m, 45m rather than 2h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func windowOf(def *config.Maintenance) Window {
	w := Window{Name: def.Name, Description: def.Description, Services: nonNil(def.Services), Monitors: nonNil(def.Monitors),
		Cron: def.Cron, TimeZone: def.TimeZone, Announce: def.Announce, StatusPages: nonNil(def.StatusPages), def: def}
	if !def.Recurring() {
		a, b := def.Bounds()
		w.Start, w.End = &a, &b
	}
	return w
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

type querier interface {
	Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (s *Service) stored(ctx context.Context, q querier, where string, args ...any) ([]Window, error) {
	rows, err := q.Query(ctx, `SELECT id, def, created_by, created_at, updated_by, updated_at, cancelled_by, cancelled_at FROM maintenance_windows `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Window
	for rows.Next() {
		var id, created, updated int64
		var raw, createdBy, updatedBy, cancelledBy string
		var cancelled sql.NullInt64
		if err := rows.Scan(&id, &raw, &createdBy, &created, &updatedBy, &updated, &cancelledBy, &cancelled); err != nil {
			return nil, err
		}
		var p Params
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			return nil, fmt.Errorf("maintenance window %d: %w", id, err)
		}
		// A window stays what it was even if the config changed since: a service removed
		// from the config is simply never asked about again.
		def, _ := s.build(p, false)
		w := windowOf(def)
		w.ID, w.Source, w.Duration = strconv.FormatInt(id, 10), SourceAPI, p.Duration
		c, u := time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		w.CreatedBy, w.CreatedAt, w.UpdatedBy, w.UpdatedAt = createdBy, &c, updatedBy, &u
		if cancelled.Valid {
			at := time.UnixMilli(cancelled.Int64).UTC()
			w.CancelledBy, w.CancelledAt = cancelledBy, &at
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// Hold answers the escalation engine: is paging for the service held at t by a window over
// the whole service, and until when. Windows that follow one another without a gap hold until
// the last one ends.
func (s *Service) Hold(ctx context.Context, tx *store.Tx, serviceID string, at time.Time) (time.Time, bool, error) {
	ws, err := s.windowsTx(ctx, tx, at)
	if err != nil {
		return time.Time{}, false, err
	}
	until, held := at, false
	for range 100 {
		moved := false
		for i := range ws {
			if !ws[i].Covers(serviceID, "") {
				continue
			}
			for _, o := range ws[i].Occurrences(until, until.Add(time.Nanosecond)) {
				if o.To.After(until) {
					until, held, moved = o.To, true, true
				}
			}
		}
		if !moved {
			break
		}
	}
	return until, held, nil
}

func (s *Service) windowsTx(ctx context.Context, tx *store.Tx, since time.Time) ([]Window, error) {
	ws := s.configWindows()
	var q querier = s.db
	if tx != nil {
		q = tx
	}
	stored, err := s.stored(ctx, q, `WHERE ends_at IS NULL OR ends_at > ? ORDER BY id LIMIT 1000`, since.UnixMilli())
	return append(ws, stored...), err
}

// GuardService and GuardMonitor refuse the delete of a service or a monitor that a window
// scheduled through the API, not cancelled and not yet over, names: made again with that id,
// it would be held or muted by a window meant for the one deleted. They answer
// configdb.Store.GuardDelete, in the delete's transaction. (A window of the files naming
// it is an error of the config's own checks.)
func (s *Service) GuardService(ctx context.Context, tx *store.Tx, id string, now time.Time) error {
	return s.guard(ctx, tx, "service", id, "", now)
}

// GuardMonitor: see GuardService.
func (s *Service) GuardMonitor(ctx context.Context, tx *store.Tx, id string, now time.Time) error {
	return s.guard(ctx, tx, "monitor", "", id, now)
}

func (s *Service) guard(ctx context.Context, tx *store.Tx, what, serviceID, monitorID string, now time.Time) error {
	ws, err := s.stored(ctx, tx, `WHERE (ends_at IS NULL OR ends_at > ?) AND cancelled_at IS NULL ORDER BY id`, now.UnixMilli())
	if err != nil {
		return err
	}
	// Each window is a problem of its own.
	refused := &invalid.Error{}
	for i := range ws {
		w := &ws[i]
		if !w.Covers(serviceID, monitorID) {
			continue
		}
		if w.fill(now); w.State != Scheduled && w.State != InProgress {
			continue
		}
		refused.Add("id", "%s %s is named by maintenance window %s (%s, %s); cancel it or take the %s off it first (one made again with this id would be covered by it)",
			what, serviceID+monitorID, w.ID, w.Name, strings.ReplaceAll(w.State, "_", " "), what)
	}
	return refused.Err()
}

// Muted reports whether a window that names the monitor covers t: its checks go on and are
// recorded, but going down raises no alert until the window is over.
func (s *Service) Muted(ctx context.Context, monitorID string, at time.Time) (bool, error) {
	now := s.clock.Now()
	s.mu.Lock()
	ws := s.muted
	if ws == nil || !now.Before(s.mutedExpiry) {
		ws = nil
	}
	s.mu.Unlock()
	if ws == nil {
		var err error
		if ws, err = s.windowsTx(ctx, nil, now.Add(-time.Hour)); err != nil {
			return false, err
		}
		s.mu.Lock()
		s.muted, s.mutedExpiry = ws, now.Add(mutedTTL)
		s.mu.Unlock()
	}
	for i := range ws {
		if ws[i].Covers("", monitorID) && len(ws[i].Occurrences(at, at.Add(time.Nanosecond))) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// Scope is what a question about maintenance is about: a window counts when it names one of
// the services or one of the monitors.
type Scope struct {
	Services []string
	Monitors []string
}

func (sc Scope) covered(w *Window) bool {
	for _, s := range sc.Services {
		if w.Covers(s, "") {
			return true
		}
	}
	for _, m := range sc.Monitors {
		if w.Covers("", m) {
			return true
		}
	}
	return false
}

// Intervals answers "which intervals of [from, to) were under maintenance" for a scope: the
// union of every covering window's occurrences, clipped to the range, merged and in order.
func (s *Service) Intervals(ctx context.Context, sc Scope, from, to time.Time) ([]Interval, error) {
	ws, err := s.Windows(ctx, from)
	if err != nil {
		return nil, err
	}
	return IntervalsOf(ws, sc, from, to), nil
}

// IntervalsOf is Intervals over windows already read.
func IntervalsOf(ws []Window, sc Scope, from, to time.Time) []Interval {
	var all []Interval
	for i := range ws {
		if !sc.covered(&ws[i]) {
			continue
		}
		for _, o := range ws[i].Occurrences(from, to) {
			if o.From.Before(from) {
				o.From = from
			}
			if o.To.After(to) {
				o.To = to
			}
			if o.To.After(o.From) {
				all = append(all, o)
			}
		}
	}
	return Merge(all)
}

// Merge sorts intervals and joins those that overlap or touch.
func Merge(in []Interval) []Interval {
	sort.Slice(in, func(i, j int) bool { return in[i].From.Before(in[j].From) })
	var out []Interval
	for _, iv := range in {
		if n := len(out); n > 0 && !iv.From.After(out[n-1].To) {
			if iv.To.After(out[n-1].To) {
				out[n-1].To = iv.To
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

// In reports whether the service (or monitor) is under maintenance at t: "is service S in
// maintenance at t".
func (s *Service) In(ctx context.Context, sc Scope, at time.Time) (bool, error) {
	iv, err := s.Intervals(ctx, sc, at, at.Add(time.Millisecond))
	return len(iv) > 0, err
}
