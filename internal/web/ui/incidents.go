package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/severity"
	"github.com/nines-dev/nines/internal/web/api"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// listFilter is the incident list's filter as its query says it: the fields the API's list
// takes, with the page's default state, open.
func listFilter(q url.Values) url.Values {
	f := url.Values{}
	for _, k := range []string{"state", "service", "severity", "q"} {
		f.Set(k, strings.TrimSpace(q.Get(k)))
	}
	if f.Get("state") == "" {
		f.Set("state", "open")
	}
	return f
}

// IncidentsPage lists incidents, filtered by state, service, severity and words of the title
// as the query says; the filter stays in the URL, so a filtered list can be shared or kept.
func (s *Handler) IncidentsPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	fq := listFilter(q)
	cfg := s.Config.Get()
	f, err := api.IncidentFilter(cfg, fq)
	if err != nil {
		return err
	}
	f.Limit = 200
	rc := s.guard.Reach(r)
	if f.ServiceIDs, err = rc.Services(f.ServiceIDs); err != nil {
		return err
	}
	var services []config.Service
	for _, sv := range cfg.Services {
		if rc.Service(sv.ID) {
			services = append(services, sv)
		}
	}
	list, more, err := s.Incidents.List(r.Context(), f)
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
	state := fq.Get("state")
	var recent []incident.Incident
	if state == "open" {
		f.States, f.Limit = []incident.State{incident.Resolved}, 20
		if recent, _, err = s.Incidents.List(r.Context(), f); err != nil {
			return err
		}
	}
	filtered := fq.Get("service") != "" || fq.Get("severity") != "" || fq.Get("q") != ""
	return s.pages.Render(w, r, http.StatusOK, "incidents.html", "Incidents", map[string]any{
		"List": list, "More": more != "", "Recent": recent, "Due": due,
		"State": state, "Service": fq.Get("service"), "Severity": fq.Get("severity"), "Q": fq.Get("q"), "Filtered": filtered,
		"Services": services, "Severities": severity.Alert,
		"States": []string{"open", "triggered", "acknowledged", "resolved", "all"},
		"Done":   bulkDone(q), "Max": incident.MaxBulk, "CanAct": httpx.Principal(r).Can(auth.Responder),
		"OnCall": s.onCallNow(r)})
}

// BulkForm answers POST /incidents/bulk: the list's form acknowledges or resolves the incidents
// ticked (id), or every one matching the list's filter (all), through the same code as the
// API's bulk routes, and comes back to the list, filtered as it was, saying what happened.
func (s *Handler) BulkForm(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, 64<<10); err != nil {
		return err
	}
	form := r.PostForm
	var to incident.State
	switch form.Get("action") {
	case "acknowledge":
		to = incident.Acknowledged
	case "resolve":
		to = incident.Resolved
	default:
		return invalid.Field("action", "%q is not acknowledge or resolve", form.Get("action"))
	}
	var ids []int64
	var filter url.Values
	if form.Get("all") != "" {
		filter = listFilter(form)
	} else {
		for _, v := range form["id"] {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id < 1 {
				return invalid.Field("id", "%q is not an incident id", v)
			}
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			return invalid.Field("id", "tick at least one incident, or all matching the filter")
		}
	}
	res, err := s.api.BulkIncidents(r, to, ids, filter, httpx.Actor(r, "web"))
	if err != nil {
		return err
	}
	back := listFilter(form)
	for k, v := range back {
		if v[0] == "" {
			delete(back, k)
		}
	}
	counts := map[incident.Outcome]int{}
	for _, x := range res {
		counts[x.Outcome]++
	}
	var done []string
	for _, o := range incident.Outcomes {
		if counts[o] > 0 {
			done = append(done, string(o)+"."+strconv.Itoa(counts[o]))
		}
	}
	if len(done) == 0 {
		done = []string{"none.0"}
	}
	back.Set("done", strings.Join(done, ","))
	http.Redirect(w, r, "/?"+back.Encode(), http.StatusSeeOther)
	return nil
}

// bulkDone says what the last bulk action did, from the list's done query: outcome.count
// pairs. Only known outcomes are read, so the page never echoes what a link says.
func bulkDone(q url.Values) string {
	v := q.Get("done")
	if v == "" {
		return ""
	}
	if v == "none.0" {
		return "No incident matched."
	}
	var parts []string
	for _, p := range strings.Split(v, ",") {
		name, n, ok := strings.Cut(p, ".")
		count, err := strconv.Atoi(n)
		if !ok || err != nil || count < 1 || count > incident.MaxBulk {
			continue
		}
		for _, o := range incident.Outcomes {
			if string(o) == name {
				word := "incidents"
				if count == 1 {
					word = "incident"
				}
				parts = append(parts, strconv.Itoa(count)+" "+word+" "+o.Text())
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, ", ") + "."
}
