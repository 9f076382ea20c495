package escalate

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
)

// Link actions.
const (
	ActionAcknowledge = "ack"
	ActionResolve     = "resolve"
)

// Link is what a signed acknowledge or resolve link grants: one action on one incident, on
// behalf of the user it was sent to, until it expires. The signature is the credential, so the
// link works from a phone with no session.
type Link struct {
	Incident int64
	User     string
	Action   string
	Expires  time.Time
}

// Link errors.
var (
	ErrLinkInvalid = errors.New("this link is not valid: it was changed or cut short; use the link from the page exactly")
	ErrLinkExpired = errors.New("this link has expired; open the incident in nines instead")
)

// links signs with a key shared by every node (store secret "page-links").
type links struct {
	db   *store.DB
	once sync.Mutex
	key  []byte
}

func (l *links) secret(ctx context.Context) ([]byte, error) {
	l.once.Lock()
	defer l.once.Unlock()
	if l.key == nil {
		k, err := l.db.Secret(ctx, "page-links")
		if err != nil {
			return nil, err
		}
		l.key = k
	}
	return l.key, nil
}

func (l *links) mac(key []byte, payload string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// sign returns the token of a link: base64url(action.incident.expiry.user) "." signature.
func (l *links) sign(ctx context.Context, lk Link) (string, error) {
	key, err := l.secret(ctx)
	if err != nil {
		return "", err
	}
	payload := fmt.Sprintf("%s.%d.%d.%s", lk.Action, lk.Incident, lk.Expires.Unix(), lk.User)
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + l.mac(key, payload), nil
}

func (l *links) verify(ctx context.Context, token string, now time.Time) (Link, error) {
	key, err := l.secret(ctx)
	if err != nil {
		return Link{}, err
	}
	enc, sig, ok := strings.Cut(token, ".")
	raw, derr := base64.RawURLEncoding.DecodeString(enc)
	if !ok || derr != nil || len(token) > 512 {
		return Link{}, ErrLinkInvalid
	}
	payload := string(raw)
	if !hmac.Equal([]byte(sig), []byte(l.mac(key, payload))) {
		return Link{}, ErrLinkInvalid
	}
	parts := strings.SplitN(payload, ".", 4)
	if len(parts) != 4 {
		return Link{}, ErrLinkInvalid
	}
	id, err1 := strconv.ParseInt(parts[1], 10, 64)
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || (parts[0] != ActionAcknowledge && parts[0] != ActionResolve) {
		return Link{}, ErrLinkInvalid
	}
	lk := Link{Action: parts[0], Incident: id, Expires: time.Unix(exp, 0).UTC(), User: parts[3]}
	if !now.Before(lk.Expires) {
		return lk, ErrLinkExpired
	}
	return lk, nil
}

// SignLink returns the token of a link (the part after /a/).
func (e *Engine) SignLink(ctx context.Context, lk Link) (string, error) { return e.links.sign(ctx, lk) }

// VerifyLink checks a token and returns what it grants.
func (e *Engine) VerifyLink(ctx context.Context, token string) (Link, error) {
	return e.links.verify(ctx, token, e.clock.Now())
}

// UseLink performs a link's action. Acknowledging an incident already acknowledged is not an
// error: the second person to tap the link sees that it is handled.
func (e *Engine) UseLink(ctx context.Context, token string) (Link, incident.Incident, error) {
	lk, err := e.VerifyLink(ctx, token)
	if err != nil {
		return lk, incident.Incident{}, err
	}
	a := incident.Actor{Name: "user:" + lk.User, Source: "link"}
	var inc incident.Incident
	if lk.Action == ActionAcknowledge {
		inc, err = e.incidents.Acknowledge(ctx, lk.Incident, a)
	} else {
		inc, err = e.incidents.Resolve(ctx, lk.Incident, a)
	}
	return lk, inc, err
}
