package httpx

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/incident"
)

type principalKey struct{}

// PrincipalFrom returns the principal a request acts as.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

// identifiedKey holds whom a request's credential names, whether or not it was let through.
type identifiedKey struct{}

// IdentifiedFrom returns whom the request's credential names, set as soon as the credential is
// recognised, before the role, scope and CSRF checks: what the audit log names a refused change
// by. Only PrincipalFrom says a request was let through.
func IdentifiedFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(identifiedKey{}).(auth.Principal)
	return p, ok
}

// Principal is the principal of a request that authorize let through.
func Principal(r *http.Request) auth.Principal {
	p, _ := PrincipalFrom(r.Context())
	return p
}

// Authorize finds the principal of r and checks the route's role and team scope. On success
// the principal is stored in r's context (r is updated in place).
func (g *Guard) Authorize(rt Route, w http.ResponseWriter, r *http.Request) error {
	if rt.Access != Token {
		return nil
	}
	p, viaCookie, err := g.principal(r)
	if err != nil {
		return err
	}
	*r = *r.WithContext(context.WithValue(r.Context(), identifiedKey{}, p))
	// A browser sends its cookie with any request, including one a hostile page makes it send;
	// a change made with the cookie must carry the CSRF token that only our pages know.
	if viaCookie && r.Method != http.MethodGet && r.Method != http.MethodHead {
		if err := g.CheckCSRF(w, r); err != nil {
			return err
		}
	}
	if !p.Can(rt.Role) {
		return &Error{Status: http.StatusForbidden, Msg: fmt.Sprintf("forbidden: this needs the %s role; %s has %s", rt.Role, p.Actor(), p.Role)}
	}
	if err := g.checkScope(rt, w, r, p); err != nil {
		return err
	}
	*r = *r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
	return nil
}

// Identify finds the person signed in on r's session cookie, if any, for a route open to
// anyone (a paging link's page): the page then shows times in their zone. It grants nothing:
// the route's own credential still decides what r may do.
func (g *Guard) Identify(r *http.Request) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || g.Sessions == nil {
		return
	}
	if p, err := g.Sessions.Verify(r.Context(), c.Value); err == nil {
		*r = *r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
	}
}

// principal finds who r acts as, and whether the credential came from the session cookie.
func (g *Guard) principal(r *http.Request) (auth.Principal, bool, error) {
	secret, viaCookie := Bearer(r), false
	if secret == "" {
		if c, err := r.Cookie(SessionCookie); err == nil {
			secret, viaCookie = c.Value, true
		}
	}
	if secret == "" {
		return auth.Principal{}, false, &Error{Status: http.StatusUnauthorized, Msg: "unauthorized: send an API token as 'Authorization: Bearer <token>'"}
	}
	if viaCookie {
		p, err := g.Sessions.Verify(r.Context(), secret)
		if errors.Is(err, auth.ErrNoSession) {
			return p, viaCookie, &Error{Status: http.StatusUnauthorized, Msg: "unauthorized: " + err.Error()}
		}
		return p, viaCookie, err
	}
	p, err := g.Tokens.Verify(r.Context(), secret)
	if errors.Is(err, auth.ErrInvalidToken) {
		return p, viaCookie, &Error{Status: http.StatusUnauthorized, Msg: "unauthorized: " + err.Error()}
	}
	return p, viaCookie, err
}

// CSRFToken is the token forms of this session must send back: an HMAC of the session
// credential, so it needs no storage and changes when the session does.
func (g *Guard) CSRFToken(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return ""
	}
	m := hmac.New(sha256.New, g.csrfKey)
	m.Write([]byte(c.Value))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// CheckCSRF refuses a request made with the session cookie that does not carry the session's
// CSRF token, in the X-CSRF-Token header or the form field csrf (the form read as its handler
// will read it, ReadForm).
func (g *Guard) CheckCSRF(w http.ResponseWriter, r *http.Request) error {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		if err := ReadForm(w, r, MaxAnyBody); err != nil {
			return err
		}
		got = r.PostForm.Get("csrf")
	}
	if want := g.CSRFToken(r); want == "" || !hmac.Equal([]byte(got), []byte(want)) {
		return &Error{Status: http.StatusForbidden, Msg: "forbidden: missing or wrong CSRF token; reload the page and try again"}
	}
	return nil
}

// Bearer is the bearer token r sends, "" for none.
func Bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// Actor is the timeline actor of an authorized request: the person behind it, when a
// personal token names one.
func Actor(r *http.Request, source string) incident.Actor {
	p, _ := PrincipalFrom(r.Context())
	return incident.Actor{Name: p.Person(), Source: source}
}

// SourceOf names the client a request came from: the CLI says so in a header.
func SourceOf(r *http.Request) string {
	if c := r.Header.Get("X-Nines-Client"); c == "cli" {
		return "cli"
	}
	return "api"
}

// SessionCookie carries the browser's credential.
const SessionCookie = "nines_session"
