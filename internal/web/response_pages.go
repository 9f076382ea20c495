package web

import (
	"bytes"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/postmortem"
)

// parseForm reads a small form body.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		return errorf(http.StatusBadRequest, "bad form: %v", err)
	}
	return nil
}

type option struct{ Value, Label string }

func (s *Server) sevOptions() []option {
	set := &s.Config.Get().Incidents
	out := make([]option, len(config.SEVLevels))
	for i, l := range config.SEVLevels {
		out[i] = option{l, l + " · " + set.SEVName(l)}
	}
	return out
}

func (s *Server) declarePage(w http.ResponseWriter, r *http.Request) error {
	cfg := s.Config.Get()
	var services []option
	for _, svc := range cfg.Services {
		services = append(services, option{svc.ID, svc.Name})
	}
	return s.render(w, r, http.StatusOK, "response_declare.html", "Declare an incident", map[string]any{
		"Services": services, "SEVs": s.sevOptions(), "Service": r.URL.Query().Get("service")})
}

func (s *Server) declareForm(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	b := declareBody{Service: f.Get("service"), Title: f.Get("title"), SEV: f.Get("sev"), Summary: f.Get("summary"),
		ImpactStartedAt: f.Get("impact_started_at")}
	if c := strings.TrimSpace(f.Get("commander")); c != "" {
		b.Roles = map[string]string{config.RoleCommander: c}
	}
	inc, err := s.declare(r.Context(), b, actor(r, "web"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(inc.ID, 10)+"/respond", http.StatusSeeOther)
	return nil
}

type roleView struct{ ID, Name, Person string }

func (s *Server) respondPage(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	inc, err := s.Incidents.Get(ctx, id)
	if err != nil {
		return err
	}
	cfg := s.Config.Get()
	set := &cfg.Incidents
	var roles []roleView
	for _, role := range set.RoleNames() {
		roles = append(roles, roleView{role, set.RoleName(role), inc.Roles[role]})
	}
	alerts, err := s.Alerts.ForIncident(ctx, id)
	if err != nil {
		return err
	}
	changes, err := s.Changes.ForIncident(ctx, inc, set.ChangeLookback.D())
	if err != nil {
		return err
	}
	links, err := s.Incidents.Links(ctx, id)
	if err != nil {
		return err
	}
	svcRunbook, alertRunbooks, err := s.runbooks(ctx, inc)
	if err != nil {
		return err
	}
	similar, err := s.Postmortems.SimilarTo(ctx, inc, 5)
	if err != nil {
		return err
	}
	_, pmErr := s.Postmortems.Get(ctx, id)
	name := inc.ServiceID
	if svc := cfg.Service(inc.ServiceID); svc != nil {
		name = svc.Name
	}
	return s.render(w, r, http.StatusOK, "response_incident.html", inc.Title, map[string]any{
		"Incident": inc, "ServiceName": name, "SEVName": set.SEVName(inc.SEV), "SEVs": s.sevOptions(), "Roles": roles,
		"Alerts": alerts, "Changes": changes, "Lookback": postmortem.Human(set.ChangeLookback.D()), "Links": links,
		"Runbook": svcRunbook, "AlertRunbooks": alertRunbooks, "Similar": similar, "HasPostmortem": pmErr == nil})
}

// respondForm runs one action of the incident page's forms, then shows the page again.
func (s *Server) respondForm(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	ctx, f, a := r.Context(), r.PostForm, actor(r, "web")
	switch f.Get("action") {
	case "sev":
		if !config.ValidSEV(f.Get("sev")) {
			return errorf(http.StatusBadRequest, "sev: %q is not SEV1..SEV5", f.Get("sev"))
		}
		_, err = s.Incidents.SetSEV(ctx, id, f.Get("sev"), strings.TrimSpace(f.Get("reason")), a)
	case "role":
		person := strings.TrimSpace(f.Get("person"))
		if bad := s.checkRole(f.Get("role"), person); len(bad) > 0 {
			return &Error{Status: http.StatusBadRequest, Msg: strings.Join(bad, "; "), Errors: bad}
		}
		_, err = s.Incidents.AssignRole(ctx, id, f.Get("role"), person, a)
	case "impact":
		at, perr := parseWhen(f.Get("impact_started_at"))
		if perr != nil {
			return errorf(http.StatusBadRequest, "impact_started_at: %v", perr)
		}
		_, err = s.Incidents.SetImpactStart(ctx, id, at, a)
	case "link":
		if err := checkURL(strings.TrimSpace(f.Get("url"))); err != nil {
			return err
		}
		_, err = s.Incidents.AddLink(ctx, id, strings.TrimSpace(f.Get("url")), strings.TrimSpace(f.Get("title")), a)
	case "note":
		text := strings.TrimSpace(f.Get("text"))
		if text == "" || len(text) > 64<<10 {
			return errorf(http.StatusBadRequest, "text: a note needs 1 byte to 64 KiB of text")
		}
		_, err = s.Incidents.AddNote(ctx, id, text, a)
	case "acknowledge":
		_, err = s.Incidents.Acknowledge(ctx, id, a)
	case "resolve":
		var noisy []int64
		for _, v := range f["not_actionable"] {
			n, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil {
				return errorf(http.StatusBadRequest, "not_actionable: %q is not an alert id", v)
			}
			noisy = append(noisy, n)
		}
		if len(noisy) > 0 {
			if err := s.Alerts.MarkActionable(ctx, id, noisy, false, a); err != nil {
				return responseError(err)
			}
		}
		_, err = s.Incidents.Resolve(ctx, id, a)
	default:
		return errorf(http.StatusBadRequest, "action: %q is not one the incident page knows", f.Get("action"))
	}
	if err != nil {
		return responseError(err)
	}
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(id, 10)+"/respond", http.StatusSeeOther)
	return nil
}

func (s *Server) postmortemPage(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	inc, err := s.Incidents.Get(r.Context(), id)
	if err != nil {
		return err
	}
	pm, err := s.Postmortems.Get(r.Context(), id)
	if err == postmortem.ErrNoPostmortem {
		return s.render(w, r, http.StatusOK, "response_postmortem.html", "Postmortem: "+inc.Title, map[string]any{"Incident": inc})
	}
	if err != nil {
		return err
	}
	var doc bytes.Buffer
	if err := postmortem.HTMLTemplate.ExecuteTemplate(&doc, "postmortem", pm); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "response_postmortem.html", "Postmortem: "+inc.Title, map[string]any{
		"Incident": inc, "PM": pm, "Doc": template.HTML(doc.String()), "Kinds": postmortem.Kinds, "Due": s.Postmortems.DefaultDue(),
		"Questions": strings.Join(pm.Questions, "\n"), "WentWell": strings.Join(pm.WentWell, "\n")})
}

func lines(v string) []string {
	var out []string
	for _, l := range strings.Split(v, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (s *Server) postmortemForm(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	ctx, f, a := r.Context(), r.PostForm, actor(r, "web")
	switch f.Get("action") {
	case "draft":
		_, _, err = s.Postmortems.Draft(ctx, id, a)
	case "save":
		str := func(k string) *string { v := f.Get(k); return &v }
		q, ww := lines(f.Get("questions")), lines(f.Get("what_went_well"))
		_, err = s.Postmortems.Edit(ctx, id, postmortem.Patch{Status: str("status"), Summary: str("summary"), Affected: str("affected"),
			RootCause: str("root_cause"), ContributingFactors: str("contributing_factors"), Questions: &q, WentWell: &ww,
			CustomerSummary: str("customer_summary")}, a)
	case "publish":
		err = s.Postmortems.Publish(ctx, id, a)
	case "add_action":
		_, err = s.Postmortems.AddAction(ctx, id, postmortem.NewAction{Title: f.Get("title"), Owner: f.Get("owner"), Kind: f.Get("kind"),
			Due: f.Get("due")}, a)
	case "done", "reopen":
		aid, perr := strconv.ParseInt(f.Get("action_id"), 10, 64)
		if perr != nil {
			return errorf(http.StatusBadRequest, "action_id: %q is not an action item id", f.Get("action_id"))
		}
		item, gerr := s.Postmortems.Action(ctx, aid)
		if gerr != nil || item.IncidentID != id {
			return errorf(http.StatusNotFound, "action item %d is not an item of incident %d", aid, id)
		}
		state := postmortem.Done
		if f.Get("action") == "reopen" {
			state = postmortem.Open
		}
		_, err = s.Postmortems.UpdateAction(ctx, aid, postmortem.ActionPatch{State: &state}, a)
	default:
		return errorf(http.StatusBadRequest, "action: %q is not one the postmortem page knows", f.Get("action"))
	}
	if err != nil {
		return responseError(err)
	}
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(id, 10)+"/postmortem", http.StatusSeeOther)
	return nil
}

func (s *Server) servicePage(w http.ResponseWriter, r *http.Request) error {
	cfg := s.Config.Get()
	svc := cfg.Service(r.PathValue("id"))
	if svc == nil {
		return errorf(http.StatusNotFound, "service %q not found", r.PathValue("id"))
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
	var rb *Runbook
	if svc.Runbook != "" {
		v := runbookOf(svc.Runbook)
		rb = &v
	}
	var keys []Runbook
	for k, v := range svc.Runbooks {
		x := runbookOf(v)
		x.DedupKey = k
		keys = append(keys, x)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].DedupKey < keys[j].DedupKey })
	return s.render(w, r, http.StatusOK, "response_service.html", svc.Name, map[string]any{
		"Service": svc, "Changes": changes, "Incidents": incs, "Runbook": rb, "AlertRunbooks": keys})
}

func (s *Server) searchPage(w http.ResponseWriter, r *http.Request) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var hits []postmortem.Hit
	if q != "" {
		if len(q) > 500 {
			return errorf(http.StatusBadRequest, "q: at most 500 characters")
		}
		var err error
		if hits, err = s.Postmortems.Search(r.Context(), q, 50); err != nil {
			return err
		}
	}
	// One entry per incident, at the rank of its best document, with what else matched.
	type result struct {
		postmortem.Hit
		Also []string
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
		byIncident[h.IncidentID] = res
		results = append(results, res)
	}
	return s.render(w, r, http.StatusOK, "response_search.html", "Search", map[string]any{"Q": q, "Hits": results})
}

func (s *Server) reportsPage(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.scope(r, true)
	if err != nil {
		return err
	}
	ctx := r.Context()
	inc, err := s.Reports.IncidentMetrics(ctx, sc)
	if err != nil {
		return err
	}
	dora, err := s.Reports.Four(ctx, sc)
	if err != nil {
		return err
	}
	quality, err := s.Reports.Alerts(ctx, sc)
	if err != nil {
		return err
	}
	actions, err := s.Postmortems.OpenByTeam(ctx, "")
	if err != nil {
		return err
	}
	secs := func(v *float64) string {
		if v == nil {
			return "no data"
		}
		return postmortem.Human(time.Duration(*v * float64(time.Second)))
	}
	pct := func(v *float64) string {
		if v == nil {
			return "no data"
		}
		return strconv.FormatFloat(*v*100, 'f', 1, 64) + "%"
	}
	return s.render(w, r, http.StatusOK, "response_reports.html", "Reports", map[string]any{
		"Scope": sc, "Inc": inc, "DORA": dora, "Quality": quality, "Actions": actions, "SEVs": config.SEVLevels,
		"MTTD": secs(inc.MTTDSeconds), "MTTA": secs(inc.MTTASeconds), "MTTR": secs(inc.MTTRSeconds),
		"Lead": secs(dora.LeadTimeSeconds), "Restore": secs(dora.TimeToRestoreSeconds), "CFR": pct(dora.ChangeFailureRate),
		"Freq": strconv.FormatFloat(dora.DeploymentFrequency, 'f', 2, 64), "Noise": pct(quality.NotActionableShare),
		"OffHours": pct(quality.OffHoursShare)})
}
