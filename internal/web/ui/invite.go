package ui

import (
	"net/http"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// The page an invitation (or a password reset) links to: the person sets their password. The
// link's single-use secret is the credential; GET changes nothing, so a mail scanner following
// the link uses nothing up.

// InvitePage answers GET /invite/{token}.
func (s *Handler) InvitePage(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	u, err := s.Users.Invited(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	return s.pages.Render(w, r, http.StatusOK, "invite.html", "Set your password", map[string]any{"User": u})
}

// AcceptInvite answers POST /invite/{token}: the password is set, the link used up, and the
// person signs in with it.
func (s *Handler) AcceptInvite(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	if err := httpx.ReadForm(w, r, 16<<10); err != nil {
		return err
	}
	token := r.PathValue("token")
	u, err := s.Users.Invited(r.Context(), token)
	if err != nil {
		return err
	}
	password := r.PostForm.Get("password")
	fail := func(status int, msg string) error {
		return s.pages.Render(w, r, status, "invite.html", "Set your password", map[string]any{"User": u, "Error": msg})
	}
	if password != r.PostForm.Get("confirm") {
		return fail(http.StatusBadRequest, "The two passwords differ; type the same one twice.")
	}
	if _, err := s.Users.AcceptInvite(r.Context(), token, password); err != nil {
		if e, known := httpx.ErrorOf(err); known && e.Status == http.StatusBadRequest {
			return fail(e.Status, e.Msg)
		}
		return err
	}
	s.Audit.Record(r.Context(), auth.Entry{Actor: "user:" + u.Username, Action: "invite.accepted", Target: "/invite", Remote: httpx.RemoteAddr(r)})
	return s.pages.Render(w, r, http.StatusOK, "login.html", "Sign in", s.loginData(map[string]string{"Next": "/profile", "Username": u.Username,
		"Done": "Your password is set. Sign in with it."}))
}
