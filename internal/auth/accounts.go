package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
)

// accountsMigration adds local users, server-side sessions, the audit log and team scoping of
// tokens.
const accountsMigration = `
CREATE TABLE users (
	id {{id}},
	username TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	role TEXT NOT NULL,
	teams TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	oidc_subject TEXT UNIQUE,
	created_at BIGINT NOT NULL,
	disabled_at BIGINT
);
CREATE TABLE sessions (
	hash TEXT PRIMARY KEY,
	user_id BIGINT NOT NULL REFERENCES users (id),
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	seen_at BIGINT NOT NULL,
	remote TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE TABLE audit_log (
	id {{id}},
	at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	target TEXT NOT NULL,
	remote TEXT NOT NULL,
	detail TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);
ALTER TABLE api_tokens ADD COLUMN teams TEXT NOT NULL DEFAULT '';
`

// User is a local account as stored (never with its password hash).
type User struct {
	ID        int64     `json:"id"`
	Username  string    `json:"username"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Teams     []string  `json:"teams"`
	CreatedAt time.Time `json:"created_at"`
	Disabled  bool      `json:"disabled"`
	// TimeZone is the IANA zone the person chose to read times in ("" when they chose none).
	TimeZone string `json:"time_zone,omitempty"`
}

// Users keeps local accounts and their passwords.
type Users struct {
	db    *store.DB
	clock clock.Clock
}

// NewUsers returns the user store.
func NewUsers(db *store.DB, c clock.Clock) *Users { return &Users{db: db, clock: c} }

// MinPasswordLength is the shortest password nines accepts; length beats composition rules.
const MinPasswordLength = 10

// ErrUserExists is returned when creating a user whose username is taken.
var ErrUserExists = errors.New("a user with that username already exists")

// ErrNoUser is returned for a username that does not exist.
var ErrNoUser = errors.New("no such user")

// accountError is ErrNoUser or ErrUserExists said with the username it is about.
type accountError struct {
	is  error
	msg string
}

func (e *accountError) Error() string        { return e.msg }
func (e *accountError) Is(target error) bool { return target == e.is }

func noUser(username string) error {
	return &accountError{ErrNoUser, fmt.Sprintf("user %q not found", username)}
}

func userExists(username string) error {
	return &accountError{ErrUserExists, fmt.Sprintf("username %q: %v", username, ErrUserExists)}
}

// ErrBadLogin is returned for a wrong username or password; it never says which.
var ErrBadLogin = errors.New("wrong username or password")

// NewUser describes an account to create.
type NewUser struct {
	Username string
	Name     string
	Role     Role
	Teams    []string
	Password string // empty for an account that signs in only through OIDC
}

// CheckUsername reports what is wrong with a username, if anything.
func CheckUsername(u string) error {
	if u == "" || len(u) > 64 {
		return invalid.Field("username", "1 to 64 characters")
	}
	for _, r := range u {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '@') {
			return invalid.Field("", "username %q: use lower-case letters, digits, '-', '_', '.' and '@' only", u)
		}
	}
	return nil
}

// CheckPassword reports what is wrong with a new password, if anything.
func CheckPassword(p string) error {
	// Counted in characters, as a browser counts minlength (not in bytes).
	if utf8.RuneCountInString(p) < MinPasswordLength {
		return invalid.Field("password", "at least %d characters", MinPasswordLength)
	}
	if len(p) > 1024 {
		return invalid.Field("password", "at most 1024 characters")
	}
	if IsCommonPassword(p) {
		return invalid.Field("password", "it is one of the most common passwords, the first ones attackers try; choose another")
	}
	return nil
}

// Create adds a user.
func (u *Users) Create(ctx context.Context, nu NewUser) (User, error) {
	if err := CheckUsername(nu.Username); err != nil {
		return User{}, err
	}
	if _, ok := roleNames[nu.Role]; !ok {
		return User{}, invalid.Field("role", "unknown role %d", nu.Role)
	}
	if nu.Role == Agent {
		return User{}, invalid.Field("role", "agent is the role of probe agents' tokens, not of people")
	}
	if err := checkTeamNames(nu.Teams); err != nil {
		return User{}, err
	}
	hash := ""
	if nu.Password != "" {
		if err := CheckPassword(nu.Password); err != nil {
			return User{}, err
		}
		hash = HashPassword(nu.Password)
	}
	if nu.Name == "" {
		nu.Name = nu.Username
	}
	now := u.clock.Now()
	user := User{Username: nu.Username, Name: nu.Name, Role: nu.Role.String(), Teams: cleanTeams(nu.Teams), CreatedAt: now.Truncate(time.Millisecond)}
	err := u.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		user.ID, err = tx.InsertID(ctx, `INSERT INTO users (username, name, role, teams, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			nu.Username, nu.Name, nu.Role.String(), strings.Join(user.Teams, ","), hash, now.UnixMilli())
		return err
	})
	if store.IsUniqueViolation(err) {
		return User{}, userExists(nu.Username)
	}
	return user, err
}

// SetPassword changes a user's password and ends every session of theirs, so a stolen session
// does not outlive the password change.
func (u *Users) SetPassword(ctx context.Context, username, password string) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	hash := HashPassword(password)
	return u.db.Tx(ctx, func(tx *store.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE username = ?`, username).Scan(&id); errors.Is(err, sql.ErrNoRows) {
			return noUser(username)
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, id)
		return err
	})
}

// Disable stops a user from signing in and ends their sessions.
func (u *Users) Disable(ctx context.Context, username string) error {
	return u.db.Tx(ctx, func(tx *store.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE username = ? AND disabled_at IS NULL`, username).Scan(&id); errors.Is(err, sql.ErrNoRows) {
			return noUser(username)
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET disabled_at = ? WHERE id = ?`, u.clock.Now().UnixMilli(), id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, id)
		return err
	})
}

// Authenticate checks a username and password. It spends the same work on an unknown user as
// on a known one, so timing does not tell which usernames exist. When as many passwords are
// being checked as nines checks at once, it returns ErrBusy at once instead of queueing.
func (u *Users) Authenticate(ctx context.Context, username, password string) (User, error) {
	if !tryHashing() {
		return User{}, ErrBusy
	}
	defer doneHashing()
	var user User
	var hash, teams string
	var created int64
	var disabled sql.NullInt64
	err := u.db.QueryRow(ctx, `SELECT id, username, name, role, teams, password_hash, created_at, disabled_at FROM users WHERE username = ?`, username).
		Scan(&user.ID, &user.Username, &user.Name, &user.Role, &teams, &hash, &created, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		VerifyPassword(dummyHash, password)
		return User{}, ErrBadLogin
	}
	if err != nil {
		return User{}, err
	}
	if hash == "" || !VerifyPassword(hash, password) || disabled.Valid {
		return User{}, ErrBadLogin
	}
	user.Teams, user.CreatedAt = splitTeams(teams), time.UnixMilli(created).UTC()
	return user, nil
}

// List returns every user.
func (u *Users) List(ctx context.Context) ([]User, error) {
	rows, err := u.db.Query(ctx, `SELECT id, username, name, role, teams, created_at, disabled_at FROM users ORDER BY username`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		var user User
		var teams string
		var created int64
		var disabled sql.NullInt64
		if err := rows.Scan(&user.ID, &user.Username, &user.Name, &user.Role, &teams, &created, &disabled); err != nil {
			return nil, err
		}
		user.Teams, user.CreatedAt, user.Disabled = splitTeams(teams), time.UnixMilli(created).UTC(), disabled.Valid
		out = append(out, user)
	}
	return out, rows.Err()
}

// cleanTeams trims the names of a team list checked by checkTeamNames.
func cleanTeams(teams []string) []string {
	out := []string{}
	for _, t := range teams {
		out = append(out, strings.TrimSpace(t))
	}
	return out
}

// checkTeamNames reports what is wrong with a list of teams a user or token is to act for, if
// anything. Each name is a team id (letters, digits, '-', '_' and '.'; spaces around it do not
// count): an empty name would read as no team, and a token of no team acts for every team, the
// opposite of what was asked; a comma would split into two teams once stored.
func checkTeamNames(teams []string) error {
	for i, t := range teams {
		t = strings.TrimSpace(t)
		if t == "" {
			return invalid.Field("teams", "name %d of %d is empty; name each team (or give no list for every team)", i+1, len(teams))
		}
		if err := checkName(t); err != nil {
			return invalid.Field("teams", "%q is not a team id: %v", t, err)
		}
	}
	return nil
}

// ParseTeams reads a comma-separated list of teams, as a command line gives it; each name is
// checked as CheckTeams does.
func ParseTeams(list string) ([]string, error) {
	teams := strings.Split(list, ",")
	if err := checkTeamNames(teams); err != nil {
		return nil, err
	}
	return cleanTeams(teams), nil
}

// checkName says what is wrong with the id of a team or a location, if anything.
func checkName(s string) error {
	if len(s) > 128 {
		return errors.New("at most 128 characters")
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return errors.New("use letters, digits, '-', '_' and '.' only")
		}
	}
	return nil
}

func splitTeams(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Argon2id parameters: the second recommendation of RFC 9106 scaled to OWASP's 19 MiB, so a
// login costs tens of milliseconds on a small server while guessing stays expensive offline.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

var dummyHash = HashPassword("nines-dummy-password-for-timing")

// ErrBusy is returned when a password cannot be checked now because as many are being hashed as
// nines hashes at once.
var ErrBusy = errors.New("too many sign-ins at once; try again in a moment")

// hashing bounds how many argon2id hashes run at once in the process: each holds 19 MiB, so
// sixty sign-ins at once would otherwise hold over a gigabyte. It is one per process because
// the memory it guards is.
var hashing = make(chan struct{}, hashSlots())

// hashSlots is how many passwords nines hashes at once: one per core, at least 2 and at most 8.
func hashSlots() int { return min(max(runtime.GOMAXPROCS(0), 2), 8) }

func tryHashing() bool {
	select {
	case hashing <- struct{}{}:
		return true
	default:
		return false
	}
}

func doneHashing() { <-hashing }

// HashPassword returns a PHC-formatted argon2id hash of password with a random salt. It waits
// for a free hashing slot.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	hashing <- struct{}{}
	defer doneHashing()
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key))
}

// VerifyPassword reports whether password matches a hash from HashPassword. The hash's own
// parameters are used, so raising them later keeps old hashes valid.
func VerifyPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<21 || t == 0 || t > 16 || p == 0 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// SignInExternal finds the user an identity provider vouches for: by the provider's subject
// first; else by username, linking the subject on that first sign-in; else, when create is
// set, a new account with role and no password. It returns ErrNoUser when there is no account
// to sign in to, and ErrBadLogin for a disabled one.
func (u *Users) SignInExternal(ctx context.Context, subject, username string, create bool, role Role) (User, error) {
	var user User
	err := u.db.Tx(ctx, func(tx *store.Tx) error {
		find := func(where string, arg any) (bool, error) {
			var teams string
			var created int64
			var disabled sql.NullInt64
			var sub sql.NullString
			err := tx.QueryRow(ctx, `SELECT id, username, name, role, teams, created_at, disabled_at, oidc_subject FROM users WHERE `+where+` = ?`, arg).
				Scan(&user.ID, &user.Username, &user.Name, &user.Role, &teams, &created, &disabled, &sub)
			if errors.Is(err, sql.ErrNoRows) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			if disabled.Valid || (sub.Valid && sub.String != subject) {
				// A disabled account, or one already tied to another identity: no way in.
				return true, ErrBadLogin
			}
			user.Teams, user.CreatedAt = splitTeams(teams), time.UnixMilli(created).UTC()
			if !sub.Valid {
				_, err = tx.Exec(ctx, `UPDATE users SET oidc_subject = ? WHERE id = ?`, subject, user.ID)
			}
			return true, err
		}
		if ok, err := find("oidc_subject", subject); ok || err != nil {
			return err
		}
		if ok, err := find("username", username); ok || err != nil {
			return err
		}
		if !create {
			return noUser(username)
		}
		if err := CheckUsername(username); err != nil {
			return err
		}
		now := u.clock.Now()
		user = User{Username: username, Name: username, Role: role.String(), Teams: []string{}, CreatedAt: now.Truncate(time.Millisecond)}
		var err error
		user.ID, err = tx.InsertID(ctx, `INSERT INTO users (username, name, role, teams, password_hash, oidc_subject, created_at) VALUES (?, ?, ?, '', '', ?, ?)`,
			username, username, role.String(), subject, now.UnixMilli())
		return err
	})
	return user, err
}
