package ui

import (
	"net/http"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/statuspage"
	"github.com/nines-dev/nines/internal/web/api"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// StatusPagesPage answers GET /status-pages.
func (s *Handler) StatusPagesPage(w http.ResponseWriter, r *http.Request) error {
	views, err := s.api.StatusPageViews(r)
	if err != nil {
		return err
	}
	p, _ := httpx.PrincipalFrom(r.Context())
	return s.pages.Render(w, r, http.StatusOK, "statuspages.html", "Status pages", map[string]any{
		"Pages": views, "CanAct": p.Can(auth.Responder),
		"Statuses": []statuspage.Status{statuspage.Operational, statuspage.DegradedPerf, statuspage.PartialOutage, statuspage.MajorOutage, statuspage.UnderMaintenance}})
}

// Override answers POST /status-pages/{page}/components/{component}/override.
func (s *Handler) Override(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, 4<<10); err != nil {
		return err
	}
	if err := s.api.OverrideComponent(r, r.PostForm.Get("status")); err != nil {
		return err
	}
	http.Redirect(w, r, "/status-pages#page-"+r.PathValue("page"), http.StatusSeeOther)
	return nil
}

// CorrectStatusUpdate corrects (action=edit, with body) or retracts (action=retract) a public update
// from the status pages page.
func (s *Handler) CorrectStatusUpdate(w http.ResponseWriter, r *http.Request) error {
	id, upd, err := api.UpdateIDs(r)
	if err != nil {
		return err
	}
	if err := httpx.ReadForm(w, r, httpx.MaxBody); err != nil {
		return err
	}
	var pi statuspage.PublicIncident
	switch r.PostForm.Get("action") {
	case "edit":
		pi, err = s.StatusPages.EditUpdate(r.Context(), id, upd, r.PostForm.Get("body"), "", httpx.Actor(r, "web"))
	case "retract":
		pi, err = s.StatusPages.RetractUpdate(r.Context(), id, upd, httpx.Actor(r, "web"))
	default:
		return invalid.Field("action", "want edit or retract")
	}
	if err := err; err != nil {
		return err
	}
	http.Redirect(w, r, "/status-pages#page-"+pi.PageID, http.StatusSeeOther)
	return nil
}
