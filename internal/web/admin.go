package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/nines-dev/nines/internal/auth"
)

// The admin's pages for accounts and tokens: the same operations as /api/v1/users and
// /api/v1/tokens, as forms.

func (s *Server) adminRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/admin/accounts", Role: auth.Admin, Handle: s.accountsPage},
		{Method: "POST", Pattern: "/admin/users", Role: auth.Admin, Handle: s.uiCreateUser},
		{Method: "POST", Pattern: "/admin/users/{username}/disable", Role: auth.Admin, Handle: s.uiDisableUser},
		{Method: "POST", Pattern: "/admin/tokens", Role: auth.Admin, Handle: s.uiCreateToken},
		{Method: "POST", Pattern: "/admin/tokens/{id}/revoke", Role: auth.Admin, Handle: s.uiRevokeToken},
	}
}

// accountsPage lists users and tokens; extra carries a message or a new token's secret.
func (s *Server) accountsPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderAccounts(w, r, http.StatusOK, nil)
}

func (s *Server) renderAccounts(w http.ResponseWriter, r *http.Request, status int, extra map[string]any) error {
	users, err := s.Users.List(r.Context())
	if err != nil {
		return err
	}
	toks, err := s.Tokens.List(r.Context())
	if err != nil {
		return err
	}
	data := map[string]any{"Users": users, "Tokens": toks, "Roles": auth.Roles(), "Teams": s.Config.Get().Teams}
	for k, v := range extra {
		data[k] = v
	}
	return s.render(w, r, status, "accounts.html", "Accounts", data)
}

func (s *Server) adminForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return errorf(http.StatusBadRequest, "bad form: %v", err)
	}
	return nil
}

func (s *Server) uiCreateUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.adminForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	if _, err := s.newUser(r, strings.ToLower(strings.TrimSpace(f.Get("username"))), f.Get("name"), f.Get("role"), f["teams"], f.Get("password")); err != nil {
		return s.adminFailure(w, r, err)
	}
	http.Redirect(w, r, "/admin/accounts", http.StatusSeeOther)
	return nil
}

// adminFailure shows the accounts page again with what was wrong with the form.
func (s *Server) adminFailure(w http.ResponseWriter, r *http.Request, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	return s.renderAccounts(w, r, e.Status, map[string]any{"Error": e.Msg})
}

func (s *Server) uiDisableUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.Users.Disable(r.Context(), r.PathValue("username")); errors.Is(err, auth.ErrNoUser) {
		return errorf(http.StatusNotFound, "user %q: not found or already disabled", r.PathValue("username"))
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/accounts", http.StatusSeeOther)
	return nil
}

func (s *Server) uiCreateToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.adminForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	secret, tok, err := s.newToken(r, f.Get("name"), f.Get("role"), f.Get("ttl"), f["teams"])
	if err != nil {
		return s.adminFailure(w, r, err)
	}
	// The secret is shown on this one response and never again; no redirect, no caching.
	w.Header().Set("Cache-Control", "no-store")
	return s.renderAccounts(w, r, http.StatusCreated, map[string]any{"NewToken": tok, "Secret": secret})
}

func (s *Server) uiRevokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errorf(http.StatusNotFound, "token %q not found", r.PathValue("id"))
	}
	if err := s.Tokens.Revoke(r.Context(), id); err != nil {
		return errorf(http.StatusNotFound, "%v", err)
	}
	http.Redirect(w, r, "/admin/accounts", http.StatusSeeOther)
	return nil
}
