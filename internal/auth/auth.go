// Package auth says who is calling and what they may do: roles, API tokens (stored as hashes,
// with an expiry), local users with argon2id passwords, server-side browser sessions, login rate
// limiting, team scoping, the audit log, and the principal a request acts as.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/store"
)

// Role is what a principal may do; each role includes the ones below it.
type Role int

const (
	// Viewer reads.
	Viewer Role = iota + 1
	// Responder also acknowledges, resolves, writes notes, overrides and status updates.
	Responder
	// Manager also changes schedules and services.
	Manager
	// Admin also manages users, tokens and config.
	Admin
)

var roleNames = map[Role]string{Viewer: "viewer", Responder: "responder", Manager: "manager", Admin: "admin"}

func (r Role) String() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return "none"
}

// Roles lists every role, lowest first.
func Roles() []Role { return []Role{Viewer, Responder, Manager, Admin} }

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	for r, n := range roleNames {
		if n == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("role %q: want viewer, responder, manager or admin", s)
}

// Principal is who a request acts as.
type Principal struct {
	Kind string // "token" or "user"
	ID   string
	Name string
	Role Role
	// Teams scopes the principal: when set, it may act only on services these teams own (and on
	// services no team owns). Empty means every team.
	Teams []string
}

// InTeam reports whether the principal may act on something owned by team ("" is unowned).
func (p Principal) InTeam(team string) bool {
	if team == "" || len(p.Teams) == 0 {
		return true
	}
	for _, t := range p.Teams {
		if t == team {
			return true
		}
	}
	return false
}

// Actor names the principal on timelines: "token:ci", "user:alice".
func (p Principal) Actor() string { return p.Kind + ":" + p.Name }

// Can reports whether the principal's role includes r.
func (p Principal) Can(r Role) bool { return p.Role >= r }

// Schema holds API tokens, users, sessions and the audit log.
var Schema = store.Schema{Component: "auth", Migrations: []string{`
CREATE TABLE api_tokens (
	id {{id}},
	name TEXT NOT NULL,
	role TEXT NOT NULL,
	hash TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT,
	last_used_at BIGINT,
	revoked_at BIGINT
);
`, accountsMigration}}

// Token is an API token as stored (never with its secret).
type Token struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Teams     []string   `json:"teams,omitempty"`
}

// Tokens creates and checks API tokens.
type Tokens struct {
	db    *store.DB
	clock clock.Clock
}

// NewTokens returns the token store.
func NewTokens(db *store.DB, c clock.Clock) *Tokens { return &Tokens{db: db, clock: c} }

// TokenPrefix starts every token, so secret scanners can find leaked ones.
const TokenPrefix = "nines_"

// DefaultTTL is how long a token lives unless asked otherwise.
const DefaultTTL = 7 * 24 * time.Hour

// Create makes a token. ttl 0 means it never expires, which must be asked for explicitly.
// The secret is returned once and only its hash is kept.
func (t *Tokens) Create(ctx context.Context, name string, role Role, ttl time.Duration) (string, Token, error) {
	return t.CreateScoped(ctx, name, role, ttl, nil)
}

// CreateScoped makes a token that may act only on services of the given teams.
func (t *Tokens) CreateScoped(ctx context.Context, name string, role Role, ttl time.Duration, teams []string) (string, Token, error) {
	if strings.TrimSpace(name) == "" {
		return "", Token{}, errors.New("token name is required")
	}
	if _, ok := roleNames[role]; !ok {
		return "", Token{}, fmt.Errorf("unknown role %d", role)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Token{}, err
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	now := t.clock.Now()
	tok := Token{Name: name, Role: role.String(), CreatedAt: now.Truncate(time.Millisecond), Teams: cleanTeams(teams)}
	var expires sql.NullInt64
	if ttl > 0 {
		e := now.Add(ttl).Truncate(time.Millisecond)
		tok.ExpiresAt = &e
		expires = sql.NullInt64{Int64: e.UnixMilli(), Valid: true}
	}
	err := t.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		tok.ID, err = tx.InsertID(ctx, `INSERT INTO api_tokens (name, role, hash, created_at, expires_at, teams) VALUES (?, ?, ?, ?, ?, ?)`,
			name, role.String(), hashToken(secret), now.UnixMilli(), expires, strings.Join(tok.Teams, ","))
		return err
	})
	return secret, tok, err
}

// ErrInvalidToken is returned for a token that is unknown, expired or revoked.
var ErrInvalidToken = errors.New("invalid, expired or revoked API token")

// Verify returns the principal of a token secret.
func (t *Tokens) Verify(ctx context.Context, secret string) (Principal, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return Principal{}, ErrInvalidToken
	}
	var id int64
	var name, role, teams string
	var expires, revoked sql.NullInt64
	err := t.db.QueryRow(ctx, `SELECT id, name, role, expires_at, revoked_at, teams FROM api_tokens WHERE hash = ?`, hashToken(secret)).
		Scan(&id, &name, &role, &expires, &revoked, &teams)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, ErrInvalidToken
	}
	if err != nil {
		return Principal{}, err
	}
	now := t.clock.Now().UnixMilli()
	if revoked.Valid || (expires.Valid && expires.Int64 <= now) {
		return Principal{}, ErrInvalidToken
	}
	r, err := ParseRole(role)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Kind: "token", ID: fmt.Sprint(id), Name: name, Role: r, Teams: splitTeams(teams)}, nil
}

// Revoke revokes a token by id.
func (t *Tokens) Revoke(ctx context.Context, id int64) error {
	res, err := t.db.Exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, t.clock.Now().UnixMilli(), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %d: not found or already revoked", id)
	}
	return nil
}

// List returns the tokens that are neither revoked nor expired.
func (t *Tokens) List(ctx context.Context) ([]Token, error) {
	rows, err := t.db.Query(ctx, `SELECT id, name, role, created_at, expires_at, teams FROM api_tokens
		WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) ORDER BY id`, t.clock.Now().UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var tok Token
		var created int64
		var expires sql.NullInt64
		var teams string
		if err := rows.Scan(&tok.ID, &tok.Name, &tok.Role, &created, &expires, &teams); err != nil {
			return nil, err
		}
		tok.CreatedAt, tok.Teams = time.UnixMilli(created).UTC(), splitTeams(teams)
		if expires.Valid {
			e := time.UnixMilli(expires.Int64).UTC()
			tok.ExpiresAt = &e
		}
		out = append(out, tok)
	}
	return out, rows.Err()
}

func hashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func itoa64(n int64) string { return fmt.Sprint(n) }
