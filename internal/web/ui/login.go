package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// LoginPage and login sign a browser in with a username and password.
func (s *Handler) LoginPage(w http.ResponseWriter, r *http.Request) error {
	return s.pages.Render(w, r, http.StatusOK, "login.html", "Sign in", s.loginData(map[string]string{"Next": safeNext(r.URL.Query().Get("next"))}))
}

// loginData is what the sign-in page shows, with the single sign-on button when configured.
func (s *Handler) loginData(m map[string]string) map[string]string {
	if o := s.Config.Get().Auth.OIDC; o != nil {
		m["SSO"] = o.Name
	}
	return m
}

// Login answers POST /login.
func (s *Handler) Login(w http.ResponseWriter, r *http.Request) error {
	// The sign-in form has no CSRF token (there is no session yet); a browser names the page
	// that posted it, and another site's page must not sign a visitor in to an account of its
	// choosing (login CSRF).
	if !s.postedFromHere(r) {
		return httpx.Errorf(http.StatusForbidden, "forbidden: sign in from this site's own sign-in page")
	}
	if err := httpx.ReadForm(w, r, 16<<10); err != nil {
		return err
	}
	username := strings.ToLower(strings.TrimSpace(r.PostForm.Get("username")))
	password := r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	remote := httpx.RemoteAddr(r)
	fail := func(status int, msg string) error {
		return s.pages.Render(w, r, status, "login.html", "Sign in", s.loginData(map[string]string{"Next": next, "Username": username, "Error": msg}))
	}
	// The attempt counts before the password is checked, so attempts arriving together get no
	// more checks than the limit allows.
	attempt, wait := s.limiter.Begin(username, httpx.LimitKey(remote), s.device(r, username))
	if attempt == nil {
		s.Audit.Record(r.Context(), auth.Entry{Actor: "user:" + username, Action: "login.throttled", Target: "/login", Remote: remote})
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return fail(http.StatusTooManyRequests, "Too many failed sign-ins. Wait "+wait.Round(time.Minute).String()+" and try again.")
	}
	user, err := s.Users.Authenticate(r.Context(), username, password)
	switch {
	case errors.Is(err, auth.ErrBusy):
		attempt.Cancel()
		w.Header().Set("Retry-After", "1")
		return fail(http.StatusServiceUnavailable, "Too many sign-ins at once. Try again in a moment.")
	case errors.Is(err, auth.ErrBadLogin):
		attempt.Failed()
		s.Audit.Record(r.Context(), auth.Entry{Actor: "user:" + username, Action: "login.failed", Target: "/login", Remote: remote})
		return fail(http.StatusUnauthorized, "Wrong username or password.")
	case err != nil:
		attempt.Cancel()
		return err
	}
	attempt.Succeeded()
	// Whatever session the browser came with ends here, and a new id is issued: an id planted
	// before sign-in (session fixation) is worth nothing after it.
	if c, err := r.Cookie(httpx.SessionCookie); err == nil {
		s.Sessions.End(r.Context(), c.Value)
	}
	id, err := s.Sessions.Start(r.Context(), user.ID, remote)
	if err != nil {
		return err
	}
	s.Audit.Record(r.Context(), auth.Entry{Actor: "user:" + user.Username, Action: "login", Target: "/login", Remote: remote})
	s.setSessionCookie(w, r, id)
	s.setDeviceCookie(w, r, user.Username)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// postedFromHere reports whether a browser says the request came from a page of this site. A
// browser names the posting page's origin in Origin (and Sec-Fetch-Site); "null" is what a
// sandboxed frame, a data: URL or a redirect across sites sends, so it is refused too. A request
// without either (a script, an old browser) is not a browser being tricked.
func (s *Handler) postedFromHere(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	// Behind a proxy that rewrites Host, the site is where people reach it: server.base_url.
	base, err := url.Parse(s.Config.Get().Server.BaseURL)
	return err == nil && base.Host != "" && strings.EqualFold(u.Host, base.Host) && u.Scheme == base.Scheme
}

// setSessionCookie hands the browser its session id. SameSite=Lax, not Strict: a responder
// following a link from a chat message or an email must land signed in; changes are guarded by
// the CSRF token, not by SameSite.
func (s *Handler) setSessionCookie(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{Name: httpx.SessionCookie, Value: id, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil || strings.HasPrefix(s.Config.Get().Server.BaseURL, "https:"), SameSite: http.SameSiteLaxMode,
		MaxAge: int(auth.MaxSessionAge.Seconds())})
}

// Logout ends the session. Another site must not sign people out: a browser that says another
// site posted the form is refused, as at sign-in (its cross-site post carries no session
// cookie, so there is no token to check, yet the answer's expired cookie would clear the
// browser's own), and a post with the cookie needs the CSRF token.
func (s *Handler) Logout(w http.ResponseWriter, r *http.Request) error {
	if !s.postedFromHere(r) {
		return httpx.Errorf(http.StatusForbidden, "forbidden: sign out from this site's own pages")
	}
	if c, err := r.Cookie(httpx.SessionCookie); err == nil {
		if err := s.guard.CheckCSRF(w, r); err != nil {
			return err
		}
		if p, err := s.Sessions.Verify(r.Context(), c.Value); err == nil {
			s.Audit.Record(r.Context(), auth.Entry{Actor: p.Actor(), Action: "logout", Target: "/logout", Remote: httpx.RemoteAddr(r)})
		}
		if err := s.Sessions.End(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: httpx.SessionCookie, Value: "", Path: "/", HttpOnly: true, MaxAge: -1, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
