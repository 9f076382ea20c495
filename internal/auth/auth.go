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
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
)

// Role is what a principal may do; each role of the ladder (Viewer to Admin) includes the ones
// below it. Agent stands apart: it is a probe agent's and includes nothing else, nor is it
// included in any other role.
type Role int

const (
	// Agent fetches the assignments of its location and posts their results, and nothing else.
	// Its value is below every role of the ladder, so a comparison of ladder roles never
	// lets it through.
	Agent Role = -1
	// Viewer reads.
	Viewer Role = iota
	// Responder also acknowledges, resolves, writes notes, overrides and status updates.
	Responder
	// Manager also changes schedules and services.
	Manager
	// Admin also manages users, tokens and config.
	Admin
)

var roleNames = map[Role]string{Viewer: "viewer", Responder: "responder", Manager: "manager", Admin: "admin", Agent: "agent"}

func (r Role) String() string {
	if n, ok := roleNames[r]; ok {
		return n
	}
	return "none"
}

// Roles lists the roles of people, lowest first: the ladder a user's role is on.
func Roles() []Role { return []Role{Viewer, Responder, Manager, Admin} }

// TokenRoles lists every role an API token may have: the ladder, then Agent.
func TokenRoles() []Role { return append(Roles(), Agent) }

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	for r, n := range roleNames {
		if n == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("role %q: want viewer, responder, manager, admin or agent", s)
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
	// Location is the probe location an agent token runs at ("" for every other principal).
	Location string
	// User is the person (a user id of the config) a token belongs to; empty for a token of a
	// machine.
	User string
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

// Actor names the principal: "token:ci", "user:alice".
func (p Principal) Actor() string { return p.Kind + ":" + p.Name }

// Person names who acts on timelines: the person behind a personal token ("user:alice"), so
// what they do through the API or the CLI is credited to them; else Actor.
func (p Principal) Person() string {
	if p.Kind == "token" && p.User != "" {
		return "user:" + p.User
	}
	return p.Actor()
}

// Can reports whether the principal's role includes r. Agent includes only Agent, and only
// Agent includes it.
func (p Principal) Can(r Role) bool {
	if p.Role == Agent || r == Agent {
		return p.Role == r
	}
	return p.Role >= r
}

// Scoped reports whether the principal acts for some teams only.
func (p Principal) Scoped() bool { return len(p.Teams) > 0 }

// Covers reports whether an account or token scoped to teams reaches no further than the
// principal: an unscoped principal covers every scope; a scoped one only accounts scoped to
// some of its own teams (never an unscoped account, which reaches every team).
func (p Principal) Covers(teams []string) bool {
	if !p.Scoped() {
		return true
	}
	if len(teams) == 0 {
		return false
	}
	for _, t := range teams {
		if t == "" || !p.InTeam(t) {
			return false
		}
	}
	return true
}

// MayGrant reports whether the principal may give an account or token role r: no role above
// its own, and the agent role only as an admin.
func (p Principal) MayGrant(r Role) bool {
	if r == Agent {
		return p.Role == Admin
	}
	return p.Can(r)
}

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
`, accountsMigration, `
ALTER TABLE api_tokens ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
`, `
ALTER TABLE api_tokens ADD COLUMN location TEXT NOT NULL DEFAULT '';
`, invitesMigration, `
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
`}}

// Token is an API token as stored (never with its secret).
type Token struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Teams     []string   `json:"teams,omitempty"`
	// Location is where an agent token probes from.
	Location string `json:"location,omitempty"`
	// User is the person the token belongs to, if any.
	User string `json:"user,omitempty"`
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
	return t.CreateFor(ctx, "", name, role, ttl, teams)
}

// CreateFor makes a personal token: what it does is done by user (a user id of the config).
// An agent's token belongs to no person: see CreateAgent.
func (t *Tokens) CreateFor(ctx context.Context, user, name string, role Role, ttl time.Duration, teams []string) (string, Token, error) {
	if role == Agent {
		return "", Token{}, errors.New("an agent token needs a location: see CreateAgent")
	}
	return t.create(ctx, user, name, role, ttl, teams, "")
}

// CreateAgent makes a token for the probe agent at location: it fetches that location's
// assignments (of the given teams' monitors only, when teams are named) and posts their
// results, and can do nothing else.
func (t *Tokens) CreateAgent(ctx context.Context, name, location string, ttl time.Duration, teams []string) (string, Token, error) {
	if err := CheckLocation(location); err != nil {
		return "", Token{}, err
	}
	return t.create(ctx, "", name, Agent, ttl, teams, location)
}

// CheckLocation reports what is wrong with an agent's location name, if anything.
func CheckLocation(l string) error {
	if l == "" {
		return invalid.Field("location", "an agent token needs the location it probes from (e.g. eu-west)")
	}
	if l == config.LocalLocation { // the server's own probes: no agent may post as them
		return invalid.Field("location", "\"local\" is the server's own probes; name the agent's location (e.g. eu-west)")
	}
	if len(l) > 64 {
		return invalid.Field("location", "at most 64 characters")
	}
	if err := checkName(l); err != nil {
		return invalid.Field("", "location %q: %v", l, err)
	}
	return nil
}

func (t *Tokens) create(ctx context.Context, user, name string, role Role, ttl time.Duration, teams []string, location string) (string, Token, error) {
	if strings.TrimSpace(name) == "" {
		return "", Token{}, errors.New("token name is required")
	}
	if _, ok := roleNames[role]; !ok {
		return "", Token{}, fmt.Errorf("unknown role %d", role)
	}
	if err := checkTeamNames(teams); err != nil {
		return "", Token{}, err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", Token{}, err
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	now := t.clock.Now()
	tok := Token{Name: name, Role: role.String(), CreatedAt: now.Truncate(time.Millisecond), Teams: cleanTeams(teams), Location: location, User: user}
	var expires sql.NullInt64
	if ttl > 0 {
		e := now.Add(ttl).Truncate(time.Millisecond)
		tok.ExpiresAt = &e
		expires = sql.NullInt64{Int64: e.UnixMilli(), Valid: true}
	}
	err := t.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		tok.ID, err = tx.InsertID(ctx, `INSERT INTO api_tokens (name, role, hash, created_at, expires_at, teams, location, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			name, role.String(), hashToken(secret), now.UnixMilli(), expires, strings.Join(tok.Teams, ","), location, user)
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
	var name, role, teams, location, user string
	var expires, revoked sql.NullInt64
	err := t.db.QueryRow(ctx, `SELECT id, name, role, expires_at, revoked_at, teams, location, user_id FROM api_tokens WHERE hash = ?`, hashToken(secret)).
		Scan(&id, &name, &role, &expires, &revoked, &teams, &location, &user)
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
	return Principal{Kind: "token", ID: fmt.Sprint(id), Name: name, Role: r, Teams: splitTeams(teams), Location: location, User: user}, nil
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
	rows, err := t.db.Query(ctx, `SELECT id, name, role, created_at, expires_at, teams, location, user_id FROM api_tokens
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
		if err := rows.Scan(&tok.ID, &tok.Name, &tok.Role, &created, &expires, &teams, &tok.Location, &tok.User); err != nil {
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
