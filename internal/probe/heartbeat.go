package probe

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// timerLate is the durable timer that fires when a heartbeat's deadline passes without a
// successful ping. Its key is the monitor id.
const timerLate = "heartbeat.late"

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
	Body     string
	Remote   string
}

// ErrUnknownHeartbeat is returned for a uuid no heartbeat monitor has.
var ErrUnknownHeartbeat = errors.New("no heartbeat has this uuid")

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
		return "", 0, fmt.Errorf("%q is not start, fail, log or an exit code from 0 to 255", suffix)
	}
	if code == 0 {
		return PingSuccess, 0, nil
	}
	return PingFail, code, nil
}

// Ping records a ping of the heartbeat with uuid. The ping and the next missed-ping deadline are
// written in one transaction; a success or failure then moves the monitor's state, opening or
// resolving its alert.
func (m *Monitors) Ping(ctx context.Context, uuid string, p Ping) error {
	cfg := m.live.Get()
	var mon *config.Monitor
	for i := range cfg.Monitors {
		if c := &cfg.Monitors[i]; c.Type == config.MonitorHeartbeat && c.UUID == uuid {
			mon = c
			break
		}
	}
	if mon == nil {
		return ErrUnknownHeartbeat
	}
	now := m.clock.Now().Truncate(time.Millisecond)
	if len(p.Body) > MaxPingBody {
		p.Body = p.Body[:MaxPingBody]
	}
	var took time.Duration
	err := m.db.Tx(ctx, func(tx *store.Tx) error {
		if p.Kind == PingSuccess || p.Kind == PingFail {
			// The run's duration runs from its start ping, if one came since the last finish.
			var kind string
			var at int64
			err := tx.QueryRow(ctx, `SELECT kind, at FROM heartbeat_pings WHERE monitor_id = ? AND kind <> 'log' ORDER BY id DESC LIMIT 1`, mon.ID).Scan(&kind, &at)
			if err == nil && kind == string(PingStart) {
				took = now.Sub(time.UnixMilli(at))
			} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO heartbeat_pings (monitor_id, at, kind, exit_code, duration_ms, body, remote) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			mon.ID, now.UnixMilli(), string(p.Kind), p.ExitCode, took.Milliseconds(), p.Body, p.Remote); err != nil {
			return err
		}
		// Pings are kept per monitor up to a bound, so a chatty job cannot grow the database.
		if _, err := tx.Exec(ctx, `DELETE FROM heartbeat_pings WHERE monitor_id = ? AND id <= (
			SELECT id FROM heartbeat_pings WHERE monitor_id = ? ORDER BY id DESC LIMIT 1 OFFSET 100)`, mon.ID, mon.ID); err != nil {
			return err
		}
		if p.Kind == PingSuccess {
			return m.timers.Set(ctx, tx, timerLate, mon.ID, Deadline(mon, now), "")
		}
		return nil
	})
	if err != nil {
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

// Deadline is when a heartbeat pinged successfully at last becomes late: a period plus grace
// later, or the next cron time plus grace.
func Deadline(mon *config.Monitor, last time.Time) time.Time {
	if s := mon.CronSchedule(); s != nil {
		return s.Next(last.In(mon.Zone())).Add(mon.Grace.D()).UTC()
	}
	return last.Add(mon.Period.D() + mon.Grace.D())
}

// late runs when a deadline passes. It is idempotent: a success recorded since moved the timer,
// and a second run finds the monitor down already.
func (m *Monitors) late(ctx context.Context, t timers.Timer) error {
	mon := m.live.Get().Monitor(t.Key)
	if mon == nil || mon.Type != config.MonitorHeartbeat {
		return nil // removed from the config since
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
	At       time.Time     `json:"at"`
	Kind     string        `json:"kind"`
	ExitCode int           `json:"exit_code,omitempty"`
	Duration time.Duration `json:"-"`
	// DurationMS is the run's duration, from its start ping, when there was one.
	DurationMS int64  `json:"duration_ms,omitempty"`
	Body       string `json:"body,omitempty"`
	Remote     string `json:"remote,omitempty"`
}

// Pings lists a heartbeat's latest pings, newest first.
func (m *Monitors) Pings(ctx context.Context, monitorID string, limit int) ([]HeartbeatPing, error) {
	rows, err := m.db.Query(ctx, `SELECT at, kind, exit_code, duration_ms, body, remote FROM heartbeat_pings WHERE monitor_id = ? ORDER BY id DESC LIMIT ?`, monitorID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []HeartbeatPing
	for rows.Next() {
		var p HeartbeatPing
		var at, dur int64
		if err := rows.Scan(&at, &p.Kind, &p.ExitCode, &dur, &p.Body, &p.Remote); err != nil {
			return nil, err
		}
		p.At, p.Duration, p.DurationMS = time.UnixMilli(at).UTC(), time.Duration(dur)*time.Millisecond, dur
		if p.ExitCode < 0 {
			p.ExitCode = 0
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
