package slo

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
)

// Schema holds the SLO tables: the counts of each minute received (pushed or pulled), keyed by
// (SLO, the minute's start) so a point sent again for a minute replaces the first (received_at
// lets other nodes find what changed), and the state of each burn-rate alert so a restart
// neither pages twice nor forgets to resolve.
var Schema = store.Schema{Component: "slo", Migrations: []string{`
CREATE TABLE slo_points (
	slo_id TEXT NOT NULL,
	at BIGINT NOT NULL,
	good DOUBLE PRECISION NOT NULL,
	total DOUBLE PRECISION NOT NULL,
	received_at BIGINT NOT NULL,
	PRIMARY KEY (slo_id, at)
);
CREATE INDEX slo_points_received ON slo_points (received_at);
CREATE TABLE slo_alert_state (
	slo_id TEXT NOT NULL,
	severity TEXT NOT NULL,
	service_id TEXT NOT NULL,
	firing INTEGER NOT NULL,
	window_pair TEXT NOT NULL,
	changed_at BIGINT NOT NULL,
	PRIMARY KEY (slo_id, severity)
);
`, `
CREATE TABLE slo_minutes (
	slo_id TEXT NOT NULL,
	at BIGINT NOT NULL,
	good DOUBLE PRECISION NOT NULL,
	total DOUBLE PRECISION NOT NULL,
	received_at BIGINT NOT NULL,
	PRIMARY KEY (slo_id, at)
);
INSERT INTO slo_minutes (slo_id, at, good, total, received_at)
	SELECT slo_id, (at / 60000) * 60000, SUM(good), SUM(total), MAX(received_at) FROM slo_points GROUP BY slo_id, at / 60000;
DROP TABLE slo_points;
ALTER TABLE slo_minutes RENAME TO slo_points;
CREATE INDEX slo_points_received ON slo_points (received_at);
`}}

// Retention is how long points are kept: a year of SLA reports and a bit more.
const Retention = 400 * 24 * time.Hour

// Submitter takes alert events; *alert.Pipeline is one.
type Submitter interface {
	Submit(ctx context.Context, t alert.Target, events []alert.Event) ([]alert.Result, error)
}

var _ Submitter = (*alert.Pipeline)(nil)

// Engine keeps every SLO's series and evaluates them.
type Engine struct {
	db     *store.DB
	clock  clock.Clock
	alerts Submitter
	log    *slog.Logger
	// Probes reads nines' monitors for probe-backed SLIs (nil: none are read). Tests replace it.
	Probes ProbeSource
	// Interval is the periodic round (default 10s); pushed data wakes a round at once.
	Interval time.Duration

	mu      sync.RWMutex
	cfg     *config.Config
	tracked map[string]*tracked

	// syncedTo is when syncPeers last read what other nodes stored.
	syncedTo time.Time

	wake    chan struct{}
	dirtyMu sync.Mutex
	dirty   map[string]bool

	metrics *engineMetrics
}

type tracked struct {
	mu sync.Mutex
	// def is read without mu (by pushes and listings) while a reload may replace it.
	def    atomic.Pointer[Definition]
	series *series
	loaded bool
	// firing holds the last state committed per severity; absent means unknown (not yet read).
	firing    map[string]bool
	stateRead bool
	// pulledTo is the first minute a pull source has not delivered yet.
	pulledTo int64
}

func (t *tracked) d() *Definition { return t.def.Load() }

// NewEngine returns an engine; Apply gives it its SLOs.
func NewEngine(db *store.DB, c clock.Clock, alerts Submitter, probes ProbeSource, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{db: db, clock: c, alerts: alerts, Probes: probes, log: log, Interval: 10 * time.Second, syncedTo: c.Now(),
		tracked: map[string]*tracked{}, wake: make(chan struct{}, 1), dirty: map[string]bool{},
		metrics: newEngineMetrics()}
}

// Apply puts a config's SLOs in force. Series of SLOs whose shape did not change are kept.
func (e *Engine) Apply(cfg *config.Config) {
	e.mu.Lock()
	defer e.mu.Unlock()
	next := make(map[string]*tracked, len(cfg.SLOs))
	for i := range cfg.SLOs {
		d := FromConfig(&cfg.SLOs[i])
		if t, ok := e.tracked[d.ID]; ok && t.d().rev == d.rev {
			t.mu.Lock()
			t.def.Store(d)
			t.series.def = d
			t.mu.Unlock()
			next[d.ID] = t
			continue
		}
		t := &tracked{}
		t.def.Store(d)
		t.series = newSeries(d, e.loader(d.ID))
		next[d.ID] = t
	}
	e.cfg = cfg
	e.tracked = next
}

// Definition returns the SLO with the given id.
func (e *Engine) Definition(id string) (*Definition, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	t, ok := e.tracked[id]
	if !ok {
		return nil, false
	}
	return t.d(), true
}

// Definitions lists every SLO, by id.
func (e *Engine) Definitions() []*Definition {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]*Definition, 0, len(e.tracked))
	for _, t := range e.tracked {
		out = append(out, t.d())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (e *Engine) get(id string) (*tracked, *config.Config, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	t, ok := e.tracked[id]
	return t, e.cfg, ok
}

// ErrNotFound is returned for an SLO id that is not configured.
var ErrNotFound = errors.New("slo not found")

func (e *Engine) loader(id string) loader {
	return func(ctx context.Context, from, to int64) ([]minuteRow, error) {
		rows, err := e.db.Query(ctx, `SELECT at / 60000, good, total FROM slo_points
			WHERE slo_id = ? AND at >= ? AND at < ? ORDER BY at`, id, from*60000, to*60000)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []minuteRow
		for rows.Next() {
			var r minuteRow
			if err := rows.Scan(&r.m, &r.good, &r.total); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, rows.Err()
	}
}

// Point is the count of events of one minute: of Total events in the minute holding Timestamp,
// Good were good. A minute has one count; a point for a minute already stored replaces it.
type Point struct {
	Timestamp time.Time `json:"timestamp"`
	Good      float64   `json:"good"`
	Total     float64   `json:"total"`
}

// MaxPoints bounds the points of one push.
const MaxPoints = 10000

// Push stores points for an SLO fed by pushes. A point counts the events of the minute holding
// its timestamp and replaces what that minute held: a client may retry, or correct a minute,
// whatever second it stamps. Nothing is stored unless every point is valid; the error names
// every bad one.
func (e *Engine) Push(ctx context.Context, id string, points []Point) error {
	t, _, ok := e.get(id)
	if !ok {
		return ErrNotFound
	}
	if t.d().Source.Kind != "push" {
		return invalid.Field("", "slo %s reads its events from %s; it takes no pushed events", id, t.d().Source.Kind)
	}
	if len(points) == 0 {
		return invalid.Field("events", "at least one event is required")
	}
	if len(points) > MaxPoints {
		return invalid.Field("events", "%d events in one request; send at most %d", len(points), MaxPoints)
	}
	if bad := checkPoints(points, e.clock.Now()); len(bad) > 0 {
		return BadPoints(bad)
	}
	return e.write(ctx, t, points)
}

// BadPoints refuses a push for the problems of its points: every one listed, and said in one
// line as how many there are and the first.
func BadPoints(bad []invalid.Problem) error {
	e := &invalid.Error{Problems: bad}
	if len(bad) > 1 {
		e.Summary = fmt.Sprintf("%d bad events, nothing stored; the first: %s", len(bad), bad[0])
	}
	return e
}

// checkPoints says what is wrong with each bad point, in order.
func checkPoints(points []Point, now time.Time) []invalid.Problem {
	var errs []invalid.Problem
	seen := make(map[int64]int, len(points))
	for i, p := range points {
		at := floorDiv(p.Timestamp.UnixMilli(), 60000)
		point := fmt.Sprintf("events[%d]", i)
		var bad *invalid.Problem
		refuse := func(field, format string, args ...any) {
			bad = &invalid.Problem{Field: field, Message: fmt.Sprintf(format, args...)}
		}
		switch {
		case p.Timestamp.IsZero():
			refuse("", "%s.timestamp is required (RFC 3339, e.g. 2026-11-22T10:00:00Z)", point)
		case p.Timestamp.After(now.Add(5 * time.Minute)):
			refuse("", "%s.timestamp %s is more than 5 minutes in the future", point, p.Timestamp.UTC().Format(time.RFC3339))
		case p.Timestamp.Before(now.Add(-Retention)):
			refuse("", "%s.timestamp %s is older than the %d days nines keeps", point, p.Timestamp.UTC().Format(time.RFC3339), int(Retention.Hours()/24))
		case !finite(p.Good) || !finite(p.Total) || p.Good < 0 || p.Total < 0:
			refuse(point, "good and total must be numbers of zero or more")
		case p.Good != math.Trunc(p.Good) || p.Total != math.Trunc(p.Total):
			refuse(point, "good (%v) and total (%v) must be whole numbers: they count events", p.Good, p.Total)
		case p.Good > p.Total:
			refuse(point, "good (%v) is more than total (%v)", p.Good, p.Total)
		case p.Total > 1e15:
			refuse(point, "total %v is beyond what nines counts", p.Total)
		}
		if bad == nil {
			if j, dup := seen[at]; dup {
				refuse("", "%s falls in the minute of events[%d] (%s); a point is the count of its minute: send one per minute",
					point, j, time.Unix(at*60, 0).UTC().Format(time.RFC3339))
			} else {
				seen[at] = i
			}
		}
		if bad != nil {
			errs = append(errs, *bad)
		}
	}
	return errs
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// write stores points and, once they are durable, brings the series up to date and wakes the
// evaluation.
func (e *Engine) write(ctx context.Context, t *tracked, points []Point) error {
	id := t.d().ID
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, p := range points {
		m := floorDiv(p.Timestamp.UnixMilli(), 60000)
		lo, hi = min(lo, m), max(hi, m)
	}
	const chunk = 200
	received := e.clock.Now().UnixMilli()
	err := e.db.Tx(ctx, func(tx *store.Tx) error {
		for i := 0; i < len(points); i += chunk {
			part := points[i:min(i+chunk, len(points))]
			var q strings.Builder
			q.WriteString(`INSERT INTO slo_points (slo_id, at, good, total, received_at) VALUES `)
			args := make([]any, 0, 5*len(part))
			for j, p := range part {
				if j > 0 {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, ?, ?, ?)")
				args = append(args, id, floorDiv(p.Timestamp.UnixMilli(), 60000)*60000, p.Good, p.Total, received)
			}
			q.WriteString(` ON CONFLICT (slo_id, at) DO UPDATE SET good = excluded.good, total = excluded.total, received_at = excluded.received_at`)
			if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Read the touched minutes back, under the series lock: whichever writer reads last has
	// seen every commit before it, so the series never keeps a stale sum.
	t.mu.Lock()
	defer t.mu.Unlock()
	rows, err := t.series.load(ctx, lo, hi+1)
	if err != nil {
		t.loaded = false // read it all again next time rather than keep a wrong sum
		return nil
	}
	t.series.changed(rows, lo, hi+1)
	e.markDirty(id)
	return nil
}

// syncPeers reads the points other nodes stored since the last call: with several nodes on one
// PostgreSQL database, a push may land on any of them. One embedded SQLite database has one node.
func (e *Engine) syncPeers(ctx context.Context) error {
	if e.db.Dialect != store.Postgres {
		return nil
	}
	now := e.clock.Now()
	// Commits become visible a little after their received_at; read a margin again.
	since := e.syncedTo.Add(-2 * time.Minute).UnixMilli()
	rows, err := e.db.Query(ctx, `SELECT slo_id, MIN(at), MAX(at) FROM slo_points WHERE received_at >= ? GROUP BY slo_id`, since)
	if err != nil {
		return err
	}
	type changedRange struct {
		id     string
		lo, hi int64
	}
	var changed []changedRange
	for rows.Next() {
		var c changedRange
		if err := rows.Scan(&c.id, &c.lo, &c.hi); err != nil {
			rows.Close()
			return err
		}
		changed = append(changed, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range changed {
		t, _, ok := e.get(c.id)
		if !ok {
			continue
		}
		lo, hi := floorDiv(c.lo, 60000), floorDiv(c.hi, 60000)+1
		t.mu.Lock()
		mins, err := t.series.load(ctx, lo, hi)
		if err == nil {
			t.series.changed(mins, lo, hi)
		}
		t.mu.Unlock()
		if err != nil {
			return err
		}
	}
	e.syncedTo = now
	return nil
}

func (e *Engine) markDirty(id string) {
	e.dirtyMu.Lock()
	e.dirty[id] = true
	e.dirtyMu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// BurnWindows are the windows the API reports burn rates over.
var BurnWindows = []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour, 3 * 24 * time.Hour}

// Status is an SLO's state at one moment.
type Status struct {
	ID              string    `json:"id"`
	ServiceID       string    `json:"service_id"`
	Name            string    `json:"name"`
	Objective       float64   `json:"objective"`
	Window          string    `json:"window"`
	BudgetingMethod string    `json:"budgeting_method"`
	Source          string    `json:"source"`
	PeriodStart     time.Time `json:"period_start"`
	PeriodEnd       time.Time `json:"period_end"`
	// SLIValue is the share of good events (or slices) in the period so far; 1 without data.
	SLIValue float64 `json:"sli_value"`
	// ErrorBudget is 1 - objective.
	ErrorBudget float64 `json:"error_budget"`
	// ErrorBudgetRemaining is 1 untouched, 0 spent, negative overspent.
	ErrorBudgetRemaining float64 `json:"error_budget_remaining"`
	EventsGood           float64 `json:"events_good"`
	EventsTotal          float64 `json:"events_total"`
	// Slices and GoodSlices count the time slices of the period so far (timeslice methods),
	// slices without data counted by the SLO's timeslice_no_data rule.
	Slices       *float64           `json:"slices,omitempty"`
	GoodSlices   *float64           `json:"good_slices,omitempty"`
	BurnRates    map[string]float64 `json:"burn_rates"`
	ExhaustionAt *time.Time         `json:"exhaustion_at"`
	Alerts       []AlertStatus      `json:"alerts"`
	EvaluatedAt  time.Time          `json:"evaluated_at"`
}

// AlertStatus is one burn-rate rule at the moment of evaluation.
type AlertStatus struct {
	Severity   string  `json:"severity"`
	Windows    string  `json:"windows"`
	Threshold  float64 `json:"threshold"`
	LongBurn   float64 `json:"long_burn_rate"`
	ShortBurn  float64 `json:"short_burn_rate"`
	LongEvents float64 `json:"long_events"`
	Firing     bool    `json:"firing"`
}

// Status evaluates one SLO now.
func (e *Engine) Status(ctx context.Context, id string) (Status, error) {
	t, _, ok := e.get(id)
	if !ok {
		return Status{}, ErrNotFound
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	st, _, err := e.evaluate(ctx, t, e.clock.Now())
	return st, err
}

// Statuses evaluates every SLO (of one service, when serviceID is set), by id.
func (e *Engine) Statuses(ctx context.Context, serviceID string) ([]Status, error) {
	out := []Status{}
	for _, d := range e.Definitions() {
		if serviceID != "" && d.ServiceID != serviceID {
			continue
		}
		st, err := e.Status(ctx, d.ID)
		if errors.Is(err, ErrNotFound) {
			continue // removed by a reload meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func (e *Engine) ensureLoaded(ctx context.Context, t *tracked, now time.Time) error {
	s := t.series
	if !t.loaded {
		s.ringStart = -1 // read every minute again, not only the new ones
	}
	if err := s.advance(ctx, now); err != nil {
		return err
	}
	if t.loaded {
		return nil
	}
	start, _ := t.d().Window.Period(now)
	from := floorDiv(unixMinute(start), 60)
	if l := floorDiv(unixMinute(now.Add(-t.d().Alerts.longest())), 60); l < from {
		from = l
	}
	if err := s.preload(ctx, from, s.ringStart/60); err != nil {
		return err
	}
	clear(s.edge)
	t.loaded = true
	return nil
}

// evaluate computes an SLO's status at now; t.mu is held.
func (e *Engine) evaluate(ctx context.Context, t *tracked, now time.Time) (Status, []firing, error) {
	d := t.d()
	if err := e.ensureLoaded(ctx, t, now); err != nil {
		return Status{}, nil, err
	}
	s := t.series
	start, end := d.Window.Period(now)
	fromM, endM := unixMinute(start), unixMinute(end)
	nowM := unixMinute(now) + 1 // the minute in progress counts
	// Every window ends now: the period so far, the reported burn-rate windows, and each
	// alert rule's long and short window.
	froms := []int64{fromM}
	for _, w := range BurnWindows {
		froms = append(froms, nowM-int64(w/time.Minute))
	}
	rules := d.Alerts.Rules
	if d.Alerts.Disabled {
		rules = nil
	}
	for _, r := range rules {
		froms = append(froms, nowM-int64(r.Long/time.Minute), nowM-int64(r.Short/time.Minute))
	}
	sums, err := s.sums(ctx, min(nowM, endM), froms)
	if err != nil {
		return Status{}, nil, err
	}
	total := sums[0]
	periodSlices := float64(endM-fromM) / float64(d.Slice)
	st := Status{ID: d.ID, ServiceID: d.ServiceID, Name: d.Name, Objective: d.Objective, Window: d.Window.String(),
		BudgetingMethod: d.Method, Source: d.Source.Kind, PeriodStart: start, PeriodEnd: end,
		SLIValue: d.sliValue(total), ErrorBudget: d.Budget(), ErrorBudgetRemaining: d.remaining(total, periodSlices),
		EventsGood: total.total - total.bad, EventsTotal: total.total, BurnRates: map[string]float64{},
		EvaluatedAt: now.UTC(), Alerts: []AlertStatus{}}
	if d.Method != config.Occurrences {
		sl, gs := total.slices, total.goodSlices
		st.Slices = &sl
		if d.Method == config.Timeslices {
			st.GoodSlices = &gs
		}
	}
	for i, w := range BurnWindows {
		st.BurnRates[config.FormatDuration(w)] = d.burnRate(sums[1+i])
	}
	if b := st.BurnRates["1h"]; b > 0 && st.ErrorBudgetRemaining > 0 {
		// At the last hour's pace, the budget left lasts remaining × period / burn rate.
		left := time.Duration(st.ErrorBudgetRemaining * float64(end.Sub(start)) / b).Round(time.Second)
		at := now.Add(left).UTC()
		if d.Window.Rolling || at.Before(end) {
			st.ExhaustionAt = &at
		}
	}
	var fires []firing
	for i, r := range rules {
		long, short := sums[1+len(BurnWindows)+2*i], sums[2+len(BurnWindows)+2*i]
		f := firing{Rule: r, LongBurn: d.burnRate(long), ShortBurn: d.burnRate(short)}
		f.Fired = f.LongBurn >= r.Threshold && f.ShortBurn >= r.Threshold &&
			d.events(long) >= d.Alerts.MinEvents && d.events(short) > 0
		fires = append(fires, f)
		st.Alerts = append(st.Alerts, AlertStatus{Severity: r.Severity, Windows: r.Pair(), Threshold: r.Threshold,
			LongBurn: f.LongBurn, ShortBurn: f.ShortBurn, LongEvents: d.events(long), Firing: f.Fired})
	}
	return st, fires, nil
}

// Round evaluates every SLO and raises or resolves its burn-rate alerts. With onlyDirty it
// evaluates only the SLOs that received data since the last round.
func (e *Engine) Round(ctx context.Context, onlyDirty bool) error {
	defer func(start time.Time) { e.metrics.round(onlyDirty, time.Since(start)) }(time.Now())
	var ids []string
	if onlyDirty {
		e.dirtyMu.Lock()
		for id := range e.dirty {
			ids = append(ids, id)
		}
		clear(e.dirty)
		e.dirtyMu.Unlock()
		sort.Strings(ids)
	} else {
		if err := e.syncPeers(ctx); err != nil {
			return fmt.Errorf("reading other nodes' points: %w", err)
		}
		if err := e.resolveRemoved(ctx); err != nil {
			return fmt.Errorf("resolving alerts of removed SLOs: %w", err)
		}
		e.dirtyMu.Lock()
		clear(e.dirty)
		e.dirtyMu.Unlock()
		for _, d := range e.Definitions() {
			ids = append(ids, d.ID)
		}
	}
	var errs []error
	for _, id := range ids {
		if err := e.evaluateAlerts(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("slo %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) evaluateAlerts(ctx context.Context, id string) error {
	t, cfg, ok := e.get(id)
	if !ok {
		return nil
	}
	t.mu.Lock()
	now := e.clock.Now()
	st, fires, err := e.evaluate(ctx, t, now)
	if err == nil {
		e.metrics.evaluated(st)
	}
	if err == nil && !t.stateRead {
		err = e.readState(ctx, t)
	}
	if err != nil {
		t.mu.Unlock()
		return err
	}
	type change struct {
		severity string
		fire     *firing
	}
	var changes []change
	for _, sev := range []string{Page, Ticket} {
		var hit *firing
		has := false
		for i := range fires {
			if fires[i].Rule.Severity != sev {
				continue
			}
			has = true
			if fires[i].Fired && hit == nil {
				hit = &fires[i]
			}
		}
		was, known := t.firing[sev]
		if !has && !was {
			continue
		}
		if (hit != nil) != was || !known {
			if hit == nil && !known {
				continue // nothing recorded and nothing burning: nothing to resolve
			}
			changes = append(changes, change{sev, hit})
		}
	}
	d := t.d()
	t.mu.Unlock()

	for _, c := range changes {
		// Another node may have raised or resolved it already.
		var f int
		err := e.db.QueryRow(ctx, `SELECT firing FROM slo_alert_state WHERE slo_id = ? AND severity = ?`, d.ID, c.severity).Scan(&f)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err == nil && (f != 0) == (c.fire != nil) {
			t.mu.Lock()
			t.firing[c.severity] = c.fire != nil
			t.mu.Unlock()
			continue
		}
		if err := e.submit(ctx, cfg, d, st, c.severity, c.fire, now); err != nil {
			return err
		}
		t.mu.Lock()
		t.firing[c.severity] = c.fire != nil
		t.mu.Unlock()
	}
	return nil
}

func (e *Engine) readState(ctx context.Context, t *tracked) error {
	rows, err := e.db.Query(ctx, `SELECT severity, firing FROM slo_alert_state WHERE slo_id = ?`, t.d().ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	t.firing = map[string]bool{}
	for rows.Next() {
		var sev string
		var f int
		if err := rows.Scan(&sev, &f); err != nil {
			return err
		}
		t.firing[sev] = f != 0
	}
	if err := rows.Err(); err != nil {
		return err
	}
	t.stateRead = true
	return nil
}

// DedupKey is the alert key of an SLO's burn-rate alert of one severity: stable, so a burn that
// goes on is one alert, and its resolve finds it.
func DedupKey(sloID, severity string) string { return "slo/" + sloID + "/" + severity }

func (e *Engine) submit(ctx context.Context, cfg *config.Config, d *Definition, st Status, severity string, f *firing, now time.Time) error {
	target := alert.Target{ServiceID: d.ServiceID, Integration: "slo", Urgency: "high"}
	if svc := cfg.Service(d.ServiceID); svc != nil {
		target.Grouping = svc.IncidentGrouping
		if svc.Urgency != "" {
			target.Urgency = svc.Urgency
		}
	}
	ev := alert.Event{DedupKey: DedupKey(d.ID, severity), Source: "nines-slo", Component: d.ID, Class: "burn-rate", Timestamp: now}
	pair := ""
	if f != nil {
		pair = f.Rule.Pair()
		ev.Action = alert.Trigger
		ev.Summary = summary(d, *f)
		ev.Severity = "critical"
		if severity == Ticket {
			ev.Severity = "warning"
			target.Urgency = "low"
		}
		details, _ := json.Marshal(map[string]any{
			"slo_id": d.ID, "windows": pair, "threshold": f.Rule.Threshold, "long_burn_rate": f.LongBurn,
			"short_burn_rate": f.ShortBurn, "error_budget_remaining": st.ErrorBudgetRemaining, "objective": d.Objective,
		})
		ev.Details = details
	} else {
		ev.Action = alert.Resolve
	}
	if _, err := e.alerts.Submit(ctx, target, []alert.Event{ev}); err != nil {
		return err
	}
	firingInt := 0
	if f != nil {
		firingInt = 1
	}
	_, err := e.db.Exec(ctx, `INSERT INTO slo_alert_state (slo_id, severity, service_id, firing, window_pair, changed_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (slo_id, severity) DO UPDATE SET service_id = excluded.service_id, firing = excluded.firing,
		window_pair = excluded.window_pair, changed_at = excluded.changed_at`,
		d.ID, severity, d.ServiceID, firingInt, pair, now.UnixMilli())
	if err == nil {
		e.log.Info("slo burn-rate alert", "slo", d.ID, "severity", severity, "firing", f != nil, "windows", pair)
	}
	return err
}

// resolveRemoved resolves the burn-rate alerts of SLOs the config no longer has: nothing would
// resolve them otherwise.
func (e *Engine) resolveRemoved(ctx context.Context) error {
	rows, err := e.db.Query(ctx, `SELECT slo_id, severity, service_id FROM slo_alert_state WHERE firing = 1`)
	if err != nil {
		return err
	}
	type open struct{ id, severity, service string }
	var gone []open
	for rows.Next() {
		var o open
		if err := rows.Scan(&o.id, &o.severity, &o.service); err != nil {
			rows.Close()
			return err
		}
		if _, ok := e.Definition(o.id); !ok {
			gone = append(gone, o)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	now := e.clock.Now()
	for _, o := range gone {
		ev := alert.Event{Action: alert.Resolve, DedupKey: DedupKey(o.id, o.severity), Source: "nines-slo", Timestamp: now}
		if _, err := e.alerts.Submit(ctx, alert.Target{ServiceID: o.service, Integration: "slo"}, []alert.Event{ev}); err != nil {
			return err
		}
		if _, err := e.db.Exec(ctx, `DELETE FROM slo_alert_state WHERE slo_id = ? AND severity = ?`, o.id, o.severity); err != nil {
			return err
		}
		e.log.Info("slo burn-rate alert resolved: the SLO was removed from the config", "slo", o.id, "severity", o.severity)
	}
	return nil
}

func (e *Engine) logRound(ctx context.Context, err error) {
	// At shutdown the pipeline closes before the engine stops; the next start evaluates again.
	if err == nil || ctx.Err() != nil || errors.Is(err, alert.ErrClosed) {
		return
	}
	e.log.Warn("slo evaluation", "err", err)
}

// Run evaluates on every wake-up (data arrived) and every Interval, and pulls sources that
// nines reads itself, until ctx ends.
func (e *Engine) Run(ctx context.Context) {
	go e.runPulls(ctx)
	t := e.clock.NewTimer(e.Interval)
	defer func() { t.Stop() }()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
			e.logRound(ctx, e.Round(ctx, true))
		case <-t.C():
			e.logRound(ctx, e.Round(ctx, false))
			if now := e.clock.Now(); now.Sub(lastPrune) > time.Hour {
				lastPrune = now
				if _, err := e.db.Exec(ctx, `DELETE FROM slo_points WHERE at < ?`, now.Add(-Retention).UnixMilli()); err != nil && ctx.Err() == nil {
					e.log.Warn("slo retention", "err", err)
				}
			}
			t = e.clock.NewTimer(e.Interval)
		}
	}
}
