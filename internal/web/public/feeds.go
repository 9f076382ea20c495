package public

import (
	"net/http"
	"time"

	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// feedWindow is a week back and 90 days ahead, from midnight UTC so event ids stay stable
// through the day.
func (s *Handler) feedWindow() (time.Time, time.Time) {
	day := s.Clock.Now().UTC().Truncate(24 * time.Hour)
	return day.Add(-7 * 24 * time.Hour), day.Add(90 * 24 * time.Hour)
}

// ScheduleICS answers GET /api/v1/schedules/{id}/shifts.ics.
func (s *Handler) ScheduleICS(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.guard.AuthorizeFeed(w, r, "schedule:"+id, httpx.InPath(httpx.Schedule, "id")); err != nil {
		return err
	}
	sc, err := s.OnCall.Schedule(id)
	if err != nil {
		return err
	}
	from, to := s.feedWindow()
	shs, err := s.OnCall.Shifts(r.Context(), id, from, to)
	if err != nil {
		return err
	}
	return s.writeICS(w, "On call: "+sc.Name, shs)
}

// UserICS answers GET /api/v1/users/{id}/shifts.ics.
func (s *Handler) UserICS(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.guard.AuthorizeFeed(w, r, "user:"+id, httpx.InPath(httpx.Person, "id")); err != nil {
		return err
	}
	u := s.Config.Get().User(id)
	if u == nil {
		return httpx.Errorf(http.StatusNotFound, "unknown user %q", id)
	}
	from, to := s.feedWindow()
	shs, err := s.OnCall.UserShifts(r.Context(), id, from, to)
	if err != nil {
		return err
	}
	return s.writeICS(w, "On call: "+u.Name, shs)
}

func (s *Handler) writeICS(w http.ResponseWriter, name string, shs []oncall.Shift) error {
	names := map[string]string{}
	for _, u := range s.Config.Get().Users {
		names[u.ID] = u.Name
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Write(oncall.Calendar(name, shs, names, s.Clock.Now()))
	return nil
}
