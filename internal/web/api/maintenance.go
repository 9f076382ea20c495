package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/maintenance"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// Windows are the windows of ws the request's principal sees, as it sees them.
func (s *Handler) Windows(r *http.Request, ws []maintenance.Window) []maintenance.Window {
	rc := s.guard.Reach(r)
	out := make([]maintenance.Window, 0, len(ws))
	for _, w := range ws {
		if w, ok := rc.Window(w); ok {
			out = append(out, w)
		}
	}
	return out
}

// pastParam reads ?past=30d: list windows that ended within that long too.
func (s *Handler) pastParam(r *http.Request) (time.Time, error) {
	now := s.Clock.Now()
	v := r.URL.Query().Get("past")
	if v == "" {
		return now, nil
	}
	d, err := config.ParseDuration(v)
	if err != nil || d < 0 || d > 400*24*time.Hour {
		return now, invalid.Field("past", "%q: want a duration up to 400d, such as 30d", v)
	}
	return now.Add(-d), nil
}

// ListMaintenance answers GET /api/v1/maintenance.
func (s *Handler) ListMaintenance(w http.ResponseWriter, r *http.Request) error {
	past, err := s.pastParam(r)
	if err != nil {
		return err
	}
	ws, err := s.Maintenance.List(r.Context(), past)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"maintenance": s.Windows(r, ws)})
	return nil
}

// GetMaintenance answers GET /api/v1/maintenance/{id}.
func (s *Handler) GetMaintenance(w http.ResponseWriter, r *http.Request) error {
	mw, err := s.Maintenance.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	mw, _ = s.guard.Reach(r).Window(mw) // the route's scope let the principal through
	httpx.WriteJSON(w, http.StatusOK, mw)
	return nil
}

// ScheduleWindow answers POST /api/v1/maintenance.
func (s *Handler) ScheduleWindow(w http.ResponseWriter, r *http.Request) error {
	var p maintenance.Params
	if err := httpx.ReadJSON(w, r, &p); err != nil {
		return err
	}
	pr, _ := httpx.PrincipalFrom(r.Context())
	mw, err := s.Maintenance.Schedule(r.Context(), p, pr.Actor())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, mw)
	return nil
}

// EditMaintenance answers PATCH /api/v1/maintenance/{id}.
func (s *Handler) EditMaintenance(w http.ResponseWriter, r *http.Request) error {
	var q maintenance.Patch
	if err := httpx.ReadJSON(w, r, &q); err != nil {
		return err
	}
	pr, _ := httpx.PrincipalFrom(r.Context())
	mw, err := s.Maintenance.Edit(r.Context(), r.PathValue("id"), q, pr.Actor())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, mw)
	return nil
}

// CancelMaintenance answers DELETE /api/v1/maintenance/{id}.
func (s *Handler) CancelMaintenance(w http.ResponseWriter, r *http.Request) error {
	pr, _ := httpx.PrincipalFrom(r.Context())
	mw, err := s.Maintenance.Cancel(r.Context(), r.PathValue("id"), pr.Actor())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, mw)
	return nil
}

type maintenanceBody struct {
	Name           string   `json:"name"`
	Body           string   `json:"body"`
	ScheduledFor   string   `json:"scheduled_for"`
	ScheduledUntil string   `json:"scheduled_until"`
	Components     []string `json:"components"`
}

// ScheduleMaintenance answers POST /api/v1/status-pages/{page}/maintenance.
func (s *Handler) ScheduleMaintenance(w http.ResponseWriter, r *http.Request) error {
	var b maintenanceBody
	if err := httpx.ReadJSON(w, r, &b); err != nil {
		return err
	}
	mw, err := s.legacyMaintenance(r, b)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, mw)
	return nil
}

// legacyMaintenance schedules, from a status page's form or route, a window over the
// components ticked (their services and monitors), announced on that page.
func (s *Handler) legacyMaintenance(r *http.Request, b maintenanceBody) (maintenance.Window, error) {
	page := r.PathValue("page")
	sp := s.StatusPages.Page(page)
	if sp == nil {
		return maintenance.Window{}, httpx.Errorf(http.StatusNotFound, "status page %q not found", page)
	}
	var from, to time.Time
	for _, f := range []struct {
		name, v string
		dst     *time.Time
	}{{"scheduled_for", b.ScheduledFor, &from}, {"scheduled_until", b.ScheduledUntil, &to}} {
		// RFC 3339, or the value of an HTML datetime-local field (taken as UTC).
		t, err := clock.ParseIn(f.name, f.v, clock.RFC3339|clock.Local, nil)
		if err != nil {
			return maintenance.Window{}, err
		}
		*f.dst = t
	}
	p := maintenance.Params{Name: b.Name, Description: b.Body, Start: from.Format(time.RFC3339), End: to.Format(time.RFC3339),
		Announce: true, StatusPages: []string{page}}
	seen := map[string]bool{}
	for _, c := range sp.Components {
		if len(b.Components) > 0 && !slices.Contains(b.Components, c.ID) {
			continue
		}
		if c.Service != "" && !seen["s:"+c.Service] {
			seen["s:"+c.Service] = true
			p.Services = append(p.Services, c.Service)
		} else if c.Service == "" && c.Monitor != "" && !seen["m:"+c.Monitor] {
			seen["m:"+c.Monitor] = true
			p.Monitors = append(p.Monitors, c.Monitor)
		}
	}
	for _, c := range b.Components {
		found := false
		for _, cc := range sp.Components {
			found = found || cc.ID == c
		}
		if !found {
			return maintenance.Window{}, invalid.Field("components", "%q is not a component of status page %s", c, page)
		}
	}
	pr, _ := httpx.PrincipalFrom(r.Context())
	mw, err := s.Maintenance.Schedule(r.Context(), p, pr.Actor())
	return mw, err
}
