package ui

import (
	"net/http"
	"net/url"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/readiness"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// readinessColumn is a check of the table's columns.
type readinessColumn struct{ ID, Name string }

// ReadinessPage answers GET /readiness: every service's checks in one table.
func (s *Handler) ReadinessPage(w http.ResponseWriter, r *http.Request) error {
	table, err := s.api.ReadinessTable(r)
	if err != nil {
		return err
	}
	var cols []readinessColumn
	seen := map[string]bool{}
	cfg := s.Config.Get()
	for _, sm := range table {
		for _, d := range readiness.Checklist(cfg, sm.Service) {
			if !seen[d.ID] {
				seen[d.ID] = true
				cols = append(cols, readinessColumn{d.ID, d.Name})
			}
		}
	}
	return s.pages.Render(w, r, http.StatusOK, "readiness_table.html", "Readiness", map[string]any{"Table": table, "Columns": cols})
}

// ServiceReadinessPage answers GET /services/{id}/readiness: the checklist, with attest buttons.
func (s *Handler) ServiceReadinessPage(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.Readiness.Report(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	// The confirmation names a check of the report, never what the link says.
	done := ""
	for _, c := range rep.Checks {
		if c.ID == r.URL.Query().Get("attested") && c.Attestation != nil {
			done = c.Name
		}
	}
	return s.pages.Render(w, r, http.StatusOK, "readiness_service.html", rep.Name+" readiness", map[string]any{
		"Report": rep, "CanAct": httpx.Principal(r).Can(auth.Responder), "Done": done})
}

// Attest answers POST /services/{id}/readiness/attest.
func (s *Handler) Attest(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, 16<<10); err != nil {
		return err
	}
	id, check := r.PathValue("id"), r.PostForm.Get("check")
	if check == "" {
		return invalid.Field("check", "choose the check you attest")
	}
	a, err := s.Readiness.Attest(r.Context(), id, check, httpx.Principal(r).Person(), r.PostForm.Get("note"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/services/"+url.PathEscape(id)+"/readiness?attested="+url.QueryEscape(a.Check)+"#check-"+url.QueryEscape(a.Check), http.StatusSeeOther)
	return nil
}
