package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/statuspage"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// statusPageView is a page as the API and the responders' page show it.
type statusPageView struct {
	ID         string                `json:"id"`
	Title      string                `json:"title"`
	URL        string                `json:"url"`
	Indicator  string                `json:"indicator"`
	Why        []string              `json:"why"`
	Components []statusComponentView `json:"components"`
	// Incidents are the public incidents on the page now or in the last 14 days, for
	// correcting their updates.
	Incidents []statuspage.PublicIncident `json:"-"`
}

type statusComponentView struct {
	ID       string               `json:"id"`
	Name     string               `json:"name"`
	Status   statuspage.Status    `json:"status"`
	Derived  statuspage.Status    `json:"derived_status"`
	Reason   string               `json:"reason,omitempty"`
	Override *statuspage.Override `json:"override,omitempty"`
	// Uptime is null when the component has no data over the page's days.
	Uptime     *float64 `json:"uptime_percent"`
	UptimeText string   `json:"uptime"`
}

// StatusPageViews are the status pages as the request's principal sees them: a principal scoped
// to teams sees only the components of its teams, and the page's status as they make it.
func (s *Handler) StatusPageViews(r *http.Request) ([]statusPageView, error) {
	out, rc := []statusPageView{}, s.guard.Reach(r)
	for _, p := range s.Config.Get().StatusPages {
		v, err := s.StatusPages.View(r.Context(), p.ID)
		if err != nil {
			return nil, err
		}
		pv := statusPageView{ID: p.ID, Title: p.Title, URL: "/status/" + p.ID, Indicator: v.Indicator, Why: v.Why, Components: []statusComponentView{},
			Incidents: append(append([]statuspage.PublicIncident{}, v.Active...), v.Past...)}
		var seen []statuspage.Component
		for _, c := range v.Components {
			if !rc.ComponentID(v.Page, c.ID) {
				continue
			}
			seen = append(seen, c)
			cv := statusComponentView{ID: c.ID, Name: c.Name, Status: c.Status, Derived: c.Derived, Reason: c.Reason, Override: c.Override, UptimeText: c.UptimeText()}
			if c.HasData {
				up := c.Uptime
				cv.Uptime = &up
			}
			pv.Components = append(pv.Components, cv)
		}
		if !rc.All() {
			if len(seen) == 0 && len(v.Components) > 0 {
				continue
			}
			pv.Indicator = statuspage.Indicator(seen, v.Active)
			pv.Why = statuspage.Why(seen)
			if pv.Incidents, err = s.reachedPublicIncidents(r, rc, pv.Incidents); err != nil {
				return nil, err
			}
		}
		if pv.Why == nil {
			pv.Why = []string{}
		}
		out = append(out, pv)
	}
	return out, nil
}

// reachedPublicIncidents keeps the public incidents whose incident's service rc reaches: those
// whose updates the principal may correct.
func (s *Handler) reachedPublicIncidents(r *http.Request, rc httpx.Reach, pis []statuspage.PublicIncident) ([]statuspage.PublicIncident, error) {
	out := []statuspage.PublicIncident{}
	for _, pi := range pis {
		if pi.IncidentID == 0 {
			continue
		}
		inc, err := s.Incidents.Get(r.Context(), pi.IncidentID)
		if errors.Is(err, incident.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if rc.Service(inc.ServiceID) {
			out = append(out, pi)
		}
	}
	return out, nil
}

// ListStatusPages answers GET /api/v1/status-pages.
func (s *Handler) ListStatusPages(w http.ResponseWriter, r *http.Request) error {
	views, err := s.StatusPageViews(r)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"status_pages": views})
	return nil
}

// SetOverride answers PUT /api/v1/status-pages/{page}/components/{component}/override.
func (s *Handler) SetOverride(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Status string `json:"status"`
	}
	if err := httpx.ReadJSON(w, r, &body); err != nil {
		return err
	}
	if body.Status == "" {
		return invalid.Field("status", "required; DELETE the override to derive the status again")
	}
	return s.setOverride(w, r, body.Status)
}

// ClearOverride answers DELETE /api/v1/status-pages/{page}/components/{component}/override.
func (s *Handler) ClearOverride(w http.ResponseWriter, r *http.Request) error {
	return s.setOverride(w, r, "")
}

func (s *Handler) setOverride(w http.ResponseWriter, r *http.Request, status string) error {
	if err := s.OverrideComponent(r, status); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// OverrideComponent sets (or, with status "", clears) the override of the component the path
// names; the API and the status pages page share it.
func (s *Handler) OverrideComponent(r *http.Request, status string) error {
	return s.StatusPages.SetOverride(r.Context(), r.PathValue("page"), r.PathValue("component"), statuspage.Status(status),
		httpx.Principal(r).Actor())
}

// PostStatusUpdate answers POST /api/v1/incidents/{id}/status-updates.
func (s *Handler) PostStatusUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	var b struct {
		Page   string `json:"page"`
		Status string `json:"status"`
		Body   string `json:"body"`
		Name   string `json:"name"`
	}
	if err := httpx.ReadJSON(w, r, &b); err != nil {
		return err
	}
	pi, err := s.StatusPages.PostUpdate(r.Context(), statuspage.UpdateParams{PageID: b.Page, IncidentID: id, Status: b.Status, Body: b.Body,
		Name: b.Name, Actor: httpx.Actor(r, httpx.SourceOf(r))})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, pi)
	return nil
}

// UpdateIDs reads the incident {id} and public {update} of the path: malformed ids are a 404.
func UpdateIDs(r *http.Request) (int64, int64, error) {
	id, err := IncidentID(r)
	if err != nil {
		return 0, 0, err
	}
	upd, err := strconv.ParseInt(r.PathValue("update"), 10, 64)
	if err != nil || upd <= 0 {
		return 0, 0, httpx.Errorf(http.StatusNotFound, "public update %q not found: ids are positive whole numbers", r.PathValue("update"))
	}
	return id, upd, nil
}

// EditStatusUpdate answers PATCH /api/v1/incidents/{id}/status-updates/{update}.
func (s *Handler) EditStatusUpdate(w http.ResponseWriter, r *http.Request) error {
	id, upd, err := UpdateIDs(r)
	if err != nil {
		return err
	}
	var b struct {
		Body string `json:"body"`
		Name string `json:"name"`
	}
	if err := httpx.ReadJSON(w, r, &b); err != nil {
		return err
	}
	pi, err := s.StatusPages.EditUpdate(r.Context(), id, upd, b.Body, b.Name, httpx.Actor(r, httpx.SourceOf(r)))
	if err := err; err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, pi)
	return nil
}

// RetractStatusUpdate answers DELETE /api/v1/incidents/{id}/status-updates/{update}.
func (s *Handler) RetractStatusUpdate(w http.ResponseWriter, r *http.Request) error {
	id, upd, err := UpdateIDs(r)
	if err != nil {
		return err
	}
	pi, err := s.StatusPages.RetractUpdate(r.Context(), id, upd, httpx.Actor(r, httpx.SourceOf(r)))
	if err := err; err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, pi)
	return nil
}
