package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/report"
)

func (s *Server) responseRoutes() []Route {
	return []Route{
		// Incident response.
		{Method: "POST", Pattern: "/api/v1/incidents", Role: auth.Responder, Handle: s.declareIncident, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/sev", Role: auth.Responder, Handle: s.setSEV, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/roles", Role: auth.Responder, Handle: s.assignRole, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/impact", Role: auth.Responder, Handle: s.setImpact, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/links", Role: auth.Viewer, Handle: s.listLinks, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/links", Role: auth.Responder, Handle: s.addLink, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/alerts/actionable", Role: auth.Responder, Handle: s.markActionable, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/runbook", Role: auth.Viewer, Handle: s.getRunbook, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/similar", Role: auth.Viewer, Handle: s.getSimilar, API: true},
		// Changes.
		{Method: "POST", Pattern: "/v2/change/enqueue", Access: Key, Handle: s.enqueueChange, API: true},
		{Method: "POST", Pattern: "/api/v1/changes", Role: auth.Responder, Handle: s.postDeploy, API: true},
		{Method: "GET", Pattern: "/api/v1/services/{id}/changes", Role: auth.Viewer, Handle: s.serviceChanges, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/changes", Role: auth.Viewer, Handle: s.incidentChanges, API: true},
		// Postmortems and action items.
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/postmortem", Role: auth.Responder, Handle: s.draftPostmortem, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/postmortem", Role: auth.Viewer, Handle: s.getPostmortem, API: true},
		{Method: "PATCH", Pattern: "/api/v1/incidents/{id}/postmortem", Role: auth.Responder, Handle: s.editPostmortem, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/postmortem/publish", Role: auth.Responder, Handle: s.publishPostmortem, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/postmortem/actions", Role: auth.Viewer, Handle: s.listActions, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/postmortem/actions", Role: auth.Responder, Handle: s.addAction, API: true},
		{Method: "PATCH", Pattern: "/api/v1/actions/{aid}", Role: auth.Responder, Handle: s.updateAction, API: true},
		// Reports and search.
		{Method: "GET", Pattern: "/api/v1/reports/incidents", Role: auth.Viewer, Handle: s.incidentReport, API: true},
		{Method: "GET", Pattern: "/api/v1/reports/dora", Role: auth.Viewer, Handle: s.doraReport, API: true},
		{Method: "GET", Pattern: "/api/v1/reports/alerts", Role: auth.Viewer, Handle: s.alertReport, API: true},
		{Method: "GET", Pattern: "/api/v1/reports/actions", Role: auth.Viewer, Handle: s.actionReport, API: true},
		{Method: "GET", Pattern: "/api/v1/search", Role: auth.Viewer, Handle: s.search, API: true},
		// Pages.
		{Method: "GET", Pattern: "/incidents/new", Role: auth.Responder, Handle: s.declarePage},
		{Method: "POST", Pattern: "/incidents/new", Role: auth.Responder, Handle: s.declareForm},
		{Method: "GET", Pattern: "/incidents/{id}/respond", Role: auth.Viewer, Handle: s.respondPage},
		{Method: "POST", Pattern: "/incidents/{id}/respond", Role: auth.Responder, Handle: s.respondForm},
		{Method: "GET", Pattern: "/incidents/{id}/postmortem", Role: auth.Viewer, Handle: s.postmortemPage},
		{Method: "POST", Pattern: "/incidents/{id}/postmortem", Role: auth.Responder, Handle: s.postmortemForm},
		{Method: "GET", Pattern: "/services/{id}", Role: auth.Viewer, Handle: s.servicePage},
		{Method: "GET", Pattern: "/search", Role: auth.Viewer, Handle: s.searchPage},
		{Method: "GET", Pattern: "/reports", Role: auth.Viewer, Handle: s.reportsPage},
	}
}

// responseError turns the response packages' errors into answers a user can act on.
func responseError(err error) error {
	var inv *postmortem.InvalidError
	var imp *incident.ErrImpactStart
	var notOn *alert.ErrAlertNotOnIncident
	switch {
	case err == nil:
		return nil
	case errors.As(err, &inv):
		return &Error{Status: http.StatusBadRequest, Msg: inv.Error(), Errors: inv.Errors}
	case errors.As(err, &imp), errors.As(err, &notOn):
		return errorf(http.StatusBadRequest, "%v", err)
	case errors.Is(err, postmortem.ErrNoPostmortem), errors.Is(err, postmortem.ErrNoAction):
		return errorf(http.StatusNotFound, "%v", err)
	case errors.Is(err, postmortem.ErrNoStatusPage):
		return errorf(http.StatusConflict, "%v", err)
	}
	return err
}

// Declaring and running an incident.

// OnCallFinder names the people on call for a service at a time, first the one paged first.
type OnCallFinder interface {
	OnCallFor(ctx context.Context, serviceID string, at time.Time) ([]string, error)
}

type declareBody struct {
	Service         string            `json:"service"`
	Title           string            `json:"title"`
	SEV             string            `json:"sev"`
	Summary         string            `json:"summary"`
	ImpactStartedAt string            `json:"impact_started_at"`
	Roles           map[string]string `json:"roles"`
}

func (s *Server) declare(ctx context.Context, b declareBody, a incident.Actor) (incident.Incident, error) {
	cfg := s.Config.Get()
	var bad []string
	b.Title, b.Summary = strings.TrimSpace(b.Title), strings.TrimSpace(b.Summary)
	if b.Service == "" {
		bad = append(bad, "service: which service is affected? (a service id)")
	} else if cfg.Service(b.Service) == nil {
		bad = append(bad, fmt.Sprintf("service: unknown service %q", b.Service))
	}
	switch n := utf8.RuneCountInString(b.Title); {
	case n == 0:
		bad = append(bad, "title: say in a few words what is wrong")
	case n > 1024:
		bad = append(bad, "title: at most 1024 characters")
	}
	if len(b.Summary) > 64<<10 {
		bad = append(bad, "summary: at most 64 KiB")
	}
	if b.SEV == "" {
		b.SEV = "SEV3"
	}
	if !config.ValidSEV(b.SEV) {
		bad = append(bad, fmt.Sprintf("sev: %q is not SEV1, SEV2, SEV3, SEV4 or SEV5", b.SEV))
	}
	var impact *time.Time
	if b.ImpactStartedAt != "" {
		t, err := parseWhen(b.ImpactStartedAt)
		if err != nil {
			bad = append(bad, "impact_started_at: "+err.Error())
		} else {
			impact = &t
		}
	}
	for role, person := range b.Roles {
		bad = append(bad, s.checkRole(role, person)...)
	}
	if len(bad) > 0 {
		return incident.Incident{}, &Error{Status: http.StatusBadRequest, Msg: strings.Join(bad, "; "), Errors: bad}
	}
	if b.Roles[config.RoleCommander] == "" && s.Commanders != nil {
		people, err := s.Commanders.OnCallFor(ctx, b.Service, s.Clock.Now())
		if err != nil {
			return incident.Incident{}, fmt.Errorf("who is on call for %s: %w", b.Service, err)
		}
		if len(people) > 0 {
			roles := map[string]string{config.RoleCommander: people[0]}
			for k, v := range b.Roles {
				if v != "" {
					roles[k] = v
				}
			}
			b.Roles = roles
		}
	}
	inc, err := s.Incidents.Declare(ctx, incident.DeclareParams{ServiceID: b.Service, Title: b.Title, SEV: b.SEV, Summary: b.Summary,
		ImpactStartedAt: impact, Roles: b.Roles, Actor: a})
	return inc, responseError(err)
}

func (s *Server) checkRole(role, person string) []string {
	set := &s.Config.Get().Incidents
	if set.RoleName(role) == "" {
		return []string{fmt.Sprintf("role: %q is not a role; use one of %s", role, strings.Join(set.RoleNames(), ", "))}
	}
	if utf8.RuneCountInString(person) > 128 {
		return []string{"person: at most 128 characters"}
	}
	if person != "" && !s.knownUser(person) {
		return []string{fmt.Sprintf("person: %q is not a user in the config", person)}
	}
	return nil
}

// knownUser accepts anyone while the config lists no users.
func (s *Server) knownUser(id string) bool {
	users := s.Config.Get().Users
	if len(users) == 0 {
		return true
	}
	for _, u := range users {
		if u.ID == id {
			return true
		}
	}
	return false
}

// parseWhen reads RFC 3339 or a date (midnight UTC).
func parseWhen(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02T15:04", v); err == nil { // an HTML datetime-local field, read as UTC
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date-time like 2026-11-20T09:20:00Z or a date like 2026-11-20", v)
}

func (s *Server) declareIncident(w http.ResponseWriter, r *http.Request) error {
	var b declareBody
	if err := readJSON(w, r, &b); err != nil {
		return err
	}
	inc, err := s.declare(r.Context(), b, actor(r, sourceOf(r)))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, inc)
	return nil
}

func (s *Server) setSEV(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	var b struct {
		SEV    string `json:"sev"`
		Reason string `json:"reason"`
	}
	if err := readJSON(w, r, &b); err != nil {
		return err
	}
	if !config.ValidSEV(b.SEV) {
		return errorf(http.StatusBadRequest, "sev: %q is not SEV1, SEV2, SEV3, SEV4 or SEV5", b.SEV)
	}
	if len(b.Reason) > 4096 {
		return errorf(http.StatusBadRequest, "reason: at most 4096 characters")
	}
	inc, err := s.Incidents.SetSEV(r.Context(), id, b.SEV, strings.TrimSpace(b.Reason), actor(r, sourceOf(r)))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, inc)
	return nil
}

func (s *Server) assignRole(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	var b struct {
		Role   string `json:"role"`
		Person string `json:"person"`
	}
	if err := readJSON(w, r, &b); err != nil {
		return err
	}
	b.Person = strings.TrimSpace(b.Person)
	if bad := s.checkRole(b.Role, b.Person); len(bad) > 0 {
		return &Error{Status: http.StatusBadRequest, Msg: strings.Join(bad, "; "), Errors: bad}
	}
	inc, err := s.Incidents.AssignRole(r.Context(), id, b.Role, b.Person, actor(r, sourceOf(r)))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, inc)
	return nil
}

func (s *Server) setImpact(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	var b struct {
		ImpactStartedAt string `json:"impact_started_at"`
	}
	if err := readJSON(w, r, &b); err != nil {
		return err
	}
	at, err := parseWhen(b.ImpactStartedAt)
	if err != nil {
		return errorf(http.StatusBadRequest, "impact_started_at: %v", err)
	}
	inc, err := s.Incidents.SetImpactStart(r.Context(), id, at, actor(r, sourceOf(r)))
	if err != nil {
		return responseError(err)
	}
	writeJSON(w, http.StatusOK, inc)
	return nil
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(raw) > 2048 {
		return errorf(http.StatusBadRequest, "url: %q is not an absolute http(s) URL of at most 2048 characters", raw)
	}
	return nil
}

func (s *Server) addLink(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	var b struct {
		URL   string `json:"url"`
		Title string `json:"title"`
	}
	if err := readJSON(w, r, &b); err != nil {
		return err
	}
	if err := checkURL(strings.TrimSpace(b.URL)); err != nil {
		return err
	}
	if utf8.RuneCountInString(b.Title) > 256 {
		return errorf(http.StatusBadRequest, "title: at most 256 characters")
	}
	l, err := s.Incidents.AddLink(r.Context(), id, strings.TrimSpace(b.URL), strings.TrimSpace(b.Title), actor(r, sourceOf(r)))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, l)
	return nil
}

func (s *Server) listLinks(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	if _, err := s.Incidents.Get(r.Context(), id); err != nil {
		return err
	}
	links, err := s.Incidents.Links(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"links": links})
	return nil
}

func (s *Server) markActionable(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	var b struct {
		AlertIDs   []int64 `json:"alert_ids"`
		Actionable *bool   `json:"actionable"`
	}
	if err := readJSON(w, r, &b); err != nil {
		return err
	}
	if len(b.AlertIDs) == 0 || len(b.AlertIDs) > 1000 {
		return errorf(http.StatusBadRequest, "alert_ids: list 1 to 1000 alert ids of this incident")
	}
	if b.Actionable == nil {
		return errorf(http.StatusBadRequest, "actionable: say true or false")
	}
	if _, err := s.Incidents.Get(r.Context(), id); err != nil {
		return err
	}
	if err := s.Alerts.MarkActionable(r.Context(), id, b.AlertIDs, *b.Actionable, actor(r, sourceOf(r))); err != nil {
		return responseError(err)
	}
	alerts, err := s.Alerts.ForIncident(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": alerts})
	return nil
}

// Runbook is a runbook as the API shows it: a link, or Markdown to read in place.
type Runbook struct {
	DedupKey string `json:"dedup_key,omitempty"`
	URL      string `json:"url,omitempty"`
	Markdown string `json:"markdown,omitempty"`
}

func runbookOf(v string) Runbook {
	v = strings.TrimSpace(v)
	if u, err := url.Parse(v); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.ContainsAny(v, " \n") {
		return Runbook{URL: v}
	}
	return Runbook{Markdown: v}
}

// runbooks are the service's runbook and those of the incident's alert keys.
func (s *Server) runbooks(ctx context.Context, inc incident.Incident) (*Runbook, []Runbook, error) {
	svc := s.Config.Get().Service(inc.ServiceID)
	if svc == nil {
		return nil, []Runbook{}, nil
	}
	var service *Runbook
	if svc.Runbook != "" {
		rb := runbookOf(svc.Runbook)
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
			rb := runbookOf(v)
			rb.DedupKey = a.DedupKey
			out = append(out, rb)
		}
	}
	return service, out, nil
}

func (s *Server) getRunbook(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	inc, err := s.Incidents.Get(r.Context(), id)
	if err != nil {
		return err
	}
	svc, alerts, err := s.runbooks(r.Context(), inc)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"service": svc, "alerts": alerts})
	return nil
}

func (s *Server) getSimilar(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	inc, err := s.Incidents.Get(r.Context(), id)
	if err != nil {
		return err
	}
	sim, err := s.Postmortems.SimilarTo(r.Context(), inc, 5)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"similar": sim})
	return nil
}

// Changes.

// enqueueChange speaks the PagerDuty Change Events API: the routing key of any events_v2
// integration of a service records a change to that service.
func (s *Server) enqueueChange(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r)
	if err != nil {
		return pdError(err)
	}
	key, c, err := change.DecodeEnqueue(body)
	if err != nil {
		return pdError(err)
	}
	t, err := s.target(key, config.IntegrationEventsV2)
	if err != nil {
		return pdError(err)
	}
	c.ServiceID = t.ServiceID
	if _, err := s.Changes.Record(r.Context(), c, incident.Actor{Name: "integration:change_events", Source: "change_events"}); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "success", "message": "Change event processed"})
	return nil
}

func (s *Server) postDeploy(w http.ResponseWriter, r *http.Request) error {
	var d change.Deploy
	if err := readJSON(w, r, &d); err != nil {
		return err
	}
	c, bad := d.Change()
	if d.Service != "" && s.Config.Get().Service(d.Service) == nil {
		bad = append(bad, fmt.Sprintf("service: unknown service %q", d.Service))
	}
	if len(bad) > 0 {
		return &Error{Status: http.StatusBadRequest, Msg: strings.Join(bad, "; "), Errors: bad}
	}
	c, err := s.Changes.Record(r.Context(), c, actor(r, sourceOf(r)))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

// span reads from and to (RFC 3339 or dates); the default is the 30 days up to now.
func (s *Server) span(r *http.Request) (time.Time, time.Time, error) {
	q := r.URL.Query()
	to := s.Clock.Now().UTC()
	if v := q.Get("to"); v != "" {
		t, err := parseWhen(v)
		if err != nil {
			return to, to, errorf(http.StatusBadRequest, "to: %v", err)
		}
		to = t
	}
	from := to.Add(-30 * 24 * time.Hour)
	if v := q.Get("from"); v != "" {
		t, err := parseWhen(v)
		if err != nil {
			return from, to, errorf(http.StatusBadRequest, "from: %v", err)
		}
		from = t
	}
	if !from.Before(to) {
		return from, to, errorf(http.StatusBadRequest, "from %s is not before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if to.Sub(from) > 2*366*24*time.Hour {
		return from, to, errorf(http.StatusBadRequest, "from..to spans more than two years; ask for a shorter span")
	}
	return from, to, nil
}

func (s *Server) serviceChanges(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if s.Config.Get().Service(id) == nil {
		return errorf(http.StatusNotFound, "service %q not found", id)
	}
	from, to, err := s.span(r)
	if err != nil {
		return err
	}
	cs, err := s.Changes.List(r.Context(), change.Query{ServiceIDs: []string{id}, From: from, To: to})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": cs})
	return nil
}

func (s *Server) incidentChanges(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	inc, err := s.Incidents.Get(r.Context(), id)
	if err != nil {
		return err
	}
	lookback := s.Config.Get().Incidents.ChangeLookback.D()
	cs, err := s.Changes.ForIncident(r.Context(), inc, lookback)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": cs, "lookback_seconds": int64(lookback.Seconds())})
	return nil
}

// Postmortems.

func (s *Server) draftPostmortem(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	pm, created, err := s.Postmortems.Draft(r.Context(), id, actor(r, sourceOf(r)))
	if err != nil {
		return responseError(err)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, pm)
	return nil
}

func (s *Server) getPostmortem(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "markdown" && format != "html" {
		return errorf(http.StatusBadRequest, "format: %q is not markdown, html or json", format)
	}
	pm, err := s.Postmortems.Get(r.Context(), id)
	if err != nil {
		return responseError(err)
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

func (s *Server) editPostmortem(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	var p postmortem.Patch
	if err := readJSON(w, r, &p); err != nil {
		return err
	}
	pm, err := s.Postmortems.Edit(r.Context(), id, p, actor(r, sourceOf(r)))
	if err != nil {
		return responseError(err)
	}
	writeJSON(w, http.StatusOK, pm)
	return nil
}

func (s *Server) publishPostmortem(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	if err := s.Postmortems.Publish(r.Context(), id, actor(r, sourceOf(r))); err != nil {
		return responseError(err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "published"})
	return nil
}

func (s *Server) listActions(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	if _, err := s.Incidents.Get(r.Context(), id); err != nil {
		return err
	}
	items, err := s.Postmortems.Actions(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"actions": items})
	return nil
}

func (s *Server) addAction(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	var n postmortem.NewAction
	if err := readJSON(w, r, &n); err != nil {
		return err
	}
	item, err := s.Postmortems.AddAction(r.Context(), id, n, actor(r, sourceOf(r)))
	if err != nil {
		return responseError(err)
	}
	writeJSON(w, http.StatusCreated, item)
	return nil
}

func (s *Server) updateAction(w http.ResponseWriter, r *http.Request) error {
	aid, err := strconv.ParseInt(r.PathValue("aid"), 10, 64)
	if err != nil || aid <= 0 {
		return errorf(http.StatusNotFound, "action item %q not found: ids are positive whole numbers", r.PathValue("aid"))
	}
	var p postmortem.ActionPatch
	if err := readJSON(w, r, &p); err != nil {
		return err
	}
	item, err := s.Postmortems.UpdateAction(r.Context(), aid, p, actor(r, sourceOf(r)))
	if err != nil {
		return responseError(err)
	}
	writeJSON(w, http.StatusOK, item)
	return nil
}

// Reports.

// scope reads service=, team= (both may repeat or be comma-separated), from= and to=.
func (s *Server) scope(r *http.Request, teams bool) (report.Scope, error) {
	cfg := s.Config.Get()
	var sc report.Scope
	q := r.URL.Query()
	for _, v := range q["service"] {
		for _, id := range strings.Split(v, ",") {
			if id == "" {
				continue
			}
			if cfg.Service(id) == nil {
				return sc, errorf(http.StatusBadRequest, "service: unknown service %q", id)
			}
			sc.Services = append(sc.Services, id)
		}
	}
	if teams {
		for _, v := range q["team"] {
			for _, team := range strings.Split(v, ",") {
				if team == "" {
					continue
				}
				n := 0
				for _, svc := range cfg.Services {
					if svc.Team == team {
						sc.Services = append(sc.Services, svc.ID)
						n++
					}
				}
				if n == 0 {
					return sc, errorf(http.StatusBadRequest, "team: no service belongs to team %q", team)
				}
			}
		}
	}
	var err error
	sc.From, sc.To, err = s.span(r)
	return sc, err
}

func (s *Server) incidentReport(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.scope(r, true)
	if err != nil {
		return err
	}
	rep, err := s.Reports.IncidentMetrics(r.Context(), sc)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) doraReport(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.scope(r, true)
	if err != nil {
		return err
	}
	rep, err := s.Reports.Four(r.Context(), sc)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) alertReport(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.scope(r, true)
	if err != nil {
		return err
	}
	rep, err := s.Reports.Alerts(r.Context(), sc)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) actionReport(w http.ResponseWriter, r *http.Request) error {
	teams, err := s.Postmortems.OpenByTeam(r.Context(), r.URL.Query().Get("team"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"teams": teams})
	return nil
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" || len(q) > 500 {
		return errorf(http.StatusBadRequest, "q: give 1 to 500 characters to search for")
	}
	limit := 20
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			return errorf(http.StatusBadRequest, "limit: %q is not a whole number from 1 to 100", l)
		}
		limit = n
	}
	hits, err := s.Postmortems.Search(r.Context(), q, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": hits})
	return nil
}
