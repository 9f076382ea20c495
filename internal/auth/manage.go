package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
)

// invitesMigration adds invitations: single-use, expiring links that let a person set the
// password of their account (a new account, or a password an admin reset).
const invitesMigration = `
CREATE TABLE invites (
	hash TEXT PRIMARY KEY,
	user_id BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT
);
CREATE INDEX invites_user ON invites (user_id);
`

// InviteTTL is how long an invitation link works.
const InviteTTL = 72 * time.Hour

// invitePrefix starts every invitation secret.
const invitePrefix = "ni_"

// ErrBadInvite is returned for an invitation link that is unknown, used, replaced, expired, or
// whose account is disabled or gone.
var ErrBadInvite = errors.New("this invitation link is not valid: it was used, replaced by a newer one, or has expired; ask an admin for a new one")

// ErrSelf is returned when an admin would disable, demote or delete their own account.
var ErrSelf = errors.New("nobody can disable, demote or delete their own account; ask another admin")

// ErrLastAdmin is returned when a change would leave nobody able to manage accounts.
var ErrLastAdmin = errors.New("this is the last enabled admin of every team; make another admin first")

// ErrWrongPassword is returned when the current password given to change it is wrong.
var ErrWrongPassword = errors.New("current_password: wrong password")

// Get returns a user by username.
func (u *Users) Get(ctx context.Context, username string) (User, error) {
	var user User
	var teams string
	var created int64
	var disabled sql.NullInt64
	err := u.db.QueryRow(ctx, `SELECT id, username, name, role, teams, created_at, disabled_at, time_zone FROM users WHERE username = ?`, username).
		Scan(&user.ID, &user.Username, &user.Name, &user.Role, &teams, &created, &disabled, &user.TimeZone)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, noUser(username)
	}
	if err != nil {
		return User{}, err
	}
	user.Teams, user.CreatedAt, user.Disabled = splitTeams(teams), time.UnixMilli(created).UTC(), disabled.Valid
	return user, nil
}

// Invite issues the link with which the user sets their password, and returns its secret and
// when it expires. It replaces every earlier link of the user's that was not used.
func (u *Users) Invite(ctx context.Context, username string) (string, time.Time, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", time.Time{}, err
	}
	secret := invitePrefix + base64.RawURLEncoding.EncodeToString(b[:])
	now := u.clock.Now()
	expires := now.Add(InviteTTL).Truncate(time.Millisecond)
	err := u.db.Tx(ctx, func(tx *store.Tx) error {
		var id int64
		var disabled sql.NullInt64
		if err := tx.QueryRow(ctx, `SELECT id, disabled_at FROM users WHERE username = ?`, username).Scan(&id, &disabled); errors.Is(err, sql.ErrNoRows) {
			return noUser(username)
		} else if err != nil {
			return err
		}
		if disabled.Valid {
			return fmt.Errorf("user %q is disabled; enable the account first", username)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM invites WHERE user_id = ? AND used_at IS NULL`, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO invites (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			hashToken(secret), id, now.UnixMilli(), expires.UnixMilli())
		return err
	})
	return secret, expires, err
}

// Invited returns the user an invitation link is for, changing nothing.
func (u *Users) Invited(ctx context.Context, secret string) (User, error) {
	id, err := u.invite(ctx, u.db.QueryRow, secret)
	if err != nil {
		return User{}, err
	}
	var username string
	if err := u.db.QueryRow(ctx, `SELECT username FROM users WHERE id = ?`, id).Scan(&username); err != nil {
		return User{}, ErrBadInvite
	}
	return u.Get(ctx, username)
}

type queryRow func(ctx context.Context, q string, args ...any) *sql.Row

// invite finds the live invitation of secret and returns its user's id.
func (u *Users) invite(ctx context.Context, q queryRow, secret string) (int64, error) {
	if !strings.HasPrefix(secret, invitePrefix) || len(secret) > 128 {
		return 0, ErrBadInvite
	}
	var id, expires int64
	var used, disabled sql.NullInt64
	err := q(ctx, `SELECT i.user_id, i.expires_at, i.used_at, u.disabled_at FROM invites i JOIN users u ON u.id = i.user_id WHERE i.hash = ?`, hashToken(secret)).
		Scan(&id, &expires, &used, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrBadInvite
	}
	if err != nil {
		return 0, err
	}
	if used.Valid || disabled.Valid || u.clock.Now().UnixMilli() >= expires {
		return 0, ErrBadInvite
	}
	return id, nil
}

// AcceptInvite sets the password of the invited user and uses the link up; every session of
// theirs ends.
func (u *Users) AcceptInvite(ctx context.Context, secret, password string) (User, error) {
	if err := CheckPassword(password); err != nil {
		return User{}, err
	}
	// A link that is not valid costs no hashing: the work an unauthenticated request causes
	// stays bounded.
	if _, err := u.invite(ctx, u.db.QueryRow, secret); err != nil {
		return User{}, err
	}
	hash := HashPassword(password)
	var username string
	err := u.db.Tx(ctx, func(tx *store.Tx) error {
		id, err := u.invite(ctx, tx.QueryRow, secret)
		if err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `UPDATE invites SET used_at = ? WHERE hash = ? AND used_at IS NULL`, u.clock.Now().UnixMilli(), hashToken(secret))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrBadInvite
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT username FROM users WHERE id = ?`, id).Scan(&username)
	})
	if err != nil {
		return User{}, err
	}
	return u.Get(ctx, username)
}

// ChangePassword sets a new password for a user who proves the current one, and ends every
// session of theirs but keep (the one they changed it from; "" for none).
func (u *Users) ChangePassword(ctx context.Context, username, current, password, keep string) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	if _, err := u.Authenticate(ctx, username, current); errors.Is(err, ErrBadLogin) {
		return ErrWrongPassword
	} else if err != nil {
		return err
	}
	hash := HashPassword(password)
	return u.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = ? WHERE username = ?`, hash, username); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?) AND hash <> ?`, username, hashToken(keep))
		return err
	})
}

// EndSessions signs a user out everywhere, and returns how many sessions ended.
func (u *Users) EndSessions(ctx context.Context, username string) (int64, error) {
	res, err := u.db.Exec(ctx, `DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?)`, username)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Change is what an admin changes of an account; nil and false fields stay as they are.
type Change struct {
	Role    *Role
	Teams   *[]string
	Enable  bool
	Disable bool
	Delete  bool
}

// Self reports whether the principal is, or acts for, the account username.
func (p Principal) Self(username string) bool {
	return p.Kind == "user" && p.Name == username || p.Kind == "token" && p.User != "" && p.User == username
}

// Apply makes an admin's change to an account, in one transaction: nobody disables, demotes,
// narrows or deletes their own account (by), and no change leaves nines without an enabled
// admin of every team. A disabled or deleted account's sessions end.
func (u *Users) Apply(ctx context.Context, by Principal, username string, ch Change) (User, error) {
	if ch.Role != nil {
		if _, ok := roleNames[*ch.Role]; !ok || *ch.Role == Agent {
			return User{}, fmt.Errorf("role: %s is not a role of people", *ch.Role)
		}
	}
	if ch.Teams != nil {
		if err := checkTeamNames(*ch.Teams); err != nil {
			return User{}, err
		}
	}
	err := u.db.Tx(ctx, func(tx *store.Tx) error {
		lock := ""
		if u.db.Dialect == store.Postgres {
			lock = " FOR UPDATE"
		}
		// Every enabled admin of every team, locked, so two admins demoting each other at once
		// cannot both succeed.
		rows, err := tx.Query(ctx, `SELECT username FROM users WHERE role = 'admin' AND teams = '' AND disabled_at IS NULL ORDER BY id`+lock)
		if err != nil {
			return err
		}
		var admins []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			admins = append(admins, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var id int64
		var role, teams string
		var disabled sql.NullInt64
		if err := tx.QueryRow(ctx, `SELECT id, role, teams, disabled_at FROM users WHERE username = ?`+lock, username).Scan(&id, &role, &teams, &disabled); errors.Is(err, sql.ErrNoRows) {
			return noUser(username)
		} else if err != nil {
			return err
		}
		cur, _ := ParseRole(role)
		newRole, newTeams, off := cur, splitTeams(teams), disabled.Valid
		if ch.Role != nil {
			newRole = *ch.Role
		}
		if ch.Teams != nil {
			newTeams = cleanTeams(*ch.Teams)
		}
		if ch.Enable {
			off = false
		}
		if ch.Disable {
			off = true
		}
		narrowed := strings.Join(newTeams, ",") != teams
		if by.Self(username) && (ch.Delete || off && !disabled.Valid || newRole < cur || narrowed) {
			return ErrSelf
		}
		wasAdmin := cur == Admin && teams == "" && !disabled.Valid
		staysAdmin := !ch.Delete && newRole == Admin && len(newTeams) == 0 && !off
		if wasAdmin && !staysAdmin && len(admins) <= 1 {
			return ErrLastAdmin
		}
		before := accountState{Role: cur.String(), Teams: splitTeams(teams), Disabled: disabled.Valid}
		if ch.Delete {
			for _, q := range []string{`DELETE FROM sessions WHERE user_id = ?`, `DELETE FROM invites WHERE user_id = ?`, `DELETE FROM users WHERE id = ?`} {
				if _, err := tx.Exec(ctx, q, id); err != nil {
					return err
				}
			}
			return auditAccount(ctx, tx, by, "account.deleted", username, &before, nil, u.clock.Now())
		}
		var disabledAt any
		if off {
			disabledAt = u.clock.Now().UnixMilli()
			if disabled.Valid {
				disabledAt = disabled.Int64
			}
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
				return err
			}
		}
		if _, err = tx.Exec(ctx, `UPDATE users SET role = ?, teams = ?, disabled_at = ? WHERE id = ?`, newRole.String(), strings.Join(newTeams, ","), disabledAt, id); err != nil {
			return err
		}
		after := accountState{Role: newRole.String(), Teams: newTeams, Disabled: off}
		return auditAccount(ctx, tx, by, "account.updated", username, &before, &after, u.clock.Now())
	})
	if err != nil || ch.Delete {
		return User{}, err
	}
	return u.Get(ctx, username)
}

// CheckTimeZone reports what is wrong with an IANA time zone name, if anything ("" is none).
func CheckTimeZone(tz string) error {
	if tz == "" {
		return nil
	}
	// LoadLocation also takes "Local", the server's zone, which is no name of the database.
	if _, err := time.LoadLocation(tz); err != nil || len(tz) > 64 || tz == "Local" {
		return invalid.Field("time_zone", "%q is not an IANA time zone such as Europe/Berlin or Asia/Kolkata", tz)
	}
	return nil
}

// SetTimeZone records the time zone the user reads times in ("" puts back the default).
func (u *Users) SetTimeZone(ctx context.Context, username, tz string) error {
	if err := CheckTimeZone(tz); err != nil {
		return err
	}
	return u.db.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE users SET time_zone = ? WHERE username = ? AND disabled_at IS NULL`, tz, username)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return noUser(username)
		}
		return nil
	})
}

// accountState is what the audit log says an account was and became.
type accountState struct {
	Role     string   `json:"role"`
	Teams    []string `json:"teams"`
	Disabled bool     `json:"disabled"`
}

// auditAccount records an admin's change to an account with what it was and what it became
// (after nil: deleted), in the change's transaction.
func auditAccount(ctx context.Context, tx *store.Tx, by Principal, action, username string, before, after *accountState, at time.Time) error {
	for _, st := range []*accountState{before, after} {
		if st != nil && st.Teams == nil {
			st.Teams = []string{}
		}
	}
	detail, err := json.Marshal(struct {
		Before *accountState `json:"before"`
		After  *accountState `json:"after"`
	}{before, after})
	if err != nil {
		return err
	}
	return RecordTx(ctx, tx, Entry{Actor: by.Actor(), Action: action, Target: "users/" + username, Detail: string(detail)}, at)
}
