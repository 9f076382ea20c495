// Package ui is nines' pages for people signed in: incidents, on-call, monitors, SLOs, status
// pages, maintenance, accounts, sign-in. One file a page, its template beside it; pages call
// package api for what they show that the API serves too.
package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/web/api"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// Handler answers the pages' routes.
type Handler struct {
	httpx.Services
	guard   *httpx.Guard
	pages   *Pages
	live    *Live
	api     *api.Handler
	limiter *auth.LoginLimiter // sign-in attempts
	oidc    oidcClient
}

// New returns the pages' handler on svc: pages renders them, live tells them of changes, and
// a is the API they share handlers with.
func New(svc httpx.Services, guard *httpx.Guard, pages *Pages, live *Live, a *api.Handler) *Handler {
	h := &Handler{Services: svc, guard: guard, pages: pages, live: live, api: a, limiter: auth.NewLoginLimiter(svc.Clock)}
	pages.SetZone(h.viewerZone)
	return h
}

// viewerZone is the zone the request's viewer reads times in: the one they chose on their
// profile, else their config user's time_zone; signed out on a page sent to a person (a
// paging link), that person's; else UTC.
func (s *Handler) viewerZone(r *http.Request) *time.Location {
	if loc, ok := s.chosenZone(r); ok {
		return loc
	}
	if id, ok := r.Context().Value(sentToKey{}).(string); ok {
		if loc, ok := s.personZone(r.Context(), id, s.Config.Get().User(id)); ok {
			return loc
		}
	}
	return time.UTC
}

type sentToKey struct{}

// SentTo marks r as a page sent to person id (a paging link's): opened by nobody signed in,
// it tells times in their zone, as their own pages would.
func SentTo(r *http.Request, id string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), sentToKey{}, id))
}

// chosenZone is the zone the request's viewer chose on their profile or has in the config,
// and false when they have none (a token, a person without a time_zone).
func (s *Handler) chosenZone(r *http.Request) (*time.Location, bool) {
	if _, ok := httpx.PrincipalFrom(r.Context()); !ok {
		return nil, false
	}
	id, u, err := s.api.Me(r)
	if err != nil {
		return nil, false
	}
	return s.personZone(r.Context(), id, u)
}

// personZone is the zone person id chose on their profile, else the one the config gives
// them (u, nil when it declares nobody of that id).
func (s *Handler) personZone(ctx context.Context, id string, u *config.User) (*time.Location, bool) {
	if a, err := s.Users.Get(ctx, id); err == nil && a.TimeZone != "" {
		if loc, err := time.LoadLocation(a.TimeZone); err == nil {
			return loc, true
		}
	}
	if u != nil && u.TimeZone != "" {
		return u.Location(), true
	}
	return nil, false
}

// safeNext keeps redirects after login on this site.
//
// Only a path of this site is accepted: it starts with one "/", and has no backslash (browsers
// read "/\evil.example" as "//evil.example") and no control character (browsers drop tabs and
// newlines, so "/\t/evil.example" would become "//evil.example"). Anything else goes to "/".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || len(next) > 2048 ||
		strings.ContainsFunc(next, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f || unicode.IsControl(r) }) {
		return "/"
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}
