package ui

import (
	"net/http"
	"strconv"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/web/api"
	"github.com/nines-dev/nines/internal/web/httpx"
)

type roleView struct{ ID, Name, Person string }

// RespondPage answers GET /incidents/{id}/respond, which the incident page replaced: 303 to it.
func (s *Handler) RespondPage(w http.ResponseWriter, r *http.Request) error {
	id, err := api.IncidentID(r)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

// RespondForm runs one action of the incident page's forms, then shows the page again.
func (s *Handler) RespondForm(w http.ResponseWriter, r *http.Request) error {
	id, err := api.IncidentID(r)
	if err != nil {
		return err
	}
	if err := httpx.ReadForm(w, r, httpx.MaxBody); err != nil {
		return err
	}
	ctx, f, a := r.Context(), r.PostForm, httpx.Actor(r, "web")
	switch f.Get("action") {
	case "sev":
		_, err = s.Incidents.SetSEV(ctx, id, f.Get("sev"), f.Get("reason"), a)
	case "role":
		_, err = s.Incidents.AssignRole(ctx, id, f.Get("role"), f.Get("person"), a, s.Config.Get())
	case "impact":
		// The form's time is the viewer's, in the zone they read times in, as the declare form's.
		at, perr := clock.ParseIn("impact_started_at", f.Get("impact_started_at"), clock.RFC3339|clock.Date|clock.Local, s.pages.Zone(r))
		if perr != nil {
			return perr
		}
		_, err = s.Incidents.SetImpactStart(ctx, id, at, a)
	case "link":
		_, err = s.Incidents.AddLink(ctx, id, f.Get("url"), f.Get("title"), a)
	case "note":
		_, err = s.Incidents.AddNote(ctx, id, f.Get("text"), a)
	case "acknowledge":
		_, err = s.Incidents.Acknowledge(ctx, id, a)
	case "resolve":
		var noisy []int64
		for _, v := range f["not_actionable"] {
			n, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil {
				return invalid.Field("not_actionable", "%q is not an alert id", v)
			}
			noisy = append(noisy, n)
		}
		if len(noisy) > 0 {
			if err := s.Alerts.MarkActionable(ctx, id, noisy, false, a); err != nil {
				return err
			}
		}
		_, err = s.Incidents.Resolve(ctx, id, a)
	default:
		return invalid.Field("action", "%q is not one the incident page knows", f.Get("action"))
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}
