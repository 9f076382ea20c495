package api

import (
	"net/http"
	"strconv"

	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// DraftPostmortem answers POST /api/v1/incidents/{id}/postmortem.
func (s *Handler) DraftPostmortem(w http.ResponseWriter, r *http.Request) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	pm, created, err := s.Postmortems.Draft(r.Context(), id, httpx.Actor(r, httpx.SourceOf(r)))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpx.WriteJSON(w, status, pm)
	return nil
}

// GetPostmortem answers GET /api/v1/incidents/{id}/postmortem.
func (s *Handler) GetPostmortem(w http.ResponseWriter, r *http.Request) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "markdown" && format != "html" {
		return invalid.Field("format", "%q is not markdown, html or json", format)
	}
	pm, err := s.Postmortems.Get(r.Context(), id)
	if err != nil {
		return err
	}
	var out []byte
	switch format {
	case "markdown":
		out, err = pm.Markdown()
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	case "html":
		out, err = pm.HTML()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	default:
		out, err = pm.JSON()
		w.Header().Set("Content-Type", "application/json")
	}
	if err != nil {
		return err
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(out)
	return nil
}

// EditPostmortem answers PATCH /api/v1/incidents/{id}/postmortem.
func (s *Handler) EditPostmortem(w http.ResponseWriter, r *http.Request) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	var p postmortem.Patch
	if err := httpx.ReadJSON(w, r, &p); err != nil {
		return err
	}
	pm, err := s.Postmortems.Edit(r.Context(), id, p, httpx.Actor(r, httpx.SourceOf(r)))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, pm)
	return nil
}

// PublishPostmortem answers POST /api/v1/incidents/{id}/postmortem/publish.
func (s *Handler) PublishPostmortem(w http.ResponseWriter, r *http.Request) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	if err := s.Postmortems.Publish(r.Context(), id, httpx.Actor(r, httpx.SourceOf(r))); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "published"})
	return nil
}

// ListActions answers GET /api/v1/incidents/{id}/postmortem/actions.
func (s *Handler) ListActions(w http.ResponseWriter, r *http.Request) error {
	inc, err := s.IncidentAt(r)
	if err != nil {
		return err
	}
	items, err := s.Postmortems.Actions(r.Context(), inc.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"actions": items})
	return nil
}

// AddAction answers POST /api/v1/incidents/{id}/postmortem/actions.
func (s *Handler) AddAction(w http.ResponseWriter, r *http.Request) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	var n postmortem.NewAction
	if err := httpx.ReadJSON(w, r, &n); err != nil {
		return err
	}
	item, err := s.Postmortems.AddAction(r.Context(), id, n, httpx.Actor(r, httpx.SourceOf(r)))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, item)
	return nil
}

// UpdateAction answers PATCH /api/v1/actions/{aid}.
func (s *Handler) UpdateAction(w http.ResponseWriter, r *http.Request) error {
	aid, err := strconv.ParseInt(r.PathValue("aid"), 10, 64)
	if err != nil || aid <= 0 {
		return httpx.Errorf(http.StatusNotFound, "action item %q not found: ids are positive whole numbers", r.PathValue("aid"))
	}
	var p postmortem.ActionPatch
	if err := httpx.ReadJSON(w, r, &p); err != nil {
		return err
	}
	item, err := s.Postmortems.UpdateAction(r.Context(), aid, p, httpx.Actor(r, httpx.SourceOf(r)))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, item)
	return nil
}

// Search answers GET /api/v1/search.
func (s *Handler) Search(w http.ResponseWriter, r *http.Request) error {
	q, err := postmortem.CheckQuery(r.URL.Query().Get("q"))
	if err != nil {
		return err
	}
	limit := 20
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			return invalid.Field("limit", "%q is not a whole number from 1 to 100", l)
		}
		limit = n
	}
	hits, err := s.SearchHits(r, q, limit)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"results": hits})
	return nil
}

// SearchHits are the best limit hits for q among the incidents the request's principal reaches.
func (s *Handler) SearchHits(r *http.Request, q string, limit int) ([]postmortem.Hit, error) {
	rc := s.guard.Reach(r)
	n := limit
	if !rc.All() {
		n = 100 // the most the index answers; others' hits are dropped below
	}
	hits, err := s.Postmortems.Search(r.Context(), q, n)
	if err != nil {
		return nil, err
	}
	out := hits[:0]
	for _, h := range hits {
		if rc.Service(h.ServiceID) && len(out) < limit {
			out = append(out, h)
		}
	}
	return out, nil
}
