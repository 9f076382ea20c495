package api

import (
	"net/http"

	"github.com/nines-dev/nines/internal/web/httpx"
)

// serviceView is a service as the API shows it: never its integration keys.
type serviceView struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Description      string   `json:"description,omitempty"`
	Team             string   `json:"team,omitempty"`
	EscalationPolicy string   `json:"escalation_policy,omitempty"`
	Integrations     []string `json:"integrations"`
	OpenIncidents    int      `json:"open_incidents"`
}

// ListServices answers GET /api/v1/services.
func (s *Handler) ListServices(w http.ResponseWriter, r *http.Request) error {
	open, err := s.Incidents.OpenCounts(r.Context())
	if err != nil {
		return err
	}
	cfg, rc := s.Config.Get(), s.guard.Reach(r)
	out := make([]serviceView, 0, len(cfg.Services))
	for _, svc := range cfg.Services {
		if !rc.Service(svc.ID) {
			continue
		}
		v := serviceView{ID: svc.ID, Name: svc.Name, Description: svc.Description, Team: svc.Team,
			EscalationPolicy: svc.EscalationPolicy, Integrations: []string{}, OpenIncidents: open[svc.ID]}
		for _, in := range svc.Integrations {
			v.Integrations = append(v.Integrations, in.Type)
		}
		out = append(out, v)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"services": out})
	return nil
}
