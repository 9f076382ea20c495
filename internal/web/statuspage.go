package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/statuspage"
)

func (s *Server) statuspageRoutes() []Route {
	return []Route{
		// The public pages: everything a customer, a feed reader or a widget reads.
		{Method: "GET", Pattern: "/status/{page}", Access: Public, Handle: s.statusAsset(statuspage.AssetHTML)},
		{Method: "GET", Pattern: "/status/{page}/api/v2/summary.json", Access: Public, Handle: s.statusAsset(statuspage.AssetSummary), API: true},
		{Method: "GET", Pattern: "/status/{page}/api/v2/status.json", Access: Public, Handle: s.statusAsset(statuspage.AssetStatus), API: true},
		{Method: "GET", Pattern: "/status/{page}/api/v2/components.json", Access: Public, Handle: s.statusAsset(statuspage.AssetComponents), API: true},
		{Method: "GET", Pattern: "/status/{page}/api/v2/incidents.json", Access: Public, Handle: s.statusAsset(statuspage.AssetIncidents), API: true},
		{Method: "GET", Pattern: "/status/{page}/api/v2/incidents/unresolved.json", Access: Public, Handle: s.statusAsset(statuspage.AssetUnresolved), API: true},
		{Method: "GET", Pattern: "/status/{page}/api/v2/scheduled-maintenances.json", Access: Public, Handle: s.statusAsset(statuspage.AssetMaintenance), API: true},
		{Method: "GET", Pattern: "/status/{page}/api/v2/scheduled-maintenances/upcoming.json", Access: Public, Handle: s.statusAsset(statuspage.AssetUpcoming), API: true},
		{Method: "GET", Pattern: "/status/{page}/api/v2/scheduled-maintenances/active.json", Access: Public, Handle: s.statusAsset(statuspage.AssetActive), API: true},
		{Method: "GET", Pattern: "/status/{page}/history.atom", Access: Public, Handle: s.statusAsset(statuspage.AssetFeed), API: true},
		{Method: "GET", Pattern: "/status/{page}/badge.svg", Access: Public, Handle: s.statusAsset(statuspage.AssetBadge), API: true},
		{Method: "GET", Pattern: "/status/{page}/badges/{file}", Access: Public, Handle: s.componentBadge, API: true},
		{Method: "POST", Pattern: "/status/{page}/subscribe", Access: Public, Handle: s.subscribe},
		{Method: "GET", Pattern: "/status/{page}/confirm", Access: Public, Handle: s.subscriptionLink("confirm")},
		{Method: "POST", Pattern: "/status/{page}/confirm", Access: Secret, Handle: s.confirmSubscription},
		{Method: "GET", Pattern: "/status/{page}/unsubscribe", Access: Public, Handle: s.subscriptionLink("unsubscribe")},
		{Method: "POST", Pattern: "/status/{page}/unsubscribe", Access: Secret, Handle: s.unsubscribe},

		// Responders: overrides, maintenance and public updates.
		{Method: "GET", Pattern: "/api/v1/status-pages", Role: auth.Viewer, Handle: s.listStatusPages, API: true},
		{Method: "PUT", Pattern: "/api/v1/status-pages/{page}/components/{component}/override", Role: auth.Responder, Handle: s.apiSetOverride, API: true},
		{Method: "DELETE", Pattern: "/api/v1/status-pages/{page}/components/{component}/override", Role: auth.Responder, Handle: s.apiClearOverride, API: true},
		{Method: "POST", Pattern: "/api/v1/status-pages/{page}/maintenance", Role: auth.Responder, Handle: s.apiScheduleMaintenance, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/status-updates", Role: auth.Responder, Handle: s.apiStatusUpdate, API: true},
		{Method: "GET", Pattern: "/status-pages", Role: auth.Viewer, Handle: s.statusPagesPage},
		{Method: "POST", Pattern: "/status-pages/{page}/components/{component}/override", Role: auth.Responder, Handle: s.uiOverride},
		{Method: "POST", Pattern: "/status-pages/{page}/maintenance", Role: auth.Responder, Handle: s.uiMaintenance},
	}
}

// statusPageError turns the status page service's errors into answers a caller can act on.
func statusPageError(err error) error {
	var ie *statuspage.InputError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie):
		return errorf(http.StatusBadRequest, "%s", ie.Msg)
	case errors.Is(err, statuspage.ErrNotFound):
		return errorf(http.StatusNotFound, "%v", err)
	case errors.Is(err, statuspage.ErrNoMail):
		return errorf(http.StatusNotFound, "%v", err)
	case errors.Is(err, statuspage.ErrBadLink):
		// The link's signature is its credential, as for the links in pages: a forged or
		// expired one is refused, not a malformed request.
		return errorf(http.StatusForbidden, "%v; subscribe again from the status page", err)
	}
	return err
}

func (s *Server) statusAsset(name string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		a, err := s.StatusPages.Asset(r.Context(), r.PathValue("page"), name)
		if err != nil {
			return statusPageError(err)
		}
		serveRendered(w, r, a)
		return nil
	}
}

func (s *Server) componentBadge(w http.ResponseWriter, r *http.Request) error {
	file := r.PathValue("file")
	if !strings.HasSuffix(file, ".svg") {
		return errorf(http.StatusNotFound, "badges are at /status/{page}/badges/{component}.svg")
	}
	a, err := s.StatusPages.Asset(r.Context(), r.PathValue("page"), "badge/"+file)
	if err != nil {
		return statusPageError(err)
	}
	serveRendered(w, r, a)
	return nil
}

// serveRendered writes a pre-rendered asset: ETag revalidation, a few seconds of shared caching,
// and the gzipped body for clients that take it.
func serveRendered(w http.ResponseWriter, r *http.Request, a *statuspage.Rendered) {
	h := w.Header()
	for k, v := range a.Header {
		h[k] = v
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == a.ETag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.Body
	if a.Gzip != nil && acceptsGzip(r) {
		h["Content-Encoding"] = gzipValue
		body = a.Gzip
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

var gzipValue = []string{"gzip"}

func acceptsGzip(r *http.Request) bool {
	ae := r.Header.Get("Accept-Encoding")
	if !strings.Contains(ae, "gzip") {
		return false
	}
	if !strings.Contains(ae, "q=") {
		return true
	}
	for _, part := range strings.Split(ae, ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// customDomains serves a status page at the root of its own domain: a request whose Host is a
// page's domain sees that page and nothing else of nines.
func (s *Server) customDomains(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := s.StatusPages.PageForDomain(r.Host); p != nil {
			prefix := "/status/" + p.ID
			// The page's own paths, and the stylesheet of its subscription pages, pass as they are.
			if r.URL.Path != prefix && !strings.HasPrefix(r.URL.Path, prefix+"/") && !strings.HasPrefix(r.URL.Path, "/static/") {
				r2 := r.Clone(r.Context())
				r2.URL.Path = strings.TrimSuffix(prefix+r.URL.Path, "/")
				r2.URL.RawPath = ""
				r = r2
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		return errorf(http.StatusBadRequest, "bad form: %v", err)
	}
	page := r.PathValue("page")
	// Anyone may ask nines to mail anyone: count every request, so the page cannot be used to
	// flood an inbox with confirmation links.
	email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	if ok, wait := s.subscribes.Allow(email, remoteAddr(r)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return errorf(http.StatusTooManyRequests, "too many subscription requests; try again in %s", wait.Round(time.Minute))
	}
	s.subscribes.Fail(email, remoteAddr(r))
	if err := statusPageError(s.StatusPages.Subscribe(r.Context(), page, r.PostForm.Get("email"))); err != nil {
		return err
	}
	return s.publicMessage(w, r, page, "Check your inbox", "We sent a link to "+r.PostForm.Get("email")+". Open it within 48 hours to confirm the subscription.", "")
}

// subscriptionLink shows the button that confirms or unsubscribes: a GET changes nothing,
// so mail scanners that open links cannot subscribe or unsubscribe anyone.
func (s *Server) subscriptionLink(action string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		page := r.PathValue("page")
		if s.StatusPages.Page(page) == nil {
			return errorf(http.StatusNotFound, "status page %q not found", page)
		}
		title, msg := "Confirm your subscription", "Press the button to start getting email updates."
		if action == "unsubscribe" {
			title, msg = "Unsubscribe", "Press the button to stop getting email updates."
		}
		return s.publicMessage(w, r, page, title, msg, action)
	}
}

func (s *Server) confirmSubscription(w http.ResponseWriter, r *http.Request) error {
	page := r.PathValue("page")
	email, err := s.StatusPages.Confirm(r.Context(), page, r.FormValue("t"))
	if err != nil {
		return statusPageError(err)
	}
	return s.publicMessage(w, r, page, "Subscribed", email+" will get an email whenever there is news on this page.", "")
}

// unsubscribe works from the page's button and from mail clients' one-click unsubscribe
// (RFC 8058 posts List-Unsubscribe=One-Click to the same link).
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) error {
	page := r.PathValue("page")
	email, err := s.StatusPages.Unsubscribe(r.Context(), page, r.FormValue("t"))
	if err != nil {
		return statusPageError(err)
	}
	return s.publicMessage(w, r, page, "Unsubscribed", email+" will get no more email from this page.", "")
}

func (s *Server) publicMessage(w http.ResponseWriter, r *http.Request, page, title, msg, action string) error {
	p := s.StatusPages.Page(page)
	return s.render(w, r, http.StatusOK, "public.html", title, map[string]any{
		"Page": p, "Heading": title, "Message": msg, "Action": action, "Token": r.URL.Query().Get("t")})
}

// statusPageView is a page as the API and the responders' page show it.
type statusPageView struct {
	ID         string                `json:"id"`
	Title      string                `json:"title"`
	URL        string                `json:"url"`
	Indicator  string                `json:"indicator"`
	Components []statusComponentView `json:"components"`
}

type statusComponentView struct {
	ID       string               `json:"id"`
	Name     string               `json:"name"`
	Status   statuspage.Status    `json:"status"`
	Derived  statuspage.Status    `json:"derived_status"`
	Override *statuspage.Override `json:"override,omitempty"`
	Uptime   float64              `json:"uptime_percent"`
}

func (s *Server) statusPageViews(r *http.Request) ([]statusPageView, error) {
	out := []statusPageView{}
	for _, p := range s.Config.Get().StatusPages {
		v, err := s.StatusPages.View(r.Context(), p.ID)
		if err != nil {
			return nil, err
		}
		pv := statusPageView{ID: p.ID, Title: p.Title, URL: "/status/" + p.ID, Indicator: v.Indicator, Components: []statusComponentView{}}
		for _, c := range v.Components {
			pv.Components = append(pv.Components, statusComponentView{ID: c.ID, Name: c.Name, Status: c.Status, Derived: c.Derived, Override: c.Override, Uptime: c.Uptime})
		}
		out = append(out, pv)
	}
	return out, nil
}

func (s *Server) listStatusPages(w http.ResponseWriter, r *http.Request) error {
	views, err := s.statusPageViews(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"status_pages": views})
	return nil
}

func (s *Server) apiSetOverride(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Status string `json:"status"`
	}
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	if body.Status == "" {
		return errorf(http.StatusBadRequest, "status: required; DELETE the override to derive the status again")
	}
	return s.setOverride(w, r, body.Status, true)
}

func (s *Server) apiClearOverride(w http.ResponseWriter, r *http.Request) error {
	return s.setOverride(w, r, "", true)
}

func (s *Server) setOverride(w http.ResponseWriter, r *http.Request, status string, api bool) error {
	page, comp := r.PathValue("page"), r.PathValue("component")
	p, _ := PrincipalFrom(r.Context())
	if sp := s.StatusPages.Page(page); sp != nil {
		for _, c := range sp.Components {
			if team := teamOf(s.Config.Get().Service(c.Service)); c.ID == comp && !p.InTeam(team) {
				return errorf(http.StatusForbidden, "forbidden: component %s shows a service of team %s; %s acts for %s only", comp, team, p.Actor(), strings.Join(p.Teams, ", "))
			}
		}
	}
	if err := statusPageError(s.StatusPages.SetOverride(r.Context(), page, comp, statuspage.Status(status), p.Actor())); err != nil {
		return err
	}
	if api {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	http.Redirect(w, r, "/status-pages#page-"+page, http.StatusSeeOther)
	return nil
}

type maintenanceBody struct {
	Name           string   `json:"name"`
	Body           string   `json:"body"`
	ScheduledFor   string   `json:"scheduled_for"`
	ScheduledUntil string   `json:"scheduled_until"`
	Components     []string `json:"components"`
}

func (s *Server) scheduleMaintenance(r *http.Request, b maintenanceBody) (statuspage.PublicIncident, error) {
	from, err1 := parseTime(b.ScheduledFor)
	to, err2 := parseTime(b.ScheduledUntil)
	if err1 != nil || err2 != nil {
		return statuspage.PublicIncident{}, errorf(http.StatusBadRequest, "scheduled_for and scheduled_until: want times such as 2026-05-01T02:00:00Z")
	}
	p, _ := PrincipalFrom(r.Context())
	pi, err := s.StatusPages.ScheduleMaintenance(r.Context(), statuspage.MaintenanceParams{PageID: r.PathValue("page"), Name: b.Name, Body: b.Body,
		From: from, To: to, Components: b.Components, Actor: p.Actor()})
	return pi, statusPageError(err)
}

// parseTime reads RFC 3339, or the value of an HTML datetime-local field (taken as UTC).
func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04", v)
}

func (s *Server) apiScheduleMaintenance(w http.ResponseWriter, r *http.Request) error {
	var b maintenanceBody
	if err := readJSON(w, r, &b); err != nil {
		return err
	}
	pi, err := s.scheduleMaintenance(r, b)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, pi)
	return nil
}

func (s *Server) apiStatusUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	var b struct {
		Page   string `json:"page"`
		Status string `json:"status"`
		Body   string `json:"body"`
		Name   string `json:"name"`
	}
	if err := readJSON(w, r, &b); err != nil {
		return err
	}
	if err := s.checkScope(r, id); err != nil {
		return err
	}
	pi, err := s.StatusPages.PostUpdate(r.Context(), statuspage.UpdateParams{PageID: b.Page, IncidentID: id, Status: b.Status, Body: b.Body,
		Name: b.Name, Actor: actor(r, sourceOf(r))})
	if errors.Is(err, statuspage.ErrNotFound) {
		return errorf(http.StatusBadRequest, "page: %v", err)
	}
	if err := statusPageError(err); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, pi)
	return nil
}

func (s *Server) statusPagesPage(w http.ResponseWriter, r *http.Request) error {
	views, err := s.statusPageViews(r)
	if err != nil {
		return err
	}
	p, _ := PrincipalFrom(r.Context())
	return s.render(w, r, http.StatusOK, "statuspages.html", "Status pages", map[string]any{
		"Pages": views, "CanAct": p.Can(auth.Responder),
		"Statuses": []statuspage.Status{statuspage.Operational, statuspage.DegradedPerf, statuspage.PartialOutage, statuspage.MajorOutage, statuspage.UnderMaintenance}})
}

func (s *Server) uiOverride(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		return errorf(http.StatusBadRequest, "bad form: %v", err)
	}
	return s.setOverride(w, r, r.PostForm.Get("status"), false)
}

func (s *Server) uiMaintenance(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 32<<10)
	if err := r.ParseForm(); err != nil {
		return errorf(http.StatusBadRequest, "bad form: %v", err)
	}
	_, err := s.scheduleMaintenance(r, maintenanceBody{Name: r.PostForm.Get("name"), Body: r.PostForm.Get("body"),
		ScheduledFor: r.PostForm.Get("scheduled_for"), ScheduledUntil: r.PostForm.Get("scheduled_until"), Components: r.PostForm["components"]})
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/status-pages#page-"+r.PathValue("page"), http.StatusSeeOther)
	return nil
}
