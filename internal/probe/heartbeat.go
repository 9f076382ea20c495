package probe

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// timerLate is the durable timer that fires when a heartbeat's deadline passes without a
// successful ping. Its key is the monitor id.
const timerLate = "heartbeat.late"

// timerRunLate fires when the latest start of a heartbeat has not finished within the grace.
// Its key is the monitor id.
const timerRunLate = "heartbeat.run"

// pairWindow bounds how far apart a start and its finish may be to make one run, as
// healthchecks.io does: older starts are taken as unrelated.
const pairWindow = 72 * time.Hour

// PingKind is what a ping says.
type PingKind string

// Ping kinds, as healthchecks.io's URLs name them.
const (
	PingSuccess PingKind = "success" // /ping/{uuid}, or /ping/{uuid}/0
	PingStart   PingKind = "start"   // /ping/{uuid}/start
	PingFail    PingKind = "fail"    // /ping/{uuid}/fail, or a non-zero exit code
	PingLog     PingKind = "log"     // /ping/{uuid}/log: recorded, changes nothing
)

// MaxPingBody bounds the part of a ping's body kept as the run's log.
const MaxPingBody = 10 << 10

// Ping is one ping as received.
type Ping struct {
	Kind     PingKind
	ExitCode int // meaningful for an exit-code ping; -1 otherwise
	// RunID (healthchecks.io's rid, a UUID) pairs a start with its own finish, so overlapping
	// runs each get their duration. Empty pairs a finish with the latest start without one.
	RunID  string
	Body   string
	Remote string
}

// ErrUnknownHeartbeat is returned for a uuid, or a ping key and slug, that names no heartbeat.
var ErrUnknownHeartbeat = errors.New("no heartbeat has this uuid")

// PingTarget names the heartbeat a ping URL is for: by its UUID, or by the ping key and its slug.
type PingTarget struct {
	UUID    string
	PingKey string
	Slug    string
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsUUID reports whether s is a UUID in its usual text form (any case), as a run id must be.
func IsUUID(s string) bool { return uuidRE.MatchString(s) }

// ParsePingURL reads the part of a ping URL after /ping/: "{uuid}" or "{ping_key}/{slug}",
// then optionally "/start", "/fail", "/log" or "/{exit-code}" (0 to 255). A first segment
// shaped as a UUID is a UUID; anything else is a ping key, which must be followed by a slug.
func ParsePingURL(path string) (PingTarget, PingKind, int, error) {
	var t PingTarget
	parts := strings.Split(path, "/")
	if len(parts) > 3 {
		return t, "", 0, fmt.Errorf("%d path segments after /ping/; want {uuid}[/kind] or {ping_key}/{slug}[/kind]", len(parts))
	}
	for i, p := range parts {
		if p == "" {
			return t, "", 0, fmt.Errorf("segment %d after /ping/ is empty", i+1)
		}
	}
	var suffix string
	switch {
	case uuidRE.MatchString(parts[0]):
		if len(parts) > 2 {
			return t, "", 0, fmt.Errorf("%.60q after the uuid: want one of start, fail, log or an exit code", strings.Join(parts[1:], "/"))
		}
		t.UUID = strings.ToLower(parts[0])
		if len(parts) == 2 {
			suffix = parts[1]
		}
	case len(parts) < 2:
		return t, "", 0, fmt.Errorf("%.40q is neither a uuid nor a ping key followed by a slug", parts[0])
	default:
		t.PingKey, t.Slug = parts[0], parts[1]
		if len(parts) == 3 {
			suffix = parts[2]
		}
	}
	kind, code, err := ParsePingPath(suffix)
	return t, kind, code, err
}

// ParsePingPath reads the part of a ping URL after the uuid: "", "start", "fail", "log" or an
// exit code from 0 to 255.
func ParsePingPath(suffix string) (PingKind, int, error) {
	switch suffix {
	case "":
		return PingSuccess, -1, nil
	case "start":
		return PingStart, -1, nil
	case "fail":
		return PingFail, -1, nil
	case "log":
		return PingLog, -1, nil
	}
	code, err := strconv.Atoi(suffix)
	if err != nil || code < 0 || code > 255 || strconv.Itoa(code) != suffix {
		return "", 0, fmt.Errorf("%.40q is not start, fail, log or an exit code from 0 to 255", suffix)
	}
	if code == 0 {
		return PingSuccess, 0, nil
	}
	return PingFail, code, nil
}

// Ping records a ping of the heartbeat with uuid.
func (m *Monitors) Ping(ctx context.Context, uuid string, p Ping) error {
	mon := m.live.Get().HeartbeatByUUID(uuid)
	if mon == nil {
		return ErrUnknownHeartbeat
	}
	return m.ping(ctx, mon, p)
}

// PingSlug records a ping of the heartbeat with slug, sent with its ping key: its team's
// (teams[].ping_key), or probes.ping_key for a heartbeat of no team or of a team without one
// (config.PingKeyOf). Another team's key pings nothing, so one team cannot fail another's
// heartbeat nor fake its success; a wrong key is told apart from a wrong slug by nobody.
func (m *Monitors) PingSlug(ctx context.Context, key, slug string, p Ping) error {
	cfg := m.live.Get()
	mon := cfg.HeartbeatBySlug(slug)
	if mon == nil {
		return ErrUnknownHeartbeat
	}
	want, _ := cfg.PingKeyOf(mon)
	if want == "" || subtle.ConstantTimeCompare([]byte(key), []byte(want)) != 1 {
		return ErrUnknownHeartbeat
	}
	return m.ping(ctx, mon, p)
}

// ping records a ping. The ping, the next missed-ping deadline and the watch on the run it
// starts or finishes are written in one transaction; a success or failure then moves the
// monitor's state, opening or resolving its alert.
func (m *Monitors) ping(ctx context.Context, mon *config.Monitor, p Ping) error {
	now := m.clock.Now().Truncate(time.Millisecond)
	if len(p.Body) > MaxPingBody {
		p.Body = p.Body[:MaxPingBody]
	}
	var took time.Duration
	paused := m.pausedNow(ctx, mon.ID)
	err := m.db.Tx(ctx, func(tx *store.Tx) error {
		finish := p.Kind == PingSuccess || p.Kind == PingFail
		if finish {
			// The run goes from the latest start with the same run id not finished yet.
			var at int64
			err := tx.QueryRow(ctx, `SELECT s.at FROM heartbeat_pings s WHERE s.monitor_id = ? AND s.kind = 'start' AND s.rid = ? AND s.at >= ?
				AND NOT EXISTS (SELECT 1 FROM heartbeat_pings f WHERE f.monitor_id = s.monitor_id AND f.rid = s.rid AND f.id > s.id AND f.kind IN ('success', 'fail'))
				ORDER BY s.id DESC LIMIT 1`, mon.ID, p.RunID, now.Add(-pairWindow).UnixMilli()).Scan(&at)
			if err == nil {
				took = now.Sub(time.UnixMilli(at))
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO heartbeat_pings (monitor_id, at, kind, exit_code, duration_ms, body, remote, rid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			mon.ID, now.UnixMilli(), string(p.Kind), p.ExitCode, took.Milliseconds(), p.Body, p.Remote, p.RunID); err != nil {
			return err
		}
		// Pings are kept per monitor up to a bound, so a chatty job cannot grow the database.
		if _, err := tx.Exec(ctx, `DELETE FROM heartbeat_pings WHERE monitor_id = ? AND id <= (
			SELECT id FROM heartbeat_pings WHERE monitor_id = ? ORDER BY id DESC LIMIT 1 OFFSET 100)`, mon.ID, mon.ID); err != nil {
			return err
		}
		if paused {
			return nil // kept, but a paused heartbeat is not watched
		}
		switch {
		case p.Kind == PingStart:
			// The latest start is watched: without its finish within the grace, the job is late.
			if err := m.timers.Set(ctx, tx, timerRunLate, mon.ID, now.Add(mon.Grace.D()), p.RunID); err != nil {
				return err
			}
		case finish:
			var rid string
			err := tx.QueryRow(ctx, `SELECT rid FROM heartbeat_pings WHERE monitor_id = ? AND kind = 'start' ORDER BY id DESC LIMIT 1`, mon.ID).Scan(&rid)
			if err == nil && closesRun(p, rid) {
				if err := m.timers.Cancel(ctx, tx, timerRunLate, mon.ID); err != nil {
					return err
				}
			} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if p.Kind == PingSuccess {
			return m.timers.Set(ctx, tx, timerLate, mon.ID, Deadline(mon, now), "")
		}
		return nil
	})
	if err != nil || paused {
		return err
	}
	switch p.Kind {
	case PingSuccess:
		return m.Report(ctx, Result{MonitorID: mon.ID, Location: "push", At: now, OK: true, Latency: took})
	case PingFail:
		msg := "the job reported failure"
		if p.ExitCode > 0 {
			msg = fmt.Sprintf("the job exited with code %d", p.ExitCode)
		}
		return m.Report(ctx, Result{MonitorID: mon.ID, Location: "push", At: now, Cause: CauseFailed, Message: msg, Latency: took})
	}
	return nil
}

// closesRun reports whether a finish ends the run started with run id rid, as healthchecks.io
// decides it: a finish with the same run id, a success without one (a job that does not pass
// run ids on), or any failure (the job is over, whatever run it names). A success naming
// another run leaves it open.
func closesRun(p Ping, rid string) bool {
	return p.RunID == rid || p.RunID == "" || p.Kind == PingFail
}

// closingFinish is closesRun in SQL: f is a finish that ends the run started by s.
const closingFinish = `f.monitor_id = s.monitor_id AND f.id > s.id AND f.kind IN ('success', 'fail') AND (f.rid = s.rid OR f.rid = '' OR f.kind = 'fail')`

// runLate runs when the latest start of a heartbeat has had no finish within the grace. It is
// idempotent: it reports only a start still unfinished and overdue.
func (m *Monitors) runLate(ctx context.Context, t timers.Timer) error {
	mon := m.live.Get().Monitor(t.Key)
	if mon == nil || mon.Type != config.MonitorHeartbeat || m.pausedNow(ctx, mon.ID) {
		return nil // removed from the config since, or paused: resuming sets the deadline again
	}
	now := m.clock.Now().Truncate(time.Millisecond)
	started, rid, open, err := m.openRun(ctx, mon.ID, now)
	if err != nil || !open {
		return err // or finished meanwhile
	}
	if now.Sub(started) < mon.Grace.D() {
		return nil
	}
	run := "the run"
	if rid != "" {
		run = "run " + rid
	}
	msg := fmt.Sprintf("%s started at %s and has not finished within the %s grace", run, started.Format(time.RFC3339), mon.Grace.D())
	return m.Report(ctx, Result{MonitorID: mon.ID, Location: "push", At: now, Cause: CauseMissed, Message: msg})
}

// Deadline is when a heartbeat pinged successfully at last becomes late: a period plus grace
// later, or the next cron time plus grace.
func Deadline(mon *config.Monitor, last time.Time) time.Time {
	if s := mon.CronSchedule(); s != nil {
		return s.Next(last.In(mon.Zone())).Add(mon.Grace.D()).UTC()
	}
	return last.Add(mon.Period.D() + mon.Grace.D())
}

// Resume runs once as nines starts, before its timer runner. When no node of nines was
// running (the probe lease is free: nines itself was down, or stopped), pings sent meanwhile
// could not arrive, and a peer that pinged all along would look silent since the last ping
// before the outage. So every heartbeat gets its full period (or its next cron time) and grace
// from now before it is judged late, and a run started before the outage its grace from now,
// as healthchecks.io does after an outage of its own. A node starting while another runs
// (which took the pings meanwhile) changes nothing. It returns how many heartbeats it gave
// more time; since is when the last node's lease ran out (zero when unknown).
func (m *Monitors) Resume(ctx context.Context) (n int, since time.Time, down bool, err error) {
	now := m.clock.Now().Truncate(time.Millisecond)
	var holder string
	var until int64
	err = m.db.QueryRow(ctx, `SELECT holder, until_at FROM probe_lease WHERE name = 'probes'`).Scan(&holder, &until)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return 0, time.Time{}, false, err
	case until >= now.UnixMilli():
		return 0, time.Time{}, false, nil // another node runs, and took the pings
	case until > 0:
		since = time.UnixMilli(until).UTC()
	}
	cfg := m.live.Get()
	err = m.db.Tx(ctx, func(tx *store.Tx) error {
		n = 0
		for _, kind := range []string{timerLate, timerRunLate} {
			pending, err := m.timers.PendingPrefix(ctx, tx, kind, "")
			if err != nil {
				return err
			}
			for _, t := range pending {
				mon := cfg.Monitor(t.Key)
				if mon == nil || mon.Type != config.MonitorHeartbeat {
					continue
				}
				due := Deadline(mon, now)
				if kind == timerRunLate {
					due = now.Add(mon.Grace.D())
				}
				if !t.Due.Before(due) {
					continue
				}
				if err := m.timers.Set(ctx, tx, kind, t.Key, due, t.Payload); err != nil {
					return err
				}
				if kind == timerLate {
					n++
				}
			}
		}
		return nil
	})
	return n, since, err == nil, err
}

// late runs when a deadline passes. It is idempotent: a success recorded since moved the timer,
// and a second run finds the monitor down already.
func (m *Monitors) late(ctx context.Context, t timers.Timer) error {
	mon := m.live.Get().Monitor(t.Key)
	if mon == nil || mon.Type != config.MonitorHeartbeat || m.pausedNow(ctx, mon.ID) {
		return nil // removed from the config since, or paused: resuming sets the deadline again
	}
	var last int64
	err := m.db.QueryRow(ctx, `SELECT at FROM heartbeat_pings WHERE monitor_id = ? AND kind = 'success' ORDER BY id DESC LIMIT 1`, mon.ID).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	expected := "every " + mon.Period.D().String()
	if mon.Cron != "" {
		expected = fmt.Sprintf("on %q (%s)", mon.Cron, mon.Zone())
	}
	msg := fmt.Sprintf("no ping since %s; expected %s plus %s grace", time.UnixMilli(last).UTC().Format(time.RFC3339), expected, mon.Grace.D())
	return m.Report(ctx, Result{MonitorID: mon.ID, Location: "push", At: m.clock.Now().Truncate(time.Millisecond), Cause: CauseMissed, Message: msg})
}

// HeartbeatPing is a recorded ping, for the monitor page.
type HeartbeatPing struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	// ExitCode is the exit code the ping carried (/ping/{uuid}/0 to /255), 0 included; nil for
	// a ping without one.
	ExitCode *int          `json:"exit_code,omitempty"`
	Duration time.Duration `json:"-"`
	// DurationMS is the run's duration, from its start ping, when there was one.
	DurationMS int64  `json:"duration_ms,omitempty"`
	Body       string `json:"body,omitempty"`
	Remote     string `json:"remote,omitempty"`
	RunID      string `json:"rid,omitempty"`
}

// Pings lists a heartbeat's latest pings, newest first.
func (m *Monitors) Pings(ctx context.Context, monitorID string, limit int) ([]HeartbeatPing, error) {
	rows, err := m.db.Query(ctx, `SELECT at, kind, exit_code, duration_ms, body, remote, rid FROM heartbeat_pings WHERE monitor_id = ? ORDER BY id DESC LIMIT ?`, monitorID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []HeartbeatPing
	for rows.Next() {
		var p HeartbeatPing
		var at, dur int64
		var code int
		if err := rows.Scan(&at, &p.Kind, &code, &dur, &p.Body, &p.Remote, &p.RunID); err != nil {
			return nil, err
		}
		p.At, p.Duration, p.DurationMS = time.UnixMilli(at).UTC(), time.Duration(dur)*time.Millisecond, dur
		if code >= 0 {
			p.ExitCode = &code
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Expectation is when a heartbeat is next expected, for the API and the monitor page.
type Expectation struct {
	// LastPingAt is the last success; nil before the first.
	LastPingAt *time.Time `json:"last_ping_at"`
	// NextPingAt is when the next success is due: the last one plus the period, or the next
	// cron time after it. LateAt adds the grace: past it the heartbeat is late. Both are nil
	// before the first success, when the heartbeat is not watched yet.
	NextPingAt *time.Time `json:"next_ping_at"`
	LateAt     *time.Time `json:"late_at"`
	// RunStartedAt is the start of the latest run not finished yet, which is late at
	// RunLateAt (its start plus the grace).
	RunStartedAt *time.Time `json:"run_started_at,omitempty"`
	RunID        string     `json:"run_id,omitempty"`
	RunLateAt    *time.Time `json:"run_late_at,omitempty"`
}

// Expected tells when a heartbeat is next expected.
func (m *Monitors) Expected(ctx context.Context, mon *config.Monitor) (Expectation, error) {
	var e Expectation
	var last int64
	err := m.db.QueryRow(ctx, `SELECT at FROM heartbeat_pings WHERE monitor_id = ? AND kind = 'success' ORDER BY id DESC LIMIT 1`, mon.ID).Scan(&last)
	switch {
	case err == nil:
		l := time.UnixMilli(last).UTC()
		next := l.Add(mon.Period.D())
		if s := mon.CronSchedule(); s != nil {
			next = s.Next(l.In(mon.Zone())).UTC()
		}
		late := Deadline(mon, l)
		// After nines was down the deadline is later than the last ping says (Resume).
		if due, ok, err := m.timers.Due(ctx, timerLate, mon.ID); err != nil {
			return e, err
		} else if ok && due.After(late) {
			late, next = due, due.Add(-mon.Grace.D())
		}
		e.LastPingAt, e.NextPingAt, e.LateAt = &l, &next, &late
	case !errors.Is(err, sql.ErrNoRows):
		return e, err
	}
	started, rid, open, err := m.openRun(ctx, mon.ID, m.clock.Now())
	if open {
		late := started.Add(mon.Grace.D())
		if due, ok, err := m.timers.Due(ctx, timerRunLate, mon.ID); err != nil {
			return e, err
		} else if ok && due.After(late) {
			late = due
		}
		e.RunStartedAt, e.RunID, e.RunLateAt = &started, rid, &late
	}
	return e, err
}

// openRun returns the latest start of a heartbeat if no finish that closes its run (closesRun)
// came after it. A start more than pairWindow old is no run any longer: nothing would pair
// with it, so it is neither watched nor shown.
func (m *Monitors) openRun(ctx context.Context, monitorID string, now time.Time) (time.Time, string, bool, error) {
	var at int64
	var rid string
	err := m.db.QueryRow(ctx, `SELECT s.at, s.rid FROM heartbeat_pings s WHERE s.id = (
			SELECT MAX(id) FROM heartbeat_pings WHERE monitor_id = ? AND kind = 'start') AND s.at >= ?
		AND NOT EXISTS (SELECT 1 FROM heartbeat_pings f WHERE `+closingFinish+`)`,
		monitorID, now.Add(-pairWindow).UnixMilli()).Scan(&at, &rid)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, "", false, nil
	}
	return time.UnixMilli(at).UTC(), rid, err == nil, err
}
