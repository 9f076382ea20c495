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

// A pause stops a monitor at run time, without a change of the config: it is a row of
// monitor_pauses, so every node sees it, it survives restarts, and it says who paused, when,
// and who resumed. While paused a monitor is not probed (results that reach nines for it are
// dropped), opens no incident and resolves none (a pause is no recovery: an open incident
// stays open until the monitor, resumed, is seen up or somebody resolves it), a heartbeat is
// not late, and the time is left out of its uptime like a maintenance window's. A pause with
// an end resumes by itself then, by a durable timer.

// timerResume ends a pause with an end. Its key is the monitor id; its payload the pause id.
const timerResume = "monitor.resume"

// Errors of pausing and resuming, and of checking a monitor now.
var (
	ErrNoMonitor = errors.New("no monitor has this id")
	ErrPaused    = errors.New("the monitor is paused")
	ErrNotPaused = errors.New("the monitor is not paused")
	ErrNotProbed = errors.New("a heartbeat is pinged, not probed")
)

// Pause is one pause of a monitor.
type Pause struct {
	ID        int64      `json:"id"`
	MonitorID string     `json:"monitor_id"`
	PausedAt  time.Time  `json:"paused_at"`
	PausedBy  string     `json:"paused_by"`
	Until     *time.Time `json:"until,omitempty"`
	ResumedAt *time.Time `json:"resumed_at,omitempty"`
	// ResumedBy is who resumed it; "schedule" when it ended by itself at Until.
	ResumedBy string `json:"resumed_by,omitempty"`
}

// ResumedBySchedule is ResumedBy of a pause that ended by itself.
const ResumedBySchedule = "schedule"

const pauseColumns = `id, monitor_id, paused_at, paused_by, until_at, resumed_at, resumed_by`

func scanPause(sc interface{ Scan(...any) error }) (Pause, error) {
	var p Pause
	var at, until, resumed int64
	if err := sc.Scan(&p.ID, &p.MonitorID, &at, &p.PausedBy, &until, &resumed, &p.ResumedBy); err != nil {
		return p, err
	}
	p.PausedAt = time.UnixMilli(at).UTC()
	if until > 0 {
		t := time.UnixMilli(until).UTC()
		p.Until = &t
	}
	if resumed > 0 {
		t := time.UnixMilli(resumed).UTC()
		p.ResumedAt = &t
	}
	return p, nil
}

// PauseMonitor pauses a monitor (probe or heartbeat, of the config or not) from now, by whom,
// until a time (zero: until resumed). Pausing a paused monitor is ErrPaused.
func (m *Monitors) PauseMonitor(ctx context.Context, id, by string, until time.Time) (Pause, error) {
	mon := m.live.Get().Monitor(id)
	if mon == nil {
		return Pause{}, fmt.Errorf("%w: %q", ErrNoMonitor, id)
	}
	now := m.clock.Now().Truncate(time.Millisecond)
	p := Pause{MonitorID: id, PausedAt: now, PausedBy: by}
	var untilMS int64
	if !until.IsZero() {
		until = until.UTC().Truncate(time.Millisecond)
		p.Until, untilMS = &until, until.UnixMilli()
	}
	err := m.db.Tx(ctx, func(tx *store.Tx) error {
		cur, err := openPause(ctx, tx, id)
		if err == nil {
			return fmt.Errorf("%w: %s paused it at %s", ErrPaused, cur.PausedBy, cur.PausedAt.Format(time.RFC3339))
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if p.ID, err = tx.InsertID(ctx, `INSERT INTO monitor_pauses (monitor_id, paused_at, paused_by, until_at, resumed_at, resumed_by)
			VALUES (?, ?, ?, ?, 0, '')`, id, now.UnixMilli(), by, untilMS); err != nil {
			return err
		}
		if untilMS > 0 {
			return m.timers.Set(ctx, tx, timerResume, id, until, strconv.FormatInt(p.ID, 10))
		}
		return nil
	})
	if err != nil {
		return Pause{}, err
	}
	return p, m.syncPauses(ctx)
}

// ResumeMonitor ends a monitor's pause, by whom. A heartbeat's deadline starts afresh from now
// (a period and its grace), as healthchecks.io does: pings missed while paused are not held
// against it.
func (m *Monitors) ResumeMonitor(ctx context.Context, id, by string) (Pause, error) {
	mon := m.live.Get().Monitor(id)
	if mon == nil {
		return Pause{}, fmt.Errorf("%w: %q", ErrNoMonitor, id)
	}
	var p Pause
	err := m.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		if p, err = openPause(ctx, tx, id); errors.Is(err, sql.ErrNoRows) {
			return ErrNotPaused
		} else if err != nil {
			return err
		}
		return m.endPause(ctx, tx, mon, &p, by)
	})
	if err != nil {
		return Pause{}, err
	}
	return p, m.syncPauses(ctx)
}

// endPause closes an open pause inside tx.
func (m *Monitors) endPause(ctx context.Context, tx *store.Tx, mon *config.Monitor, p *Pause, by string) error {
	now := m.clock.Now().Truncate(time.Millisecond)
	if _, err := tx.Exec(ctx, `UPDATE monitor_pauses SET resumed_at = ?, resumed_by = ? WHERE id = ? AND resumed_at = 0`,
		now.UnixMilli(), by, p.ID); err != nil {
		return err
	}
	p.ResumedAt, p.ResumedBy = &now, by
	if err := m.timers.Cancel(ctx, tx, timerResume, mon.ID); err != nil {
		return err
	}
	if mon.Type == config.MonitorHeartbeat {
		if err := m.timers.Cancel(ctx, tx, timerRunLate, mon.ID); err != nil {
			return err
		}
		return m.timers.Set(ctx, tx, timerLate, mon.ID, Deadline(mon, now), "")
	}
	return nil
}

// resumeDue ends a pause at its end. It is idempotent: a pause resumed (or replaced) since is
// left alone.
func (m *Monitors) resumeDue(ctx context.Context, t timers.Timer) error {
	mon := m.live.Get().Monitor(t.Key)
	if mon == nil {
		return nil
	}
	id, _ := strconv.ParseInt(t.Payload, 10, 64)
	err := m.db.Tx(ctx, func(tx *store.Tx) error {
		p, err := openPause(ctx, tx, mon.ID)
		if errors.Is(err, sql.ErrNoRows) || err == nil && p.ID != id {
			return nil
		} else if err != nil {
			return err
		}
		return m.endPause(ctx, tx, mon, &p, ResumedBySchedule)
	})
	if err != nil {
		return err
	}
	return m.syncPauses(ctx)
}

func openPause(ctx context.Context, tx *store.Tx, id string) (Pause, error) {
	return scanPause(tx.QueryRow(ctx, `SELECT `+pauseColumns+` FROM monitor_pauses WHERE monitor_id = ? AND resumed_at = 0 ORDER BY id DESC LIMIT 1`, id))
}

// Paused returns a monitor's pause in force, if any, as this node last read it (every second,
// and at once after a pause or resume made here).
func (m *Monitors) Paused(id string) (Pause, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pauses[id]
	return p, ok
}

// syncPauses reads the pauses in force and applies what changed since the last read: a monitor
// paused stops being probed and shows paused; one resumed starts afresh, pending, from no
// result (its locations' counts start over).
func (m *Monitors) syncPauses(ctx context.Context) error {
	rows, err := m.db.Query(ctx, `SELECT `+pauseColumns+` FROM monitor_pauses WHERE resumed_at = 0`)
	if err != nil {
		return err
	}
	cur := map[string]Pause{}
	for rows.Next() {
		p, err := scanPause(rows)
		if err != nil {
			rows.Close()
			return err
		}
		cur[p.MonitorID] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	var moved []string
	for id := range cur {
		if _, was := m.pauses[id]; !was {
			moved = append(moved, id)
		}
	}
	for id := range m.pauses {
		if _, still := cur[id]; !still {
			moved = append(moved, id)
		}
	}
	m.pauses = cur
	m.mu.Unlock()
	if len(moved) == 0 {
		return nil
	}
	if m.Leading() {
		m.sched.Set(m.jobs(m.live.Get()))
	}
	now := m.clock.Now().Truncate(time.Millisecond)
	var errs []error
	cfg := m.live.Get()
	for _, id := range moved {
		if cfg.Monitor(id) == nil {
			continue // removed from the config: it has no state to move
		}
		_, paused := cur[id]
		st := m.stateOf(id)
		st.mu.Lock()
		m.mu.Lock()
		if paused {
			st.Status, st.Since, st.Cause, st.Message = StatusPaused, now, "", ""
		} else {
			st.Status, st.Since, st.Cause, st.Message = StatusPending, now, "", ""
			st.Locations = nil
		}
		m.mu.Unlock()
		errs = append(errs, m.saveState(ctx, st))
		st.mu.Unlock()
		m.changed(id)
	}
	return errors.Join(errs...)
}

// Pauses lists a monitor's pauses that overlap [from, to), oldest first.
func (m *Monitors) Pauses(ctx context.Context, id string, from, to time.Time) ([]Pause, error) {
	all, err := m.pausesSince(ctx, id, from, to)
	return all[id], err
}

// PausedIntervals is the time each monitor (all when id is empty) was paused in [from, to),
// cut to it: like time under maintenance, it is left out of uptime.
func (m *Monitors) PausedIntervals(ctx context.Context, id string, from, to time.Time) (map[string][]config.Interval, error) {
	all, err := m.pausesSince(ctx, id, from, to)
	if err != nil {
		return nil, err
	}
	now := m.clock.Now()
	out := map[string][]config.Interval{}
	for mid, ps := range all {
		for _, p := range ps {
			iv := config.Interval{From: p.PausedAt, To: now}
			if p.ResumedAt != nil {
				iv.To = *p.ResumedAt
			}
			if iv.From.Before(from) {
				iv.From = from
			}
			if iv.To.After(to) {
				iv.To = to
			}
			if iv.To.After(iv.From) {
				out[mid] = append(out[mid], iv)
			}
		}
	}
	return out, nil
}

func (m *Monitors) pausesSince(ctx context.Context, id string, from, to time.Time) (map[string][]Pause, error) {
	q := `SELECT ` + pauseColumns + ` FROM monitor_pauses WHERE paused_at < ? AND (resumed_at = 0 OR resumed_at > ?)`
	args := []any{to.UnixMilli(), from.UnixMilli()}
	if id != "" {
		q += ` AND monitor_id = ?`
		args = append(args, id)
	}
	rows, err := m.db.Query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]Pause{}
	for rows.Next() {
		p, err := scanPause(rows)
		if err != nil {
			return nil, err
		}
		out[p.MonitorID] = append(out[p.MonitorID], p)
	}
	return out, rows.Err()
}

// pausedNow asks the database whether a monitor is paused, for what any node may be asked to
// do at once after a pause made on another (a ping, a heartbeat's deadline).
func (m *Monitors) pausedNow(ctx context.Context, id string) bool {
	var n int
	err := m.db.QueryRow(ctx, `SELECT COUNT(*) FROM monitor_pauses WHERE monitor_id = ? AND resumed_at = 0`, id).Scan(&n)
	if err != nil {
		_, p := m.Paused(id)
		return p
	}
	return n > 0
}
