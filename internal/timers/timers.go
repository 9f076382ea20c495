// Package timers runs work that is due later: the next escalation step, a delivery retry, a
// missed-heartbeat deadline, a reminder. A timer is a row with a due time, written in the same
// transaction as the change that needs it, so a crash loses nothing: on restart the row is still
// due. One Runner per process sleeps until the earliest due time or a wake-up, claims due rows
// under a lease, and runs their handlers.
package timers

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/store"
)

// Schema holds the timers table.
var Schema = store.Schema{Component: "timers", Migrations: []string{`
CREATE TABLE timers (
	id {{id}},
	kind TEXT NOT NULL,
	key TEXT NOT NULL,
	due_at BIGINT NOT NULL,
	payload TEXT NOT NULL,
	attempts INTEGER NOT NULL,
	lease_until BIGINT NOT NULL,
	version BIGINT NOT NULL,
	last_error TEXT NOT NULL DEFAULT '',
	UNIQUE (kind, key)
);
CREATE INDEX timers_due ON timers (due_at);
`}}

// Timer is one piece of due work.
type Timer struct {
	ID       int64
	Kind     string
	Key      string
	Due      time.Time
	Payload  string
	Attempts int // failed runs so far
	version  int64
}

// Handler runs a timer. Returning nil deletes it (unless the handler set it again meanwhile);
// an error runs it again later with backoff.
type Handler func(ctx context.Context, t Timer) error

// Runner claims and runs due timers.
type Runner struct {
	db       *store.DB
	clock    clock.Clock
	log      *slog.Logger
	handlers map[string]Handler
	wake     chan struct{}
	// Workers bounds how many handlers run at once.
	Workers int
	// Lease is how long a claimed timer stays hidden from other claimers while it runs.
	Lease time.Duration
}

// NewRunner returns a runner; register handlers with Handle before Run.
func NewRunner(db *store.DB, c clock.Clock, log *slog.Logger) *Runner {
	return &Runner{db: db, clock: c, log: log, handlers: map[string]Handler{}, wake: make(chan struct{}, 1),
		Workers: 16, Lease: 2 * time.Minute}
}

// Handle registers the handler of a kind of timer.
func (r *Runner) Handle(kind string, h Handler) { r.handlers[kind] = h }

// Wake makes the runner look for due timers now.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Set schedules (or moves) the timer (kind, key) inside tx and wakes the runner after commit.
func (r *Runner) Set(ctx context.Context, tx *store.Tx, kind, key string, due time.Time, payload string) error {
	_, err := tx.Exec(ctx, `INSERT INTO timers (kind, key, due_at, payload, attempts, lease_until, version)
		VALUES (?, ?, ?, ?, 0, 0, 1)
		ON CONFLICT (kind, key) DO UPDATE SET due_at = excluded.due_at, payload = excluded.payload,
			attempts = 0, lease_until = 0, version = timers.version + 1, last_error = ''`,
		kind, key, due.UnixMilli(), payload)
	if err != nil {
		return fmt.Errorf("set timer %s/%s: %w", kind, key, err)
	}
	tx.AfterCommit(r.Wake)
	return tx.Notify(ctx, notifyChannel)
}

// Cancel removes the timer (kind, key) inside tx, if it exists.
func (r *Runner) Cancel(ctx context.Context, tx *store.Tx, kind, key string) error {
	_, err := tx.Exec(ctx, `DELETE FROM timers WHERE kind = ? AND key = ?`, kind, key)
	return err
}

// CancelPrefix removes every timer of kind whose key starts with prefix.
func (r *Runner) CancelPrefix(ctx context.Context, tx *store.Tx, kind, prefix string) error {
	// substr, not a range on "\xff": PostgreSQL rejects that byte in text, and a range under a
	// linguistic collation does not follow byte order.
	_, err := tx.Exec(ctx, `DELETE FROM timers WHERE kind = ? AND substr(key, 1, ?) = ?`, kind, utf8.RuneCountInString(prefix), prefix)
	return err
}

// Pending lists the timers of a kind, soonest first (for pages and tests).
func (r *Runner) Pending(ctx context.Context, kind string) ([]Timer, error) {
	rows, err := r.db.Query(ctx, `SELECT id, kind, key, due_at, payload, attempts, version FROM timers WHERE kind = ? ORDER BY due_at, id`, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Timer
	for rows.Next() {
		t, err := scanTimer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func scanTimer(rows interface{ Scan(...any) error }) (Timer, error) {
	var t Timer
	var due int64
	err := rows.Scan(&t.ID, &t.Kind, &t.Key, &due, &t.Payload, &t.Attempts, &t.version)
	t.Due = time.UnixMilli(due).UTC()
	return t, err
}

// notifyChannel carries wake-ups between the nodes of a PostgreSQL cluster.
const notifyChannel = "nines_timers"

// maxSleep bounds how long a runner sleeps with nothing due, so a timer whose lease ran out on
// a node that died is picked up by another within about a lease.
const maxSleep = 30 * time.Second

// Run claims and runs due timers until ctx is done, then waits for running handlers.
func (r *Runner) Run(ctx context.Context) {
	go r.db.Listen(ctx, notifyChannel, r.Wake)
	sem := make(chan struct{}, r.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		free := r.Workers - len(sem)
		var claimed []Timer
		if free > 0 {
			var err error
			claimed, err = r.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				r.log.Error("claim due timers", "err", err)
			}
		}
		for _, t := range claimed {
			sem <- struct{}{}
			wg.Add(1)
			go func(t Timer) {
				defer func() { <-sem; wg.Done(); r.Wake() }()
				r.run(ctx, t)
			}(t)
		}
		if len(claimed) == free && free > 0 {
			continue // there may be more due right now
		}
		wait := r.untilNext(ctx)
		tm := r.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			tm.Stop()
			return
		case <-r.wake:
		case <-tm.C():
		}
		tm.Stop()
	}
}

func (r *Runner) claim(ctx context.Context, n int) ([]Timer, error) {
	now := r.clock.Now().UnixMilli()
	lease := now + r.Lease.Milliseconds()
	inner := `SELECT id FROM timers WHERE due_at <= ? AND lease_until <= ? ORDER BY due_at LIMIT ?`
	if r.db.Dialect == store.Postgres {
		inner += ` FOR UPDATE SKIP LOCKED`
	}
	var out []Timer
	err := r.db.Tx(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE timers SET lease_until = ? WHERE id IN (`+inner+`)
			RETURNING id, kind, key, due_at, payload, attempts, version`, lease, now, now, n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanTimer(rows)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

func (r *Runner) untilNext(ctx context.Context) time.Duration {
	var next *int64
	err := r.db.QueryRow(ctx, `SELECT MIN(CASE WHEN lease_until > due_at THEN lease_until ELSE due_at END) FROM timers`).Scan(&next)
	if err != nil || next == nil {
		return maxSleep
	}
	d := time.UnixMilli(*next).Sub(r.clock.Now())
	if d < 0 {
		d = 0
	}
	if d > maxSleep {
		d = maxSleep
	}
	return d
}

func (r *Runner) run(ctx context.Context, t Timer) {
	h := r.handlers[t.Kind]
	var err error
	if h == nil {
		err = fmt.Errorf("no handler for timer kind %q", t.Kind)
	} else {
		err = safeRun(ctx, h, t)
	}
	if ctx.Err() != nil {
		return // shutting down: the lease runs out and another run picks it up
	}
	if err == nil {
		if _, derr := r.db.Exec(ctx, `DELETE FROM timers WHERE id = ? AND version = ?`, t.ID, t.version); derr != nil {
			r.log.Error("delete finished timer", "kind", t.Kind, "key", t.Key, "err", derr)
		}
		return
	}
	t.Attempts++
	delay := Backoff(t.Attempts)
	r.log.Warn("timer failed; will retry", "kind", t.Kind, "key", t.Key, "attempt", t.Attempts, "retry_in", delay, "err", err)
	due := r.clock.Now().Add(delay).UnixMilli()
	if _, uerr := r.db.Exec(ctx, `UPDATE timers SET attempts = ?, due_at = ?, lease_until = 0, last_error = ? WHERE id = ? AND version = ?`,
		t.Attempts, due, truncate(err.Error(), 500), t.ID, t.version); uerr != nil {
		r.log.Error("reschedule failed timer", "kind", t.Kind, "key", t.Key, "err", uerr)
	}
}

func safeRun(ctx context.Context, h Handler, t Timer) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return h(ctx, t)
}

// Backoff is the wait before retry number attempt (1-based): 1s, 2s, 4s ... capped at 5 min.
func Backoff(attempt int) time.Duration {
	d := time.Second
	for i := 1; i < attempt && d < 5*time.Minute; i++ {
		d *= 2
	}
	if d > 5*time.Minute {
		d = 5 * time.Minute
	}
	return d
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
