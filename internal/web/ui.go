package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/statuspage"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// sessionCookie carries the browser's credential.
const sessionCookie = "nines_session"

// ui holds parsed templates and the content-hashed static assets.
type ui struct {
	pages  map[string]*template.Template
	assets map[string][]byte // hashed name -> content
	urls   map[string]string // plain name -> /static/hashed name
	now    func() time.Time  // the server's clock, so "5 minutes ago" agrees with the timeline
}

func newUI() *ui {
	u := &ui{pages: map[string]*template.Template{}, assets: map[string][]byte{}, urls: map[string]string{}, now: time.Now}
	fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := staticFS.ReadFile(p)
		sum := sha256.Sum256(data)
		name := strings.TrimPrefix(p, "static/")
		dot := strings.LastIndexByte(name, '.')
		hashed := name[:dot] + "." + hex.EncodeToString(sum[:6]) + name[dot:]
		u.assets[hashed] = data
		u.urls[name] = "/static/" + hashed
		return nil
	})
	funcs := template.FuncMap{
		"asset": func(name string) string { return u.urls[name] },
		"ago":   func(t time.Time) string { return ago(u.now().Sub(t)) },
		"ts":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
		"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"raw":   func(b []byte) string { return string(b) },
		"dec":   func(n int) int { return n - 1 },
	}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	entries, _ := fs.Glob(templateFS, "templates/*.html")
	for _, e := range entries {
		name := strings.TrimPrefix(e, "templates/")
		if name == "layout.html" {
			continue
		}
		u.pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, e))
	}
	return u
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d.Hours()), "hour") + " ago"
	}
	return plural(int(d.Hours()/24), "day") + " ago"
}

func plural(n int, unit string) string {
	s := itoa(n) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

func (s *Server) uiRoutes() []Route {
	return append(s.accountRoutes(), []Route{
		{Method: "GET", Pattern: "/static/{name}", Access: Public, Handle: s.static},
		{Method: "GET", Pattern: "/login", Access: Public, Handle: s.loginPage},
		{Method: "POST", Pattern: "/login", Access: Public, Handle: s.login},
		{Method: "POST", Pattern: "/logout", Access: Public, Handle: s.logout},
		{Method: "GET", Pattern: "/{$}", Role: auth.Viewer, Handle: s.incidentsPage},
		{Method: "GET", Pattern: "/incidents/{id}", Role: auth.Viewer, Handle: s.incidentPage},
		{Method: "POST", Pattern: "/incidents/{id}/acknowledge", Role: auth.Responder, Handle: s.uiAcknowledge},
		{Method: "POST", Pattern: "/incidents/{id}/resolve", Role: auth.Responder, Handle: s.uiResolve},
		{Method: "POST", Pattern: "/incidents/{id}/notes", Role: auth.Responder, Handle: s.uiNote},
		{Method: "POST", Pattern: "/incidents/{id}/status-updates", Role: auth.Responder, Handle: s.uiStatusUpdate},
		{Method: "POST", Pattern: "/incidents/{id}/escalate", Role: auth.Responder, Handle: s.uiEscalate},
		{Method: "POST", Pattern: "/incidents/{id}/reassign", Role: auth.Responder, Handle: s.uiReassign},
		{Method: "GET", Pattern: "/events", Role: auth.Viewer, Handle: s.liveEvents},
	}...)
}

func (s *Server) static(w http.ResponseWriter, r *http.Request) error {
	data, ok := s.ui.assets[r.PathValue("name")]
	if !ok {
		return errorf(http.StatusNotFound, "no such asset")
	}
	if strings.HasSuffix(r.PathValue("name"), ".css") {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	} else if strings.HasSuffix(r.PathValue("name"), ".js") {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(data)
	return nil
}

// page is what every template gets.
type page struct {
	Title     string
	Principal auth.Principal
	CSRF      string // every form posts it back as the field "csrf"
	Data      any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) error {
	p, _ := PrincipalFrom(r.Context())
	var buf bytes.Buffer
	if err := s.ui.pages[name].ExecuteTemplate(&buf, "layout.html", page{Title: title, Principal: p, CSRF: s.csrfToken(r), Data: data}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, e *Error) {
	if e.Status == http.StatusUnauthorized && r.Method == http.MethodGet {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	if err := s.render(w, r, e.Status, "error.html", http.StatusText(e.Status), e); err != nil {
		http.Error(w, e.Msg, e.Status)
	}
}

// safeNext keeps redirects after login on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

// incidentsPage lists incidents, filtered by state and service as the query says.
func (s *Server) incidentsPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	state, svc := q.Get("state"), q.Get("service")
	cfg := s.Config.Get()
	f := incident.Filter{Limit: 200}
	switch state {
	case "", "open":
		state = "open"
		f.States = []incident.State{incident.Triggered, incident.Acknowledged}
	case "all":
	default:
		if !incident.State(state).Valid() {
			return errorf(http.StatusBadRequest, "state: %q is not one of open, triggered, acknowledged, resolved, all", state)
		}
		f.States = []incident.State{incident.State(state)}
	}
	if svc != "" {
		if cfg.Service(svc) == nil {
			return errorf(http.StatusBadRequest, "service: unknown service %q", svc)
		}
		f.ServiceIDs = []string{svc}
	}
	list, _, err := s.Incidents.List(r.Context(), f)
	if err != nil {
		return err
	}
	// Open incidents whose public owes an update are marked, so nobody has to open each one.
	due := map[int64]bool{}
	lasts, err := s.StatusPages.LastUpdatesOf(r.Context(), list)
	if err != nil {
		return err
	}
	for id, lus := range lasts {
		for _, lu := range lus {
			due[id] = due[id] || lu.Overdue
		}
	}
	var recent []incident.Incident
	if state == "open" {
		f.States, f.Limit = []incident.State{incident.Resolved}, 20
		if recent, _, err = s.Incidents.List(r.Context(), f); err != nil {
			return err
		}
	}
	return s.render(w, r, http.StatusOK, "incidents.html", "Incidents", map[string]any{
		"List": list, "Recent": recent, "Due": due, "State": state, "Service": svc, "Services": cfg.Services,
		"States": []string{"open", "triggered", "acknowledged", "resolved", "all"},
		"OnCall": s.onCallNow(r.Context())})
}

func (s *Server) incidentPage(w http.ResponseWriter, r *http.Request) error {
	inc, err := s.incidentAt(r)
	if err != nil {
		return err
	}
	events, err := s.Incidents.Timeline(r.Context(), inc.ID)
	if err != nil {
		return err
	}
	alerts, err := s.Alerts.ForIncident(r.Context(), inc.ID)
	if err != nil {
		return err
	}
	svc := s.Config.Get().Service(inc.ServiceID)
	name := inc.ServiceID
	if svc != nil {
		name = svc.Name
	}
	updates, err := s.StatusPages.LastUpdates(r.Context(), inc)
	if err != nil {
		return err
	}
	p, _ := PrincipalFrom(r.Context())
	cfg := s.Config.Get()
	return s.render(w, r, http.StatusOK, "incident.html", inc.Title, map[string]any{
		"Incident": inc, "Events": timelineView(events), "Alerts": alerts, "ServiceName": name,
		"PublicUpdates": updates, "CanAct": p.Can(auth.Responder) && p.InTeam(teamOf(svc)),
		"Done": doneMessage(cfg, r.URL.Query()), "Users": cfg.Users, "Schedules": s.reassignSchedules(r.Context()),
		"UpdateStates": []string{statuspage.Investigating, statuspage.Identified, statuspage.Monitoring, statuspage.Resolved}})
}

// eventView is a timeline event with its data read for people.
type eventView struct {
	incident.Event
	Text   string // a note's text or a status update's body
	Status string // a status update's state
	Page   string // a status update's page
}

func timelineView(events []incident.Event) []eventView {
	out := make([]eventView, len(events))
	for i, e := range events {
		out[i].Event = e
		var d struct {
			Text, Body, Status, Page, Cadence string
		}
		if json.Unmarshal(e.Data, &d) == nil {
			out[i].Text, out[i].Status, out[i].Page = d.Text+d.Body, d.Status, d.Page
			if e.Type == statuspage.EventUpdateDue {
				out[i].Text = "The public has had no update on " + d.Page + " for " + d.Cadence + "."
			}
		}
	}
	return out
}

func teamOf(svc *config.Service) string {
	if svc == nil {
		return ""
	}
	return svc.Team
}

// checkScope refuses a principal scoped to other teams than the one owning the incident's
// service.
func (s *Server) checkScope(r *http.Request, id int64) error {
	p, _ := PrincipalFrom(r.Context())
	if len(p.Teams) == 0 {
		return nil
	}
	inc, err := s.Incidents.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if team := teamOf(s.Config.Get().Service(inc.ServiceID)); !p.InTeam(team) {
		return errorf(http.StatusForbidden, "forbidden: incident %d belongs to team %s; %s acts for %s only", id, team, p.Actor(), strings.Join(p.Teams, ", "))
	}
	return nil
}

// uiAction runs a form action on an incident and sends the browser back to the incident page.
func (s *Server) uiAction(w http.ResponseWriter, r *http.Request, act func(id int64) error) error {
	return s.uiActionDone(w, r, func(id int64) (url.Values, error) { return nil, act(id) })
}

// uiActionDone is uiAction for actions whose outcome the incident page confirms: the query
// act returns names the outcome (see doneMessage), so the page never echoes what a link says.
func (s *Server) uiActionDone(w http.ResponseWriter, r *http.Request, act func(id int64) (url.Values, error)) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10+4096)
	if err := r.ParseForm(); err != nil {
		return errorf(http.StatusBadRequest, "bad form: %v", err)
	}
	if err := s.checkScope(r, id); err != nil {
		return err
	}
	done, err := act(id)
	if err != nil {
		return err
	}
	to := "/incidents/" + strconv.FormatInt(id, 10)
	if len(done) > 0 {
		to += "?" + done.Encode()
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func (s *Server) uiAcknowledge(w http.ResponseWriter, r *http.Request) error {
	return s.uiAction(w, r, func(id int64) error {
		_, err := s.Incidents.Acknowledge(r.Context(), id, actor(r, "web"))
		return err
	})
}

func (s *Server) uiResolve(w http.ResponseWriter, r *http.Request) error {
	return s.uiAction(w, r, func(id int64) error {
		_, err := s.Incidents.Resolve(r.Context(), id, actor(r, "web"))
		return err
	})
}

func (s *Server) uiNote(w http.ResponseWriter, r *http.Request) error {
	return s.uiAction(w, r, func(id int64) error {
		text := strings.TrimSpace(r.PostForm.Get("text"))
		if text == "" {
			return errorf(http.StatusBadRequest, "text: a note needs some text")
		}
		if len(text) > 64<<10 {
			return errorf(http.StatusBadRequest, "text: a note is at most 64 KiB")
		}
		_, err := s.Incidents.AddNote(r.Context(), id, text, actor(r, "web"))
		return err
	})
}

func (s *Server) uiStatusUpdate(w http.ResponseWriter, r *http.Request) error {
	return s.uiAction(w, r, func(id int64) error {
		_, err := s.StatusPages.PostUpdate(r.Context(), statuspage.UpdateParams{PageID: r.PostForm.Get("page"), IncidentID: id,
			Status: r.PostForm.Get("status"), Body: r.PostForm.Get("body"), Name: r.PostForm.Get("name"), Actor: actor(r, "web")})
		return statusPageError(err)
	})
}

func (s *Server) uiEscalate(w http.ResponseWriter, r *http.Request) error {
	return s.uiActionDone(w, r, func(id int64) (url.Values, error) {
		if err := s.escalateNow(r, id, "web"); err != nil {
			return nil, err
		}
		return url.Values{"done": {"escalated"}}, nil
	})
}

// uiReassign pages the person the form names: "user:ID", or "schedule:ID" for whoever is on
// call on that schedule now, so a responder need not look the rota up first.
func (s *Server) uiReassign(w http.ResponseWriter, r *http.Request) error {
	return s.uiActionDone(w, r, func(id int64) (url.Values, error) {
		target := r.PostForm.Get("target")
		kind, ref, _ := strings.Cut(target, ":")
		var userID string
		switch {
		case target == "":
			return nil, errorf(http.StatusBadRequest, "target: choose a person or a schedule to reassign the incident to")
		case kind == "user" && ref != "":
			userID = ref
		case kind == "schedule" && ref != "":
			if s.Config.Get().Schedule(ref) == nil || s.OnCall == nil {
				return nil, errorf(http.StatusBadRequest, "target: unknown schedule %q", ref)
			}
			shs, err := s.OnCall.OnCall(r.Context(), ref, s.Clock.Now())
			if err != nil {
				return nil, err
			}
			if len(shs) == 0 {
				return nil, errorf(http.StatusBadRequest, "target: nobody is on call on schedule %q now; choose a person", ref)
			}
			userID = shs[0].UserID
		default:
			return nil, errorf(http.StatusBadRequest, "target: %q is neither user:ID nor schedule:ID", target)
		}
		if err := s.reassignTo(r, id, userID, "web"); err != nil {
			return nil, err
		}
		return url.Values{"done": {"reassigned"}, "to": {userID}}, nil
	})
}

// doneMessage confirms an action the incident page was redirected from. Only known outcomes
// and configured users are read, so a crafted link cannot make the page say anything else.
func doneMessage(cfg *config.Config, q url.Values) string {
	switch q.Get("done") {
	case "escalated":
		return "Escalated: the next step of the escalation policy is being paged."
	case "reassigned":
		if u := cfg.User(q.Get("to")); u != nil {
			return "Reassigned: " + u.Name + " is being paged; the escalation policy has stopped."
		}
	}
	return ""
}

// reassignSchedule is a schedule offered by the reassign form, with who is on call on it now.
type reassignSchedule struct {
	ID, Name, OnCall string
}

func (s *Server) reassignSchedules(ctx context.Context) []reassignSchedule {
	cfg := s.Config.Get()
	names := map[string]string{}
	for _, u := range cfg.Users {
		names[u.ID] = u.Name
	}
	now := map[string][]string{}
	for _, sh := range s.onCallNow(ctx) {
		now[sh.ScheduleID] = append(now[sh.ScheduleID], names[sh.UserID])
	}
	out := make([]reassignSchedule, 0, len(cfg.Schedules))
	for _, sc := range cfg.Schedules {
		name := sc.Name
		if name == "" {
			name = sc.ID
		}
		out = append(out, reassignSchedule{ID: sc.ID, Name: name, OnCall: strings.Join(now[sc.ID], ", ")})
	}
	return out
}
