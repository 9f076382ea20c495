package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/people"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// A person's own profile: /api/v1/me and what hangs under it. A signed-in person, or a
// personal API token (made for a user), acts on themselves only: the routes name nobody else.

// ShiftsAhead is how far ahead a profile lists the person's shifts.
const ShiftsAhead = 28 * 24 * time.Hour

// Me is who a request is, as a person: the username of the account (or the person a personal
// token belongs to), and that person in the config in force (nil when the config does not
// declare them).
func (s *Handler) Me(r *http.Request) (string, *config.User, error) {
	p := httpx.Principal(r)
	id := ""
	switch {
	case p.Kind == "user":
		id = p.Name
	case p.Kind == "token" && p.User != "":
		id = p.User
	default:
		return "", nil, httpx.Errorf(http.StatusNotFound, "%s belongs to no person, so it has no profile; use a session or a personal token (nines token create --user)", p.Actor())
	}
	return id, s.Config.Get().User(id), nil
}

// Profile is what GET /api/v1/me answers.
type Profile struct {
	ID string `json:"id"`
	// Account is the sign-in account, when there is one.
	Account *auth.User `json:"account,omitempty"`
	// Person is false when the config declares nobody of this id: nobody pages them.
	Person            bool                `json:"person"`
	Name              string              `json:"name"`
	TimeZone          string              `json:"time_zone"`
	WorkingHours      string              `json:"working_hours"`
	DeclaredAt        string              `json:"declared_at,omitempty"`
	ContactMethods    []people.Method     `json:"contact_methods"`
	NotificationRules []people.Rule       `json:"notification_rules"`
	Shifts            []oncall.Shift      `json:"shifts"`
	Incidents         []incident.Incident `json:"incidents"`
	CalendarFeedURL   string              `json:"calendar_feed_url,omitempty"`
}

// Profile gathers the request's person's profile.
func (s *Handler) Profile(r *http.Request) (Profile, error) {
	id, u, err := s.Me(r)
	if err != nil {
		return Profile{}, err
	}
	ctx := r.Context()
	out := Profile{ID: id, Name: id, TimeZone: "UTC", Shifts: []oncall.Shift{}, Incidents: []incident.Incident{}}
	if a, err := s.Users.Get(ctx, id); err == nil {
		out.Account, out.Name = &a, a.Name
	} else if !errors.Is(err, auth.ErrNoUser) {
		return Profile{}, err
	}
	if u != nil {
		out.Person, out.Name, out.TimeZone, out.WorkingHours = true, u.Name, u.Location().String(), oncall.UserHours(u).String()
		out.DeclaredAt = u.Pos.String()
		now := s.Clock.Now()
		if out.Shifts, err = s.OnCall.UserShifts(ctx, id, now, now.Add(ShiftsAhead)); err != nil {
			return Profile{}, err
		}
		if out.Shifts == nil {
			out.Shifts = []oncall.Shift{}
		}
		key, err := s.guard.FeedKey(ctx, "user:"+id)
		if err != nil {
			return Profile{}, err
		}
		out.CalendarFeedURL = s.baseURL(r) + "/api/v1/users/" + id + "/shifts.ics?key=" + key
	}
	if out.ContactMethods, err = s.People.Methods(ctx, u, id); err != nil {
		return Profile{}, err
	}
	if out.NotificationRules, err = s.People.Rules(ctx, u, id); err != nil {
		return Profile{}, err
	}
	if out.Incidents, err = s.myIncidents(ctx, r, id); err != nil {
		return Profile{}, err
	}
	return out, nil
}

// myIncidents are the open incidents the person was paged for or holds a role in, that the
// request may see.
func (s *Handler) myIncidents(ctx context.Context, r *http.Request, id string) ([]incident.Incident, error) {
	ids, err := s.Escalation.PagedIncidents(ctx, id, 500)
	if err != nil {
		return nil, err
	}
	out := []incident.Incident{}
	seen := map[int64]bool{}
	rc := s.guard.Reach(r)
	add := func(inc incident.Incident) {
		if seen[inc.ID] || inc.State == incident.Resolved || !rc.Service(inc.ServiceID) {
			return
		}
		seen[inc.ID] = true
		out = append(out, inc)
	}
	for _, n := range ids {
		inc, err := s.Incidents.Get(ctx, n)
		if errors.Is(err, incident.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		add(inc)
	}
	open, _, err := s.Incidents.List(ctx, incident.Filter{States: []incident.State{incident.Triggered, incident.Acknowledged}, Limit: 500})
	if err != nil {
		return nil, err
	}
	for _, inc := range open {
		for _, p := range inc.Roles {
			if p == id {
				add(inc)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

// GetMe answers GET /api/v1/me.
func (s *Handler) GetMe(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Profile(r)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

// AddContactMethod adds a contact method for the request's person and sends it a code; the
// API and the profile page alike.
func (s *Handler) AddContactMethod(r *http.Request, typ, address string) (people.Method, error) {
	id, u, err := s.Me(r)
	if err != nil {
		return people.Method{}, err
	}
	if s.Escalation.Channel(s.Config.Get(), typ) == nil && people.CheckAddress(typ, address) == nil {
		return people.Method{}, httpx.Errorf(http.StatusConflict, "type: nines is not set up to send %s (see notifications in the config); ask an admin", typ)
	}
	m, err := s.People.AddMethod(r.Context(), u, typ, address)
	if err != nil {
		return m, err
	}
	return m, s.SendCode(r, id, u, m.ID)
}

// SendCode sends a new verification code to one of the person's contact methods.
func (s *Handler) SendCode(r *http.Request, id string, u *config.User, method string) error {
	code, err := s.People.NewCode(r.Context(), u, id, method)
	if err != nil {
		return err
	}
	m, _, err := s.People.Get(r.Context(), u, id, method)
	if err != nil {
		return err
	}
	msg := notify.Message{Key: "verify-" + method + "-" + code, Event: "contact_method.verify",
		Headline: "nines verification code: " + code,
		Body: fmt.Sprintf("Your code to verify this contact method on nines is %s.\nIt works for %d minutes. If you did not ask for it, ignore this message.",
			code, int(people.CodeTTL/time.Minute))}
	if err := s.Escalation.SendTo(r.Context(), m, msg); err != nil {
		s.Log.Warn("sending a verification code failed", "user", id, "method", method, "err", err)
		return httpx.Errorf(http.StatusBadGateway, "the verification code could not be sent to %s: %v; check the address and send a new code", m.Address, err)
	}
	return nil
}

// TestPage sends a test page to one of the person's contact methods (a verified one).
func (s *Handler) TestPage(r *http.Request, method string) error {
	id, u, err := s.Me(r)
	if err != nil {
		return err
	}
	var m config.ContactMethod
	verified := false
	if u != nil {
		for _, cm := range u.ContactMethods {
			if cm.ID == method {
				m, verified = cm, true
			}
		}
	}
	if !verified {
		if m, verified, err = s.People.Get(r.Context(), u, id, method); err != nil {
			return err
		}
		if !verified {
			return people.ErrUnverified
		}
	}
	msg := notify.Message{Key: fmt.Sprintf("test-%s-%s-%d", id, method, s.Clock.Now().UnixMilli()), Event: "contact_method.test",
		Headline: "Test page from nines",
		Body:     "This is a test page you asked for from your nines profile. Nothing is wrong. This is how a page will reach you here."}
	if err := s.Escalation.SendTo(r.Context(), m, msg); err != nil {
		return httpx.Errorf(http.StatusBadGateway, "the test page could not be sent: %v", err)
	}
	return nil
}

// CreateContactMethod answers POST /api/v1/me/contact-methods.
func (s *Handler) CreateContactMethod(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Type    string `json:"type"`
		Address string `json:"address"`
	}
	if err := httpx.ReadJSON(w, r, &body); err != nil {
		return err
	}
	m, err := s.AddContactMethod(r, body.Type, body.Address)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, m)
	return nil
}

// SendContactCode answers POST /api/v1/me/contact-methods/{id}/send-code.
func (s *Handler) SendContactCode(w http.ResponseWriter, r *http.Request) error {
	id, u, err := s.Me(r)
	if err != nil {
		return err
	}
	if err := s.SendCode(r, id, u, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// VerifyContactMethod answers POST /api/v1/me/contact-methods/{id}/verify.
func (s *Handler) VerifyContactMethod(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Code string `json:"code"`
	}
	if err := httpx.ReadJSON(w, r, &body); err != nil {
		return err
	}
	id, u, err := s.Me(r)
	if err != nil {
		return err
	}
	if err := s.People.Verify(r.Context(), u, id, r.PathValue("id"), body.Code); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// TestContactMethod answers POST /api/v1/me/contact-methods/{id}/test.
func (s *Handler) TestContactMethod(w http.ResponseWriter, r *http.Request) error {
	if err := s.TestPage(r, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// DeleteContactMethod answers DELETE /api/v1/me/contact-methods/{id}.
func (s *Handler) DeleteContactMethod(w http.ResponseWriter, r *http.Request) error {
	id, u, err := s.Me(r)
	if err != nil {
		return err
	}
	if err := s.RemoveOwnMethod(r, id, u, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// RemoveOwnMethod removes one of the person's own contact methods (API and page alike), unless
// without it a policy would reach nobody: paging would find no one, and nines would not start
// again on that config.
func (s *Handler) RemoveOwnMethod(r *http.Request, id string, u *config.User, method string) error {
	declared := false // a method of the config: RemoveMethod refuses it, saying where it is
	if u != nil {
		for _, m := range u.ContactMethods {
			declared = declared || m.ID == method
		}
	}
	if own := s.Config.Own(); own != nil && u != nil && !declared {
		err := s.Config.CheckOwn(func(p *config.User) *config.User {
			w := own(p)
			if w == nil || p.ID != id {
				return w
			}
			c := *w
			c.ContactMethods, c.NotificationRules = nil, nil
			for _, m := range w.ContactMethods {
				if m.ID != method {
					c.ContactMethods = append(c.ContactMethods, m)
				}
			}
			for _, rule := range w.NotificationRules {
				if rule.ContactMethod != method {
					c.NotificationRules = append(c.NotificationRules, rule)
				}
			}
			return &c
		})
		if err != nil {
			return httpx.Errorf(http.StatusConflict, "%s is kept: without it, %v. Add another way to be paged first, or ask an admin to change the policy", method, err)
		}
	}
	return s.People.RemoveMethod(r.Context(), u, id, method)
}

// AddRule adds a notification rule for the request's person (API and page alike); after is a
// duration ("1m", "90s", "0").
func (s *Handler) AddRule(r *http.Request, method, after, urgency string) (people.Rule, error) {
	_, u, err := s.Me(r)
	if err != nil {
		return people.Rule{}, err
	}
	d := time.Duration(0)
	if after != "" && after != "0" {
		if d, err = config.ParseDuration(after); err != nil {
			return people.Rule{}, httpx.Errorf(http.StatusBadRequest, "after: %v", err)
		}
	}
	return s.People.AddRule(r.Context(), u, method, d, urgency)
}

// CreateNotificationRule answers POST /api/v1/me/notification-rules.
func (s *Handler) CreateNotificationRule(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		ContactMethod string `json:"contact_method"`
		After         string `json:"after"`
		Urgency       string `json:"urgency"`
	}
	if err := httpx.ReadJSON(w, r, &body); err != nil {
		return err
	}
	rule, err := s.AddRule(r, body.ContactMethod, body.After, body.Urgency)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, rule)
	return nil
}

// DeleteNotificationRule answers DELETE /api/v1/me/notification-rules/{id}.
func (s *Handler) DeleteNotificationRule(w http.ResponseWriter, r *http.Request) error {
	id, u, err := s.Me(r)
	if err != nil {
		return err
	}
	if err := s.People.RemoveRule(r.Context(), u, id, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ChangeMyPassword changes the request's person's password: the current one is required, and
// every other session of theirs ends (the one of this request stays).
func (s *Handler) ChangeMyPassword(r *http.Request, current, password string) error {
	id, _, err := s.Me(r)
	if err != nil {
		return err
	}
	keep := ""
	if c, err := r.Cookie(httpx.SessionCookie); err == nil {
		keep = c.Value
	}
	return s.Users.ChangePassword(r.Context(), id, current, password, keep)
}

// ChangePassword answers POST /api/v1/me/password.
func (s *Handler) ChangePassword(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Current  string `json:"current_password"`
		Password string `json:"new_password"`
	}
	if err := httpx.ReadJSON(w, r, &body); err != nil {
		return err
	}
	if err := s.ChangeMyPassword(r, body.Current, body.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// SignOutEverywhere answers POST /api/v1/me/sign-out-everywhere: every session of the person
// ends, the caller's too.
func (s *Handler) SignOutEverywhere(w http.ResponseWriter, r *http.Request) error {
	id, _, err := s.Me(r)
	if err != nil {
		return err
	}
	n, err := s.Users.EndSessions(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]int64{"sessions_ended": n})
	return nil
}

// SetMyTimeZone records the zone the request's person reads times in, on their account ("" for
// the default: their config user's time_zone, else UTC).
func (s *Handler) SetMyTimeZone(r *http.Request, tz string) error {
	id, _, err := s.Me(r)
	if err != nil {
		return err
	}
	return s.Users.SetTimeZone(r.Context(), id, tz)
}

// PutTimeZone answers PUT /api/v1/me/time-zone.
func (s *Handler) PutTimeZone(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		TimeZone string `json:"time_zone"`
	}
	if err := httpx.ReadJSON(w, r, &body); err != nil {
		return err
	}
	if err := s.SetMyTimeZone(r, body.TimeZone); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
