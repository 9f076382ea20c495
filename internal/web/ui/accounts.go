package ui

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// The admin's pages for accounts and tokens: the same operations as /api/v1/users and
// /api/v1/tokens, as forms.

// AccountsPage lists users and tokens; extra carries a message or a new token's secret.
func (s *Handler) AccountsPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderAccounts(w, r, http.StatusOK, nil)
}

func (s *Handler) renderAccounts(w http.ResponseWriter, r *http.Request, status int, extra map[string]any) error {
	users, err := s.api.VisibleAccounts(r)
	if err != nil {
		return err
	}
	toks, err := s.api.VisibleTokens(r)
	if err != nil {
		return err
	}
	// The forms offer only what this admin may give: roles up to its own, its own teams.
	p, rc := httpx.Principal(r), s.guard.Reach(r)
	var roles, tokenRoles []auth.Role
	for _, role := range auth.TokenRoles() {
		if p.MayGrant(role) {
			tokenRoles = append(tokenRoles, role)
			if role != auth.Agent {
				roles = append(roles, role)
			}
		}
	}
	var teams []config.Team
	for _, t := range s.Config.Get().Teams {
		if rc.Team(t.ID) {
			teams = append(teams, t)
		}
	}
	data := map[string]any{"Users": users, "Tokens": toks, "Roles": roles, "TokenRoles": tokenRoles, "Teams": teams, "Scoped": p.Scoped(), "Me": p}
	for k, v := range extra {
		data[k] = v
	}
	return s.pages.Render(w, r, status, "accounts.html", "Accounts", data)
}

func (s *Handler) adminForm(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, 16<<10); err != nil {
		return err
	}
	return nil
}

// CreateUser answers POST /admin/users.
func (s *Handler) CreateUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.adminForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	if _, err := s.api.NewUser(r, strings.ToLower(strings.TrimSpace(f.Get("username"))), f.Get("name"), f.Get("role"), f["teams"], f.Get("password")); err != nil {
		return s.adminFailure(w, r, err)
	}
	http.Redirect(w, r, "/admin/accounts", http.StatusSeeOther)
	return nil
}

// adminFailure is a form of the accounts page refused: the page is shown again with what was
// typed and what was wrong (web shows every refused form so).
func (s *Handler) adminFailure(w http.ResponseWriter, r *http.Request, err error) error {
	return err
}

// DisableUser answers POST /admin/users/{username}/disable.
func (s *Handler) DisableUser(w http.ResponseWriter, r *http.Request) error {
	return s.changeAccount(w, r, auth.Change{Disable: true})
}

// EnableUser answers POST /admin/users/{username}/enable.
func (s *Handler) EnableUser(w http.ResponseWriter, r *http.Request) error {
	return s.changeAccount(w, r, auth.Change{Enable: true})
}

// DeleteUser answers POST /admin/users/{username}/delete.
func (s *Handler) DeleteUser(w http.ResponseWriter, r *http.Request) error {
	return s.changeAccount(w, r, auth.Change{Delete: true})
}

// UpdateUser answers POST /admin/users/{username}/update: role and teams.
func (s *Handler) UpdateUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.adminForm(w, r); err != nil {
		return err
	}
	role, err := auth.PersonRole(r.PostForm.Get("role"))
	if err != nil {
		return s.adminFailure(w, r, err)
	}
	teams := r.PostForm["teams"]
	if teams == nil {
		teams = []string{}
	}
	return s.changeAccount(w, r, auth.Change{Role: &role, Teams: &teams})
}

func (s *Handler) changeAccount(w http.ResponseWriter, r *http.Request, ch auth.Change) error {
	if err := s.adminForm(w, r); err != nil {
		return err
	}
	name := r.PathValue("username")
	if _, err := s.api.ChangeAccount(r, name, ch); err != nil {
		return s.adminFailure(w, r, err)
	}
	// Post, redirect, get: a reload does not send the change again.
	http.Redirect(w, r, "/admin/accounts", http.StatusSeeOther)
	return nil
}

// InviteUser answers POST /admin/invites.
func (s *Handler) InviteUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.adminForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	inv, err := s.api.Invite(r, f.Get("username"), f.Get("email"), f.Get("name"), f.Get("role"), f["teams"])
	if err != nil {
		return s.adminFailure(w, r, err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.renderAccounts(w, r, http.StatusCreated, map[string]any{"Invitation": inv})
}

// ResetPassword answers POST /admin/users/{username}/reset-password.
func (s *Handler) ResetPassword(w http.ResponseWriter, r *http.Request) error {
	if err := s.adminForm(w, r); err != nil {
		return err
	}
	inv, err := s.api.ResetPassword(r, r.PathValue("username"), "")
	if err != nil {
		return s.adminFailure(w, r, err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.renderAccounts(w, r, http.StatusOK, map[string]any{"Invitation": inv})
}

// CreateToken answers POST /admin/tokens.
func (s *Handler) CreateToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.adminForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	secret, tok, err := s.api.NewToken(r, auth.TokenRequest{Name: f.Get("name"), Role: f.Get("role"), TTL: f.Get("ttl"), Teams: f["teams"], Location: f.Get("location")})
	if err != nil {
		return s.adminFailure(w, r, err)
	}
	// The secret is shown on this one response and never again; no redirect, no caching.
	w.Header().Set("Cache-Control", "no-store")
	return s.renderAccounts(w, r, http.StatusCreated, map[string]any{"NewToken": tok, "Secret": secret})
}

// RevokeToken answers POST /admin/tokens/{id}/revoke.
func (s *Handler) RevokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return httpx.Errorf(http.StatusNotFound, "token %q not found", r.PathValue("id"))
	}
	if err := s.Tokens.Revoke(r.Context(), id); err != nil {
		return httpx.Errorf(http.StatusNotFound, "%v", err)
	}
	http.Redirect(w, r, "/admin/accounts", http.StatusSeeOther)
	return nil
}
