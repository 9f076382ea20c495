package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/incident"
)

func (s *Server) incidentRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/incidents", Role: auth.Viewer, Handle: s.listIncidents, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}", Role: auth.Viewer, Handle: s.getIncident, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/timeline", Role: auth.Viewer, Handle: s.getTimeline, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/alerts", Role: auth.Viewer, Handle: s.getIncidentAlerts, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/acknowledge", Role: auth.Responder, Handle: s.acknowledgeIncident, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/resolve", Role: auth.Responder, Handle: s.resolveIncident, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/notes", Role: auth.Responder, Handle: s.addNote, API: true},
		{Method: "GET", Pattern: "/api/v1/services", Role: auth.Viewer, Handle: s.listServices, API: true},
	}
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := incident.Filter{Cursor: q.Get("cursor")}
	for _, v := range q["service"] {
		for _, id := range strings.Split(v, ",") {
			if id == "" {
				continue
			}
			if s.Config.Get().Service(id) == nil {
				return errorf(http.StatusBadRequest, "service: unknown service %q", id)
			}
			f.ServiceIDs = append(f.ServiceIDs, id)
		}
	}
	for _, v := range q["state"] {
		for _, st := range strings.Split(v, ",") {
			switch st {
			case "":
			case "open":
				f.States = append(f.States, incident.Triggered, incident.Acknowledged)
			default:
				if !incident.State(st).Valid() {
					return errorf(http.StatusBadRequest, "state: %q is not one of triggered, acknowledged, resolved, open", st)
				}
				f.States = append(f.States, incident.State(st))
			}
		}
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return errorf(http.StatusBadRequest, "limit: %q is not a whole number from 1 to 1000", l)
		}
		f.Limit = n
	}
	incs, next, err := s.Incidents.List(r.Context(), f)
	if errors.Is(err, incident.ErrCursor) {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	if err != nil {
		return err
	}
	if incs == nil {
		incs = []incident.Incident{}
	}
	body := map[string]any{"incidents": incs}
	if next != "" {
		body["next_cursor"] = next
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func incidentID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errorf(http.StatusNotFound, "incident %q not found: ids are positive whole numbers", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	inc, err := s.Incidents.Get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, inc)
	return nil
}

func (s *Server) getTimeline(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	events, err := s.Incidents.Timeline(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events})
	return nil
}

func (s *Server) getIncidentAlerts(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	if _, err := s.Incidents.Get(r.Context(), id); err != nil {
		return err
	}
	alerts, err := s.Alerts.ForIncident(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": alerts})
	return nil
}

func (s *Server) acknowledgeIncident(w http.ResponseWriter, r *http.Request) error {
	return s.transitionIncident(w, r, incident.Acknowledged)
}

func (s *Server) resolveIncident(w http.ResponseWriter, r *http.Request) error {
	return s.transitionIncident(w, r, incident.Resolved)
}

func (s *Server) transitionIncident(w http.ResponseWriter, r *http.Request, to incident.State) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	if err := s.checkScope(r, id); err != nil {
		return err
	}
	a := actor(r, sourceOf(r))
	var inc incident.Incident
	if to == incident.Acknowledged {
		inc, err = s.Incidents.Acknowledge(r.Context(), id, a)
	} else {
		inc, err = s.Incidents.Resolve(r.Context(), id, a)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, inc)
	return nil
}

// sourceOf names the client a request came from: the CLI says so in a header.
func sourceOf(r *http.Request) string {
	if c := r.Header.Get("X-Nines-Client"); c == "cli" {
		return "cli"
	}
	return "api"
}

func (s *Server) addNote(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	var body struct {
		Text string `json:"text"`
	}
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if err := s.checkScope(r, id); err != nil {
		return err
	}
	body.Text = strings.TrimSpace(body.Text)
	if body.Text == "" {
		return errorf(http.StatusBadRequest, "text: a note needs some text")
	}
	if len(body.Text) > 64<<10 {
		return errorf(http.StatusBadRequest, "text: a note is at most 64 KiB")
	}
	ev, err := s.Incidents.AddNote(r.Context(), id, body.Text, actor(r, sourceOf(r)))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ev)
	return nil
}

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

func (s *Server) listServices(w http.ResponseWriter, r *http.Request) error {
	open, err := s.Incidents.OpenCounts(r.Context())
	if err != nil {
		return err
	}
	cfg := s.Config.Get()
	out := make([]serviceView, 0, len(cfg.Services))
	for _, svc := range cfg.Services {
		v := serviceView{ID: svc.ID, Name: svc.Name, Description: svc.Description, Team: svc.Team,
			EscalationPolicy: svc.EscalationPolicy, Integrations: []string{}, OpenIncidents: open[svc.ID]}
		for _, in := range svc.Integrations {
			v.Integrations = append(v.Integrations, in.Type)
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"services": out})
	return nil
}
