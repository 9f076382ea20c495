// Package api is nines' JSON API for tools and scripts (/api/v1, the PagerDuty-compatible
// /v2 ingest, health and metrics): one file per domain, each handler named in web's route
// table. The pages of package ui show what these handlers answer, and call the ones they share.
package api

import (
	"net/http"
	"strconv"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// Handler answers the API's routes.
type Handler struct {
	httpx.Services
	guard   *httpx.Guard
	metrics *httpx.Metrics
	ready   readyCheck
	checks  checkLimit // checks of monitors made on request, in flight per caller
}

// New returns the API's handler on svc; guard authorizes what handlers check themselves.
func New(svc httpx.Services, guard *httpx.Guard, metrics *httpx.Metrics) *Handler {
	return &Handler{Services: svc, guard: guard, metrics: metrics}
}

// IncidentID reads the {id} of the path: a malformed id is a 404.
func IncidentID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, httpx.Errorf(http.StatusNotFound, "incident %q not found: ids are positive whole numbers", r.PathValue("id"))
	}
	return id, nil
}

// IncidentAt loads the incident the {id} path value names: a malformed or unknown id is a 404.
func (s *Handler) IncidentAt(r *http.Request) (incident.Incident, error) {
	id, err := IncidentID(r)
	if err != nil {
		return incident.Incident{}, err
	}
	return s.Incidents.Get(r.Context(), id)
}

func (s *Handler) writeIncident(w http.ResponseWriter, r *http.Request, id int64) error {
	inc, err := s.Incidents.Get(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, inc)
	return nil
}
