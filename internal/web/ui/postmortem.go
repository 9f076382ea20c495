package ui

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/web/api"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// PostmortemPage answers GET /incidents/{id}/postmortem.
func (s *Handler) PostmortemPage(w http.ResponseWriter, r *http.Request) error {
	inc, err := s.api.IncidentAt(r)
	if err != nil {
		return err
	}
	pm, err := s.Postmortems.Get(r.Context(), inc.ID)
	if err == postmortem.ErrNoPostmortem {
		return s.pages.Render(w, r, http.StatusOK, "postmortem.html", "Postmortem: "+inc.Title, map[string]any{"Incident": inc})
	}
	if err != nil {
		return err
	}
	var doc bytes.Buffer
	if err := postmortem.HTMLTemplate.ExecuteTemplate(&doc, "postmortem", pm); err != nil {
		return err
	}
	return s.pages.Render(w, r, http.StatusOK, "postmortem.html", "Postmortem: "+inc.Title, map[string]any{
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

// PostmortemForm answers POST /incidents/{id}/postmortem.
func (s *Handler) PostmortemForm(w http.ResponseWriter, r *http.Request) error {
	id, err := api.IncidentID(r)
	if err != nil {
		return err
	}
	if err := httpx.ReadForm(w, r, httpx.MaxBody); err != nil {
		return err
	}
	ctx, f, a := r.Context(), r.PostForm, httpx.Actor(r, "web")
	switch f.Get("action") {
	case "draft":
		_, _, err = s.Postmortems.Draft(ctx, id, a)
	case "save":
		str := func(k string) *string { v := f.Get(k); return &v }
		q, ww := lines(f.Get("questions")), lines(f.Get("what_went_well"))
		_, err = s.Postmortems.Edit(ctx, id, postmortem.Patch{Status: str("status"), Summary: str("summary"), Affected: str("affected"),
			RootCause: str("root_cause"), ContributingFactors: str("contributing_factors"), Questions: &q, WentWell: &ww,
			CustomerSummary: str("customer_summary"), CustomerTitle: str("customer_title"), CustomerWhatHappened: str("customer_what_happened"), CustomerPrevention: str("customer_prevention")}, a)
	case "publish":
		err = s.Postmortems.Publish(ctx, id, a)
	case "add_action":
		_, err = s.Postmortems.AddAction(ctx, id, postmortem.NewAction{Title: f.Get("title"), Owner: f.Get("owner"), Kind: f.Get("kind"),
			Due: f.Get("due")}, a)
	case "done", "reopen":
		aid, perr := strconv.ParseInt(f.Get("action_id"), 10, 64)
		if perr != nil {
			return invalid.Field("action_id", "%q is not an action item id", f.Get("action_id"))
		}
		item, gerr := s.Postmortems.Action(ctx, aid)
		if gerr != nil || item.IncidentID != id {
			return httpx.Errorf(http.StatusNotFound, "action item %d is not an item of incident %d", aid, id)
		}
		state := postmortem.Done
		if f.Get("action") == "reopen" {
			state = postmortem.Open
		}
		_, err = s.Postmortems.UpdateAction(ctx, aid, postmortem.ActionPatch{State: &state}, a)
	default:
		return invalid.Field("action", "%q is not one the postmortem page knows", f.Get("action"))
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(id, 10)+"/postmortem", http.StatusSeeOther)
	return nil
}
