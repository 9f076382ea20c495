package auth

import (
	"context"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/store"
)

// Entry is one line of the audit log: who did what, when, from where.
type Entry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`  // "user:alice", "token:ci", "anonymous"
	Action string    `json:"action"` // "POST /api/v1/incidents/{id}/acknowledge", "login.failed"
	Target string    `json:"target"` // the path or object acted on
	Remote string    `json:"remote"` // client address
	Detail string    `json:"detail"` // outcome, e.g. "201"
}

// Audit is the append-only record of every change made through nines, for admins to read.
type Audit struct {
	db    *store.DB
	clock clock.Clock
}

// NewAudit returns the audit log.
func NewAudit(db *store.DB, c clock.Clock) *Audit { return &Audit{db: db, clock: c} }

// Record appends an entry, stamped now.
func (a *Audit) Record(ctx context.Context, e Entry) error {
	_, err := a.db.Exec(ctx, `INSERT INTO audit_log (at, actor, action, target, remote, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		a.clock.Now().UnixMilli(), e.Actor, e.Action, trunc(e.Target, 512), e.Remote, trunc(e.Detail, 2048))
	return err
}

// RecordTx appends an entry stamped at, inside tx: the audit entry of a change is written
// with the change, or not at all.
func RecordTx(ctx context.Context, tx *store.Tx, e Entry, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit_log (at, actor, action, target, remote, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		at.UnixMilli(), e.Actor, e.Action, trunc(e.Target, 512), e.Remote, trunc(e.Detail, 16<<10))
	return err
}

// List returns up to limit entries older than the entry before (0 for the newest), newest first.
func (a *Audit) List(ctx context.Context, limit int, before int64) ([]Entry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q, args := `SELECT id, at, actor, action, target, remote, detail FROM audit_log`, []any{}
	if before > 0 {
		q += ` WHERE id < ?`
		args = append(args, before)
	}
	rows, err := a.db.Query(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		var e Entry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Remote, &e.Detail); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
