package ui

import (
	"net/http"
	"sort"
	"time"

	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/web/api"
)

// ServicePage answers GET /services/{id}.
func (s *Handler) ServicePage(w http.ResponseWriter, r *http.Request) error {
	cfg := s.Config.Get()
	svc, err := cfg.FindService(r.PathValue("id"))
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	changes, err := s.Changes.List(r.Context(), change.Query{ServiceIDs: []string{svc.ID}, From: now.Add(-30 * 24 * time.Hour), To: now.Add(time.Minute)})
	if err != nil {
		return err
	}
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].At.After(changes[j].At) })
	incs, _, err := s.Incidents.List(r.Context(), incident.Filter{ServiceIDs: []string{svc.ID}, Limit: 20})
	if err != nil {
		return err
	}
	var rb *api.Runbook
	if svc.Runbook != "" {
		v := api.RunbookOf(svc.Runbook)
		rb = &v
	}
	var keys []api.Runbook
	for k, v := range svc.Runbooks {
		x := api.RunbookOf(v)
		x.DedupKey = k
		keys = append(keys, x)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].DedupKey < keys[j].DedupKey })
	return s.pages.Render(w, r, http.StatusOK, "service.html", svc.Name, map[string]any{
		"Service": svc, "Changes": changes, "Incidents": incs, "Runbook": rb, "AlertRunbooks": keys})
}
