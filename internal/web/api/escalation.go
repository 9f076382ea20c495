package api

import (
	"net/http"
	"time"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// EscalateIncident answers POST /api/v1/incidents/{id}/escalate.
func (s *Handler) EscalateIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	if err := s.EscalateNow(r, id, "api"); err != nil {
		return err
	}
	return s.writeIncident(w, r, id)
}

// EscalateNow pages the incident's next step at once; the API and the incident page share it
// so both answer the same errors.
func (s *Handler) EscalateNow(r *http.Request, id int64, source string) error {
	return s.Escalation.EscalateNow(r.Context(), id, httpx.Actor(r, source))
}

// ReassignTo stops the incident's policy and pages userID; the API and the incident page
// share it.
func (s *Handler) ReassignTo(r *http.Request, id int64, userID, source string) error {
	if userID == "" {
		return invalid.Field("user_id", "is required")
	}
	return s.Escalation.Reassign(r.Context(), id, userID, httpx.Actor(r, source))
}

// ReassignIncident answers POST /api/v1/incidents/{id}/reassign.
func (s *Handler) ReassignIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	var req struct {
		UserID string `json:"user_id"`
	}
	if err := httpx.ReadJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.ReassignTo(r, id, req.UserID, "api"); err != nil {
		return err
	}
	return s.writeIncident(w, r, id)
}

// SnoozeIncident answers POST /api/v1/incidents/{id}/snooze: {"duration": "4h"}.
func (s *Handler) SnoozeIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	var req struct {
		Duration string `json:"duration"`
	}
	if err := httpx.ReadJSON(w, r, &req); err != nil {
		return err
	}
	inc, until, err := s.SnoozeFor(r, id, req.Duration, "api")
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, snoozed{inc, until.UTC()})
	return nil
}

type snoozed struct {
	incident.Incident
	SnoozedUntil time.Time `json:"snoozed_until"`
}

// SnoozeFor snoozes the incident for duration (escalate.ParseSnooze's rules); the API and the
// incident page share it.
func (s *Handler) SnoozeFor(r *http.Request, id int64, duration, source string) (incident.Incident, time.Time, error) {
	return s.Escalation.Snooze(r.Context(), id, duration, httpx.Actor(r, source))
}
