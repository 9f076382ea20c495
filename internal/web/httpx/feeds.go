package httpx

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/nines-dev/nines/internal/auth"
)

// A calendar feed key lets a calendar app, which cannot send a token, read one feed. It is
// issued to the principal that asked for the feed URL (a user or an API token) and names it:
// "u12.<mac>" or "t7.<mac>", the MAC of the feed under a secret of that principal's own. So a
// key works only while its owner may act (a disabled user's or a revoked token's keys die with
// it), acts with its owner's role and teams, and its owner can replace all of their keys at
// once (POST /api/v1/feed-keys/rotate) when a feed URL has leaked.

// feedOwner names a principal in its feed keys and their secret.
func feedOwner(p auth.Principal) string {
	if p.Kind == "token" {
		return "t" + p.ID
	}
	return "u" + p.ID
}

func (g *Guard) feedMAC(ctx context.Context, owner, subject string) (string, error) {
	secret, err := g.DB.Secret(ctx, "ical-feeds:"+owner)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(subject))
	return hex.EncodeToString(m.Sum(nil))[:32], nil
}

// FeedKey is the key of the feed subject for the principal of ctx.
func (g *Guard) FeedKey(ctx context.Context, subject string) (string, error) {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return "", errors.New("feed key: no principal")
	}
	owner := feedOwner(p)
	mac, err := g.feedMAC(ctx, owner, subject)
	return owner + "." + mac, err
}

// AuthorizeFeed accepts a viewer's bearer token or the feed's key. A key's owner must still be
// able to act, and reach the feed's subject (scope says how it is found); the request then acts
// as that owner.
func (g *Guard) AuthorizeFeed(w http.ResponseWriter, r *http.Request, subject string, scope Scope) error {
	rt := Route{Access: Token, Role: auth.Viewer, Scope: scope}
	key := r.URL.Query().Get("key")
	if key == "" {
		return g.Authorize(rt, w, r)
	}
	refused := Errorf(http.StatusUnauthorized, "unauthorized: this feed key is not valid for %s, or whoever it was issued to can no longer read it", subject)
	owner, mac, ok := strings.Cut(key, ".")
	if !ok || len(owner) < 2 || len(mac) != 32 {
		return refused
	}
	id, err := strconv.ParseInt(owner[1:], 10, 64)
	if err != nil || id <= 0 {
		return refused
	}
	var p auth.Principal
	switch owner[0] {
	case 'u':
		p, err = g.Users.Active(r.Context(), id)
	case 't':
		p, err = g.Tokens.Active(r.Context(), id)
	default:
		return refused
	}
	if errors.Is(err, auth.ErrInactive) {
		return refused
	}
	if err != nil {
		return err
	}
	// The owner is checked first: an unknown owner creates no secret.
	want, err := g.feedMAC(r.Context(), owner, subject)
	if err != nil {
		return err
	}
	if !hmac.Equal([]byte(mac), []byte(want)) || !p.Can(auth.Viewer) {
		return refused
	}
	if err := g.checkScope(rt, w, r, p); err != nil {
		var e *Error
		if errors.As(err, &e) { // the owner no longer reaches the subject
			return refused
		}
		return err
	}
	*r = *r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
	return nil
}

// RotateFeedKeys replaces every feed key p was issued: the feed URLs it handed out stop working.
func (g *Guard) RotateFeedKeys(ctx context.Context, p auth.Principal) error {
	return g.DB.RotateSecret(ctx, "ical-feeds:"+feedOwner(p))
}
