package ui

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/statuspage"
	"github.com/nines-dev/nines/internal/timeline"
	"github.com/nines-dev/nines/internal/web/api"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// IncidentPage answers GET /incidents/{id}: the one page a responder needs, on a phone at
// night: what broke, who is paged and what happens next, the actions within a thumb's reach,
// then alerts, roles, changes, runbook, similar incidents, public updates, notes and the
// timeline.
func (s *Handler) IncidentPage(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	inc, err := s.api.IncidentAt(r)
	if err != nil {
		return err
	}
	events, err := s.Incidents.Timeline(ctx, inc.ID)
	if err != nil {
		return err
	}
	alerts, err := s.Alerts.ForIncident(ctx, inc.ID)
	if err != nil {
		return err
	}
	cfg := s.Config.Get()
	set := &cfg.Incidents
	svc := cfg.Service(inc.ServiceID)
	name := inc.ServiceID
	if svc != nil {
		name = svc.Name
	}
	updates, err := s.StatusPages.LastUpdates(ctx, inc)
	if err != nil {
		return err
	}
	paging, err := s.Escalation.Status(ctx, inc.ID)
	if err != nil {
		return err
	}
	var roles []roleView
	for _, role := range set.RoleNames() {
		roles = append(roles, roleView{role, set.RoleName(role), inc.Roles[role]})
	}
	changes, err := s.Changes.ForIncident(ctx, inc, set.ChangeLookback.D())
	if err != nil {
		return err
	}
	links, err := s.Incidents.Links(ctx, inc.ID)
	if err != nil {
		return err
	}
	svcRunbook, alertRunbooks, err := s.api.Runbooks(ctx, inc)
	if err != nil {
		return err
	}
	similar, err := s.api.Similar(r, inc)
	if err != nil {
		return err
	}
	_, pmErr := s.Postmortems.Get(ctx, inc.ID)
	p, _ := httpx.PrincipalFrom(ctx)
	timeline := timelineView(events, cfg, s.pages.Zone(r))
	var notes []eventView
	for _, e := range timeline {
		if e.Type == incident.EventNote {
			notes = append(notes, e)
		}
	}
	return s.pages.Render(w, r, http.StatusOK, "incident.html", inc.Title, map[string]any{
		"Incident": inc, "Events": timeline, "Notes": notes, "Alerts": s.alertViews(cfg, alerts), "ServiceName": name,
		"Nobody": reachedNobody(inc, timeline), "Paging": paging, "Names": userNames(cfg),
		"PublicUpdates": updates, "CanAct": p.Can(auth.Responder) && p.InTeam(teamOf(svc)),
		"Done": doneMessage(cfg, r.URL.Query()), "Users": cfg.Users, "Schedules": s.reassignSchedules(r),
		"UpdateStates": []string{statuspage.Investigating, statuspage.Identified, statuspage.Monitoring, statuspage.Resolved},
		"UpdateState":  updateState(inc, updates),
		"SEVs":         s.sevOptions(), "Roles": roles, "Changes": changes, "Lookback": postmortem.Human(set.ChangeLookback.D()),
		"Links": links, "Runbook": svcRunbook, "AlertRunbooks": alertRunbooks, "Similar": similar, "HasPostmortem": pmErr == nil,
		"SnoozeChoices": escalate.SnoozeChoices, "Age": ago(s.Clock.Now().Sub(inc.CreatedAt))})
}

func userNames(cfg *config.Config) map[string]string {
	out := make(map[string]string, len(cfg.Users))
	for _, u := range cfg.Users {
		out[u.ID] = u.Name
	}
	return out
}

// alertView is an alert with its details as the pages sent for it show them
// (escalate.Engine.AlertDetails): bounded, secrets redacted, links and images as such.
type alertView struct {
	alert.Alert
	Source string
	Tables []detailTable
	Links  []notify.Link
	Images []notify.Link
	More   int  // links and images left out
	Cut    bool // a value was cut or rows left out: the alerts API has the whole alert
}

// detailTable is one titled table of an alert's details.
type detailTable struct {
	Title string
	Rows  []detailRow
	More  int
}

// detailRow is one field of an alert's details or one of its labels.
type detailRow struct {
	Key, Value string
	Link       bool // the value is an http(s) URL
}

func (s *Handler) alertViews(cfg *config.Config, alerts []alert.Alert) []alertView {
	out := make([]alertView, len(alerts))
	for i, a := range alerts {
		d := s.Escalation.AlertDetails(cfg, a)
		v := alertView{Alert: a, Source: d.Source, Links: d.Links, Images: d.Images, More: d.MoreLinks + d.MoreImages}
		shown := map[string]bool{}
		for _, t := range d.Titled() {
			dt := detailTable{Title: t.Title, More: t.More}
			for _, f := range t.Rows {
				dt.Rows = append(dt.Rows, detailRow{Key: f.Key, Value: f.Value, Link: f.URL() != ""})
				shown[f.Key[strings.LastIndexByte(f.Key, '.')+1:]] = true
				v.Cut = v.Cut || utf8.RuneCountInString(f.Value) >= notify.MaxValue && strings.HasSuffix(f.Value, "…")
			}
			v.Cut = v.Cut || t.More > 0
			v.Tables = append(v.Tables, dt)
		}
		// Labels are made from the details (an Events v2 event's custom_details and its own
		// fields, a webhook's details, an Alertmanager alert's labels): a label a detail of its
		// name already shows is not shown again.
		rest := map[string]string{}
		for k, val := range a.Labels {
			if !shown[k] && !(k == "source" && val == a.Source) {
				rest[k] = val
			}
		}
		if len(rest) > 0 {
			t := s.Escalation.Redact(cfg, rest)
			dt := detailTable{Title: "Labels of nines", More: t.More}
			for _, f := range t.Rows {
				dt.Rows = append(dt.Rows, detailRow{Key: f.Key, Value: f.Value})
			}
			v.Tables = append(v.Tables, dt)
		}
		out[i] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Snooze answers POST /incidents/{id}/snooze: the form's duration, by the API's rules.
func (s *Handler) Snooze(w http.ResponseWriter, r *http.Request) error {
	return s.uiActionDone(w, r, func(id int64) (url.Values, error) {
		if _, _, err := s.api.SnoozeFor(r, id, r.PostForm.Get("duration"), "web"); err != nil {
			return nil, err
		}
		return url.Values{"done": {"snoozed"}}, nil
	})
}

// nobodyView is why the escalation policy reached nobody, and who was paged instead: the
// timeline's sentence of the last round that reached nobody (names, times in the viewer's
// zone).
type nobodyView struct {
	At   time.Time
	Text template.HTML
}

// reachedNobody reads the last round of the policy that reached nobody, for the incident page.
func reachedNobody(inc incident.Incident, lines []eventView) *nobodyView {
	if inc.ReachedNobodyAt == nil {
		return nil
	}
	v := &nobodyView{At: *inc.ReachedNobodyAt}
	for _, e := range lines {
		if e.Type == escalate.EventNobody {
			v.Text = e.HTML
		}
	}
	return v
}

// eventView is a timeline event with its data read for people.
type eventView struct {
	incident.Event
	Text   string        // the entry in a sentence (internal/timeline)
	HTML   template.HTML // Text with its times as <time> elements, UTC on hover
	Count  int           // how many entries the line tells
	Status string        // a status update's state
	Page   string        // a status update's page
}

// timelineView tells the timeline for people: one sentence an entry (internal/timeline), runs
// of entries that repeat one another (an alert's repeats, a page failing again) told once, under
// the first entry of the run, with the raw data of its last.
func timelineView(events []incident.Event, cfg *config.Config, loc *time.Location) []eventView {
	// Times are told as markers, then written as text and as <time> elements.
	var times []time.Time
	mark := func(t time.Time) string {
		times = append(times, t)
		return string(timeMark) + strconv.Itoa(len(times)-1) + string(timeMarkEnd)
	}
	lines := timeline.Lines(events, timeline.Options{Config: cfg, Time: mark})
	out := make([]eventView, 0, len(lines))
	i := 0
	for _, l := range lines {
		e := events[i]
		e.Data = events[i+l.Count-1].Data
		i += l.Count
		text, html := unmark(l.Text, times, loc)
		v := eventView{Event: e, Text: text, HTML: html, Count: l.Count}
		var d struct{ Status, Page string }
		if json.Unmarshal(e.Data, &d) == nil {
			v.Status, v.Page = d.Status, d.Page
		}
		out = append(out, v)
	}
	return out
}

func teamOf(svc *config.Service) string {
	if svc == nil {
		return ""
	}
	return svc.Team
}

// uiAction runs a form action on an incident and sends the browser back to the incident page.
func (s *Handler) uiAction(w http.ResponseWriter, r *http.Request, act func(id int64) error) error {
	return s.uiActionDone(w, r, func(id int64) (url.Values, error) { return nil, act(id) })
}

// uiActionDone is uiAction for actions whose outcome the incident page confirms: the query
// act returns names the outcome (see doneMessage), so the page never echoes what a link says.
func (s *Handler) uiActionDone(w http.ResponseWriter, r *http.Request, act func(id int64) (url.Values, error)) error {
	id, err := api.IncidentID(r)
	if err != nil {
		return err
	}
	if err := httpx.ReadForm(w, r, 64<<10+4096); err != nil {
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

// Acknowledge answers POST /incidents/{id}/acknowledge.
func (s *Handler) Acknowledge(w http.ResponseWriter, r *http.Request) error {
	return s.uiAction(w, r, func(id int64) error {
		_, err := s.Incidents.Acknowledge(r.Context(), id, httpx.Actor(r, "web"))
		return err
	})
}

// Resolve answers POST /incidents/{id}/resolve.
func (s *Handler) Resolve(w http.ResponseWriter, r *http.Request) error {
	return s.uiAction(w, r, func(id int64) error {
		_, err := s.Incidents.Resolve(r.Context(), id, httpx.Actor(r, "web"))
		return err
	})
}

// Note answers POST /incidents/{id}/notes.
func (s *Handler) Note(w http.ResponseWriter, r *http.Request) error {
	return s.uiAction(w, r, func(id int64) error {
		_, err := s.Incidents.AddNote(r.Context(), id, r.PostForm.Get("text"), httpx.Actor(r, "web"))
		return err
	})
}

// StatusUpdate answers POST /incidents/{id}/status-updates.
func (s *Handler) StatusUpdate(w http.ResponseWriter, r *http.Request) error {
	return s.uiAction(w, r, func(id int64) error {
		_, err := s.StatusPages.PostUpdate(r.Context(), statuspage.UpdateParams{PageID: r.PostForm.Get("page"), IncidentID: id,
			Status: r.PostForm.Get("status"), Body: r.PostForm.Get("body"), Name: r.PostForm.Get("name"), Actor: httpx.Actor(r, "web")})
		return err
	})
}

// Escalate answers POST /incidents/{id}/escalate.
func (s *Handler) Escalate(w http.ResponseWriter, r *http.Request) error {
	return s.uiActionDone(w, r, func(id int64) (url.Values, error) {
		if err := s.api.EscalateNow(r, id, "web"); err != nil {
			return nil, err
		}
		return url.Values{"done": {"escalated"}}, nil
	})
}

// Reassign pages the person the form names: "user:ID", or "schedule:ID" for whoever is on
// call on that schedule now, so a responder need not look the rota up first.
func (s *Handler) Reassign(w http.ResponseWriter, r *http.Request) error {
	return s.uiActionDone(w, r, func(id int64) (url.Values, error) {
		target := r.PostForm.Get("target")
		kind, ref, _ := strings.Cut(target, ":")
		var userID string
		switch {
		case target == "":
			return nil, invalid.Field("target", "choose a person or a schedule to reassign the incident to")
		case kind == "user" && ref != "":
			userID = ref
		case kind == "schedule" && ref != "":
			if s.Config.Get().Schedule(ref) == nil || !s.guard.Reach(r).Schedule(ref) {
				return nil, invalid.Field("target", "unknown schedule %q", ref)
			}
			shs, err := s.OnCall.OnCall(r.Context(), ref, s.Clock.Now())
			if err != nil {
				return nil, err
			}
			if len(shs) == 0 {
				return nil, invalid.Field("target", "nobody is on call on schedule %q now; choose a person", ref)
			}
			userID = shs[0].UserID
		default:
			return nil, invalid.Field("target", "%q is neither user:ID nor schedule:ID", target)
		}
		if err := s.api.ReassignTo(r, id, userID, "web"); err != nil {
			return nil, err
		}
		return url.Values{"done": {"reassigned"}, "to": {userID}}, nil
	})
}

// doneMessage confirms an action the incident page was redirected from. Only known outcomes
// and configured users are read, so a crafted link cannot make the page say anything else.
func doneMessage(cfg *config.Config, q url.Values) string {
	switch q.Get("done") {
	case "snoozed":
		return "Snoozed: nobody is paged until the snooze ends; then the incident triggers again."
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

func (s *Handler) reassignSchedules(r *http.Request) []reassignSchedule {
	cfg, rc := s.Config.Get(), s.guard.Reach(r)
	names := map[string]string{}
	for _, u := range cfg.Users {
		names[u.ID] = u.Name
	}
	now := map[string][]string{}
	for _, sh := range s.onCallNow(r) {
		now[sh.ScheduleID] = append(now[sh.ScheduleID], names[sh.UserID])
	}
	out := make([]reassignSchedule, 0, len(cfg.Schedules))
	for _, sc := range cfg.Schedules {
		if !rc.Schedule(sc.ID) {
			continue
		}
		name := sc.Name
		if name == "" {
			name = sc.ID
		}
		out = append(out, reassignSchedule{ID: sc.ID, Name: name, OnCall: strings.Join(now[sc.ID], ", ")})
	}
	return out
}

// updateState is the state a public update of inc starts at in the form: resolved once the
// incident is; else where its last public update left the story (identified, monitoring), so
// the next one does not step back; else investigating, as a triggered or acknowledged
// incident is.
func updateState(inc incident.Incident, updates []statuspage.LastUpdate) string {
	if inc.State == incident.Resolved {
		return statuspage.Resolved
	}
	state, at := statuspage.Investigating, time.Time{}
	for _, u := range updates {
		if !u.At.IsZero() && u.At.After(at) && u.Status != statuspage.Resolved {
			state, at = u.Status, u.At
		}
	}
	return state
}

// timeMark and timeMarkEnd enclose the index of a time in a sentence timelineView tells
// (private-use characters: no entry's text holds them, as unmark drops strays).
const timeMark, timeMarkEnd = '\uE000', '\uE001'

// unmark writes a marked sentence as text (times in loc) and as HTML (times as <time>
// elements, UTC on hover, the rest escaped).
func unmark(s string, times []time.Time, loc *time.Location) (string, template.HTML) {
	var text, html strings.Builder
	for {
		i := strings.IndexRune(s, timeMark)
		if i < 0 {
			break
		}
		j := strings.IndexRune(s[i:], timeMarkEnd)
		if j < 0 {
			break
		}
		text.WriteString(s[:i])
		html.WriteString(template.HTMLEscapeString(s[:i]))
		if n, err := strconv.Atoi(s[i+len(string(timeMark)) : i+j]); err == nil && n >= 0 && n < len(times) {
			text.WriteString(Clock(times[n], loc))
			html.WriteString(string(timeTag(times[n], Clock(times[n], loc), "")))
		}
		s = s[i+j+len(string(timeMarkEnd)):]
	}
	s = strings.NewReplacer(string(timeMark), "", string(timeMarkEnd), "").Replace(s)
	text.WriteString(s)
	html.WriteString(template.HTMLEscapeString(s))
	return text.String(), template.HTML(html.String())
}
