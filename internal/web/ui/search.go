package ui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/postmortem"
)

// SearchPage answers GET /search.
func (s *Handler) SearchPage(w http.ResponseWriter, r *http.Request) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var hits []postmortem.Hit
	if q != "" { // an empty query is the search page with nothing searched yet
		var err error
		if hits, err = s.api.SearchHits(r, q, 50); err != nil {
			return err
		}
	}
	// One entry per incident, at the rank of its best document, with what else matched.
	type result struct {
		postmortem.Hit
		Also []string
		SEV  string // the incident's SEV level, said as every page says it
	}
	var results []*result
	byIncident := map[int64]*result{}
	for _, h := range hits {
		if res := byIncident[h.IncidentID]; res != nil {
			if res.Snippet == "" {
				res.Snippet = h.Snippet
			}
			res.Also = append(res.Also, h.Kind)
			continue
		}
		res := &result{Hit: h}
		if inc, err := s.Incidents.Get(r.Context(), h.IncidentID); err == nil {
			res.SEV = inc.SEV
		} else if !errors.Is(err, incident.ErrNotFound) {
			return err
		}
		byIncident[h.IncidentID] = res
		results = append(results, res)
	}
	return s.pages.Render(w, r, http.StatusOK, "search.html", "Search", map[string]any{"Q": q, "Hits": results})
}
