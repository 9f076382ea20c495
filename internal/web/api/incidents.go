package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/timeline"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// ListIncidents answers GET /api/v1/incidents.
func (s *Handler) ListIncidents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := IncidentFilter(s.Config.Get(), q)
	if err != nil {
		return err
	}
	f.Cursor = q.Get("cursor")
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return invalid.Field("limit", "%q is not a whole number from 1 to 1000", l)
		}
		f.Limit = n
	}
	if f.ServiceIDs, err = s.guard.Reach(r).Services(f.ServiceIDs); err != nil {
		return err
	}
	incs, next, err := s.Incidents.List(r.Context(), f)
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
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}

// GetIncident answers GET /api/v1/incidents/{id}.
func (s *Handler) GetIncident(w http.ResponseWriter, r *http.Request) error {
	inc, err := s.IncidentAt(r)
	if err != nil {
		return err
	}
	st, err := s.Escalation.Status(r.Context(), inc.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, incidentWithEscalation{inc, st})
	return nil
}

// incidentWithEscalation is an incident with where its escalation stands: whom it paged, how
// each page fared, and what happens next.
type incidentWithEscalation struct {
	incident.Incident
	Escalation escalate.Status `json:"escalation"`
}

// GetTimeline answers GET /api/v1/incidents/{id}/timeline.
func (s *Handler) GetTimeline(w http.ResponseWriter, r *http.Request) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	events, err := s.Incidents.Timeline(r.Context(), id)
	if err != nil {
		return err
	}
	// Each entry with its sentence (package timeline), times in UTC.
	type entry struct {
		incident.Event
		Text string `json:"text"`
	}
	told := make([]entry, len(events))
	o := timeline.Options{Config: s.Config.Get()}
	for i, e := range events {
		told[i] = entry{e, timeline.Sentence(e, o)}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"events": told})
	return nil
}

// GetIncidentAlerts answers GET /api/v1/incidents/{id}/alerts.
func (s *Handler) GetIncidentAlerts(w http.ResponseWriter, r *http.Request) error {
	inc, err := s.IncidentAt(r)
	if err != nil {
		return err
	}
	alerts, err := s.Alerts.ForIncident(r.Context(), inc.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"alerts": alerts})
	return nil
}

// AcknowledgeIncident answers POST /api/v1/incidents/{id}/acknowledge.
func (s *Handler) AcknowledgeIncident(w http.ResponseWriter, r *http.Request) error {
	return s.transitionIncident(w, r, incident.Acknowledged)
}

// ResolveIncident answers POST /api/v1/incidents/{id}/resolve.
func (s *Handler) ResolveIncident(w http.ResponseWriter, r *http.Request) error {
	return s.transitionIncident(w, r, incident.Resolved)
}

func (s *Handler) transitionIncident(w http.ResponseWriter, r *http.Request, to incident.State) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	a := httpx.Actor(r, httpx.SourceOf(r))
	var inc incident.Incident
	if to == incident.Acknowledged {
		inc, err = s.Incidents.Acknowledge(r.Context(), id, a)
	} else {
		inc, err = s.Incidents.Resolve(r.Context(), id, a)
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, inc)
	return nil
}

// AddNote answers POST /api/v1/incidents/{id}/notes.
func (s *Handler) AddNote(w http.ResponseWriter, r *http.Request) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	var body struct {
		Text string `json:"text"`
	}
	if err := httpx.ReadJSON(w, r, &body); err != nil {
		return err
	}
	ev, err := s.Incidents.AddNote(r.Context(), id, body.Text, httpx.Actor(r, httpx.SourceOf(r)))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, ev)
	return nil
}

// DeclareBody is an incident to declare, as the API and the declare form give it.
type DeclareBody struct {
	Service         string            `json:"service"`
	Title           string            `json:"title"`
	SEV             string            `json:"sev"`
	Summary         string            `json:"summary"`
	ImpactStartedAt string            `json:"impact_started_at"`
	Roles           map[string]string `json:"roles"`
}

// Declare opens the incident b describes, by incident's rules against the config in force;
// the API and the declare form share it. Without a commander, whoever escalation would page
// first commands it.
func (s *Handler) Declare(ctx context.Context, b DeclareBody, a incident.Actor) (incident.Incident, error) {
	cfg := s.Config.Get()
	p := incident.DeclareParams{ServiceID: b.Service, Title: b.Title, SEV: b.SEV, Summary: b.Summary, Roles: b.Roles, Actor: a}
	bad := p.Check(cfg)
	if b.ImpactStartedAt != "" {
		t, err := clock.ParseIn("impact_started_at", b.ImpactStartedAt, clock.RFC3339|clock.Date|clock.Local, nil)
		if ie, ok := invalid.As(err); ok {
			bad.Problems = append(bad.Problems, ie.Problems...)
		}
		p.ImpactStartedAt = &t
	}
	if err := bad.Err(); err != nil {
		return incident.Incident{}, err
	}
	return s.Incidents.Declare(ctx, p, cfg)
}

// DeclareIncident answers POST /api/v1/incidents.
func (s *Handler) DeclareIncident(w http.ResponseWriter, r *http.Request) error {
	var b DeclareBody
	if err := httpx.ReadJSON(w, r, &b); err != nil {
		return err
	}
	inc, err := s.Declare(r.Context(), b, httpx.Actor(r, httpx.SourceOf(r)))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, inc)
	return nil
}

// SetSEV answers POST /api/v1/incidents/{id}/sev.
func (s *Handler) SetSEV(w http.ResponseWriter, r *http.Request) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	var b struct {
		SEV    string `json:"sev"`
		Reason string `json:"reason"`
	}
	if err := httpx.ReadJSON(w, r, &b); err != nil {
		return err
	}
	inc, err := s.Incidents.SetSEV(r.Context(), id, b.SEV, b.Reason, httpx.Actor(r, httpx.SourceOf(r)))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, inc)
	return nil
}

// AssignRole answers POST /api/v1/incidents/{id}/roles.
func (s *Handler) AssignRole(w http.ResponseWriter, r *http.Request) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	var b struct {
		Role   string `json:"role"`
		Person string `json:"person"`
	}
	if err := httpx.ReadJSON(w, r, &b); err != nil {
		return err
	}
	inc, err := s.Incidents.AssignRole(r.Context(), id, b.Role, b.Person, httpx.Actor(r, httpx.SourceOf(r)), s.Config.Get())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, inc)
	return nil
}

// SetImpact answers POST /api/v1/incidents/{id}/impact.
func (s *Handler) SetImpact(w http.ResponseWriter, r *http.Request) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	var b struct {
		ImpactStartedAt string `json:"impact_started_at"`
	}
	if err := httpx.ReadJSON(w, r, &b); err != nil {
		return err
	}
	at, err := clock.ParseIn("impact_started_at", b.ImpactStartedAt, clock.RFC3339|clock.Date|clock.Local, nil)
	if err != nil {
		return err
	}
	inc, err := s.Incidents.SetImpactStart(r.Context(), id, at, httpx.Actor(r, httpx.SourceOf(r)))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, inc)
	return nil
}

// AddLink answers POST /api/v1/incidents/{id}/links.
func (s *Handler) AddLink(w http.ResponseWriter, r *http.Request) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	var b struct {
		URL   string `json:"url"`
		Title string `json:"title"`
	}
	if err := httpx.ReadJSON(w, r, &b); err != nil {
		return err
	}
	l, err := s.Incidents.AddLink(r.Context(), id, b.URL, b.Title, httpx.Actor(r, httpx.SourceOf(r)))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, l)
	return nil
}

// ListLinks answers GET /api/v1/incidents/{id}/links.
func (s *Handler) ListLinks(w http.ResponseWriter, r *http.Request) error {
	inc, err := s.IncidentAt(r)
	if err != nil {
		return err
	}
	links, err := s.Incidents.Links(r.Context(), inc.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"links": links})
	return nil
}

// MarkActionable answers POST /api/v1/incidents/{id}/alerts/actionable.
func (s *Handler) MarkActionable(w http.ResponseWriter, r *http.Request) error {
	id, err := IncidentID(r)
	if err != nil {
		return err
	}
	var b struct {
		AlertIDs   []int64 `json:"alert_ids"`
		Actionable *bool   `json:"actionable"`
	}
	if err := httpx.ReadJSON(w, r, &b); err != nil {
		return err
	}
	if b.Actionable == nil {
		return invalid.Field("actionable", "say true or false")
	}
	if _, err := s.Incidents.Get(r.Context(), id); err != nil {
		return err
	}
	if err := s.Alerts.MarkActionable(r.Context(), id, b.AlertIDs, *b.Actionable, httpx.Actor(r, httpx.SourceOf(r))); err != nil {
		return err
	}
	alerts, err := s.Alerts.ForIncident(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"alerts": alerts})
	return nil
}

// Runbook is a runbook as the API shows it: a link, or Markdown to read in place.
type Runbook struct {
	DedupKey string `json:"dedup_key,omitempty"`
	URL      string `json:"url,omitempty"`
	Markdown string `json:"markdown,omitempty"`
}

// RunbookOf reads a runbook of the config: a link when it is one, else Markdown.
func RunbookOf(v string) Runbook {
	v = strings.TrimSpace(v)
	if u, err := url.Parse(v); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.ContainsAny(v, " \n") {
		return Runbook{URL: v}
	}
	return Runbook{Markdown: v}
}

// Runbooks are the service's runbook and those of the incident's alert keys.
func (s *Handler) Runbooks(ctx context.Context, inc incident.Incident) (*Runbook, []Runbook, error) {
	svc := s.Config.Get().Service(inc.ServiceID)
	if svc == nil {
		return nil, []Runbook{}, nil
	}
	var service *Runbook
	if svc.Runbook != "" {
		rb := RunbookOf(svc.Runbook)
		service = &rb
	}
	alerts, err := s.Alerts.ForIncident(ctx, inc.ID)
	if err != nil {
		return nil, nil, err
	}
	out := []Runbook{}
	seen := map[string]bool{}
	for _, a := range alerts {
		if v, ok := svc.Runbooks[a.DedupKey]; ok && !seen[a.DedupKey] {
			seen[a.DedupKey] = true
			rb := RunbookOf(v)
			rb.DedupKey = a.DedupKey
			out = append(out, rb)
		}
	}
	return service, out, nil
}

// GetRunbook answers GET /api/v1/incidents/{id}/runbook.
func (s *Handler) GetRunbook(w http.ResponseWriter, r *http.Request) error {
	inc, err := s.IncidentAt(r)
	if err != nil {
		return err
	}
	svc, alerts, err := s.Runbooks(r.Context(), inc)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"service": svc, "alerts": alerts})
	return nil
}

// GetSimilar answers GET /api/v1/incidents/{id}/similar.
func (s *Handler) GetSimilar(w http.ResponseWriter, r *http.Request) error {
	inc, err := s.IncidentAt(r)
	if err != nil {
		return err
	}
	sim, err := s.Similar(r, inc)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"similar": sim})
	return nil
}

// Similar are the five resolved incidents most like inc that the request's principal reaches.
func (s *Handler) Similar(r *http.Request, inc incident.Incident) ([]postmortem.Similar, error) {
	const want = 5
	rc := s.guard.Reach(r)
	n := want
	if !rc.All() {
		n = 50 // others' incidents are dropped below
	}
	sim, err := s.Postmortems.SimilarTo(r.Context(), inc, n)
	if err != nil {
		return nil, err
	}
	out := sim[:0]
	for _, x := range sim {
		if rc.Service(x.Incident.ServiceID) && len(out) < want {
			out = append(out, x)
		}
	}
	return out, nil
}
