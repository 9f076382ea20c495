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
	// ActionAcknowledgeAll acknowledges every incident of a bundled message.
	ActionAcknowledgeAll = "ackall"
)

// Link is what a signed link grants: one action on one incident (or, to acknowledge all, on
// every incident of one bundled message), on behalf of the user it was sent to, until it
// expires. The signature is the credential, so the link works from a phone with no session.
type Link struct {
	Incident int64 // acknowledge and resolve
	Bundle   int64 // acknowledge all
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
	id := lk.Incident
	if lk.Action == ActionAcknowledgeAll {
		id = lk.Bundle
	}
	payload := fmt.Sprintf("%s.%d.%d.%s", lk.Action, id, lk.Expires.Unix(), lk.User)
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + l.mac(key, payload), nil
}

func (l *links) verify(ctx context.Context, token string, now time.Time) (Link, error) {
	key, err := l.secret(ctx)
	if err != nil {
		return Link{}, err
	}
	enc, sig, ok := strings.Cut(token, ".")
	raw, derr := store.DecodeTokenPart(enc)
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
	if err1 != nil || err2 != nil || (parts[0] != ActionAcknowledge && parts[0] != ActionResolve && parts[0] != ActionAcknowledgeAll) {
		return Link{}, ErrLinkInvalid
	}
	lk := Link{Action: parts[0], Incident: id, Expires: time.Unix(exp, 0).UTC(), User: parts[3]}
	if lk.Action == ActionAcknowledgeAll {
		lk.Incident, lk.Bundle = 0, id
	}
	if !now.Before(lk.Expires) {
		return lk, ErrLinkExpired
	}
	return lk, nil
}

// SignLink returns the token of a link (the part after /a/).
func (e *Engine) SignLink(ctx context.Context, lk Link) (string, error) { return e.links.sign(ctx, lk) }

// ErrLinkUserGone is returned for a link sent to someone who is no longer a user in the
// config in force: a page outlives neither its person's removal nor a config change.
var ErrLinkUserGone error = linkUserGone{}

type linkUserGone struct{}

func (linkUserGone) Error() string {
	return "this link was sent to someone who is no longer a user of nines; open the incident in nines instead"
}

// Is makes it an invalid link to callers that check for one.
func (linkUserGone) Is(target error) bool { return target == ErrLinkInvalid }

// VerifyLink checks a token and returns what it grants.
func (e *Engine) VerifyLink(ctx context.Context, token string) (Link, error) {
	lk, err := e.links.verify(ctx, token, e.clock.Now())
	if err == nil && e.cfg.Get().User(lk.User) == nil {
		return lk, ErrLinkUserGone
	}
	return lk, err
}

// Outcome is what using a link did to one incident.
type Outcome struct {
	Incident incident.Incident // as it is now
	// Changed is false when the incident was already in the state the link asks for, or is
	// resolved (acknowledging reopens nothing): the link did nothing to it.
	Changed bool
}

// LinkIncidents lists the incidents a link covers: its one incident, or those of its bundle
// in the order the message named them.
func (e *Engine) LinkIncidents(ctx context.Context, lk Link) ([]incident.Incident, error) {
	ids := []int64{lk.Incident}
	if lk.Action == ActionAcknowledgeAll {
		var err error
		if ids, err = e.bundleIncidents(ctx, lk.Bundle, lk.User); err != nil {
			return nil, err
		}
	}
	out := make([]incident.Incident, 0, len(ids))
	for _, id := range ids {
		inc, err := e.incidents.Get(ctx, id)
		if errors.Is(err, incident.ErrNotFound) && len(ids) > 1 {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, nil
}

// Act performs a link's action on every incident it covers, on behalf of the user it was sent
// to, and says what happened to each: an incident already acknowledged or resolved is left as
// it is, and that is not an error (the second person to tap the link sees it is handled).
func (e *Engine) Act(ctx context.Context, token string) (Link, []Outcome, error) {
	lk, err := e.VerifyLink(ctx, token)
	if err != nil {
		return lk, nil, err
	}
	incs, err := e.LinkIncidents(ctx, lk)
	if err != nil {
		return lk, nil, err
	}
	to := incident.Acknowledged
	if lk.Action == ActionResolve {
		to = incident.Resolved
	}
	a := incident.Actor{Name: "user:" + lk.User, Source: "link"}
	out := make([]Outcome, 0, len(incs))
	// A bundle may name hundreds of incidents: a few hundred changes per transaction.
	for len(incs) > 0 {
		n := min(len(incs), 200)
		chunk := incs[:n]
		incs = incs[n:]
		var done []Outcome
		err := e.db.Tx(ctx, func(tx *store.Tx) error {
			done = done[:0]
			for _, inc := range chunk {
				now, changed, err := e.incidents.Transition(ctx, tx, inc.ID, to, e.incidents.Now(), a, nil)
				var es *incident.ErrState
				if errors.As(err, &es) {
					err = nil
				}
				if err != nil {
					return err
				}
				done = append(done, Outcome{Incident: now, Changed: changed})
			}
			return nil
		})
		if err != nil {
			return lk, out, err
		}
		out = append(out, done...)
	}
	return lk, out, nil
}

// UseLink performs the action of a link to one incident (see Act).
func (e *Engine) UseLink(ctx context.Context, token string) (Link, incident.Incident, error) {
	lk, out, err := e.Act(ctx, token)
	if err != nil {
		return lk, incident.Incident{}, err
	}
	if len(out) == 0 {
		return lk, incident.Incident{}, incident.ErrNotFound
	}
	return lk, out[0].Incident, nil
}
