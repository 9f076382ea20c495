package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/statuspage"
)

// initAccounts fills in the account and status page services a caller did not wire, so a
// Server built with only the spine's fields still signs people in.
func (s *Server) initAccounts() {
	if s.ui != nil && s.Clock != nil {
		s.ui.now = s.Clock.Now
	}
	if s.Users == nil {
		s.Users = auth.NewUsers(s.DB, s.Clock)
	}
	if s.Sessions == nil {
		s.Sessions = auth.NewSessions(s.DB, s.Clock)
	}
	if s.Audit == nil {
		s.Audit = auth.NewAudit(s.DB, s.Clock)
	}
	if s.Limiter == nil {
		s.Limiter = auth.NewLoginLimiter(s.Clock)
	}
	if s.subscribes == nil {
		s.subscribes = auth.NewLoginLimiter(s.Clock)
	}
	if s.live == nil {
		s.live = newLiveHub(s.Incidents)
	}
	if s.StatusPages == nil {
		sp, err := statuspage.New(context.Background(), statuspage.Options{DB: s.DB, Clock: s.Clock, Config: s.Config, Incidents: s.Incidents, Log: s.Log})
		if err != nil {
			panic("web: status pages: " + err.Error())
		}
		s.StatusPages = sp
	}
}

func (s *Server) accountRoutes() []Route {
	return append(append(s.oidcRoutes(), s.adminRoutes()...), []Route{
		{Method: "GET", Pattern: "/api/v1/users", Role: auth.Admin, Handle: s.listUsers, API: true},
		{Method: "POST", Pattern: "/api/v1/users", Role: auth.Admin, Handle: s.createUser, API: true},
		{Method: "DELETE", Pattern: "/api/v1/users/{username}", Role: auth.Admin, Handle: s.disableUser, API: true},
		{Method: "GET", Pattern: "/api/v1/tokens", Role: auth.Admin, Handle: s.listTokens, API: true},
		{Method: "POST", Pattern: "/api/v1/tokens", Role: auth.Admin, Handle: s.createToken, API: true},
		{Method: "DELETE", Pattern: "/api/v1/tokens/{id}", Role: auth.Admin, Handle: s.revokeToken, API: true},
		{Method: "GET", Pattern: "/api/v1/audit", Role: auth.Admin, Handle: s.listAudit, API: true},
		{Method: "GET", Pattern: "/admin/audit", Role: auth.Admin, Handle: s.auditPage},
	}...)
}

// remoteAddr is the client's address as the audit log and the login limiter see it.
func remoteAddr(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// audit records every change made through an authenticated route: who, what, when, from where,
// and with what outcome, and tells open pages. Reads and ingest (recorded on timelines) are not
// changes of this kind; ingest reaches open pages through the incident hooks.
func (s *Server) audit(rt Route, r *http.Request, status int) {
	if rt.Access != Token || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return
	}
	who := "anonymous"
	if p, ok := PrincipalFrom(r.Context()); ok {
		who = p.Actor()
	}
	e := auth.Entry{Actor: who, Action: rt.Method + " " + rt.Pattern, Target: r.URL.Path, Remote: remoteAddr(r), Detail: strconv.Itoa(status)}
	if err := s.Audit.Record(context.WithoutCancel(r.Context()), e); err != nil {
		s.Log.Error("audit log write failed", "action", e.Action, "err", err)
	}
	if status < 400 {
		// Whatever changed, open pages refresh: notes, public updates, anything else.
		s.live.publish()
	}
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	users, err := s.Users.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users})
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Username string   `json:"username"`
		Name     string   `json:"name"`
		Role     string   `json:"role"`
		Teams    []string `json:"teams"`
		Password string   `json:"password"`
	}
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	u, err := s.newUser(r, body.Username, body.Name, body.Role, body.Teams, body.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

// newUser creates an account for the API and the admin page alike; bad input is an *Error.
func (s *Server) newUser(r *http.Request, username, name, roleName string, teams []string, password string) (auth.User, error) {
	role, err := auth.ParseRole(roleName)
	if err != nil {
		return auth.User{}, errorf(http.StatusBadRequest, "role: %v", err)
	}
	if err := s.checkTeams(teams); err != nil {
		return auth.User{}, err
	}
	u, err := s.Users.Create(r.Context(), auth.NewUser{Username: username, Name: name, Role: role, Teams: teams, Password: password})
	var invalid *auth.InvalidError
	switch {
	case errors.Is(err, auth.ErrUserExists):
		return u, errorf(http.StatusConflict, "username %q: %v", username, err)
	case errors.As(err, &invalid):
		return u, errorf(http.StatusBadRequest, "%v", err)
	}
	return u, err
}

// checkTeams rejects team names the config does not declare (when it declares any).
func (s *Server) checkTeams(teams []string) error {
	cfg := s.Config.Get()
	if len(cfg.Teams) == 0 {
		return nil
	}
	known := map[string]bool{}
	for _, t := range cfg.Teams {
		known[t.ID] = true
	}
	for _, t := range teams {
		if !known[t] {
			return errorf(http.StatusBadRequest, "teams: unknown team %q", t)
		}
	}
	return nil
}

func (s *Server) disableUser(w http.ResponseWriter, r *http.Request) error {
	err := s.Users.Disable(r.Context(), r.PathValue("username"))
	if errors.Is(err, auth.ErrNoUser) {
		return errorf(http.StatusNotFound, "user %q: not found or already disabled", r.PathValue("username"))
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	toks, err := s.Tokens.List(r.Context())
	if err != nil {
		return err
	}
	if toks == nil {
		toks = []auth.Token{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": toks})
	return nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name  string   `json:"name"`
		Role  string   `json:"role"`
		TTL   string   `json:"ttl"`
		Teams []string `json:"teams"`
	}
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	secret, tok, err := s.newToken(r, body.Name, body.Role, body.TTL, body.Teams)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": tok, "secret": secret})
	return nil
}

// newToken creates an API token for the API and the admin page alike; bad input is an *Error.
// An empty ttl means DefaultTTL; "never" must be asked for.
func (s *Server) newToken(r *http.Request, name, roleName, ttlText string, teams []string) (string, auth.Token, error) {
	role, err := auth.ParseRole(roleName)
	if err != nil {
		return "", auth.Token{}, errorf(http.StatusBadRequest, "role: %v", err)
	}
	if strings.TrimSpace(name) == "" {
		return "", auth.Token{}, errorf(http.StatusBadRequest, "name: say who or what uses the token")
	}
	ttl := auth.DefaultTTL
	switch ttlText {
	case "":
	case "never":
		ttl = 0
	default:
		if ttl, err = config.ParseDuration(ttlText); err != nil || ttl <= 0 {
			return "", auth.Token{}, errorf(http.StatusBadRequest, "ttl %q: want a duration such as 12h or 30d, or \"never\"", ttlText)
		}
	}
	if err := s.checkTeams(teams); err != nil {
		return "", auth.Token{}, err
	}
	return s.Tokens.CreateScoped(r.Context(), name, role, ttl, teams)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errorf(http.StatusNotFound, "token %q not found: ids are whole numbers", r.PathValue("id"))
	}
	if err := s.Tokens.Revoke(r.Context(), id); err != nil {
		return errorf(http.StatusNotFound, "%v", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) auditEntries(r *http.Request) ([]auth.Entry, error) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	return s.Audit.List(r.Context(), limit, before)
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	entries, err := s.auditEntries(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
	return nil
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) error {
	entries, err := s.auditEntries(r)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "audit.html", "Audit log", map[string]any{"Entries": entries})
}

// loginPage and login sign a browser in with a username and password.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "login.html", "Sign in", s.loginData(map[string]string{"Next": safeNext(r.URL.Query().Get("next"))}))
}

// loginData is what the sign-in page shows, with the single sign-on button when configured.
func (s *Server) loginData(m map[string]string) map[string]string {
	if o := s.Config.Get().Auth.OIDC; o != nil {
		m["SSO"] = o.Name
	}
	return m
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	// The sign-in form has no CSRF token (there is no session yet); a browser names the page
	// that posted it, and another site's page must not sign a visitor in to an account of its
	// choosing (login CSRF).
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if u, err := url.Parse(o); err != nil || !strings.EqualFold(u.Host, r.Host) {
			return errorf(http.StatusForbidden, "forbidden: sign in from this site's own sign-in page")
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return errorf(http.StatusBadRequest, "bad form: %v", err)
	}
	username := strings.ToLower(strings.TrimSpace(r.PostForm.Get("username")))
	password := r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	remote := remoteAddr(r)
	fail := func(status int, msg string) error {
		return s.render(w, r, status, "login.html", "Sign in", s.loginData(map[string]string{"Next": next, "Username": username, "Error": msg}))
	}
	if ok, wait := s.Limiter.Allow(username, remote); !ok {
		s.Audit.Record(r.Context(), auth.Entry{Actor: "user:" + username, Action: "login.throttled", Target: "/login", Remote: remote})
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return fail(http.StatusTooManyRequests, "Too many failed sign-ins. Wait "+wait.Round(time.Minute).String()+" and try again.")
	}
	user, err := s.Users.Authenticate(r.Context(), username, password)
	if errors.Is(err, auth.ErrBadLogin) {
		s.Limiter.Fail(username, remote)
		s.Audit.Record(r.Context(), auth.Entry{Actor: "user:" + username, Action: "login.failed", Target: "/login", Remote: remote})
		return fail(http.StatusUnauthorized, "Wrong username or password.")
	}
	if err != nil {
		return err
	}
	s.Limiter.Succeed(username)
	// Whatever session the browser came with ends here, and a new id is issued: an id planted
	// before sign-in (session fixation) is worth nothing after it.
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.Sessions.End(r.Context(), c.Value)
	}
	id, err := s.Sessions.Start(r.Context(), user.ID, remote)
	if err != nil {
		return err
	}
	s.Audit.Record(r.Context(), auth.Entry{Actor: "user:" + user.Username, Action: "login", Target: "/login", Remote: remote})
	s.setSessionCookie(w, r, id)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// setSessionCookie hands the browser its session id. SameSite=Lax, not Strict: a responder
// following a link from a chat message or an email must land signed in; changes are guarded by
// the CSRF token, not by SameSite.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil || strings.HasPrefix(s.Config.Get().Server.BaseURL, "https:"), SameSite: http.SameSiteLaxMode,
		MaxAge: int(auth.MaxSessionAge.Seconds())})
}

// logout ends the session. It needs the CSRF token, so another site cannot sign people out.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if !s.validCSRF(r) {
			return &Error{Status: http.StatusForbidden, Msg: "forbidden: missing or wrong CSRF token; reload the page and try again"}
		}
		if p, err := s.Sessions.Verify(r.Context(), c.Value); err == nil {
			s.Audit.Record(r.Context(), auth.Entry{Actor: p.Actor(), Action: "logout", Target: "/logout", Remote: remoteAddr(r)})
		}
		if err := s.Sessions.End(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, MaxAge: -1, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
