package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// What admins do to people's accounts: invite, enable, disable, change role and teams, reset a
// password, delete. The same for the API and the accounts page.

// Invitation is what inviting someone, or resetting their password, answers.
type Invitation struct {
	User      auth.User `json:"user"`
	ExpiresAt time.Time `json:"expires_at"`
	// MailedTo is the address the link was mailed to; empty when it was not mailed (no
	// address, or no SMTP server set up), and then URL carries the link to hand over.
	MailedTo string `json:"mailed_to,omitempty"`
	URL      string `json:"invite_url,omitempty"`
	// MailError says why mailing failed, when it did.
	MailError string `json:"mail_error,omitempty"`
}

// personEmail is the address a person of the config is mailed at: their first email contact
// method.
func personEmail(u *config.User) string {
	if u == nil {
		return ""
	}
	for _, m := range u.ContactMethods {
		if m.Type == config.ContactEmail {
			return m.Address
		}
	}
	return ""
}

// Invite makes an account (a person of the config takes their name from it) without a
// password, and mails its owner a single-use link to set one.
func (s *Handler) Invite(r *http.Request, username, email, name, role string, teams []string) (Invitation, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	email = strings.TrimSpace(email)
	person := s.Config.Get().User(username)
	if name == "" && person != nil {
		name = person.Name
	}
	if email == "" {
		email = personEmail(person)
	}
	if email == "" {
		return Invitation{}, invalid.Field("email", "required: %s has no email address in the config", username)
	}
	if err := checkEmail(email); err != nil {
		return Invitation{}, err
	}
	if role == "" {
		role = "responder"
	}
	if _, err := s.NewUser(r, username, name, role, teams, ""); err != nil {
		return Invitation{}, err
	}
	return s.sendInvite(r, username, email)
}

func checkEmail(email string) error {
	if i := strings.IndexByte(email, '@'); i < 1 || i == len(email)-1 || strings.ContainsAny(email, " <>\r\n,") {
		return invalid.Field("email", "%q is not an email address", email)
	}
	return nil
}

// sendInvite issues a new link for username and mails it to email.
func (s *Handler) sendInvite(r *http.Request, username, email string) (Invitation, error) {
	secret, expires, err := s.Users.Invite(r.Context(), username)
	if err != nil {
		return Invitation{}, err
	}
	u, err := s.Users.Get(r.Context(), username)
	if err != nil {
		return Invitation{}, err
	}
	link := s.baseURL(r) + "/invite/" + secret
	out := Invitation{User: u, ExpiresAt: expires}
	if email == "" {
		out.URL, out.MailError = link, "no address to mail the link to: give \"email\", or add an email to the person"
		return out, nil
	}
	by := httpx.Principal(r).Name
	msg := notify.Message{Key: "invite-" + secret[:12], Event: "account.invite",
		Headline: "Your nines account",
		Body: fmt.Sprintf("%s invited you to nines as %s.\n\nSet your password here (the link works once, until %s):\n%s\n\nIf you did not expect this, ignore this message.",
			by, username, expires.UTC().Format("2006-01-02 15:04 MST"), link)}
	if err := s.Escalation.SendTo(r.Context(), config.ContactMethod{Type: config.ContactEmail, Address: email}, msg); err != nil {
		s.Log.Warn("mailing an invitation failed", "user", username, "err", err)
		out.URL, out.MailError = link, err.Error()
		return out, nil
	}
	out.MailedTo = email
	return out, nil
}

// ResetPassword issues a new invitation link for an existing account, mailed to the email of
// the person (or given), ending what earlier links it had.
func (s *Handler) ResetPassword(r *http.Request, username, email string) (Invitation, error) {
	if email == "" {
		email = personEmail(s.Config.Get().User(username))
	}
	if email != "" {
		if err := checkEmail(email); err != nil {
			return Invitation{}, err
		}
	}
	return s.sendInvite(r, username, email)
}

// ChangeAccount applies an admin's change to an account, refusing a role or teams beyond the
// admin's own.
func (s *Handler) ChangeAccount(r *http.Request, username string, ch auth.Change) (auth.User, error) {
	if ch.Role != nil || ch.Teams != nil {
		cur, err := s.Users.Get(r.Context(), username)
		if err != nil {
			return auth.User{}, err
		}
		role, _ := auth.ParseRole(cur.Role)
		if ch.Role != nil {
			role = *ch.Role
		}
		teams := cur.Teams
		if ch.Teams != nil {
			if teams, err = auth.CheckTeams(s.Config.Get(), *ch.Teams); err != nil {
				return auth.User{}, err
			}
			if teams, err = s.grant(r, role, teams); err != nil {
				return auth.User{}, err
			}
			ch.Teams = &teams
		} else if _, err := s.grant(r, role, teams); err != nil {
			return auth.User{}, err
		}
	}
	// A person held in the database goes with their account, unless the config names them:
	// the refusal says where (a schedule's layer, a team, a policy's step), and nothing changes.
	held := false
	if ch.Delete {
		var err error
		if held, err = s.personHeld(r, username); err != nil {
			return auth.User{}, err
		}
		if held {
			if err := s.ConfigDB.CheckDelete(r.Context(), "users", username); err != nil {
				return auth.User{}, err
			}
		}
	}
	u, err := s.Users.Apply(r.Context(), httpx.Principal(r), username, ch)
	if err != nil || !held {
		return u, err
	}
	if err := s.ConfigDB.Delete(r.Context(), whoOf(r), "users", username); err != nil {
		// Named meanwhile by a change of another admin: the person stays, the account is gone.
		s.Log.Warn("the person of a deleted account stays: the config names them", "user", username, "err", err)
	}
	return u, nil
}

// InviteUser answers POST /api/v1/invites.
func (s *Handler) InviteUser(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Username string   `json:"username"`
		Email    string   `json:"email"`
		Name     string   `json:"name"`
		Role     string   `json:"role"`
		Teams    []string `json:"teams"`
	}
	if err := httpx.ReadJSON(w, r, &body); err != nil {
		return err
	}
	inv, err := s.Invite(r, body.Username, body.Email, body.Name, body.Role, body.Teams)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, inv)
	return nil
}

// UpdateUser answers PATCH /api/v1/users/{username}: role and teams.
func (s *Handler) UpdateUser(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Role  *string   `json:"role"`
		Teams *[]string `json:"teams"`
	}
	if err := httpx.ReadJSON(w, r, &body); err != nil {
		return err
	}
	var ch auth.Change
	if body.Role != nil {
		role, err := auth.PersonRole(*body.Role)
		if err != nil {
			return err
		}
		ch.Role = &role
	}
	ch.Teams = body.Teams
	u, err := s.ChangeAccount(r, r.PathValue("username"), ch)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

// EnableUser answers POST /api/v1/users/{username}/enable.
func (s *Handler) EnableUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.ChangeAccount(r, r.PathValue("username"), auth.Change{Enable: true})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

// DisableUser answers POST /api/v1/users/{username}/disable: the account's sessions end.
func (s *Handler) DisableUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.ChangeAccount(r, r.PathValue("username"), auth.Change{Disable: true})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, u)
	return nil
}

// DeleteUser answers DELETE /api/v1/users/{username}.
func (s *Handler) DeleteUser(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.ChangeAccount(r, r.PathValue("username"), auth.Change{Delete: true}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ResetUserPassword answers POST /api/v1/users/{username}/reset-password: a new invitation
// link, mailed to the person.
func (s *Handler) ResetUserPassword(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Email string `json:"email"`
	}
	if r.ContentLength != 0 {
		if err := httpx.ReadJSON(w, r, &body); err != nil {
			return err
		}
	}
	inv, err := s.ResetPassword(r, r.PathValue("username"), strings.TrimSpace(body.Email))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, inv)
	return nil
}
