package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/store"
)

// Session lifetimes: a session ends after IdleTimeout without use, and after MaxSessionAge
// whatever happens, so a cookie left on a shared phone does not work forever.
const (
	IdleTimeout   = 12 * time.Hour
	MaxSessionAge = 7 * 24 * time.Hour
	// seenEvery bounds how often a busy session's last use is written.
	seenEvery = time.Minute
)

// sessionPrefix starts every session id, so logs and scanners can tell it from an API token.
const sessionPrefix = "ns_"

// Sessions keeps browser sessions on the server: the cookie holds a random id, the database
// only its hash, so a copy of the database signs nobody in.
type Sessions struct {
	db    *store.DB
	clock clock.Clock
}

// NewSessions returns the session store.
func NewSessions(db *store.DB, c clock.Clock) *Sessions { return &Sessions{db: db, clock: c} }

// ErrNoSession is returned for a session id that is unknown, expired or ended.
var ErrNoSession = errors.New("session unknown or expired; sign in again")

// Start opens a new session for a user and returns its id (the cookie value). A fresh id on
// every sign-in is what defeats session fixation.
func (s *Sessions) Start(ctx context.Context, userID int64, remote string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := sessionPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	now := s.clock.Now()
	_, err := s.db.Exec(ctx, `INSERT INTO sessions (hash, user_id, created_at, expires_at, seen_at, remote) VALUES (?, ?, ?, ?, ?, ?)`,
		hashToken(id), userID, now.UnixMilli(), now.Add(MaxSessionAge).UnixMilli(), now.UnixMilli(), remote)
	return id, err
}

// Verify returns the principal of a session id and notes its use.
func (s *Sessions) Verify(ctx context.Context, id string) (Principal, error) {
	if len(id) < len(sessionPrefix)+16 || id[:len(sessionPrefix)] != sessionPrefix {
		return Principal{}, ErrNoSession
	}
	h := hashToken(id)
	var p Principal
	var uid int64
	var role, teams string
	var expires, seen int64
	var disabled sql.NullInt64
	err := s.db.QueryRow(ctx, `SELECT u.id, u.username, u.role, u.teams, u.disabled_at, s.expires_at, s.seen_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = ?`, h).
		Scan(&uid, &p.Name, &role, &teams, &disabled, &expires, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, ErrNoSession
	}
	if err != nil {
		return Principal{}, err
	}
	now := s.clock.Now()
	if disabled.Valid || now.UnixMilli() >= expires || now.Sub(time.UnixMilli(seen)) >= IdleTimeout {
		return Principal{}, ErrNoSession
	}
	r, err := ParseRole(role)
	if err != nil {
		return Principal{}, err
	}
	if now.Sub(time.UnixMilli(seen)) >= seenEvery {
		if _, err := s.db.Exec(ctx, `UPDATE sessions SET seen_at = ? WHERE hash = ?`, now.UnixMilli(), h); err != nil {
			return Principal{}, err
		}
	}
	p.Kind, p.ID, p.Role, p.Teams = "user", itoa64(uid), r, splitTeams(teams)
	return p, nil
}

// End ends a session; ending an unknown one is not an error.
func (s *Sessions) End(ctx context.Context, id string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM sessions WHERE hash = ?`, hashToken(id))
	return err
}

// Prune deletes sessions that can no longer be used, so the table stays small.
func (s *Sessions) Prune(ctx context.Context) (int64, error) {
	now := s.clock.Now()
	res, err := s.db.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR seen_at <= ?`, now.UnixMilli(), now.Add(-IdleTimeout).UnixMilli())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// PruneTimer is the durable timer kind that deletes dead sessions every PruneEvery.
const (
	PruneTimer = "auth.prune-sessions"
	PruneEvery = time.Hour
)
