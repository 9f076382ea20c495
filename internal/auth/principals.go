package auth

import (
	"context"
	"database/sql"
	"errors"
)

// ErrInactive is returned for a token or user that can no longer act: revoked, expired,
// disabled or gone.
var ErrInactive = errors.New("the token or user this was issued to can no longer act")

// Active returns the principal of token id while the token is neither revoked nor expired.
// Credentials issued to a token (a calendar feed key) check it on every use, so they die
// with it.
func (t *Tokens) Active(ctx context.Context, id int64) (Principal, error) {
	var name, role, teams, user, location string
	var expires, revoked sql.NullInt64
	err := t.db.QueryRow(ctx, `SELECT name, role, expires_at, revoked_at, teams, user_id, location FROM api_tokens WHERE id = ?`, id).
		Scan(&name, &role, &expires, &revoked, &teams, &user, &location)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, ErrInactive
	}
	if err != nil {
		return Principal{}, err
	}
	if revoked.Valid || (expires.Valid && expires.Int64 <= t.clock.Now().UnixMilli()) {
		return Principal{}, ErrInactive
	}
	r, err := ParseRole(role)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Kind: "token", ID: itoa64(id), Name: name, Role: r, Teams: splitTeams(teams), User: user, Location: location}, nil
}

// Active returns the principal of user id while the user is not disabled.
func (u *Users) Active(ctx context.Context, id int64) (Principal, error) {
	var name, role, teams string
	var disabled sql.NullInt64
	err := u.db.QueryRow(ctx, `SELECT username, role, teams, disabled_at FROM users WHERE id = ?`, id).Scan(&name, &role, &teams, &disabled)
	if errors.Is(err, sql.ErrNoRows) || err == nil && disabled.Valid {
		return Principal{}, ErrInactive
	}
	if err != nil {
		return Principal{}, err
	}
	r, err := ParseRole(role)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Kind: "user", ID: itoa64(id), Name: name, Role: r, Teams: splitTeams(teams)}, nil
}
