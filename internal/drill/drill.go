// Package drill runs chaos drills: planned failures of a service, only inside its team's working
// hours, never during an open incident or maintenance, that nines starts (a Toxiproxy toxic, a
// chaos tool's webhook, or a synthetic alert), watches travel the real alert and escalation path,
// scores (time to detect, to page, to acknowledge) and ends by removing the fault. Starting,
// ending and removing the fault are durable timers, so a restart mid-drill removes the fault.
package drill

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/labels"
	"github.com/nines-dev/nines/internal/maintenance"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/probe"
	"github.com/nines-dev/nines/internal/slo"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// Schema holds drill runs and their timelines.
var Schema = store.Schema{Component: "drill", Migrations: []string{`
CREATE TABLE drill_runs (
	id {{id}},
	drill_id TEXT NOT NULL,
	service_id TEXT NOT NULL,
	state TEXT NOT NULL,
	recurring INTEGER NOT NULL,
	period_end BIGINT NOT NULL,
	scheduled_for BIGINT NOT NULL,
	requested_by TEXT NOT NULL,
	spec TEXT NOT NULL,
	started_at BIGINT,
	fault_at BIGINT,
	incident_id BIGINT,
	detected_at BIGINT,
	paged_at BIGINT,
	paged_user TEXT NOT NULL DEFAULT '',
	acknowledged_at BIGINT,
	acknowledged_by TEXT NOT NULL DEFAULT '',
	abort_by TEXT NOT NULL DEFAULT '',
	ended_at BIGINT,
	fault_removed_at BIGINT,
	reason TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL
);
CREATE INDEX drill_runs_service ON drill_runs (service_id, state);
CREATE INDEX drill_runs_incident ON drill_runs (incident_id);
CREATE UNIQUE INDEX drill_runs_next ON drill_runs (drill_id) WHERE state = 'scheduled' AND recurring = 1;
CREATE TABLE drill_events (
	id {{id}},
	run_id BIGINT NOT NULL,
	at BIGINT NOT NULL,
	type TEXT NOT NULL,
	text TEXT NOT NULL
);
CREATE INDEX drill_events_run ON drill_events (run_id, id);
`, `
ALTER TABLE drill_runs ADD COLUMN fault_lost_at BIGINT;
`}}

// States of a run. Scheduled and the two live states are open; the rest are outcomes.
const (
	Scheduled = "scheduled"
	Starting  = "starting" // claimed; the fault is being injected
	Running   = "running"  // the fault is on: what opens now is the drill's incident
	// Aborting is how a live run that was aborted reads until its fault is removed (Toxiproxy
	// down, say: removal is retried). It is never stored: the run is starting or running, with
	// who aborted it.
	Aborting    = "aborting"
	Passed      = "passed"
	Failed      = "failed"
	Aborted     = "aborted"
	Refused     = "refused"     // could not start; nothing was changed
	Interrupted = "interrupted" // nines restarted mid-drill; the fault was removed
	Cancelled   = "cancelled"   // a scheduled run called off before it started
)

// Live reports whether a state is a drill under way (the fault may be on).
func Live(state string) bool { return state == Starting || state == Running || state == Aborting }

// Timer kinds.
const (
	kindStart = "drill.start"
	kindEnd   = "drill.end"
	kindLease = "drill.lease"
)

// LeaseTTL is how long a drill's fault outlives the process running it: the process renews the
// lease while it lives; when it dies (kill -9, a crash, a node lost), the lease timer comes due
// on whichever process runs timers next, which removes the fault.
const LeaseTTL = 15 * time.Second

// EventDetected is written on the timeline of the incident a drill opened.
const EventDetected = "drill.detected"

// EventUnderWay is written on the timeline of an incident that opened on a service during a
// drill but is not the drill's: a real one, which the responder must know a drill runs beside.
const EventUnderWay = "drill.under_way"

// EventFaultLost is written on the timeline of a drill's incident when the drill's fault can
// no longer be confirmed: what the incident shows from then on may be real.
const EventFaultLost = "drill.fault_lost"

// Prefix marks incidents and pages of a drill.
const Prefix = "[DRILL] "

// Run is one drill run.
type Run struct {
	ID             int64      `json:"id"`
	DrillID        string     `json:"drill"`
	ServiceID      string     `json:"service"`
	Name           string     `json:"name"`
	Kind           string     `json:"kind"`
	State          string     `json:"state"`
	Recurring      bool       `json:"recurring"`
	ScheduledFor   time.Time  `json:"scheduled_for"`
	RequestedBy    string     `json:"requested_by"`
	StartedAt      *time.Time `json:"started_at,omitempty"`
	FaultAt        *time.Time `json:"fault_at,omitempty"`
	IncidentID     int64      `json:"incident_id,omitempty"`
	DetectedAt     *time.Time `json:"detected_at,omitempty"`
	PagedAt        *time.Time `json:"paged_at,omitempty"`
	PagedUser      string     `json:"paged_user,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	AbortedBy      string     `json:"aborted_by,omitempty"`
	EndedAt        *time.Time `json:"ended_at,omitempty"`
	FaultRemovedAt *time.Time `json:"fault_removed_at,omitempty"`
	// FaultLostAt is when the fault could no longer be confirmed (Toxiproxy stopped answering,
	// the toxic went): from then on no incident is taken as the drill's.
	FaultLostAt *time.Time `json:"fault_lost_at,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	Targets     Targets    `json:"targets"`
	LimitS      float64    `json:"limit_s"`
	Score       Score      `json:"score"`
	Spec        Spec       `json:"-"`
	periodEnd   time.Time
}

// Score is a run's timings, in seconds from the start of the fault, against its targets.
type Score struct {
	DetectS      *float64 `json:"detect_s,omitempty"`
	PageS        *float64 `json:"page_s,omitempty"`
	AcknowledgeS *float64 `json:"acknowledge_s,omitempty"`
	// Missed names each target missed, and what was never reached.
	Missed []string `json:"missed,omitempty"`
}

// Event is one line of a run's timeline.
type Event struct {
	At   time.Time `json:"at"`
	Type string    `json:"type"`
	Text string    `json:"text"`
}

// Service starts, watches, scores and ends drills.
type Service struct {
	db          *store.DB
	clock       clock.Clock
	live        *config.Live
	incidents   *incident.Service
	alerts      *alert.Pipeline
	runner      *timers.Runner
	log         *slog.Logger
	maintenance *maintenance.Service
	// Client makes the calls to Toxiproxy and chaos tools (default: 10 s timeout).
	Client *http.Client
	// Rand returns a number in [0, n): when recurring drills run. Tests replace it.
	Rand func(n int64) int64

	underway underway // whether any run may be under way, so incidents need not ask

	mu      sync.Mutex
	owned   map[int64]bool // runs this process started and keeps the lease of
	working map[int64]*sync.Mutex
}

// lock serializes this process's work on one run (a request and the timer runner both ending
// it, say), so a fault is injected or removed once; across nodes the state checks and the
// idempotent removal do.
func (s *Service) lock(id int64) func() {
	s.mu.Lock()
	m := s.working[id]
	if m == nil {
		m = &sync.Mutex{}
		s.working[id] = m
	}
	s.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// New wires the drill service: its timers, and hooks on incidents that watch a drill's alert
// become an incident, a page and an acknowledgement. It sets rules.Retitle, on the rules the
// incident service was made with, so an incident opened during a drill says so.
func New(db *store.DB, c clock.Clock, live *config.Live, incidents *incident.Service, rules *incident.Rules, alerts *alert.Pipeline,
	runner *timers.Runner, maint *maintenance.Service, log *slog.Logger) *Service {
	s := &Service{db: db, clock: c, live: live, incidents: incidents, alerts: alerts, runner: runner, maintenance: maint, log: log,
		Rand: func(n int64) int64 { return rand.Int64N(n) }, owned: map[int64]bool{}, working: map[int64]*sync.Mutex{}}
	runner.Handle(kindStart, s.runStart)
	runner.Handle(kindEnd, s.runEnd)
	runner.Handle(kindLease, s.runLease)
	rules.Retitle = s.retitle
	incidents.OnChange(s.onChange)
	incidents.OnAppend(s.onAppend)
	return s
}

func (s *Service) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return defaultClient
}

var defaultClient = &http.Client{Timeout: 10 * time.Second}

// Errors a caller can act on.
var (
	ErrNotFound = errors.New("drill run not found")
	ErrNoDrill  = errors.New("no such drill")
)

// RefusedError says why a drill cannot start; nothing was changed.
type RefusedError struct {
	Run    Run
	Reason string
}

func (e *RefusedError) Error() string { return "the drill cannot start: " + e.Reason }

// StateError refuses what the run's state does not allow (aborting a run that has ended).
type StateError struct{ Msg string }

func (e *StateError) Error() string { return e.Msg }

func ms(t time.Time) int64 { return t.UnixMilli() }

func msPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

const runColumns = `id, drill_id, service_id, state, recurring, period_end, scheduled_for, requested_by, spec, started_at, fault_at,
	incident_id, detected_at, paged_at, paged_user, acknowledged_at, acknowledged_by, abort_by, ended_at, fault_removed_at, reason, fault_lost_at`

type scanner interface{ Scan(...any) error }

func scanRun(row scanner) (Run, error) {
	var r Run
	var recurring int
	var periodEnd, sched int64
	var spec string
	var started, fault, inc, detected, paged, acked, ended, removed, lost sql.NullInt64
	err := row.Scan(&r.ID, &r.DrillID, &r.ServiceID, &r.State, &recurring, &periodEnd, &sched, &r.RequestedBy, &spec, &started, &fault,
		&inc, &detected, &paged, &r.PagedUser, &acked, &r.AcknowledgedBy, &r.AbortedBy, &ended, &removed, &r.Reason, &lost)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(spec), &r.Spec); err != nil {
		return r, fmt.Errorf("drill run %d: spec: %w", r.ID, err)
	}
	r.Recurring, r.periodEnd, r.ScheduledFor = recurring == 1, time.UnixMilli(periodEnd).UTC(), time.UnixMilli(sched).UTC()
	r.StartedAt, r.FaultAt, r.DetectedAt, r.PagedAt, r.AcknowledgedAt, r.EndedAt, r.FaultRemovedAt =
		fromMS(started), fromMS(fault), fromMS(detected), fromMS(paged), fromMS(acked), fromMS(ended), fromMS(removed)
	r.IncidentID, r.FaultLostAt = inc.Int64, fromMS(lost)
	if Live(r.State) && r.AbortedBy != "" {
		r.State = Aborting
	}
	r.Name, r.Kind, r.Targets, r.LimitS = r.Spec.Name, r.Spec.Kind, r.Spec.Targets, r.Spec.LimitS
	r.Score = score(r)
	return r, nil
}

// score measures a run from the start of its fault against its targets.
func score(r Run) Score {
	var sc Score
	if r.FaultAt == nil {
		return sc
	}
	since := func(t *time.Time) *float64 {
		if t == nil {
			return nil
		}
		// Milliseconds, as stored: no float noise (1.382, not 1.3820000000000001).
		v := float64(t.Sub(*r.FaultAt).Milliseconds()) / 1000
		if v < 0 {
			v = 0
		}
		return &v
	}
	sc.DetectS, sc.PageS, sc.AcknowledgeS = since(r.DetectedAt), since(r.PagedAt), since(r.AcknowledgedAt)
	judge := func(what string, got *float64, target float64) {
		switch {
		case got == nil:
			sc.Missed = append(sc.Missed, "never "+what)
		case target > 0 && *got > target:
			sc.Missed = append(sc.Missed, fmt.Sprintf("%s in %s, target %s", what, fmtSeconds(*got), fmtSeconds(target)))
		}
	}
	judge("detected", sc.DetectS, r.Targets.DetectS)
	judge("paged", sc.PageS, r.Targets.PageS)
	judge("acknowledged", sc.AcknowledgeS, r.Targets.AcknowledgeS)
	return sc
}

func fmtSeconds(s float64) string {
	d := time.Duration(s * float64(time.Second)).Round(time.Second)
	if d < time.Second && s > 0 {
		return fmt.Sprintf("%.1fs", s)
	}
	return d.String()
}

// Get reads one run.
func (s *Service) Get(ctx context.Context, id int64) (Run, error) {
	r, err := scanRun(s.db.QueryRow(ctx, `SELECT `+runColumns+` FROM drill_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

func (s *Service) getTx(ctx context.Context, tx *store.Tx, id int64) (Run, error) {
	r, err := scanRun(tx.QueryRow(ctx, `SELECT `+runColumns+` FROM drill_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// Query selects runs for List.
type Query struct {
	Services []string // any of these; empty means all
	Drill    string
	Limit    int // default 100, at most 1000
}

// List returns runs, the next to run and the latest first.
func (s *Service) List(ctx context.Context, q Query) ([]Run, error) {
	where, args := []string{"1 = 1"}, []any{}
	if len(q.Services) > 0 {
		where = append(where, "service_id IN (?"+strings.Repeat(", ?", len(q.Services)-1)+")")
		for _, id := range q.Services {
			args = append(args, id)
		}
	}
	if q.Drill != "" {
		where = append(where, "drill_id = ?")
		args = append(args, q.Drill)
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 100
	}
	rows, err := s.db.Query(ctx, `SELECT `+runColumns+` FROM drill_runs WHERE `+strings.Join(where, " AND ")+
		` ORDER BY scheduled_for DESC, id DESC LIMIT `+strconv.Itoa(q.Limit), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// LastPassed is the latest run of the service that passed.
func (s *Service) LastPassed(ctx context.Context, serviceID string) (Run, bool, error) {
	r, err := scanRun(s.db.QueryRow(ctx, `SELECT `+runColumns+` FROM drill_runs WHERE service_id = ? AND state = ?
		ORDER BY ended_at DESC, id DESC LIMIT 1`, serviceID, Passed))
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, err
}

// Incidents are the incidents drills took as their own (each a drill's detection), for reports
// that leave drills out. Drills are few: every one ever run is read.
func (s *Service) Incidents(ctx context.Context) (map[int64]bool, error) {
	rows, err := s.db.Query(ctx, `SELECT incident_id FROM drill_runs WHERE incident_id IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// Events is the timeline of a run, oldest first.
func (s *Service) Events(ctx context.Context, id int64) ([]Event, error) {
	rows, err := s.db.Query(ctx, `SELECT at, type, text FROM drill_events WHERE run_id = ? ORDER BY at, id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&at, &e.Type, &e.Text); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *Service) event(ctx context.Context, tx *store.Tx, id int64, at time.Time, typ, text string) error {
	_, err := tx.Exec(ctx, `INSERT INTO drill_events (run_id, at, type, text) VALUES (?, ?, ?, ?)`, id, ms(at), typ, truncate(text, 2000))
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// runNowFallback is when a run asked for now starts should the process asked die first.
const runNowFallback = 30 * time.Second

// insert writes a scheduled run inside tx; the caller sets its start timer.
func (s *Service) insert(ctx context.Context, tx *store.Tx, d *config.Drill, at, periodEnd time.Time, recurring bool, by string) (int64, error) {
	sp := specOf(d)
	rec := 0
	if recurring {
		rec, sp.Plan = 1, planOf(s.live.Get(), d)
	}
	spec, err := json.Marshal(sp)
	if err != nil {
		return 0, err
	}
	now := s.clock.Now()
	id, err := tx.InsertID(ctx, `INSERT INTO drill_runs (drill_id, service_id, state, recurring, period_end, scheduled_for, requested_by, spec, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.ID, d.Service, Scheduled, rec, ms(periodEnd), ms(at), by, string(spec), ms(now))
	if err != nil {
		return 0, err
	}
	text := "Scheduled by " + by + " for " + at.UTC().Format("2006-01-02 15:04Z") + "."
	if recurring {
		text = fmt.Sprintf("Scheduled for %s, a random time of the period ending %s.", at.UTC().Format("2006-01-02 15:04Z"), periodEnd.UTC().Format("2006-01-02 15:04Z"))
	}
	if err := s.event(ctx, tx, id, now, "scheduled", text); err != nil {
		return 0, err
	}
	return id, nil
}

func key(id int64) string { return strconv.FormatInt(id, 10) }

func keyID(k string) (int64, bool) {
	id, err := strconv.ParseInt(k, 10, 64)
	return id, err == nil
}

// Schedule plans a one-off run of a drill at a time to come. By names who asked.
func (s *Service) Schedule(ctx context.Context, drillID string, at time.Time, by string) (Run, error) {
	d := s.live.Get().Drill(drillID)
	if d == nil {
		return Run{}, ErrNoDrill
	}
	now := s.clock.Now()
	switch {
	case !at.After(now):
		return Run{}, invalid.Field("at", "%s is not in the future; leave it out to run the drill now", at.UTC().Format(time.RFC3339))
	case at.Sub(now) > 90*24*time.Hour:
		return Run{}, invalid.Field("at", "at most 90 days ahead")
	}
	cfg := s.live.Get()
	if hours := oncall.TeamHours(cfg, d.Service); !hours.Contains(at) || !hours.Contains(at.Add(d.Limit.D()-time.Second)) {
		return Run{}, invalid.Field("at", "%s is outside the working hours of %s (%s %s); the drill and its %s limit must fall inside them; they next start %s",
			at.UTC().Format(time.RFC3339), teamOf(cfg, d.Service), hours, hours.Zone, d.Limit.D(), nextFit(hours, at, d.Limit.D()).UTC().Format(time.RFC3339))
	}
	var id int64
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		if id, err = s.insert(ctx, tx, d, at, at, false, by); err != nil {
			return err
		}
		return s.runner.Set(ctx, tx, kindStart, key(id), at, "")
	})
	if err != nil {
		return Run{}, err
	}
	return s.Get(ctx, id)
}

// nextFit is the first minute at or after t at which a drill of limit fits inside hours (the
// next start of the hours, unless the drill fits no earlier than later that day); t itself
// when none comes within a week (validation refuses hours without such a minute).
func nextFit(hours oncall.Hours, t time.Time, limit time.Duration) time.Time {
	start := t.Truncate(time.Minute)
	if start.Before(t) {
		start = start.Add(time.Minute)
	}
	for m := start; m.Before(t.Add(8 * 24 * time.Hour)); m = m.Add(time.Minute) {
		if hours.Contains(m) && hours.Contains(m.Add(limit-time.Second)) {
			return m
		}
	}
	return t
}

func teamOf(cfg *config.Config, serviceID string) string {
	if svc := cfg.Service(serviceID); svc != nil && svc.Team != "" {
		return "team " + svc.Team
	}
	return "the service's team (by default)"
}

// unseen says why nothing could detect a fault drill's fault, or "": a drill nobody can detect
// can only fail, and only looks like a lapse of the people it pages. Detectors are the monitors
// (not paused) and SLOs that detected_by names, else those of the service; alert matchers may
// match anything, so a drill that names some is taken as seen.
func unseen(cfg *config.Config, d *config.Drill) string {
	if d.Kind == config.DrillPage {
		return ""
	}
	var monitors, slos []string
	if b := d.DetectedBy; b != nil {
		if len(b.Alerts) > 0 {
			return ""
		}
		monitors, slos = b.Monitors, b.SLOs
	} else {
		for _, m := range cfg.Monitors {
			if m.Service == d.Service {
				monitors = append(monitors, m.ID)
			}
		}
		for _, o := range cfg.SLOs {
			if o.Service == d.Service {
				slos = append(slos, o.ID)
			}
		}
	}
	if len(slos) > 0 {
		return ""
	}
	var paused []string
	for _, id := range monitors {
		if m := cfg.Monitor(id); m != nil && !m.Paused {
			return ""
		} else if m != nil {
			paused = append(paused, id)
		}
	}
	if len(paused) > 0 {
		return fmt.Sprintf("nothing can detect the fault: monitor %s of %s is paused (resume it, or name other detectors in detected_by)", strings.Join(paused, ", "), d.Service)
	}
	return fmt.Sprintf("nothing can detect the fault: %s has no monitor or SLO (add one, or name alerts in detected_by)", d.Service)
}

// RunNow starts a drill at once, if it can start: the answer is the run under way, or a
// RefusedError saying why not (the refusal is kept on the drill's history; no fault was
// injected).
func (s *Service) RunNow(ctx context.Context, drillID, by string) (Run, error) {
	d := s.live.Get().Drill(drillID)
	if d == nil {
		return Run{}, ErrNoDrill
	}
	now := s.clock.Now()
	var id int64
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		if id, err = s.insert(ctx, tx, d, now, now, false, by); err != nil {
			return err
		}
		// The request starts it below; the timer is the fallback should this process die
		// before it has (the checks run again then).
		return s.runner.Set(ctx, tx, kindStart, key(id), now.Add(runNowFallback), "")
	})
	if err != nil {
		return Run{}, err
	}
	if err := s.start(ctx, id); err != nil {
		return Run{}, err
	}
	r, err := s.Get(ctx, id)
	if err == nil && r.State == Refused {
		return r, &RefusedError{Run: r, Reason: r.Reason}
	}
	return r, err
}

// Abort ends a drill under way at once, removing its fault, or calls off a scheduled one.
func (s *Service) Abort(ctx context.Context, id int64, by string) (Run, error) {
	now := s.clock.Now()
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		r, err := s.getTx(ctx, tx, id)
		if err != nil {
			return err
		}
		switch {
		case r.State == Scheduled:
			if _, err := tx.Exec(ctx, `UPDATE drill_runs SET state = ?, ended_at = ?, reason = ? WHERE id = ? AND state = ?`,
				Cancelled, ms(now), "called off by "+by, id, Scheduled); err != nil {
				return err
			}
			if err := s.runner.Cancel(ctx, tx, kindStart, key(id)); err != nil {
				return err
			}
			if r.Recurring {
				if err := s.scheduleNext(ctx, tx, r); err != nil {
					return err
				}
			}
			return s.event(ctx, tx, id, now, "cancelled", "Called off by "+by+" before it started.")
		case Live(r.State):
			if r.AbortedBy != "" {
				return nil
			}
			if _, err := tx.Exec(ctx, `UPDATE drill_runs SET abort_by = ? WHERE id = ?`, by, id); err != nil {
				return err
			}
			if err := s.event(ctx, tx, id, now, "abort", "Aborted by "+by+": removing the fault now."); err != nil {
				return err
			}
			return s.runner.Set(ctx, tx, kindEnd, key(id), now, "")
		}
		return &StateError{fmt.Sprintf("drill run %d is %s; only a scheduled or running drill can be aborted", id, r.State)}
	})
	if err != nil {
		return Run{}, err
	}
	// End it here and now rather than when the timer runner wakes: an abort is urgent.
	if err := s.end(ctx, id, ""); err != nil {
		s.log.Error("aborting a drill; its timer tries again", "run", id, "err", err)
	}
	return s.Get(ctx, id)
}

// Check says why the drill cannot start now, or "" when it can. It changes nothing.
func (s *Service) Check(ctx context.Context, d *config.Drill) (string, error) {
	cfg := s.live.Get()
	now := s.clock.Now()
	svc := cfg.Service(d.Service)
	if svc == nil || !svc.Readiness.Drills {
		return fmt.Sprintf("service %s has not opted in to drills (readiness.drills)", d.Service), nil
	}
	hours := oncall.TeamHours(cfg, d.Service)
	loc := hours.Zone
	team := svc.Team
	if team == "" {
		team = "(no team)"
	}
	if why := unseen(cfg, d); why != "" {
		return why, nil
	}
	if !hours.Contains(now) || !hours.Contains(now.Add(d.Limit.D()-time.Second)) {
		return fmt.Sprintf("outside the working hours of team %s (%s); a drill and its %s limit must fall inside them; they next start %s",
			team, hours.String()+" "+loc.String(), d.Limit.D(), nextFit(hours, now, d.Limit.D()).In(loc).Format("Mon 2006-01-02 15:04 MST")), nil
	}
	if s.maintenance != nil {
		sc := maintenance.Scope{Services: []string{d.Service}}
		for _, m := range cfg.Monitors {
			if m.Service == d.Service {
				sc.Monitors = append(sc.Monitors, m.ID)
			}
		}
		in, err := s.maintenance.In(ctx, sc, now)
		if err != nil {
			return "", err
		}
		if in {
			return fmt.Sprintf("service %s (or one of its monitors) is under maintenance: its alerts are held or muted", d.Service), nil
		}
	}
	open, _, err := s.incidents.List(ctx, incident.Filter{ServiceIDs: []string{d.Service}, States: []incident.State{incident.Triggered, incident.Acknowledged}, Limit: 1})
	if err != nil {
		return "", err
	}
	if len(open) > 0 {
		return fmt.Sprintf("incident #%d (%s) is open on %s; a drill waits until it is resolved", open[0].ID, open[0].Title, d.Service), nil
	}
	if svc.Team != "" {
		var teamServices []string
		for _, o := range cfg.Services {
			if o.Team == svc.Team && o.ID != d.Service {
				teamServices = append(teamServices, o.ID)
			}
		}
		if len(teamServices) > 0 {
			busy, _, err := s.incidents.List(ctx, incident.Filter{ServiceIDs: teamServices, States: []incident.State{incident.Acknowledged}, Limit: 1})
			if err != nil {
				return "", err
			}
			if len(busy) > 0 {
				return fmt.Sprintf("team %s is handling incident #%d (%s) on %s", svc.Team, busy[0].ID, busy[0].Title, busy[0].ServiceID), nil
			}
		}
	}
	var other int64
	err = s.db.QueryRow(ctx, `SELECT id FROM drill_runs WHERE service_id = ? AND state IN (?, ?) LIMIT 1`, d.Service, Starting, Running).Scan(&other)
	switch {
	case err == nil:
		return fmt.Sprintf("drill run %d is already under way on %s", other, d.Service), nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", err
	}
	return "", nil
}

func (s *Service) runStart(ctx context.Context, t timers.Timer) error {
	id, ok := keyID(t.Key)
	if !ok {
		return nil
	}
	return s.start(ctx, id)
}

// start runs the checks, then claims the run, checks the fault can be injected, injects it and,
// for a page drill, raises the synthetic alert. A run that cannot start is refused with why,
// and nothing is changed.
func (s *Service) start(ctx context.Context, id int64) error {
	defer s.lock(id)()
	r, err := s.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil || r.State != Scheduled {
		return err
	}
	cfg := s.live.Get()
	d := cfg.Drill(r.DrillID)
	why := ""
	if d == nil {
		why = "drill " + r.DrillID + " is no longer in the config"
	} else if why, err = s.Check(ctx, d); err != nil {
		return err
	}
	if why == "" {
		if err := s.faultOf(r).Preflight(ctx); err != nil {
			why = err.Error()
		}
	}
	now := s.clock.Now()
	if why != "" {
		return s.refuse(ctx, r, why, now)
	}
	claimed := false
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE drill_runs SET state = ?, started_at = ? WHERE id = ? AND state = ?`, Starting, ms(now), id, Scheduled)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil // another process started it
		}
		s.underway.mark() // before the commit: no incident opening after it can miss the run
		claimed = true
		if err := s.runner.Cancel(ctx, tx, kindStart, key(id)); err != nil {
			return err
		}
		// The fault's removal is due before the fault exists: at the limit, and sooner should
		// this process die (the lease).
		if err := s.runner.Set(ctx, tx, kindEnd, key(id), now.Add(r.Spec.Limit()), ""); err != nil {
			return err
		}
		if err := s.runner.Set(ctx, tx, kindLease, key(id), now.Add(LeaseTTL), ""); err != nil {
			return err
		}
		if r.Recurring {
			if err := s.scheduleNext(ctx, tx, r); err != nil {
				return err
			}
		}
		tx.AfterCommit(func() { s.own(id, true) })
		return s.event(ctx, tx, id, now, "starting", "Checks passed: inside working hours, no open incident, no maintenance. Injecting "+s.faultOf(r).What()+".")
	})
	if err != nil || !claimed {
		return err
	}
	f := s.faultOf(r)
	if err := f.Inject(ctx); err != nil {
		// Nothing may be left behind: remove what may have been half made, then refuse.
		if rerr := f.Remove(ctx); rerr != nil {
			s.log.Error("removing a fault that failed to inject", "run", id, "err", rerr)
		}
		return s.db.Tx(ctx, func(tx *store.Tx) error {
			at := s.clock.Now()
			if _, err := tx.Exec(ctx, `UPDATE drill_runs SET state = ?, ended_at = ?, fault_removed_at = ?, reason = ? WHERE id = ?`,
				Refused, ms(at), ms(at), "could not inject the fault: "+err.Error(), id); err != nil {
				return err
			}
			if err := s.cancelTimers(ctx, tx, id); err != nil {
				return err
			}
			tx.AfterCommit(func() { s.own(id, false) })
			return s.event(ctx, tx, id, at, "refused", "Could not inject the fault: "+err.Error())
		})
	}
	faultAt := s.clock.Now()
	if err := s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE drill_runs SET state = ?, fault_at = ? WHERE id = ? AND state = ?`, Running, ms(faultAt), id, Starting); err != nil {
			return err
		}
		return s.event(ctx, tx, id, faultAt, "fault", "Fault on: "+f.What()+". Waiting for an alert.")
	}); err != nil {
		return err
	}
	if r.Spec.Kind == config.DrillPage {
		if err := s.raise(ctx, r, faultAt); err != nil {
			s.log.Error("raising a drill's alert", "run", id, "err", err)
			return s.db.Tx(ctx, func(tx *store.Tx) error {
				return s.event(ctx, tx, id, s.clock.Now(), "error", "Could not raise the drill's alert: "+err.Error())
			})
		}
	}
	return nil
}

// raise submits a page drill's synthetic alert through the alert pipeline, so it is
// deduplicated, opens an incident and pages exactly as a real alert would.
func (s *Service) raise(ctx context.Context, r Run, at time.Time) error {
	cfg := s.live.Get()
	t := alert.Target{ServiceID: r.ServiceID, Integration: integration}
	if svc := cfg.Service(r.ServiceID); svc != nil {
		t.Grouping, t.Urgency = svc.IncidentGrouping, svc.Urgency
	}
	details, _ := json.Marshal(map[string]any{"drill": r.DrillID, "run": r.ID, "note": "This is a drill: nothing is broken. Acknowledge it as you would a real page."})
	ev := alert.Event{Action: alert.Trigger, DedupKey: alertKey(r.ID), Source: "nines drill " + r.DrillID, Severity: r.Spec.Severity,
		Summary: Prefix + r.Name + ": a drill of the paging path; nothing is broken", Component: r.ServiceID, Class: "drill", Details: details, Timestamp: at}
	_, err := s.alerts.Submit(ctx, t, []alert.Event{ev})
	return err
}

func alertKey(id int64) string { return "nines-drill-" + strconv.FormatInt(id, 10) }

// refuse records that a run could not start, and why; a recurring one plans its next run.
func (s *Service) refuse(ctx context.Context, r Run, why string, now time.Time) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE drill_runs SET state = ?, ended_at = ?, reason = ? WHERE id = ? AND state = ?`, Refused, ms(now), why, r.ID, Scheduled)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		if err := s.runner.Cancel(ctx, tx, kindStart, key(r.ID)); err != nil {
			return err
		}
		if r.Recurring {
			if err := s.scheduleNext(ctx, tx, r); err != nil {
				return err
			}
		}
		tx.AfterCommit(func() { s.forget(r.ID) })
		return s.event(ctx, tx, r.ID, now, "refused", "Not started, nothing changed: "+why+".")
	})
}

// scheduleNext plans the next run of a recurring drill, in the period after r's.
func (s *Service) scheduleNext(ctx context.Context, tx *store.Tx, r Run) error {
	cfg := s.live.Get()
	d := cfg.Drill(r.DrillID)
	if d == nil || d.Schedule == nil {
		return nil
	}
	from := r.periodEnd
	if now := s.clock.Now(); from.Before(now) {
		from = now
	}
	return s.planFrom(ctx, tx, cfg, d, from)
}

func (s *Service) planFrom(ctx context.Context, tx *store.Tx, cfg *config.Config, d *config.Drill, from time.Time) error {
	at, end, ok := NextSlot(from, d.Schedule, oncall.TeamHours(cfg, d.Service), d.Limit.D(), s.Rand)
	if !ok {
		s.log.Warn("a recurring drill finds no time inside its schedule and the team's working hours", "drill", d.ID)
		return nil
	}
	return tx.Savepoint(ctx, func() error {
		id, err := s.insert(ctx, tx, d, at, end, true, "schedule")
		if err != nil && isUniqueViolation(err) {
			return nil // another node planned it
		}
		if err != nil {
			return err
		}
		return s.runner.Set(ctx, tx, kindStart, key(id), at, "")
	})
}

func isUniqueViolation(err error) bool {
	m := strings.ToLower(err.Error())
	return strings.Contains(m, "unique") || strings.Contains(m, "duplicate key")
}

// Reconcile plans the next run of every recurring drill that has none, and calls off planned
// runs of drills removed from the config or no longer recurring. It runs at start and on
// every reload.
func (s *Service) Reconcile(ctx context.Context) error {
	cfg := s.live.Get()
	now := s.clock.Now()
	rows, err := s.db.Query(ctx, `SELECT id, drill_id, recurring, spec FROM drill_runs WHERE state = ?`, Scheduled)
	if err != nil {
		return err
	}
	planned, replan := map[string]bool{}, map[string]bool{}
	type dropped struct {
		id  int64
		why string
	}
	var drop []dropped
	for rows.Next() {
		var id int64
		var drillID, raw string
		var rec int
		if err := rows.Scan(&id, &drillID, &rec, &raw); err != nil {
			rows.Close()
			return err
		}
		var sp Spec
		json.Unmarshal([]byte(raw), &sp)
		d := cfg.Drill(drillID)
		switch {
		case d == nil:
			drop = append(drop, dropped{id, "the drill was removed from the config"})
		case rec == 1 && d.Schedule == nil:
			drop = append(drop, dropped{id, "the drill is no longer scheduled"})
		case rec == 1 && sp.Plan != "" && sp.Plan != planOf(cfg, d):
			// Planned under a schedule (or working hours, or limit) no longer in force.
			drop = append(drop, dropped{id, "the drill's schedule changed; it was planned again"})
			replan[drillID] = true
		case rec == 1:
			planned[drillID] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		for _, x := range drop {
			if _, err := tx.Exec(ctx, `UPDATE drill_runs SET state = ?, ended_at = ?, reason = ? WHERE id = ? AND state = ?`,
				Cancelled, ms(now), x.why, x.id, Scheduled); err != nil {
				return err
			}
			if err := s.event(ctx, tx, x.id, now, "cancelled", "Called off: "+x.why+"."); err != nil {
				return err
			}
			if err := s.runner.Cancel(ctx, tx, kindStart, key(x.id)); err != nil {
				return err
			}
		}
		for i := range cfg.Drills {
			d := &cfg.Drills[i]
			if d.Schedule == nil || planned[d.ID] {
				continue
			}
			// The next period starts where the last run's ended; a run called off because the
			// schedule changed gives way to one planned from now under the new schedule.
			from := now
			var last sql.NullInt64
			if err := tx.QueryRow(ctx, `SELECT MAX(period_end) FROM drill_runs WHERE drill_id = ? AND recurring = 1 AND state <> ?`, d.ID, Cancelled).Scan(&last); err != nil {
				return err
			}
			if last.Valid && time.UnixMilli(last.Int64).After(from) && !replan[d.ID] {
				from = time.UnixMilli(last.Int64).UTC()
			}
			if err := s.planFrom(ctx, tx, cfg, d, from); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Service) own(id int64, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.owned[id] = true
	} else {
		delete(s.owned, id)
	}
}

// forget drops the lock of a run that has ended.
func (s *Service) forget(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.working, id)
}

func (s *Service) owns(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owned[id]
}

func (s *Service) ownedRuns() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int64, 0, len(s.owned))
	for id := range s.owned {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Run renews the leases of the drills this process runs until ctx ends.
func (s *Service) Run(ctx context.Context) {
	for {
		t := s.clock.NewTimer(LeaseTTL / 3)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		for _, id := range s.ownedRuns() {
			if err := s.renew(ctx, id); err != nil && ctx.Err() == nil {
				s.log.Error("renewing a drill's lease", "run", id, "err", err)
			}
			if err := s.verify(ctx, id); err != nil && ctx.Err() == nil {
				s.log.Error("confirming a drill's fault", "run", id, "err", err)
			}
		}
	}
}

func (s *Service) renew(ctx context.Context, id int64) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		var state string
		if err := tx.QueryRow(ctx, `SELECT state FROM drill_runs WHERE id = ?`, id).Scan(&state); err != nil {
			return err
		}
		if !Live(state) {
			tx.AfterCommit(func() { s.own(id, false) })
			return nil
		}
		return s.runner.Set(ctx, tx, kindLease, key(id), s.clock.Now().Add(LeaseTTL), "")
	})
}

// verify confirms that a running drill's fault is still the one it injected. When it cannot
// (Toxiproxy stopped answering, the toxic is gone), what the service's monitors see from then
// on may be a real outage, not the drill: the drill takes no incident as its own any more, and
// the incident it took already says so on its timeline.
func (s *Service) verify(ctx context.Context, id int64) error {
	r, err := s.Get(ctx, id)
	if err != nil || r.State != Running || r.FaultLostAt != nil || r.AbortedBy != "" || r.AcknowledgedAt != nil {
		return err
	}
	lost := s.faultOf(r).Verify(ctx)
	if lost == nil {
		return nil
	}
	now := s.clock.Now()
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE drill_runs SET fault_lost_at = ? WHERE id = ? AND state = ? AND fault_lost_at IS NULL`, ms(now), id, Running)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		if err := s.event(ctx, tx, id, now, "fault_lost", "The fault can no longer be confirmed: "+lost.Error()+
			". From now on no incident is taken as the drill's; one that opens on the service is real."); err != nil {
			return err
		}
		if r.IncidentID == 0 {
			return nil
		}
		return s.incidents.Append(ctx, tx, r.IncidentID, EventFaultLost, now, incident.Actor{Name: "nines", Source: "drill"}, map[string]any{"drill": r.DrillID, "run": r.ID,
			"text": fmt.Sprintf("The fault of drill run %d can no longer be confirmed (%s): what this incident shows from now on may be a real outage; treat it as one.", r.ID, lost.Error())})
	})
}

// runLease runs when a drill's lease was not renewed: the process that ran it is gone, so the
// fault comes off and the drill ends, interrupted. The process that runs it renews it instead.
func (s *Service) runLease(ctx context.Context, t timers.Timer) error {
	id, ok := keyID(t.Key)
	if !ok {
		return nil
	}
	if s.owns(id) {
		return s.renew(ctx, id)
	}
	return s.end(ctx, id, "nines stopped while the drill ran (a restart, a crash, or the node running it was lost); the fault was removed when it came back")
}

func (s *Service) runEnd(ctx context.Context, t timers.Timer) error {
	id, ok := keyID(t.Key)
	if !ok {
		return nil
	}
	return s.end(ctx, id, "")
}

// end removes a live run's fault and records its outcome, when it is due: aborted, interrupted
// (interrupted names why), acknowledged, or past its limit. Until then it waits for its timer.
// Removal that fails is retried (an error here retries the timer) and the drill stays live.
func (s *Service) end(ctx context.Context, id int64, interrupted string) error {
	defer s.lock(id)()
	r, err := s.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil || !Live(r.State) {
		return err
	}
	now := s.clock.Now()
	deadline := r.StartedAt.Add(r.Spec.Limit())
	var state, reason string
	switch {
	case r.AbortedBy != "":
		state, reason = Aborted, "aborted by "+r.AbortedBy
	case interrupted != "":
		state, reason = Interrupted, interrupted
	case r.AcknowledgedAt != nil:
		if sc := score(r); len(sc.Missed) > 0 {
			state, reason = Failed, strings.Join(sc.Missed, "; ")
		} else {
			state, reason = Passed, "detected, paged and acknowledged within every target"
		}
	case !now.Before(deadline):
		state = Failed
		if r.DetectedAt == nil && r.FaultLostAt != nil {
			reason = "not detected before its fault could no longer be confirmed, at " + r.FaultLostAt.Format("15:04:05Z")
		} else if r.DetectedAt == nil {
			reason = "not detected within the drill's limit of " + r.Spec.Limit().String()
		} else {
			reason = "detected, but not acknowledged within the drill's limit of " + r.Spec.Limit().String()
		}
	default:
		return s.db.Tx(ctx, func(tx *store.Tx) error { return s.runner.Set(ctx, tx, kindEnd, key(id), deadline, "") })
	}
	if err := s.faultOf(r).Remove(ctx); err != nil {
		if terr := s.db.Tx(ctx, func(tx *store.Tx) error {
			return s.event(ctx, tx, id, now, "error", "Removing the fault failed, trying again: "+err.Error())
		}); terr != nil {
			s.log.Error("recording a drill's failed removal", "run", id, "err", terr)
		}
		return err
	}
	if r.Spec.Kind == config.DrillPage && r.FaultAt != nil {
		t := alert.Target{ServiceID: r.ServiceID, Integration: integration}
		if _, err := s.alerts.Submit(ctx, t, []alert.Event{{Action: alert.Resolve, DedupKey: alertKey(id), Source: "nines drill " + r.DrillID, Timestamp: now}}); err != nil {
			return err
		}
	}
	removed := s.clock.Now()
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE drill_runs SET state = ?, ended_at = ?, fault_removed_at = ?, reason = ? WHERE id = ? AND state IN (?, ?)`,
			state, ms(removed), ms(removed), reason, id, Starting, Running)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		if err := s.cancelTimers(ctx, tx, id); err != nil {
			return err
		}
		tx.AfterCommit(func() { s.own(id, false); s.forget(id) })
		what := "Fault removed."
		if r.Spec.Kind == config.DrillPage {
			what = "The drill's alert was resolved."
		}
		return s.event(ctx, tx, id, removed, state, what+" The drill "+state+": "+reason+".")
	})
}

func (s *Service) cancelTimers(ctx context.Context, tx *store.Tx, id int64) error {
	for _, k := range []string{kindStart, kindEnd, kindLease} {
		if err := s.runner.Cancel(ctx, tx, k, key(id)); err != nil {
			return err
		}
	}
	return nil
}

// Hooks on incidents: they run inside the transaction of the change they see.

// detects reports whether an alert that opens an incident can be a detection of run r's fault.
// A page drill is detected by its own synthetic alert only. A fault drill is detected by the
// signals that can see its fault: the ones it names in detected_by, else any monitor or SLO of
// the service. An alert any other way (an Events v2 trigger about a full disk, say) is not the
// drill's: it may be a real outage that happens to come during the drill.
func detects(r Run, o incident.Origin) bool {
	if r.Spec.Kind == config.DrillPage {
		return o.Integration == integration && o.DedupKey == alertKey(r.ID)
	}
	d := r.Spec.DetectedBy
	if d == nil {
		return o.Integration == probe.Integration || o.Integration == sloIntegration
	}
	for _, id := range d.Monitors {
		if o.Integration == probe.Integration && o.DedupKey == probe.DedupKey(id) {
			return true
		}
	}
	for _, id := range d.SLOs {
		if o.Integration == sloIntegration && strings.HasPrefix(o.DedupKey, slo.DedupKey(id, "")) {
			return true
		}
	}
	for _, m := range d.Alerts {
		if ms, err := labels.Parse(m); err == nil && ms.Matches(labels.Set(o.Labels)) {
			return true
		}
	}
	return false
}

// integration is what a page drill's synthetic alert comes through; sloIntegration what an
// SLO's burn-rate alerts come through (internal/slo).
const (
	integration    = "drill"
	sloIntegration = "slo"
)

// claimant is the run, under way on the service with its fault confirmed and no incident yet,
// whose fault the signal opening an incident can see; ok is false when there is none. live is
// any run under way on the service, claimed or not.
func (s *Service) claimant(ctx context.Context, tx *store.Tx, serviceID string, o incident.Origin) (claim Run, ok bool, live *Run, err error) {
	if may, err := s.underway.may(ctx, s.db); err != nil || !may {
		return claim, false, nil, err
	}
	rows, err := tx.Query(ctx, `SELECT `+runColumns+` FROM drill_runs WHERE service_id = ? AND state IN (?, ?) ORDER BY id`, serviceID, Starting, Running)
	if err != nil {
		return claim, false, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return claim, false, nil, err
		}
		if live == nil {
			live = &r
		}
		if !ok && r.State == Running && r.IncidentID == 0 && r.FaultLostAt == nil && detects(r, o) {
			claim, ok = r, true
		}
	}
	return claim, ok, live, rows.Err()
}

// retitle marks "[DRILL]" an incident a drill's fault opened.
func (s *Service) retitle(ctx context.Context, tx *store.Tx, p incident.OpenParams) (string, error) {
	_, ok, _, err := s.claimant(ctx, tx, p.ServiceID, p.Origin)
	switch {
	case err != nil:
		return "", err
	case !ok, strings.HasPrefix(p.Title, strings.TrimSpace(Prefix)):
		return p.Title, nil
	}
	return Prefix + p.Title, nil
}

// onChange sees a drill detected (an incident opened by a signal that can see its fault) and
// acknowledged (by a person, on that incident). An incident that opens otherwise while a drill
// runs on the service is a real one: its timeline says a drill runs beside it.
func (s *Service) onChange(ctx context.Context, tx *store.Tx, ch incident.Change) error {
	inc := ch.Incident
	switch {
	case ch.From == "":
		r, ok, live, err := s.claimant(ctx, tx, inc.ServiceID, ch.Origin)
		if err != nil || live == nil {
			return err
		}
		nines := incident.Actor{Name: "nines", Source: "drill"}
		if !ok {
			why := "it was not opened by a signal that can see the drill's fault"
			if live.IncidentID != 0 {
				why = fmt.Sprintf("the drill's fault opened incident #%d", live.IncidentID)
			} else if live.FaultLostAt != nil {
				why = "the drill's fault could no longer be confirmed when it opened"
			}
			return s.incidents.Append(ctx, tx, inc.ID, EventUnderWay, inc.CreatedAt, nines, map[string]any{"drill": live.DrillID, "run": live.ID,
				"text": fmt.Sprintf("Drill run %d (%s) is under way on this service, but this incident is not part of it (%s): treat it as real.", live.ID, live.DrillID, why)})
		}
		if _, err := tx.Exec(ctx, `UPDATE drill_runs SET incident_id = ?, detected_at = ? WHERE id = ?`, inc.ID, ms(inc.CreatedAt), r.ID); err != nil {
			return err
		}
		if err := s.event(ctx, tx, r.ID, inc.CreatedAt, "detected", fmt.Sprintf("Detected: incident #%d opened (%s).", inc.ID, inc.Title)); err != nil {
			return err
		}
		return s.incidents.Append(ctx, tx, inc.ID, EventDetected, inc.CreatedAt, nines,
			map[string]any{"drill": r.DrillID, "run": r.ID, "text": fmt.Sprintf("This incident is drill run %d (%s): a planned failure. Respond as you would to a real one; the drill ends when it is acknowledged.", r.ID, r.DrillID)})
	case ch.From == incident.Triggered && (inc.State == incident.Acknowledged ||
		// A person who resolves it straight away has answered the page too; an alert
		// resolving itself (the monitor seeing the service back) has not.
		inc.State == incident.Resolved && !strings.HasPrefix(ch.Actor.Name, "integration:")):
		at := inc.UpdatedAt
		if inc.AcknowledgedAt != nil {
			at = *inc.AcknowledgedAt
		}
		res, err := tx.Exec(ctx, `UPDATE drill_runs SET acknowledged_at = ?, acknowledged_by = ? WHERE incident_id = ? AND state = ? AND acknowledged_at IS NULL`,
			ms(at), ch.Actor.Name, inc.ID, Running)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM drill_runs WHERE incident_id = ? AND state = ?`, inc.ID, Running).Scan(&id); err != nil {
			return err
		}
		if err := s.event(ctx, tx, id, at, "acknowledged", "Acknowledged by "+ch.Actor.Name+". Ending the drill."); err != nil {
			return err
		}
		return s.runner.Set(ctx, tx, kindEnd, key(id), at, "")
	}
	return nil
}

// onAppend sees the first page of a drill's incident delivered.
func (s *Service) onAppend(ctx context.Context, tx *store.Tx, incidentID int64, typ string, at time.Time, data string) error {
	if typ != "notification.sent" {
		return nil
	}
	var d struct {
		User   string `json:"user"`
		Method string `json:"method"`
	}
	json.Unmarshal([]byte(data), &d)
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM drill_runs WHERE incident_id = ? AND state = ? AND paged_at IS NULL`, incidentID, Running).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE drill_runs SET paged_at = ?, paged_user = ? WHERE id = ?`, ms(at), d.User, id); err != nil {
		return err
	}
	return s.event(ctx, tx, id, at, "paged", fmt.Sprintf("Paged: %s by %s.", d.User, d.Method))
}

func sortedStrings(s []string) []string {
	sort.Strings(s)
	return s
}
