package probe

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// Monitor statuses.
const (
	StatusUp      = "up"
	StatusDown    = "down"
	StatusPending = "pending"
	StatusPaused  = "paused"
	// StatusUnknown is a probe monitor too few of whose locations reported lately to reach its
	// quorum: nines cannot tell up from down, so it neither pages nor resolves.
	StatusUnknown = "unknown"
)

// A location that has delivered no result for StaleAfter intervals, plus DeliverySlack for an
// agent's batching and the network, is stale: its last result counts neither up nor down.
const (
	StaleAfter    = 2
	DeliverySlack = 5 * time.Second
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

	sched   *Scheduler
	node    string      // this process, as the probe lease names it
	leader  atomic.Bool // holds the probe lease
	started time.Time   // when this process began: agents' silence counts from then at the earliest

	agentsMu sync.Mutex
	agents   map[string]time.Time // when each agent's deadline was last pushed by this node

	mu     sync.Mutex
	states map[string]*state
	pauses map[string]Pause // the pauses in force, by monitor (syncPauses)

	hooksMu sync.Mutex
	hooks   []func(monitorID string)

	metrics *monitorMetrics
}

// OnChange registers f to run after a monitor's status or one of its locations' changes:
// status pages, built on the monitors, register to render again. f must not block.
func (m *Monitors) OnChange(f func(monitorID string)) {
	m.hooksMu.Lock()
	defer m.hooksMu.Unlock()
	m.hooks = append(m.hooks, f)
}

// changed tells every hook registered with OnChange that monitor id changed.
func (m *Monitors) changed(id string) {
	m.hooksMu.Lock()
	hooks := append([]func(string){}, m.hooks...)
	m.hooksMu.Unlock()
	for _, h := range hooks {
		h(id)
	}
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
	Status        string    `json:"status"`
	LastCheckedAt time.Time `json:"last_checked_at"`
	// AgeSeconds is how long ago the location's last result was checked, and Stale says it is
	// older than StaleAfter intervals, so it counts neither way. Both are set by View.
	AgeSeconds float64       `json:"age_s"`
	Stale      bool          `json:"stale"`
	Latency    time.Duration `json:"-"`
	LatencyMS  float64       `json:"latency_ms"`
	Cause      Cause         `json:"cause,omitempty"`
	Message    string        `json:"message,omitempty"`
	fails, oks int
	// receivedAt is when the last result reached nines, by its own clock (agents' clocks and
	// batching do not decide freshness). It is saved with the state, so a node that starts or
	// takes the lease over counts a location's silence from its last result, not from then.
	receivedAt time.Time
}

// storedLocation is a location's view as monitor_states keeps it: with when its last result
// reached nines, which the API does not show.
type storedLocation struct {
	*LocationView
	ReceivedAt int64 `json:"received_at,omitempty"` // unix ms
}

func encodeLocations(views map[string]*LocationView) string {
	out := make(map[string]storedLocation, len(views))
	for name, lv := range views {
		sl := storedLocation{LocationView: lv}
		if !lv.receivedAt.IsZero() {
			sl.ReceivedAt = lv.receivedAt.UnixMilli()
		}
		out[name] = sl
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func decodeLocations(text string) map[string]*LocationView {
	var stored map[string]*storedLocation
	if json.Unmarshal([]byte(text), &stored) != nil || stored == nil {
		return nil
	}
	views := make(map[string]*LocationView, len(stored))
	for name, sl := range stored {
		if sl == nil || sl.LocationView == nil {
			continue
		}
		if sl.ReceivedAt > 0 {
			sl.receivedAt = time.UnixMilli(sl.ReceivedAt).UTC()
		}
		views[name] = sl.LocationView
	}
	return views
}

// New wires the monitors to the spine. Register heartbeat timers before the runner starts:
// New does it.
func New(db *store.DB, c clock.Clock, log *slog.Logger, live *config.Live, alerts *alert.Pipeline, runner *timers.Runner, opt Options) *Monitors {
	m := &Monitors{db: db, clock: c, log: log, live: live, alerts: alerts, timers: runner, opt: opt,
		History: NewHistory(db, c, log), states: map[string]*state{}, pauses: map[string]Pause{}, node: newNodeID(), agents: map[string]time.Time{}, started: c.Now(),
		metrics: newMonitorMetrics()}
	runner.Handle(timerLate, m.late)
	runner.Handle(timerRunLate, m.runLate)
	runner.Handle(timerAgentLate, m.agentLate)
	runner.Handle(timerResume, m.resumeDue)
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
	if err := m.syncPauses(ctx); err != nil && ctx.Err() == nil {
		m.log.Error("read the pauses of monitors", "err", err)
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
	m.observe(r)
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
	return jobsFor(m.unpaused(assigned(c.Monitors, c.Probes.Location)), m.opt, m.log)
}

// unpaused leaves out of mons the monitors paused at run time.
func (m *Monitors) unpaused(mons []config.Monitor) []config.Monitor {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.DeleteFunc(mons, func(mon config.Monitor) bool { _, p := m.pauses[mon.ID]; return p })
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
	views := decodeLocations(locs)
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
		st.Locations = decodeLocations(locs)
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

// Bounds on when a result says its check ran (CheckResultTime).
const (
	// ResultMaxAhead is how far past the server's clock a result may be: agents' clocks drift.
	ResultMaxAhead = 5 * time.Minute
	// ResultMaxAge is how old a result may be. An agent keeps what it measures while the server
	// is away and sends it when it comes back; a result older than a day would rewrite days
	// that status pages, uptime and SLA reports have already shown.
	ResultMaxAge = 24 * time.Hour
)

// CheckResultTime says what is wrong with when a result says its check ran, if anything: not
// set, more than ResultMaxAhead after the server's clock, more than ResultMaxAge before it, or
// not after the last result its location reported for the monitor. Results of a location are
// taken in order: an older one would rewrite what was recorded (an old success resolving a newer
// failure), and one as old is a replay, which would count twice.
func (m *Monitors) CheckResultTime(r Result) error {
	now := m.clock.Now()
	switch {
	case r.At.IsZero():
		return errors.New("missing: say when the check ran, e.g. 2026-03-02T10:00:00.123Z")
	case r.At.After(now.Add(ResultMaxAhead)):
		return fmt.Errorf("%s is more than 5 minutes ahead of the server's clock (%s); check the agent's clock",
			r.At.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339))
	case r.At.Before(now.Add(-ResultMaxAge)):
		return fmt.Errorf("%s is more than 24 hours before the server's clock (%s); results that old are not taken",
			r.At.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339))
	}
	if st := m.existingState(r.MonitorID); st != nil {
		if last := m.lastFrom(st, r.Location); !last.IsZero() && !r.At.After(last) {
			return fmt.Errorf("%s is not after the last result from %s for %s (%s): results are taken in order and never rewrite what was recorded",
				r.At.UTC().Format(time.RFC3339Nano), r.Location, r.MonitorID, last.UTC().Format(time.RFC3339Nano))
		}
	}
	return nil
}

// CheckResults says everything wrong with a batch of results an agent sent, as input refused
// (an *invalid.Error) naming each result's field: an unknown monitor, a heartbeat (pinged, not
// probed), a location the monitor does not run from, a negative latency, or when the check ran
// (CheckResultTime). Results are checked with their Location set.
func (m *Monitors) CheckResults(cfg *config.Config, rs []Result) error {
	bad := &invalid.Error{}
	for i, r := range rs {
		mon := cfg.Monitor(r.MonitorID)
		switch {
		case mon == nil:
			bad.Add(fmt.Sprintf("results[%d]", i), "unknown monitor %q", r.MonitorID)
		case mon.Type == config.MonitorHeartbeat:
			bad.Add(fmt.Sprintf("results[%d]", i), "monitor %q is a heartbeat; it is pinged, not probed", r.MonitorID)
		case !slices.Contains(mon.Locations, r.Location):
			bad.Add(fmt.Sprintf("results[%d]", i), "monitor %q does not run from location %q", r.MonitorID, r.Location)
		case r.Latency < 0:
			bad.Add(fmt.Sprintf("results[%d].latency_ns", i), "negative")
		default:
			if err := m.CheckResultTime(r); err != nil {
				bad.Add(fmt.Sprintf("results[%d].at", i), "%v", err)
			}
		}
	}
	if len(bad.Problems) > 0 {
		bad.Summary = bad.Problems[0].String() // the first said, every one listed
	}
	return bad.Err()
}

func (m *Monitors) existingState(id string) *state {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.states[id]
}

// lastFrom is when the last result taken from location for st's monitor was checked.
func (m *Monitors) lastFrom(st *state, location string) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	if lv := st.Locations[location]; lv != nil {
		return lv.LastCheckedAt
	}
	return time.Time{}
}

// Report folds one result into the monitor's state: its location's view moves after
// failures_before_down failures or successes_before_up successes, and the monitor is down when a
// quorum of its locations are. Going down triggers the monitor's alert (unless a maintenance
// window naming the monitor mutes it); coming back up resolves it.
func (m *Monitors) Report(ctx context.Context, r Result) error {
	return m.report(ctx, r, m.clock.Now())
}

// report is Report for a result that reached nines at received: now, or when another node put
// it in the inbox for the lease holder.
func (m *Monitors) report(ctx context.Context, r Result, received time.Time) error {
	cfg := m.live.Get()
	mon := cfg.Monitor(r.MonitorID)
	if mon == nil {
		return fmt.Errorf("unknown monitor %q", r.MonitorID)
	}
	if mon.Type != config.MonitorHeartbeat && !contains(mon.Locations, r.Location) {
		return fmt.Errorf("monitor %s does not run from location %q (its locations: %s)", mon.ID, r.Location, strings.Join(mon.Locations, ", "))
	}
	if _, paused := m.Paused(mon.ID); paused {
		return nil // a paused monitor records nothing and decides nothing
	}
	st := m.stateOf(mon.ID)
	st.mu.Lock()
	defer st.mu.Unlock()
	if mon.Type == config.MonitorHeartbeat {
		// Pings and deadlines reach whichever node the load balancer or the timer runner
		// picks: start from the stored state, not this node's memory. Pings are rare enough.
		if err := m.refresh(ctx, st); err != nil {
			return err
		}
	} else if last := m.lastFrom(st, r.Location); !last.IsZero() && !r.At.After(last) {
		// CheckResultTime refuses such a result; one that passed it on another node, or
		// twice in one batch, is dropped here, so no result rewrites what was recorded.
		m.log.Warn("dropping a probe result not after the last one from its location",
			"monitor", mon.ID, "location", r.Location, "at", r.At, "last", last)
		return nil
	}
	m.History.Add(r)

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
	if received.After(lv.receivedAt) {
		lv.receivedAt = received
	}
	locChanged := lv.Status != lvPrev
	at := r.At
	st.LastCheckedAt = &at
	m.mu.Unlock()
	return m.decide(ctx, cfg, mon, st, r.At, locChanged)
}

// decide applies the verdict of a monitor's locations, with st.mu held: a change of
// status is saved, going down triggers the monitor's alert (unless a maintenance window covers
// it), and coming back up resolves it. Pending and unknown leave an open alert open: silence
// never resolves an incident.
func (m *Monitors) decide(ctx context.Context, cfg *config.Config, mon *config.Monitor, st *state, at time.Time, locChanged bool) error {
	m.mu.Lock()
	prev := st.Status
	next, cause, msg := m.verdict(mon, st, m.clock.Now())
	m.mu.Unlock()

	if mon.Paused {
		next = StatusPaused
	}
	changed := next != prev
	if changed || locChanged {
		// A location going down while the monitor already is changes what status pages show.
		defer m.changed(mon.ID)
	}
	var action alert.Action
	switch {
	case next == StatusDown && !st.alerted && (m.opt.Muted == nil || !m.opt.Muted(mon.ID, m.clock.Now())):
		action = alert.Trigger
	case (next == StatusUp || next == StatusPaused) && st.alerted:
		action = alert.Resolve
	}
	if !changed && action == "" {
		return nil
	}
	if changed {
		// The view is read under m.mu (View); transitions hold both locks. The status moves
		// before the alert is submitted, so whoever the incident reaches sees it; a failed
		// submission leaves alerted as it was, and the next decision submits again.
		m.mu.Lock()
		st.Status, st.Since = next, at
		st.Cause, st.Message = cause, msg
		m.mu.Unlock()
	}
	if action != "" {
		if err := m.submit(ctx, cfg, mon, action, cause, msg, st); err != nil {
			return err
		}
		m.mu.Lock() // saveStates reads it under m.mu
		st.alerted = action == alert.Trigger
		m.mu.Unlock()
	}
	return m.saveState(ctx, st)
}

// verdict applies the quorum. Only fresh locations count: one whose last result reached nines
// more than StaleAfter intervals ago counts neither way, whatever happened to nines meanwhile
// (a restart, a lease taken over: the time is saved with the state). The monitor is down when at least quorum fresh
// locations see it down; with fewer than quorum fresh locations it is unknown, since the
// silent ones might have told either way; otherwise it is up when a fresh location sees it up.
// Called with m.mu held.
func (m *Monitors) verdict(mon *config.Monitor, st *state, now time.Time) (string, Cause, string) {
	if mon.Type == config.MonitorHeartbeat {
		for _, lv := range st.Locations {
			return lv.Status, lv.Cause, lv.Message
		}
	}
	down, up, fresh, reported := 0, 0, 0, 0
	var causes, silent []string
	var cause Cause
	for _, name := range mon.Locations {
		lv := st.Locations[name]
		if lv == nil {
			silent = append(silent, name+": no result yet")
			continue
		}
		if lv.Status != StatusPending {
			reported++
		}
		if m.stale(mon, lv, now) {
			silent = append(silent, fmt.Sprintf("%s: last result %s ago", name, lv.lastResult().Sub(now).Abs().Round(time.Second)))
			continue
		}
		fresh++
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
	case fresh < mon.Quorum && reported == 0:
		return StatusPending, "", ""
	case fresh < mon.Quorum:
		return StatusUnknown, "", fmt.Sprintf("%d of %d locations reported lately, fewer than the quorum of %d (%s)",
			fresh, len(mon.Locations), mon.Quorum, strings.Join(silent, "; "))
	case up > 0:
		return StatusUp, "", ""
	case st.Status == "":
		return StatusPending, "", ""
	}
	return st.Status, st.Cause, st.Message
}

// stale reports whether a location's last result is too old to count: it reached nines more
// than StaleAfter intervals (and the slack) ago. Neither a restart nor a lease taken over makes
// an old result fresh: a location that has not reported since counts by its real age, so the
// server's own probe alone never decides a monitor whose quorum needs another location. Called
// with m.mu held.
func (m *Monitors) stale(mon *config.Monitor, lv *LocationView, now time.Time) bool {
	return now.Sub(lv.lastResult()) > StaleAfter*mon.Interval.D()+DeliverySlack
}

// lastResult is when the location's last result reached nines; for a state saved before that
// was kept, when it was checked.
func (lv *LocationView) lastResult() time.Time {
	if lv.receivedAt.IsZero() {
		return lv.LastCheckedAt
	}
	return lv.receivedAt
}

// sweep decides again every probe monitor with a state, so that locations going silent are
// noticed without a result arriving. The lease holder runs it every second.
func (m *Monitors) sweep(ctx context.Context) {
	cfg := m.live.Get()
	now := m.clock.Now().Truncate(time.Millisecond)
	for i := range cfg.Monitors {
		mon := &cfg.Monitors[i]
		if mon.Type == config.MonitorHeartbeat || mon.Paused {
			continue
		}
		m.mu.Lock()
		st := m.states[mon.ID]
		_, paused := m.pauses[mon.ID]
		m.mu.Unlock()
		if paused {
			continue
		}
		// A monitor busy with a result is being decided anyway.
		if st == nil || !st.mu.TryLock() {
			continue
		}
		err := m.decide(ctx, cfg, mon, st, now, false)
		st.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			m.log.Error("decide a monitor with silent locations", "monitor", mon.ID, "err", err)
		}
	}
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
	return m.saveStates(ctx, []*state{st})
}

// saveStates writes states in one transaction.
func (m *Monitors) saveStates(ctx context.Context, sts []*state) error {
	rows := make([][]any, 0, len(sts))
	m.mu.Lock()
	for _, st := range sts {
		var last int64
		if st.LastCheckedAt != nil {
			last = st.LastCheckedAt.UnixMilli()
		}
		alerted := 0
		if st.alerted {
			alerted = 1
		}
		rows = append(rows, []any{st.ID, st.Status, st.Since.UnixMilli(), alerted, string(st.Cause), st.Message, last, encodeLocations(st.Locations)})
		if st.LastCheckedAt != nil {
			st.savedAt = *st.LastCheckedAt
		}
	}
	m.mu.Unlock()
	return m.db.Tx(ctx, func(tx *store.Tx) error {
		for _, args := range rows {
			if _, err := tx.Exec(ctx, `INSERT INTO monitor_states (monitor_id, status, since, alerted, cause, message, last_checked_at, locations)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (monitor_id) DO UPDATE SET status = excluded.status, since = excluded.since,
				alerted = excluded.alerted, cause = excluded.cause, message = excluded.message, last_checked_at = excluded.last_checked_at,
				locations = excluded.locations`, args...); err != nil {
				return err
			}
		}
		return nil
	})
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
	if _, paused := m.pauses[id]; st == nil && paused {
		return View{ID: id, Status: StatusPaused}, true
	}
	if st == nil {
		return View{ID: id, Status: pendingOrPaused(mon)}, true
	}
	v := st.View
	if _, paused := m.pauses[id]; paused || mon.Paused {
		v.Status = StatusPaused
	}
	now := m.clock.Now()
	if v.Status == StatusUnknown && mon.Type != config.MonitorHeartbeat {
		// Say how long ago the silent locations last reported as of now, not as of the moment
		// the monitor became unknown.
		if status, _, msg := m.verdict(mon, st, now); status == StatusUnknown {
			v.Message = msg
		}
	}
	v.Locations = make(map[string]*LocationView, len(st.Locations))
	for k, lv := range st.Locations {
		c := *lv
		c.AgeSeconds = now.Sub(lv.LastCheckedAt).Seconds()
		if mon.Type != config.MonitorHeartbeat {
			c.Stale = m.stale(mon, lv, now)
		}
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
	return m.unpaused(assigned(m.live.Get().Monitors, location))
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
			m.mu.Lock()
			st.alerted = false
			m.mu.Unlock()
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
