package api

import (
	"net/http"
	"time"

	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// EnqueueChange speaks the PagerDuty Change Events API: the routing key of any events_v2
// integration of a service records a change to that service.
func (s *Handler) EnqueueChange(w http.ResponseWriter, r *http.Request) error {
	body, err := httpx.ReadBody(w, r)
	if err != nil {
		return pdError(err)
	}
	key, c, err := change.DecodeEnqueue(body)
	if err != nil {
		return pdError(err)
	}
	t, err := s.target(key, config.IntegrationEventsV2)
	if err != nil {
		return pdError(err)
	}
	c.ServiceID = t.ServiceID
	if _, err := s.Changes.Record(r.Context(), c, incident.Actor{Name: "integration:change_events", Source: "change_events"}); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, eventAccepted{Status: "success", Message: "Change event processed", Warnings: c.Warnings})
	return nil
}

// PostDeploy answers POST /api/v1/changes.
func (s *Handler) PostDeploy(w http.ResponseWriter, r *http.Request) error {
	var d change.Deploy
	if err := httpx.ReadJSON(w, r, &d); err != nil {
		return err
	}
	c, err := d.Change(s.Config.Get().KnowsService)
	if err != nil {
		return err
	}
	c, err = s.Changes.Record(r.Context(), c, httpx.Actor(r, httpx.SourceOf(r)))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, c)
	return nil
}

// span reads from and to (RFC 3339 or dates); the default is the 30 days up to now.
func (s *Handler) span(r *http.Request) (time.Time, time.Time, error) {
	q := r.URL.Query()
	to := s.Clock.Now().UTC()
	if v := q.Get("to"); v != "" {
		t, err := clock.ParseIn("to", v, clock.RFC3339|clock.Date|clock.Local, nil)
		if err != nil {
			return to, to, err
		}
		to = t
	}
	from := to.Add(-30 * 24 * time.Hour)
	if v := q.Get("from"); v != "" {
		t, err := clock.ParseIn("from", v, clock.RFC3339|clock.Date|clock.Local, nil)
		if err != nil {
			return from, to, err
		}
		from = t
	}
	if !from.Before(to) {
		return from, to, invalid.Field("from", "%s is not before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if to.Sub(from) > 2*366*24*time.Hour {
		return from, to, invalid.Field("to", "from..to spans more than two years; ask for a shorter span")
	}
	return from, to, nil
}

// ServiceChanges answers GET /api/v1/services/{id}/changes.
func (s *Handler) ServiceChanges(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.Config.Get().FindService(id); err != nil {
		return err
	}
	from, to, err := s.span(r)
	if err != nil {
		return err
	}
	cs, err := s.Changes.List(r.Context(), change.Query{ServiceIDs: []string{id}, From: from, To: to})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"changes": cs})
	return nil
}

// IncidentChanges answers GET /api/v1/incidents/{id}/changes.
func (s *Handler) IncidentChanges(w http.ResponseWriter, r *http.Request) error {
	inc, err := s.IncidentAt(r)
	if err != nil {
		return err
	}
	lookback := s.Config.Get().Incidents.ChangeLookback.D()
	cs, err := s.Changes.ForIncident(r.Context(), inc, lookback)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"changes": cs, "lookback_seconds": int64(lookback.Seconds())})
	return nil
}

// NameCause records which change caused the incident; DORA's change failure rate counts it.
func (s *Handler) NameCause(w http.ResponseWriter, r *http.Request) error {
	inc, err := s.IncidentAt(r)
	if err != nil {
		return err
	}
	var b struct {
		ChangeID int64 `json:"change_id"`
	}
	if err := httpx.ReadJSON(w, r, &b); err != nil {
		return err
	}
	if b.ChangeID <= 0 {
		return invalid.Field("change_id", "the id of a change or deploy (from GET /api/v1/incidents/{id}/changes) is required")
	}
	c, err := s.Changes.NameCause(r.Context(), inc.ID, b.ChangeID, httpx.Actor(r, httpx.SourceOf(r)))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"incident_id": inc.ID, "cause": c})
	return nil
}
