package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// instant reads an RFC 3339 query parameter, def when absent.
func instant(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	return clock.ParseInstant(name, v)
}

// window reads from/to, defaulting to now and 14 days on, capped at a year.
func (s *Handler) window(r *http.Request) (time.Time, time.Time, error) {
	from, err := instant(r, "from", s.Clock.Now())
	if err != nil {
		return from, from, err
	}
	to, err := instant(r, "to", from.Add(14*24*time.Hour))
	if err != nil {
		return from, to, err
	}
	if !to.After(from) {
		return from, to, invalid.Field("to", "must be after from")
	}
	if to.Sub(from) > 366*24*time.Hour {
		return from, to, invalid.Field("to", "from..to spans more than a year; ask for less")
	}
	return from, to, nil
}

// GetOnCall answers GET /api/v1/oncall.
func (s *Handler) GetOnCall(w http.ResponseWriter, r *http.Request) error {
	at, err := instant(r, "at", s.Clock.Now())
	if err != nil {
		return err
	}
	rc := s.guard.Reach(r)
	ids := []string{}
	if id := r.URL.Query().Get("schedule"); id != "" {
		if s.Config.Get().Schedule(id) != nil {
			if err := rc.AllowSchedule(id); err != nil {
				return err
			}
		}
		ids = append(ids, id)
	} else {
		for _, sc := range s.Config.Get().Schedules {
			if rc.Schedule(sc.ID) {
				ids = append(ids, sc.ID)
			}
		}
	}
	// layer asks what a step targeting those layers pages (overrides included).
	var layers []string
	for _, v := range r.URL.Query()["layer"] {
		for _, l := range strings.Split(v, ",") {
			if l != "" {
				layers = append(layers, l)
			}
		}
	}
	if len(layers) > 0 && r.URL.Query().Get("schedule") == "" {
		return invalid.Field("layer", "say which schedule the layers are of (schedule=ID)")
	}
	out := []oncall.Shift{}
	for _, id := range ids {
		shs, err := s.OnCall.OnCallLayers(r.Context(), id, layers, at)
		if err != nil {
			return err
		}
		out = append(out, shs...)
	}
	httpx.WriteJSON(w, http.StatusOK, struct {
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

// ListSchedules answers GET /api/v1/schedules.
func (s *Handler) ListSchedules(w http.ResponseWriter, r *http.Request) error {
	out, rc := []scheduleJSON{}, s.guard.Reach(r)
	for _, sc := range s.Config.Get().Schedules {
		if !rc.Schedule(sc.ID) {
			continue
		}
		j := scheduleJSON{ID: sc.ID, Name: sc.Name, TimeZone: sc.Location().String(), Layers: []string{}}
		for _, l := range sc.Layers {
			j.Layers = append(j.Layers, l.Name)
		}
		key, err := s.guard.FeedKey(r.Context(), "schedule:"+sc.ID)
		if err != nil {
			return err
		}
		j.FeedURL = s.baseURL(r) + "/api/v1/schedules/" + sc.ID + "/shifts.ics?key=" + key
		out = append(out, j)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"schedules": out})
	return nil
}

// baseURL is where people reach nines: server.base_url, else what this request used.
func (s *Handler) baseURL(r *http.Request) string {
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

// GetShifts answers GET /api/v1/schedules/{id}/shifts.
func (s *Handler) GetShifts(w http.ResponseWriter, r *http.Request) error {
	from, to, err := s.window(r)
	if err != nil {
		return err
	}
	shs, err := s.OnCall.Shifts(r.Context(), r.PathValue("id"), from, to)
	if err != nil {
		return err
	}
	if shs == nil {
		shs = []oncall.Shift{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"shifts": shs})
	return nil
}

// ListOverrides answers GET /api/v1/schedules/{id}/overrides.
func (s *Handler) ListOverrides(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.OnCall.Schedule(r.PathValue("id")); err != nil {
		return err
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
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"overrides": ovs})
	return nil
}

type overrideRequest struct {
	UserID string `json:"user_id"`
	Layer  string `json:"layer"`
	Start  string `json:"start"`
	End    string `json:"end"`
}

// CreateOverride answers POST /api/v1/schedules/{id}/overrides.
func (s *Handler) CreateOverride(w http.ResponseWriter, r *http.Request) error {
	var req overrideRequest
	if err := httpx.ReadJSON(w, r, &req); err != nil {
		return err
	}
	var times [2]time.Time
	for i, f := range []struct{ name, v string }{{"start", req.Start}, {"end", req.End}} {
		if f.v == "" {
			return invalid.Field(f.name, "is required (an RFC 3339 instant such as 2026-03-31T12:00:00Z)")
		}
		t, err := clock.ParseInstant(f.name, f.v)
		if err != nil {
			return err
		}
		times[i] = t
	}
	o, err := s.OnCall.AddOverride(r.Context(), oncall.Override{ScheduleID: r.PathValue("id"), UserID: req.UserID, Layer: req.Layer,
		Start: times[0], End: times[1], CreatedBy: httpx.Actor(r, "api").Name})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, o)
	return nil
}

// OverrideID reads the {override} of the path: a malformed id is a 404.
func OverrideID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("override"), 10, 64)
	if err != nil || id <= 0 {
		return 0, httpx.Errorf(http.StatusNotFound, "override %q not found: ids are positive whole numbers", r.PathValue("override"))
	}
	return id, nil
}

// DeleteOverride answers DELETE /api/v1/schedules/{id}/overrides/{override}.
func (s *Handler) DeleteOverride(w http.ResponseWriter, r *http.Request) error {
	id, err := OverrideID(r)
	if err != nil {
		return err
	}
	if err := s.OnCall.DeleteOverride(r.Context(), r.PathValue("id"), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// RotateFeedKeys replaces every feed key of the caller and answers with the new feed URLs.
func (s *Handler) RotateFeedKeys(w http.ResponseWriter, r *http.Request) error {
	if err := s.guard.RotateFeedKeys(r.Context(), httpx.Principal(r)); err != nil {
		return err
	}
	return s.ListSchedules(w, r)
}
