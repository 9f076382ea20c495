// Package timers runs work that is due later: the next escalation step, a delivery retry, a
// missed-heartbeat deadline, a reminder. A timer is a row with a due time, written in the same
// transaction as the change that needs it, so a crash loses nothing: on restart the row is still
// due. One Runner per process sleeps until the earliest due time or a wake-up, claims due rows
// under a lease, and runs their handlers.
package timers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
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
	lease    int64 // unix ms this run's claim lasts until
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

	metrics *runnerMetrics
	loopAt  atomic.Int64 // unix ms the run loop last looked for due timers
}

// NewRunner returns a runner; register handlers with Handle before Run.
func NewRunner(db *store.DB, c clock.Clock, log *slog.Logger) *Runner {
	return &Runner{db: db, clock: c, log: log, handlers: map[string]Handler{}, wake: make(chan struct{}, 1),
		Workers: 16, Lease: 2 * time.Minute, metrics: newRunnerMetrics()}
}

// Handle registers the handler of a kind of timer.
func (r *Runner) Handle(kind string, h Handler) {
	r.handlers[kind] = h
	// Each kind's series exist from the start, at zero, so rate() sees its first run.
	r.metrics.runs.WithLabelValues(kind, "ok")
	r.metrics.runs.WithLabelValues(kind, "error")
	r.metrics.lateness.WithLabelValues(kind)
}

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

// PendingPrefix lists, inside tx, the timers of kind whose key starts with prefix, soonest first.
func (r *Runner) PendingPrefix(ctx context.Context, tx *store.Tx, kind, prefix string) ([]Timer, error) {
	return scanTimers(tx.Query(ctx, `SELECT id, kind, key, due_at, payload, attempts, version FROM timers
		WHERE kind = ? AND substr(key, 1, ?) = ? ORDER BY due_at, id`, kind, utf8.RuneCountInString(prefix), prefix))
}

// Due reports when the timer (kind, key) is due, and whether it is set.
func (r *Runner) Due(ctx context.Context, kind, key string) (time.Time, bool, error) {
	return due(ctx, r.db, kind, key)
}

// DueTx is Due inside tx.
func (r *Runner) DueTx(ctx context.Context, tx *store.Tx, kind, key string) (time.Time, bool, error) {
	return due(ctx, tx, kind, key)
}

func due(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) *sql.Row
}, kind, key string) (time.Time, bool, error) {
	var at int64
	err := q.QueryRow(ctx, `SELECT due_at FROM timers WHERE kind = ? AND key = ?`, kind, key).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(at).UTC(), err == nil, err
}

// PendingOf lists the timers of kind whose key starts with prefix, soonest first, outside any
// transaction (for pages: what is due for one incident).
func (r *Runner) PendingOf(ctx context.Context, kind, prefix string) ([]Timer, error) {
	return scanTimers(r.db.Query(ctx, `SELECT id, kind, key, due_at, payload, attempts, version FROM timers
		WHERE kind = ? AND substr(key, 1, ?) = ? ORDER BY due_at, id`, kind, utf8.RuneCountInString(prefix), prefix))
}

// Pending lists the timers of a kind, soonest first (for pages and tests).
func (r *Runner) Pending(ctx context.Context, kind string) ([]Timer, error) {
	return scanTimers(r.db.Query(ctx, `SELECT id, kind, key, due_at, payload, attempts, version FROM timers WHERE kind = ? ORDER BY due_at, id`, kind))
}

func scanTimers(rows *sql.Rows, err error) ([]Timer, error) {
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

// maxRetry bounds how long a runner waits before asking the database again after it failed
// to answer: once it is back (a restart, a full disk freed), due work goes out within this.
const maxRetry = 2 * time.Second

// Run claims and runs due timers until ctx is done, then waits for running handlers.
func (r *Runner) Run(ctx context.Context) {
	go r.db.Listen(ctx, notifyChannel, r.Wake)
	sem := make(chan struct{}, r.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	var retry time.Duration // while the database fails: how long until it is asked again
	defer r.loopAt.Store(0)
	for {
		r.loopAt.Store(r.clock.Now().UnixMilli())
		free := r.Workers - len(sem)
		var claimed []Timer
		var err error
		if free > 0 {
			claimed, err = r.claim(ctx, free)
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
		var wait time.Duration
		if err == nil {
			wait, err = r.untilNext(ctx)
		}
		switch {
		case ctx.Err() != nil:
		case err != nil:
			if retry == 0 {
				r.log.Error("the database does not answer; due timers wait for it", "err", err)
			}
			retry = min(max(2*retry, 100*time.Millisecond), maxRetry)
			wait = retry
		case retry > 0:
			r.log.Info("the database answers again; due timers run")
			retry = 0
		}
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
			t.lease = lease
			out = append(out, t)
		}
		return rows.Err()
	})
	return out, err
}

// keepLease renews a running timer's lease every quarter lease, counted from the claim, until
// stop is closed, so a handler that runs longer than the lease (a mail server slow to answer) is
// not claimed and run a second time by another node. It stops renewing once the claim is no
// longer this run's: the timer was set again, or the lease ran out and another runner took it.
func (r *Runner) keepLease(ctx context.Context, t Timer, stop <-chan struct{}) {
	every := r.Lease / 4
	lease := t.lease
	due := time.UnixMilli(t.lease).Add(every - r.Lease)
	for {
		tm := r.clock.NewTimer(due.Sub(r.clock.Now()))
		select {
		case <-ctx.Done():
			tm.Stop()
			return
		case <-stop:
			tm.Stop()
			return
		case <-tm.C():
		}
		now := r.clock.Now()
		if due = due.Add(every); due.Before(now) {
			due = now.Add(every) // fell behind (a paused process): renew now, then on cadence
		}
		next := now.Add(r.Lease).UnixMilli()
		res, err := r.db.Exec(ctx, `UPDATE timers SET lease_until = ? WHERE id = ? AND version = ? AND lease_until = ?`,
			next, t.ID, t.version, lease)
		if err != nil {
			r.log.Warn("renew a running timer's lease", "kind", t.Kind, "key", t.Key, "err", err)
			continue // the lease still holds for a while: try again at the next tick
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return
		}
		lease = next
	}
}

// untilNext is how long until the next timer is due (or its lease runs out), at most maxSleep.
func (r *Runner) untilNext(ctx context.Context) (time.Duration, error) {
	var next *int64
	err := r.db.QueryRow(ctx, `SELECT MIN(CASE WHEN lease_until > due_at THEN lease_until ELSE due_at END) FROM timers`).Scan(&next)
	if err != nil {
		return 0, err
	}
	if next == nil {
		return maxSleep, nil
	}
	d := time.UnixMilli(*next).Sub(r.clock.Now())
	if d < 0 {
		d = 0
	}
	if d > maxSleep {
		d = maxSleep
	}
	return d, nil
}

func (r *Runner) run(ctx context.Context, t Timer) {
	r.metrics.lateness.WithLabelValues(t.Kind).Observe(max(r.clock.Now().Sub(t.Due), 0).Seconds())
	h := r.handlers[t.Kind]
	var err error
	if h == nil {
		err = fmt.Errorf("no handler for timer kind %q", t.Kind)
	} else {
		// The lease is renewed until the outcome is written, so no other run starts between.
		stop, renewed := make(chan struct{}), make(chan struct{})
		go func(t Timer) { defer close(renewed); r.keepLease(ctx, t, stop) }(t)
		defer func() { close(stop); <-renewed }()
		err = safeRun(ctx, h, t)
	}
	if ctx.Err() != nil {
		return // shutting down: the lease runs out and another run picks it up
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	r.metrics.runs.WithLabelValues(t.Kind, outcome).Inc()
	if err == nil {
		if derr := r.settle(ctx, t, func() error {
			_, werr := r.db.Exec(ctx, `DELETE FROM timers WHERE id = ? AND version = ?`, t.ID, t.version)
			return werr
		}); derr != nil {
			r.log.Error("delete finished timer", "kind", t.Kind, "key", t.Key, "err", derr)
		}
		return
	}
	t.Attempts++
	delay := Backoff(t.Attempts)
	r.log.Warn("timer failed; will retry", "kind", t.Kind, "key", t.Key, "attempt", t.Attempts, "retry_in", delay, "err", err)
	lastError := truncate(err.Error(), 500)
	if uerr := r.settle(ctx, t, func() error {
		due := r.clock.Now().Add(delay).UnixMilli()
		_, werr := r.db.Exec(ctx, `UPDATE timers SET attempts = ?, due_at = ?, lease_until = 0, last_error = ? WHERE id = ? AND version = ?`,
			t.Attempts, due, lastError, t.ID, t.version)
		return werr
	}); uerr != nil {
		r.log.Error("reschedule failed timer", "kind", t.Kind, "key", t.Key, "err", uerr)
	}
}

// settle records a timer's outcome, trying again for as long as its lease lasts when the
// database does not answer: left as it is, the timer would wait out its whole lease (minutes)
// after the database came back.
func (r *Runner) settle(ctx context.Context, t Timer, write func() error) error {
	end := r.clock.Now().Add(r.Lease)
	var wait time.Duration
	for {
		err := write()
		if err == nil || ctx.Err() != nil || !store.Unavailable(err) {
			return err
		}
		wait = min(max(2*wait, 100*time.Millisecond), maxRetry)
		if r.clock.Now().Add(wait).After(end) {
			return err
		}
		tm := r.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			tm.Stop()
			return err
		case <-tm.C():
		}
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
