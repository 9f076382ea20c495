package ui

import (
	"net/http"
	"strings"

	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// The profile of the person signed in (/profile): who they are, how nines reaches them
// (contact methods and notification rules, theirs to add, verify, test and remove; the
// config's shown read-only with where they are declared), their shifts, their open incidents,
// their calendar feed, their password and sessions. The same operations as /api/v1/me.

// ProfilePage answers GET /profile.
func (s *Handler) ProfilePage(w http.ResponseWriter, r *http.Request) error {
	return s.renderProfile(w, r, http.StatusOK, nil)
}

func (s *Handler) renderProfile(w http.ResponseWriter, r *http.Request, status int, extra map[string]any) error {
	p, err := s.api.Profile(r)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, sc := range s.Config.Get().Schedules {
		names[sc.ID] = sc.Name
	}
	data := map[string]any{"Profile": p, "Schedules": names, "Types": []string{"email", "sms", "voice", "push", "slack", "teams", "webhook"}, "Zones": commonZones}
	for k, v := range extra {
		data[k] = v
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.pages.Render(w, r, status, "profile.html", "Profile", data)
}

// profileDone shows the profile again with what happened; a form refused is shown again with
// what was typed and what was wrong, as web shows every refused form.
func (s *Handler) profileDone(w http.ResponseWriter, r *http.Request, err error, done string) error {
	if err != nil {
		return err
	}
	return s.renderProfile(w, r, http.StatusOK, map[string]any{"Done": done})
}

func (s *Handler) profileForm(w http.ResponseWriter, r *http.Request) error {
	return httpx.ReadForm(w, r, 16<<10)
}

// AddContactMethod answers POST /profile/contact-methods.
func (s *Handler) AddContactMethod(w http.ResponseWriter, r *http.Request) error {
	if err := s.profileForm(w, r); err != nil {
		return err
	}
	m, err := s.api.AddContactMethod(r, r.PostForm.Get("type"), r.PostForm.Get("address"))
	if err != nil {
		return s.profileDone(w, r, err, "")
	}
	return s.profileDone(w, r, nil, "A code was sent to "+m.Address+". Type it below to verify it; until then nines does not page it.")
}

// ContactMethodAction answers POST /profile/contact-methods/{id}/{action}: verify, send-code,
// test, delete.
func (s *Handler) ContactMethodAction(w http.ResponseWriter, r *http.Request) error {
	if err := s.profileForm(w, r); err != nil {
		return err
	}
	method := r.PathValue("id")
	id, u, err := s.api.Me(r)
	if err != nil {
		return err
	}
	switch r.PathValue("action") {
	case "verify":
		err = s.People.Verify(r.Context(), u, id, method, r.PostForm.Get("code"))
		return s.profileDone(w, r, err, "Verified. nines pages this contact method from now on.")
	case "send-code":
		err = s.api.SendCode(r, id, u, method)
		return s.profileDone(w, r, err, "A new code was sent.")
	case "test":
		err = s.api.TestPage(r, method)
		return s.profileDone(w, r, err, "A test page was sent.")
	case "delete":
		err = s.api.RemoveOwnMethod(r, id, u, method)
		return s.profileDone(w, r, err, "Contact method removed.")
	}
	return httpx.Errorf(http.StatusNotFound, "no such action %q: verify, send-code, test or delete", r.PathValue("action"))
}

// AddRule answers POST /profile/notification-rules.
func (s *Handler) AddRule(w http.ResponseWriter, r *http.Request) error {
	if err := s.profileForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	_, err := s.api.AddRule(r, f.Get("contact_method"), f.Get("after"), f.Get("urgency"))
	return s.profileDone(w, r, err, "Notification rule added.")
}

// DeleteRule answers POST /profile/notification-rules/{id}/delete.
func (s *Handler) DeleteRule(w http.ResponseWriter, r *http.Request) error {
	if err := s.profileForm(w, r); err != nil {
		return err
	}
	id, u, err := s.api.Me(r)
	if err != nil {
		return err
	}
	err = s.People.RemoveRule(r.Context(), u, id, r.PathValue("id"))
	return s.profileDone(w, r, err, "Notification rule removed.")
}

// ChangePassword answers POST /profile/password.
func (s *Handler) ChangePassword(w http.ResponseWriter, r *http.Request) error {
	if err := s.profileForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	if f.Get("new_password") != f.Get("confirm") {
		return invalid.Field("confirm", "the two new passwords differ; type the same one twice")
	}
	err := s.api.ChangeMyPassword(r, f.Get("current_password"), f.Get("new_password"))
	return s.profileDone(w, r, err, "Password changed. Your other sessions are signed out.")
}

// commonZones are suggested as the time zone is typed; any IANA name is taken.
var commonZones = []string{"UTC", "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York", "America/Sao_Paulo",
	"Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Stockholm", "Europe/Warsaw", "Europe/Athens",
	"Europe/Istanbul", "Africa/Lagos", "Africa/Johannesburg", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai",
	"Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland"}

// SetTimeZone answers POST /profile/time-zone.
func (s *Handler) SetTimeZone(w http.ResponseWriter, r *http.Request) error {
	if err := s.profileForm(w, r); err != nil {
		return err
	}
	tz := strings.TrimSpace(r.PostForm.Get("time_zone"))
	if err := s.api.SetMyTimeZone(r, tz); err != nil {
		return err
	}
	if tz == "" {
		return s.profileDone(w, r, nil, "Times are shown in your default zone again.")
	}
	return s.profileDone(w, r, nil, "Times are shown in "+tz+" from now on.")
}

// SignOutEverywhere answers POST /profile/sign-out-everywhere: this browser too.
func (s *Handler) SignOutEverywhere(w http.ResponseWriter, r *http.Request) error {
	if err := s.profileForm(w, r); err != nil {
		return err
	}
	id, _, err := s.api.Me(r)
	if err != nil {
		return err
	}
	if _, err := s.Users.EndSessions(r.Context(), id); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: httpx.SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// RotateFeed answers POST /profile/calendar-feed/rotate: every feed URL of the person's stops
// working and new ones are shown.
func (s *Handler) RotateFeed(w http.ResponseWriter, r *http.Request) error {
	if err := s.profileForm(w, r); err != nil {
		return err
	}
	if err := s.guard.RotateFeedKeys(r.Context(), httpx.Principal(r)); err != nil {
		return err
	}
	return s.profileDone(w, r, nil, "Your calendar feed URLs were replaced; the old ones no longer work.")
}
