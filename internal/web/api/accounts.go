package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/configdb"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// ListUsers answers GET /api/v1/users.
func (s *Handler) ListUsers(w http.ResponseWriter, r *http.Request) error {
	users, err := s.VisibleAccounts(r)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"users": users})
	return nil
}

// CreateUser answers POST /api/v1/users.
func (s *Handler) CreateUser(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Username string   `json:"username"`
		Name     string   `json:"name"`
		Role     string   `json:"role"`
		Teams    []string `json:"teams"`
		Password string   `json:"password"`
	}
	if err := httpx.ReadJSON(w, r, &body); err != nil {
		return err
	}
	u, err := s.NewUser(r, body.Username, body.Name, body.Role, body.Teams, body.Password)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, u)
	return nil
}

// VisibleAccounts are the web accounts the request's principal may see: all of them for an unscoped
// admin, those scoped to some of its own teams for a scoped one.
func (s *Handler) VisibleAccounts(r *http.Request) ([]auth.User, error) {
	users, err := s.Users.List(r.Context())
	if err != nil {
		return nil, err
	}
	p, _ := httpx.PrincipalFrom(r.Context())
	out := users[:0]
	for _, u := range users {
		if p.Covers(u.Teams) {
			out = append(out, u)
		}
	}
	return out, nil
}

// VisibleTokens are the live API tokens the request's principal may see, as accounts.
func (s *Handler) VisibleTokens(r *http.Request) ([]auth.Token, error) {
	toks, err := s.Tokens.List(r.Context())
	if err != nil {
		return nil, err
	}
	p, _ := httpx.PrincipalFrom(r.Context())
	out := []auth.Token{}
	for _, t := range toks {
		if p.Covers(t.Teams) {
			out = append(out, t)
		}
	}
	return out, nil
}

// grant checks that the request's principal may make an account or token of role for teams
// (read by auth.CheckTeams), and returns the teams it gets: never a role above the
// principal's, nor a reach beyond its teams. What a scoped principal makes without naming
// teams gets the principal's teams.
func (s *Handler) grant(r *http.Request, role auth.Role, teams []string) ([]string, error) {
	p := httpx.Principal(r)
	if !p.MayGrant(role) {
		return nil, httpx.Errorf(http.StatusForbidden, "forbidden: %s has the %s role and cannot give the %s role", p.Actor(), p.Role, role)
	}
	if len(teams) == 0 && p.Scoped() {
		teams = p.Teams
	}
	if !p.Covers(teams) {
		return nil, httpx.Errorf(http.StatusForbidden, "forbidden: %s acts for %s only and cannot give a wider reach", p.Actor(), strings.Join(p.Teams, ", "))
	}
	return teams, nil
}

// NewUser creates an account for the API and the admin page alike.
func (s *Handler) NewUser(r *http.Request, username, name, roleName string, teams []string, password string) (auth.User, error) {
	role, err := auth.PersonRole(roleName)
	if err != nil {
		return auth.User{}, err
	}
	if teams, err = auth.CheckTeams(s.Config.Get(), teams); err != nil {
		return auth.User{}, err
	}
	if teams, err = s.grant(r, role, teams); err != nil {
		return auth.User{}, err
	}
	u, err := s.Users.Create(r.Context(), auth.NewUser{Username: username, Name: name, Role: role, Teams: teams, Password: password})
	if err != nil {
		return u, err
	}
	if err := s.makePerson(r, u); err != nil {
		// The account without its person would be one nobody can put on call: undone.
		if _, derr := s.Users.Apply(r.Context(), httpx.Principal(r), username, auth.Change{Delete: true}); derr != nil {
			s.Log.Error("undoing an account whose person could not be made failed", "user", username, "err", derr)
		}
		return auth.User{}, err
	}
	return u, nil
}

// makePerson makes the person (an object of users: in the config, held in the database) of an
// account made in nines, so they can be named in schedules, teams and escalation policies at
// once; their contact methods are those they add and verify on their profile. Someone the
// config already knows keeps their declaration, and a username that is no config id (one with
// '@') gets none.
func (s *Handler) makePerson(r *http.Request, u auth.User) error {
	if s.ConfigDB == nil || !config.ValidID(u.Username) || s.Config.Get().User(u.Username) != nil {
		return nil
	}
	doc, err := yaml.Marshal(map[string]string{"id": u.Username, "name": u.Name})
	if err != nil {
		return err
	}
	_, _, err = s.ConfigDB.Create(r.Context(), whoOf(r), "users", doc)
	return err
}

// personHeld is whether the person of username is held in the database (made with their
// account or through the API), not declared in a file.
func (s *Handler) personHeld(r *http.Request, username string) (bool, error) {
	if s.ConfigDB == nil || !config.ValidID(username) {
		return false, nil
	}
	_, err := s.ConfigDB.Get(r.Context(), "users", username)
	if errors.Is(err, configdb.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ListTokens answers GET /api/v1/tokens.
func (s *Handler) ListTokens(w http.ResponseWriter, r *http.Request) error {
	toks, err := s.VisibleTokens(r)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"tokens": toks})
	return nil
}

// CreateToken answers POST /api/v1/tokens.
func (s *Handler) CreateToken(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name     string   `json:"name"`
		Role     string   `json:"role"`
		TTL      string   `json:"ttl"`
		Teams    []string `json:"teams"`
		Location string   `json:"location"`
		User     string   `json:"user"`
	}
	if err := httpx.ReadJSON(w, r, &body); err != nil {
		return err
	}
	secret, tok, err := s.NewToken(r, auth.TokenRequest{Name: body.Name, Role: body.Role, TTL: body.TTL, Teams: body.Teams, Location: body.Location, User: body.User})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"token": tok, "secret": secret})
	return nil
}

// NewToken creates an API token for the API and the admin page alike: the request is read by
// auth's rules (as `nines token create` reads it), then what it grants is checked.
func (s *Handler) NewToken(r *http.Request, req auth.TokenRequest) (string, auth.Token, error) {
	spec, err := req.Check(s.Config.Get())
	if err != nil {
		return "", auth.Token{}, err
	}
	if spec.Teams, err = s.grant(r, spec.Role, spec.Teams); err != nil {
		return "", auth.Token{}, err
	}
	return s.Tokens.Make(r.Context(), spec)
}

// RevokeToken answers DELETE /api/v1/tokens/{id}.
func (s *Handler) RevokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return httpx.Errorf(http.StatusNotFound, "token %q not found: ids are whole numbers", r.PathValue("id"))
	}
	if err := s.Tokens.Revoke(r.Context(), id); err != nil {
		return httpx.Errorf(http.StatusNotFound, "%v", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// AuditEntries are the audit log entries the query asks for (limit=, before=).
func (s *Handler) AuditEntries(r *http.Request) ([]auth.Entry, error) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	return s.Audit.List(r.Context(), limit, before)
}

// ListAudit answers GET /api/v1/audit.
func (s *Handler) ListAudit(w http.ResponseWriter, r *http.Request) error {
	entries, err := s.AuditEntries(r)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"entries": entries})
	return nil
}
