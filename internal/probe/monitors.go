package probe

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// Monitor statuses.
const (
	StatusUp      = "up"
	StatusDown    = "down"
	StatusPending = "pending"
	StatusPaused  = "paused"
)

// Integration is the alert.Target integration of monitor alerts.
const Integration = "monitor"

// DedupKey is the alert key of a monitor: stable, so its incident opens once and resolves once.
func DedupKey(monitorID string) string { return "monitor:" + monitorID }

// Monitors holds the state of every monitor, runs the local probes and heartbeat deadlines,
// and turns down and up into alerts.
type Monitors struct {
	db      *store.DB
	clock   clock.Clock
	log     *slog.Logger
	live    *config.Live
	alerts  *alert.Pipeline
	timers  *timers.Runner
	History *History
	opt     Options
	// OnChange, if set before Run, is called after a monitor's status or one of its
	// locations' changes (status pages re-render on it). It must not block.
	OnChange func(monitorID string)

	sched  *Scheduler
	node   string      // this process, as the probe lease names it
	leader atomic.Bool // holds the probe lease

	mu     sync.Mutex
	states map[string]*state
}

// state is what nines knows of one monitor now.
type state struct {
	mu sync.Mutex // serializes transitions of this monitor
	View
	alerted bool      // a trigger was sent and not resolved yet
	savedAt time.Time // LastCheckedAt when last saved
}

// View is a monitor's status as the API shows it.
type View struct {
	ID            string                   `json:"id"`
	Status        string                   `json:"status"`
	Since         time.Time                `json:"since"`
	LastCheckedAt *time.Time               `json:"last_checked_at"`
	Cause         Cause                    `json:"cause,omitempty"`
	Message       string                   `json:"message,omitempty"`
	Locations     map[string]*LocationView `json:"locations,omitempty"`
}

// LocationView is what one location sees of a monitor.
type LocationView struct {
	Status        string        `json:"status"`
	LastCheckedAt time.Time     `json:"last_checked_at"`
	Latency       time.Duration `json:"-"`
	LatencyMS     float64       `json:"latency_ms"`
	Cause         Cause         `json:"cause,omitempty"`
	Message       string        `json:"message,omitempty"`
	fails, oks    int
}

// New wires the monitors to the spine. Register heartbeat timers before the runner starts:
// New does it.
func New(db *store.DB, c clock.Clock, log *slog.Logger, live *config.Live, alerts *alert.Pipeline, runner *timers.Runner, opt Options) *Monitors {
	m := &Monitors{db: db, clock: c, log: log, live: live, alerts: alerts, timers: runner, opt: opt,
		History: NewHistory(db, c, log), states: map[string]*state{}, node: newNodeID()}
	runner.Handle(timerLate, m.late)
	m.History.Compacts = m.Leading
	cfg := live.Get()
	m.sched = NewScheduler(c, cfg.Probes.Workers, cfg.Probes.Location, m.reportLocal)
	return m
}

// Run loads the stored states, runs the local probes and the history until ctx is done.
func (m *Monitors) Run(ctx context.Context) error {
	if err := m.load(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return err
	}
	cfg := m.live.Get()
	m.applySettings(cfg)
	m.renew(ctx)
	m.live.Subscribe(func(old, c *config.Config) {
		m.applySettings(c)
		if m.Leading() {
			m.sched.Set(m.jobs(c))
		}
		m.retire(ctx, old, c)
	})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); m.History.Run(ctx) }()
	go func() { defer wg.Done(); m.lease(ctx) }()
	m.sched.Run(ctx)
	wg.Wait()
	return nil
}

// SchedulerStats reports what the local scheduler did.
func (m *Monitors) SchedulerStats() SchedulerStats { return m.sched.Stats() }

func (m *Monitors) reportLocal(ctx context.Context, r Result) {
	if err := m.Report(ctx, r); err != nil && ctx.Err() == nil {
		m.log.Error("record probe result", "monitor", r.MonitorID, "err", err)
	}
}

func (m *Monitors) applySettings(c *config.Config) {
	m.History.mu.Lock()
	m.History.RawWindow, m.History.MinuteRetention, m.History.Retention = c.Probes.RawWindow.D(), c.Probes.MinuteRetention.D(), c.Probes.Retention.D()
	m.History.mu.Unlock()
}

// jobs are the probe monitors this node runs itself.
func (m *Monitors) jobs(c *config.Config) []Job {
	return jobsFor(assigned(c.Monitors, c.Probes.Location), m.opt, m.log)
}

// assigned lists the probe monitors a location runs.
func assigned(mons []config.Monitor, location string) []config.Monitor {
	out := []config.Monitor{}
	for _, mon := range mons {
		if mon.Type != config.MonitorHeartbeat && !mon.Paused && contains(mon.Locations, location) {
			out = append(out, mon)
		}
	}
	return out
}

// jobsFor makes the scheduler's jobs, on the server and on agents alike.
func jobsFor(mons []config.Monitor, opt Options, log *slog.Logger) []Job {
	var out []Job
	for i := range mons {
		mon := &mons[i]
		ch, err := NewChecker(mon, opt)
		if err != nil {
			log.Error("monitor not probed", "monitor", mon.ID, "err", err)
			continue
		}
		out = append(out, Job{ID: mon.ID, Interval: mon.Interval.D(), Timeout: mon.Timeout.D(), Checker: ch})
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// refresh replaces a state with its stored row, if there is one.
func (m *Monitors) refresh(ctx context.Context, st *state) error {
	var status, cause, msg, locs string
	var since, last int64
	var alerted int
	err := m.db.QueryRow(ctx, `SELECT status, since, alerted, cause, message, last_checked_at, locations FROM monitor_states WHERE monitor_id = ?`,
		st.ID).Scan(&status, &since, &alerted, &cause, &msg, &last, &locs)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	var views map[string]*LocationView
	json.Unmarshal([]byte(locs), &views)
	m.mu.Lock()
	defer m.mu.Unlock()
	st.Status, st.Since, st.alerted, st.Cause, st.Message = status, time.UnixMilli(since).UTC(), alerted == 1, Cause(cause), msg
	if last > 0 {
		t := time.UnixMilli(last).UTC()
		st.LastCheckedAt = &t
	}
	if views != nil {
		st.Locations = views
	}
	return nil
}

func (m *Monitors) load(ctx context.Context) error {
	rows, err := m.db.Query(ctx, `SELECT monitor_id, status, since, alerted, cause, message, last_checked_at, locations FROM monitor_states`)
	if err != nil {
		return err
	}
	defer rows.Close()
	m.mu.Lock()
	defer m.mu.Unlock()
	for rows.Next() {
		st := &state{}
		var since, last int64
		var alerted int
		var cause, locs string
		if err := rows.Scan(&st.ID, &st.Status, &since, &alerted, &cause, &st.Message, &last, &locs); err != nil {
			return err
		}
		st.Since, st.alerted, st.Cause = time.UnixMilli(since).UTC(), alerted == 1, Cause(cause)
		if last > 0 {
			t := time.UnixMilli(last).UTC()
			st.LastCheckedAt = &t
		}
		json.Unmarshal([]byte(locs), &st.Locations)
		m.states[st.ID] = st
	}
	return rows.Err()
}

func (m *Monitors) stateOf(id string) *state {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.states[id]
	if st == nil {
		st = &state{View: View{ID: id, Status: StatusPending, Since: m.clock.Now().Truncate(time.Millisecond)}}
		m.states[id] = st
	}
	return st
}

// Report folds one result into the monitor's state: its location's view moves after
// failures_before_down failures or successes_before_up successes, and the monitor is down when a
// quorum of its locations are. Going down triggers the monitor's alert (unless a maintenance
// window covers it); coming back up resolves it.
func (m *Monitors) Report(ctx context.Context, r Result) error {
	cfg := m.live.Get()
	mon := cfg.Monitor(r.MonitorID)
	if mon == nil {
		return fmt.Errorf("unknown monitor %q", r.MonitorID)
	}
	if mon.Type != config.MonitorHeartbeat && !contains(mon.Locations, r.Location) {
		return fmt.Errorf("monitor %s does not run from location %q (its locations: %s)", mon.ID, r.Location, strings.Join(mon.Locations, ", "))
	}
	m.History.Add(r)
	st := m.stateOf(mon.ID)
	st.mu.Lock()
	defer st.mu.Unlock()
	if mon.Type == config.MonitorHeartbeat {
		// Pings and deadlines reach whichever node the load balancer or the timer runner
		// picks: start from the stored state, not this node's memory. Pings are rare enough.
		if err := m.refresh(ctx, st); err != nil {
			return err
		}
	}

	m.mu.Lock()
	if st.Locations == nil {
		st.Locations = map[string]*LocationView{}
	}
	lv := st.Locations[r.Location]
	if lv == nil {
		lv = &LocationView{Status: StatusPending}
		st.Locations[r.Location] = lv
	}
	downAfter, upAfter := mon.FailuresBeforeDown, mon.SuccessesBeforeUp
	if mon.Type == config.MonitorHeartbeat {
		downAfter, upAfter = 1, 1
	}
	lvPrev := lv.Status
	lv.LastCheckedAt, lv.Latency, lv.LatencyMS = r.At, r.Latency, float64(r.Latency.Microseconds())/1000
	if r.OK {
		lv.oks, lv.fails = lv.oks+1, 0
		lv.Cause, lv.Message = "", ""
		if lv.Status == StatusPending || lv.oks >= upAfter {
			lv.Status = StatusUp
		}
	} else {
		lv.fails, lv.oks = lv.fails+1, 0
		lv.Cause, lv.Message = r.Cause, r.Message
		if lv.fails >= downAfter {
			lv.Status = StatusDown
		}
	}
	at := r.At
	st.LastCheckedAt = &at
	prev := st.Status
	next, cause, msg := m.verdict(mon, st, r.At)
	m.mu.Unlock()

	if mon.Paused {
		next = StatusPaused
	}
	changed := next != prev
	if (changed || lv.Status != lvPrev) && m.OnChange != nil {
		// A location going down while the monitor already is changes what status pages show.
		defer m.OnChange(mon.ID)
	}
	var action alert.Action
	switch {
	case next == StatusDown && !st.alerted && !cfg.InMaintenance(mon.ID, mon.Service, m.clock.Now()):
		action = alert.Trigger
	case next != StatusDown && st.alerted:
		action = alert.Resolve
	}
	if !changed && action == "" {
		return nil
	}
	if action != "" {
		if err := m.submit(ctx, cfg, mon, action, cause, msg, st); err != nil {
			return err
		}
		st.alerted = action == alert.Trigger
	}
	if changed {
		// The view is read under m.mu (View); transitions hold both locks.
		m.mu.Lock()
		st.Status, st.Since = next, r.At
		st.Cause, st.Message = cause, msg
		m.mu.Unlock()
	}
	return m.saveState(ctx, st)
}

// verdict applies the quorum: down when at least quorum locations see the monitor down, up when
// some location sees it up. A location silent for three intervals does not count. Called with
// m.mu held.
func (m *Monitors) verdict(mon *config.Monitor, st *state, now time.Time) (string, Cause, string) {
	if mon.Type == config.MonitorHeartbeat {
		for _, lv := range st.Locations {
			return lv.Status, lv.Cause, lv.Message
		}
	}
	stale := 3 * mon.Interval.D()
	down, up := 0, 0
	var causes []string
	var cause Cause
	var names []string
	for name := range st.Locations {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		lv := st.Locations[name]
		if !contains(mon.Locations, name) || now.Sub(lv.LastCheckedAt) > stale {
			continue
		}
		switch lv.Status {
		case StatusDown:
			down++
			if cause == "" {
				cause = lv.Cause
			}
			causes = append(causes, name+": "+lv.Message)
		case StatusUp:
			up++
		}
	}
	switch {
	case down >= mon.Quorum:
		return StatusDown, cause, strings.Join(causes, "; ")
	case up > 0:
		return StatusUp, "", ""
	case st.Status == "":
		return StatusPending, "", ""
	}
	return st.Status, st.Cause, st.Message
}

func (m *Monitors) submit(ctx context.Context, cfg *config.Config, mon *config.Monitor, action alert.Action, cause Cause, msg string, st *state) error {
	svc := cfg.Service(mon.Service)
	t := alert.Target{ServiceID: mon.Service, Integration: Integration}
	if svc != nil {
		t.Grouping, t.Urgency = svc.IncidentGrouping, svc.Urgency
	}
	locs := map[string]any{}
	for name, lv := range st.Locations {
		locs[name] = map[string]any{"status": lv.Status, "cause": lv.Cause, "message": lv.Message, "at": lv.LastCheckedAt}
	}
	details, _ := json.Marshal(map[string]any{"monitor_id": mon.ID, "type": mon.Type, "cause": cause, "message": msg, "locations": locs})
	ev := alert.Event{Action: action, DedupKey: DedupKey(mon.ID), Source: "nines monitor " + mon.ID, Severity: mon.Severity,
		Component: mon.ID, Class: string(cause), Details: details, Timestamp: m.clock.Now()}
	if action == alert.Trigger {
		ev.Summary = fmt.Sprintf("%s is down (%s): %s", mon.Name, cause, msg)
	} else {
		ev.Summary = mon.Name + " is up again"
	}
	_, err := m.alerts.Submit(ctx, t, []alert.Event{ev})
	return err
}

func (m *Monitors) saveState(ctx context.Context, st *state) error {
	m.mu.Lock()
	locs, _ := json.Marshal(st.Locations)
	var last int64
	if st.LastCheckedAt != nil {
		last = st.LastCheckedAt.UnixMilli()
	}
	alerted := 0
	if st.alerted {
		alerted = 1
	}
	args := []any{st.ID, st.Status, st.Since.UnixMilli(), alerted, string(st.Cause), st.Message, last, string(locs)}
	if st.LastCheckedAt != nil {
		st.savedAt = *st.LastCheckedAt
	}
	m.mu.Unlock()
	_, err := m.db.Exec(ctx, `INSERT INTO monitor_states (monitor_id, status, since, alerted, cause, message, last_checked_at, locations)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (monitor_id) DO UPDATE SET status = excluded.status, since = excluded.since,
		alerted = excluded.alerted, cause = excluded.cause, message = excluded.message, last_checked_at = excluded.last_checked_at,
		locations = excluded.locations`, args...)
	return err
}

// Days returns a monitor's last n UTC days of checks, oldest first, for uptime bars.
func (m *Monitors) Days(ctx context.Context, id string, n int) ([]DayBar, error) {
	return m.History.Days(ctx, id, n)
}

// View returns a copy of a monitor's state; ok is false for an unknown monitor.
func (m *Monitors) View(id string) (View, bool) {
	mon := m.live.Get().Monitor(id)
	if mon == nil {
		return View{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.states[id]
	if st == nil {
		return View{ID: id, Status: pendingOrPaused(mon)}, true
	}
	v := st.View
	if mon.Paused {
		v.Status = StatusPaused
	}
	v.Locations = make(map[string]*LocationView, len(st.Locations))
	for k, lv := range st.Locations {
		c := *lv
		v.Locations[k] = &c
	}
	return v, true
}

func pendingOrPaused(mon *config.Monitor) string {
	if mon.Paused {
		return StatusPaused
	}
	return StatusPending
}

// Assignments lists the probe monitors a location runs, for agents.
func (m *Monitors) Assignments(location string) []config.Monitor {
	return assigned(m.live.Get().Monitors, location)
}

// retire resolves the open alerts of monitors a reload removed or paused: nothing would
// ever resolve them otherwise. A removed monitor's state is forgotten.
func (m *Monitors) retire(ctx context.Context, old, cur *config.Config) {
	m.mu.Lock()
	var gone []*state
	for id, st := range m.states {
		if mon := cur.Monitor(id); mon == nil || mon.Paused {
			gone = append(gone, st)
		}
	}
	m.mu.Unlock()
	for _, st := range gone {
		st.mu.Lock()
		mon := cur.Monitor(st.ID)
		removed := mon == nil
		if removed {
			mon = old.Monitor(st.ID)
		}
		if st.alerted && mon != nil {
			if err := m.submit(ctx, old, mon, alert.Resolve, "", "", st); err != nil {
				m.log.Error("resolve the alert of a retired monitor", "monitor", st.ID, "err", err)
				st.mu.Unlock()
				continue
			}
			st.alerted = false
		}
		var err error
		if removed {
			m.mu.Lock()
			delete(m.states, st.ID)
			m.mu.Unlock()
			_, err = m.db.Exec(ctx, `DELETE FROM monitor_states WHERE monitor_id = ?`, st.ID)
		} else {
			m.mu.Lock()
			st.Status, st.Since = StatusPaused, m.clock.Now().Truncate(time.Millisecond)
			m.mu.Unlock()
			err = m.saveState(ctx, st)
		}
		if err != nil {
			m.log.Error("retire monitor state", "monitor", st.ID, "err", err)
		}
		st.mu.Unlock()
	}
}
