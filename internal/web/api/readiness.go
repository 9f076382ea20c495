package api

import (
	"net/http"

	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/readiness"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// Production readiness scorecards: the table of every service, each service's checklist, and
// attestations of the checks nines cannot see.

// ReadinessTable is the summary of every service the request's principal reaches.
func (s *Handler) ReadinessTable(r *http.Request) ([]readiness.Summary, error) {
	services, err := s.guard.Reach(r).Services(nil)
	if err != nil {
		return nil, err
	}
	return s.Readiness.Table(r.Context(), services)
}

// ListReadiness answers GET /api/v1/readiness.
func (s *Handler) ListReadiness(w http.ResponseWriter, r *http.Request) error {
	table, err := s.ReadinessTable(r)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"services": table})
	return nil
}

// GetReadiness answers GET /api/v1/services/{id}/readiness.
func (s *Handler) GetReadiness(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.Readiness.Report(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, rep)
	return nil
}

// attestRequest is the body of an attestation.
type attestRequest struct {
	Check string `json:"check"`
	Note  string `json:"note"`
}

// Attest answers POST /api/v1/services/{id}/readiness/attestations.
func (s *Handler) Attest(w http.ResponseWriter, r *http.Request) error {
	var q attestRequest
	if err := httpx.ReadJSON(w, r, &q); err != nil {
		return err
	}
	if q.Check == "" {
		return invalid.Field("check", "name the check you attest, such as restore_tested")
	}
	a, err := s.Readiness.Attest(r.Context(), r.PathValue("id"), q.Check, httpx.Principal(r).Person(), q.Note)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, a)
	return nil
}
