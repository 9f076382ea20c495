package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/oncall"
)

// The escalation engine names a declared incident's commander: whoever it would page first.
var _ OnCallFinder = (*escalate.Engine)(nil)

func (s *Server) oncallRoutes() []Route {
	rs := []Route{
		{Method: "GET", Pattern: "/api/v1/oncall", Role: auth.Viewer, Handle: s.getOnCall, API: true},
		{Method: "GET", Pattern: "/api/v1/schedules", Role: auth.Viewer, Handle: s.listSchedules, API: true},
		{Method: "GET", Pattern: "/api/v1/schedules/{id}/shifts", Role: auth.Viewer, Handle: s.getShifts, API: true},
		{Method: "GET", Pattern: "/api/v1/schedules/{id}/overrides", Role: auth.Viewer, Handle: s.listOverrides, API: true},
		{Method: "POST", Pattern: "/api/v1/schedules/{id}/overrides", Role: auth.Responder, Handle: s.createOverride, API: true},
		{Method: "DELETE", Pattern: "/api/v1/schedules/{id}/overrides/{override}", Role: auth.Responder, Handle: s.deleteOverride, API: true},
		// Calendar apps cannot send a bearer token: the feed takes one, or the secret key that
		// GET /api/v1/schedules hands to viewers.
		{Method: "GET", Pattern: "/api/v1/schedules/{id}/shifts.ics", Access: Secret, Handle: s.scheduleICS, API: true},
		{Method: "GET", Pattern: "/api/v1/users/{id}/shifts.ics", Access: Secret, Handle: s.userICS, API: true},
		{Method: "GET", Pattern: "/schedules", Role: auth.Viewer, Handle: s.schedulesPage},
		{Method: "GET", Pattern: "/schedules/{id}", Role: auth.Viewer, Handle: s.schedulePage},
		{Method: "POST", Pattern: "/schedules/{id}/overrides", Role: auth.Responder, Handle: s.createOverrideForm},
		{Method: "POST", Pattern: "/schedules/{id}/overrides/{override}/delete", Role: auth.Responder, Handle: s.deleteOverrideForm},
	}
	return append(rs, s.escalationRoutes()...)
}

// oncallError turns the on-call package's errors into answers a caller can act on.
func oncallError(err error) error {
	var ie *oncall.InputError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie):
		return errorf(http.StatusBadRequest, "%s", ie.Msg)
	case errors.Is(err, oncall.ErrUnknownSchedule), errors.Is(err, oncall.ErrOverrideNotFound):
		return errorf(http.StatusNotFound, "%v", err)
	}
	return err
}

// instant reads an RFC 3339 query parameter, def when absent.
func instant(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, errorf(http.StatusBadRequest, "%s: %q is not an RFC 3339 instant such as 2026-03-30T07:30:00Z", name, v)
	}
	return t.UTC(), nil
}

// window reads from/to, defaulting to now and 14 days on, capped at a year.
func (s *Server) window(r *http.Request) (time.Time, time.Time, error) {
	from, err := instant(r, "from", s.Clock.Now())
	if err != nil {
		return from, from, err
	}
	to, err := instant(r, "to", from.Add(14*24*time.Hour))
	if err != nil {
		return from, to, err
	}
	if !to.After(from) {
		return from, to, errorf(http.StatusBadRequest, "to must be after from")
	}
	if to.Sub(from) > 366*24*time.Hour {
		return from, to, errorf(http.StatusBadRequest, "from..to spans more than a year; ask for less")
	}
	return from, to, nil
}

func (s *Server) getOnCall(w http.ResponseWriter, r *http.Request) error {
	at, err := instant(r, "at", s.Clock.Now())
	if err != nil {
		return err
	}
	ids := []string{}
	if id := r.URL.Query().Get("schedule"); id != "" {
		ids = append(ids, id)
	} else {
		for _, sc := range s.Config.Get().Schedules {
			ids = append(ids, sc.ID)
		}
	}
	out := []oncall.Shift{}
	for _, id := range ids {
		shs, err := s.OnCall.OnCall(r.Context(), id, at)
		if err != nil {
			return oncallError(err)
		}
		out = append(out, shs...)
	}
	writeJSON(w, http.StatusOK, struct {
		OnCall []oncall.Shift `json:"oncall"`
		At     time.Time      `json:"at"`
	}{out, at})
	return nil
}

type scheduleJSON struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	TimeZone string   `json:"time_zone"`
	Layers   []string `json:"layers"`
	FeedURL  string   `json:"feed_url"`
}

func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request) error {
	out := []scheduleJSON{}
	for _, sc := range s.Config.Get().Schedules {
		j := scheduleJSON{ID: sc.ID, Name: sc.Name, TimeZone: sc.Location().String(), Layers: []string{}}
		for _, l := range sc.Layers {
			j.Layers = append(j.Layers, l.Name)
		}
		key, err := s.feedKey(r.Context(), "schedule:"+sc.ID)
		if err != nil {
			return err
		}
		j.FeedURL = s.baseURL(r) + "/api/v1/schedules/" + sc.ID + "/shifts.ics?key=" + key
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"schedules": out})
	return nil
}

// baseURL is where people reach nines: server.base_url, else what this request used.
func (s *Server) baseURL(r *http.Request) string {
	if u := s.Config.Get().Server.BaseURL; u != "" {
		return trimSlash(u)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

func (s *Server) getShifts(w http.ResponseWriter, r *http.Request) error {
	from, to, err := s.window(r)
	if err != nil {
		return err
	}
	shs, err := s.OnCall.Shifts(r.Context(), r.PathValue("id"), from, to)
	if err != nil {
		return oncallError(err)
	}
	if shs == nil {
		shs = []oncall.Shift{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"shifts": shs})
	return nil
}

func (s *Server) listOverrides(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.OnCall.Schedule(r.PathValue("id")); err != nil {
		return oncallError(err)
	}
	from, err := instant(r, "from", time.UnixMilli(0))
	if err != nil {
		return err
	}
	to, err := instant(r, "to", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return err
	}
	ovs, err := s.OnCall.Overrides(r.Context(), r.PathValue("id"), from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"overrides": ovs})
	return nil
}

type overrideRequest struct {
	UserID string `json:"user_id"`
	Start  string `json:"start"`
	End    string `json:"end"`
}

func (s *Server) createOverride(w http.ResponseWriter, r *http.Request) error {
	var req overrideRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	var times [2]time.Time
	for i, f := range []struct{ name, v string }{{"start", req.Start}, {"end", req.End}} {
		if f.v == "" {
			return errorf(http.StatusBadRequest, "%s is required (an RFC 3339 instant such as 2026-03-31T12:00:00Z)", f.name)
		}
		t, err := time.Parse(time.RFC3339, f.v)
		if err != nil {
			return errorf(http.StatusBadRequest, "%s: %q is not an RFC 3339 instant such as 2026-03-31T12:00:00Z", f.name, f.v)
		}
		times[i] = t
	}
	o, err := s.OnCall.AddOverride(r.Context(), oncall.Override{ScheduleID: r.PathValue("id"), UserID: req.UserID,
		Start: times[0], End: times[1], CreatedBy: actor(r, "api").Name})
	if err != nil {
		return oncallError(err)
	}
	writeJSON(w, http.StatusCreated, o)
	return nil
}

func overrideID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("override"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errorf(http.StatusNotFound, "override %q not found: ids are positive whole numbers", r.PathValue("override"))
	}
	return id, nil
}

func (s *Server) deleteOverride(w http.ResponseWriter, r *http.Request) error {
	id, err := overrideID(r)
	if err != nil {
		return err
	}
	if err := s.OnCall.DeleteOverride(r.Context(), r.PathValue("id"), id); err != nil {
		return oncallError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// feedKey is the secret that lets a calendar app read one feed without a token.
func (s *Server) feedKey(ctx context.Context, subject string) (string, error) {
	secret, err := s.DB.Secret(ctx, "ical-feeds")
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(subject))
	return hex.EncodeToString(m.Sum(nil))[:32], nil
}

// feedAllowed accepts a viewer's bearer token or the feed's secret key.
func (s *Server) feedAllowed(r *http.Request, subject string) error {
	if key := r.URL.Query().Get("key"); key != "" {
		want, err := s.feedKey(r.Context(), subject)
		if err != nil {
			return err
		}
		if hmac.Equal([]byte(key), []byte(want)) {
			return nil
		}
		return errorf(http.StatusUnauthorized, "unauthorized: this feed key is not valid for %s", subject)
	}
	return s.authorize(Route{Access: Token, Role: auth.Viewer}, r)
}

// feedWindow is a week back and 90 days ahead, from midnight UTC so event ids stay stable
// through the day.
func (s *Server) feedWindow() (time.Time, time.Time) {
	day := s.Clock.Now().UTC().Truncate(24 * time.Hour)
	return day.Add(-7 * 24 * time.Hour), day.Add(90 * 24 * time.Hour)
}

func (s *Server) scheduleICS(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.feedAllowed(r, "schedule:"+id); err != nil {
		return err
	}
	sc, err := s.OnCall.Schedule(id)
	if err != nil {
		return oncallError(err)
	}
	from, to := s.feedWindow()
	shs, err := s.OnCall.Shifts(r.Context(), id, from, to)
	if err != nil {
		return err
	}
	return s.writeICS(w, "On call: "+sc.Name, shs)
}

func (s *Server) userICS(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.feedAllowed(r, "user:"+id); err != nil {
		return err
	}
	u := s.Config.Get().User(id)
	if u == nil {
		return errorf(http.StatusNotFound, "unknown user %q", id)
	}
	from, to := s.feedWindow()
	shs, err := s.OnCall.UserShifts(r.Context(), id, from, to)
	if err != nil {
		return err
	}
	return s.writeICS(w, "On call: "+u.Name, shs)
}

func (s *Server) writeICS(w http.ResponseWriter, name string, shs []oncall.Shift) error {
	names := map[string]string{}
	for _, u := range s.Config.Get().Users {
		names[u.ID] = u.Name
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Write(oncall.Calendar(name, shs, names, s.Clock.Now()))
	return nil
}

func (s *Server) escalationRoutes() []Route {
	return []Route{
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/escalate", Role: auth.Responder, Handle: s.escalateIncident, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/reassign", Role: auth.Responder, Handle: s.reassignIncident, API: true},
		{Method: "GET", Pattern: "/api/v1/reports/oncall", Role: auth.Viewer, Handle: s.oncallReport, API: true},
		// The signed token is the credential: a page must be acknowledgeable from a phone
		// with no session. GET only confirms, so mail scanners that follow links do nothing.
		{Method: "GET", Pattern: "/a/{token}", Access: Secret, Handle: s.linkPage},
		{Method: "POST", Pattern: "/a/{token}", Access: Secret, Handle: s.useLink},
		// Twilio-compatible voice calls post the key pressed here (TwiML <Gather>).
		{Method: "POST", Pattern: "/a/{token}/voice", Access: Public, Handle: s.voiceKey},
	}
}

func escalationError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, escalate.ErrNotTriggered):
		return errorf(http.StatusConflict, "%v", err)
	case errors.Is(err, escalate.ErrUnknownUser):
		return errorf(http.StatusBadRequest, "%v", err)
	}
	return err
}

func (s *Server) escalateIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	if err := s.escalateNow(r, id, "api"); err != nil {
		return err
	}
	return s.writeIncident(w, r, id)
}

// escalateNow pages the incident's next step at once; the API and the incident page share it
// so both answer the same errors.
func (s *Server) escalateNow(r *http.Request, id int64, source string) error {
	if s.Escalation == nil {
		return errorf(http.StatusServiceUnavailable, "paging is not set up on this server")
	}
	return escalationError(s.Escalation.EscalateNow(r.Context(), id, actor(r, source)))
}

// reassignTo stops the incident's policy and pages userID; the API and the incident page
// share it.
func (s *Server) reassignTo(r *http.Request, id int64, userID, source string) error {
	if userID == "" {
		return errorf(http.StatusBadRequest, "user_id is required")
	}
	if s.Escalation == nil {
		return errorf(http.StatusServiceUnavailable, "paging is not set up on this server")
	}
	return escalationError(s.Escalation.Reassign(r.Context(), id, userID, actor(r, source)))
}

func (s *Server) reassignIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	var req struct {
		UserID string `json:"user_id"`
	}
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.reassignTo(r, id, req.UserID, "api"); err != nil {
		return err
	}
	return s.writeIncident(w, r, id)
}

func (s *Server) writeIncident(w http.ResponseWriter, r *http.Request, id int64) error {
	inc, err := s.Incidents.Get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, inc)
	return nil
}

func linkError(err error) error {
	switch {
	case errors.Is(err, escalate.ErrLinkExpired):
		return errorf(http.StatusGone, "%v", err)
	case errors.Is(err, escalate.ErrLinkInvalid):
		return errorf(http.StatusForbidden, "%v", err)
	}
	return err
}

func (s *Server) linkPage(w http.ResponseWriter, r *http.Request) error {
	lk, err := s.Escalation.VerifyLink(r.Context(), r.PathValue("token"))
	if err != nil {
		return linkError(err)
	}
	inc, err := s.Incidents.Get(r.Context(), lk.Incident)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.render(w, r, http.StatusOK, "oncall_link.html", verbOf(lk.Action)+" incident", map[string]any{
		"Link": lk, "Incident": inc, "Verb": verbOf(lk.Action)})
}

func (s *Server) useLink(w http.ResponseWriter, r *http.Request) error {
	lk, inc, err := s.Escalation.UseLink(r.Context(), r.PathValue("token"))
	var es *incident.ErrState
	done := ""
	switch {
	case errors.As(err, &es):
		// Someone resolved it first: say so instead of failing.
		inc, err = s.Incidents.Get(r.Context(), lk.Incident)
		done = "Nothing to do: the incident is already " + string(inc.State) + "."
	case err == nil:
		done = "Done: the incident is " + string(inc.State) + "."
	}
	if err != nil {
		return linkError(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return s.render(w, r, http.StatusOK, "oncall_link.html", verbOf(lk.Action)+" incident", map[string]any{
		"Link": lk, "Incident": inc, "Verb": verbOf(lk.Action), "Done": done})
}

// voiceKey acknowledges when the person on the call pressed 1, and answers TwiML.
func (s *Server) voiceKey(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return errorf(http.StatusBadRequest, "bad form: %v", err)
	}
	say := "Not acknowledged. Goodbye."
	if r.PostForm.Get("Digits") == "1" {
		lk, inc, err := s.Escalation.UseLink(r.Context(), r.PathValue("token"))
		var es *incident.ErrState
		switch {
		case errors.Is(err, escalate.ErrLinkExpired), errors.Is(err, escalate.ErrLinkInvalid):
			say = "This page has expired. Open nines to acknowledge. Goodbye."
		case errors.As(err, &es):
			say = "The incident is already resolved. Goodbye."
		case err != nil:
			return err
		case lk.Action != escalate.ActionAcknowledge:
			say = "Nothing was done. Goodbye."
		default:
			say = fmt.Sprintf("Incident %d is %s. Thank you.", inc.ID, inc.State)
		}
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	fmt.Fprintf(w, "<Response><Say>%s</Say></Response>", say)
	return nil
}

func verbOf(action string) string {
	if action == escalate.ActionResolve {
		return "Resolve"
	}
	return "Acknowledge"
}

// onCallNow is who is on call on every schedule, for the front page.
func (s *Server) onCallNow(ctx context.Context) []oncall.Shift {
	if s.OnCall == nil {
		return nil
	}
	var out []oncall.Shift
	for _, sc := range s.Config.Get().Schedules {
		shs, err := s.OnCall.OnCall(ctx, sc.ID, s.Clock.Now())
		if err != nil {
			s.Log.Warn("who is on call", "schedule", sc.ID, "err", err)
			continue
		}
		out = append(out, shs...)
	}
	return out
}

func (s *Server) schedulesPage(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "oncall_schedules.html", "On call", map[string]any{
		"Schedules": s.Config.Get().Schedules, "Now": s.onCallNow(r.Context())})
}

type dayRow struct {
	Day    string
	Shifts []shiftRow
}

type shiftRow struct {
	User, Layer, From, To string
	Override              bool
}

func (s *Server) schedulePage(w http.ResponseWriter, r *http.Request) error {
	return s.renderSchedule(w, r, http.StatusOK, "")
}

func (s *Server) renderSchedule(w http.ResponseWriter, r *http.Request, status int, problem string) error {
	sc, err := s.OnCall.Schedule(r.PathValue("id"))
	if err != nil {
		return oncallError(err)
	}
	loc := sc.Location()
	now := s.Clock.Now()
	lt := now.In(loc)
	from := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	to := time.Date(lt.Year(), lt.Month(), lt.Day()+14, 0, 0, 0, 0, loc)
	shs, err := s.OnCall.Shifts(r.Context(), sc.ID, from, to)
	if err != nil {
		return err
	}
	cfg := s.Config.Get()
	name := func(id string) string {
		if u := cfg.User(id); u != nil {
			return u.Name
		}
		return id
	}
	var days []dayRow
	for d := from; d.Before(to); d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc) {
		next := time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
		row := dayRow{Day: d.Format("Mon 2 Jan")}
		for _, sh := range shs {
			if sh.End.After(d) && sh.Start.Before(next) {
				a, b := sh.Start, sh.End
				if a.Before(d) {
					a = d
				}
				if b.After(next) {
					b = next
				}
				end := b.In(loc).Format("15:04")
				if b.Equal(next) {
					end = "24:00"
				}
				row.Shifts = append(row.Shifts, shiftRow{User: name(sh.UserID), Layer: sh.Layer, From: a.In(loc).Format("15:04"), To: end, Override: sh.OverrideID != 0})
			}
		}
		days = append(days, row)
	}
	ovs, err := s.OnCall.Overrides(r.Context(), sc.ID, now, now.Add(400*24*time.Hour))
	if err != nil {
		return err
	}
	return s.render(w, r, status, "oncall_schedule.html", sc.Name, map[string]any{
		"Schedule": sc, "Zone": loc.String(), "Days": days, "Overrides": ovs, "Users": cfg.Users, "Problem": problem,
		"Now": s.onCallNowFor(r.Context(), sc.ID), "Local": func(t time.Time) string { return t.In(loc).Format("Mon 2 Jan 15:04") }})
}

func (s *Server) onCallNowFor(ctx context.Context, id string) []oncall.Shift {
	shs, _ := s.OnCall.OnCall(ctx, id, s.Clock.Now())
	return shs
}

// createOverrideForm takes local times in the schedule's time zone, as people think of cover.
func (s *Server) createOverrideForm(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.OnCall.Schedule(r.PathValue("id"))
	if err != nil {
		return oncallError(err)
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return errorf(http.StatusBadRequest, "bad form: %v", err)
	}
	parse := func(name string) (time.Time, error) {
		v := r.PostForm.Get(name)
		t, err := time.ParseInLocation("2006-01-02T15:04", v, sc.Location())
		if err != nil {
			return t, fmt.Errorf("%s: %q is not a date and time (YYYY-MM-DDTHH:MM)", name, v)
		}
		return t, nil
	}
	start, err1 := parse("start")
	end, err2 := parse("end")
	if err := errors.Join(err1, err2); err != nil {
		return s.renderSchedule(w, r, http.StatusBadRequest, err.Error())
	}
	_, err = s.OnCall.AddOverride(r.Context(), oncall.Override{ScheduleID: sc.ID, UserID: r.PostForm.Get("user_id"),
		Start: start, End: end, CreatedBy: actor(r, "web").Name})
	var ie *oncall.InputError
	if errors.As(err, &ie) {
		return s.renderSchedule(w, r, http.StatusBadRequest, ie.Msg)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/schedules/"+sc.ID, http.StatusSeeOther)
	return nil
}

func (s *Server) deleteOverrideForm(w http.ResponseWriter, r *http.Request) error {
	id, err := overrideID(r)
	if err != nil {
		return err
	}
	if err := s.OnCall.DeleteOverride(r.Context(), r.PathValue("id"), id); err != nil {
		return oncallError(err)
	}
	http.Redirect(w, r, "/schedules/"+r.PathValue("id"), http.StatusSeeOther)
	return nil
}

func (s *Server) oncallReport(w http.ResponseWriter, r *http.Request) error {
	now := s.Clock.Now()
	from, err := instant(r, "from", now.Add(-30*24*time.Hour))
	if err != nil {
		return err
	}
	to, err := instant(r, "to", now)
	if err != nil {
		return err
	}
	if !to.After(from) || to.Sub(from) > 366*24*time.Hour {
		return errorf(http.StatusBadRequest, "from..to must be a period of up to a year, from before to")
	}
	rep, err := s.Escalation.LoadReport(r.Context(), from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
