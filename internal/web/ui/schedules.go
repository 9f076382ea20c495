package ui

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/web/api"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// onCallNow is who is on call on every schedule the request's principal reaches, for the front
// page.
func (s *Handler) onCallNow(r *http.Request) []oncall.Shift {
	rc := s.guard.Reach(r)
	var out []oncall.Shift
	for _, sc := range s.Config.Get().Schedules {
		if !rc.Schedule(sc.ID) {
			continue
		}
		shs, err := s.OnCall.OnCall(r.Context(), sc.ID, s.Clock.Now())
		if err != nil {
			s.Log.Warn("who is on call", "schedule", sc.ID, "err", err)
			continue
		}
		out = append(out, shs...)
	}
	return out
}

// SchedulesPage answers GET /schedules.
func (s *Handler) SchedulesPage(w http.ResponseWriter, r *http.Request) error {
	rc := s.guard.Reach(r)
	var schedules []config.Schedule
	for _, sc := range s.Config.Get().Schedules {
		if rc.Schedule(sc.ID) {
			schedules = append(schedules, sc)
		}
	}
	return s.pages.Render(w, r, http.StatusOK, "schedules.html", "On call", map[string]any{
		"Schedules": schedules, "Now": s.onCallNow(r)})
}

// SchedulePage answers GET /schedules/{id}.
func (s *Handler) SchedulePage(w http.ResponseWriter, r *http.Request) error {
	return s.renderSchedule(w, r, http.StatusOK, "")
}

func (s *Handler) renderSchedule(w http.ResponseWriter, r *http.Request, status int, problem string) error {
	sc, err := s.OnCall.Schedule(r.PathValue("id"))
	if err != nil {
		return err
	}
	loc := sc.Location()
	now := s.Clock.Now()
	cal, err := s.scheduleCalendar(r, sc)
	if err != nil {
		return err
	}
	cfg := s.Config.Get()
	ovs, err := s.OnCall.Overrides(r.Context(), sc.ID, now, now.Add(400*24*time.Hour))
	if err != nil {
		return err
	}
	return s.pages.Render(w, r, status, "schedule.html", sc.Name, map[string]any{
		"Schedule": sc, "Zone": loc.String(), "Calendar": cal, "Overrides": ovs, "Users": cfg.Users, "Problem": problem,
		"Now": s.onCallNowFor(r.Context(), sc.ID), "Local": func(t time.Time) string { return t.In(loc).Format("Mon 2 Jan 15:04") }})
}

func (s *Handler) onCallNowFor(ctx context.Context, id string) []oncall.Shift {
	shs, _ := s.OnCall.OnCall(ctx, id, s.Clock.Now())
	return shs
}

// CreateOverride takes local times in the schedule's time zone, as people think of cover.
func (s *Handler) CreateOverride(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.OnCall.Schedule(r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := httpx.ReadForm(w, r, 16<<10); err != nil {
		return err
	}
	parse := func(name string) (time.Time, error) {
		v := r.PostForm.Get(name)
		return clock.ParseIn(name, v, clock.Local, sc.Location())
	}
	start, err1 := parse("start")
	end, err2 := parse("end")
	if err = errors.Join(err1, err2); err == nil {
		_, err = s.OnCall.AddOverride(r.Context(), oncall.Override{ScheduleID: sc.ID, UserID: r.PostForm.Get("user_id"),
			Layer: r.PostForm.Get("layer"), Start: start, End: end, CreatedBy: httpx.Actor(r, "web").Name})
	}
	// Input refused shows the schedule again with what was wrong; the rest is answered as usual.
	if e, known := httpx.ErrorOf(err); err != nil && known && e.Status == http.StatusBadRequest {
		return s.renderSchedule(w, r, e.Status, err.Error())
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/schedules/"+sc.ID, http.StatusSeeOther)
	return nil
}

// DeleteOverride answers POST /schedules/{id}/overrides/{override}/delete.
func (s *Handler) DeleteOverride(w http.ResponseWriter, r *http.Request) error {
	id, err := api.OverrideID(r)
	if err != nil {
		return err
	}
	if err := s.OnCall.DeleteOverride(r.Context(), r.PathValue("id"), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/schedules/"+r.PathValue("id"), http.StatusSeeOther)
	return nil
}
