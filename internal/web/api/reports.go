package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/report"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// ReportScope reads service=, team= (both may repeat or be comma-separated), from= and to=.
func (s *Handler) ReportScope(r *http.Request, teams bool) (report.Scope, error) {
	cfg := s.Config.Get()
	var sc report.Scope
	q := r.URL.Query()
	for _, v := range q["service"] {
		for _, id := range strings.Split(v, ",") {
			if id == "" {
				continue
			}
			if cfg.Service(id) == nil {
				return sc, invalid.Field("service", "unknown service %q", id)
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
					return sc, invalid.Field("team", "no service belongs to team %q", team)
				}
			}
		}
	}
	switch q.Get("drills") {
	case "", "exclude":
	case "include":
		sc.IncludeDrills = true
	default:
		return sc, invalid.Field("drills", "%q: want include (count chaos drills' incidents) or exclude (the default)", q.Get("drills"))
	}
	var err error
	if sc.Services, err = s.guard.Reach(r).Services(sc.Services); err != nil {
		return sc, err
	}
	if sc.From, sc.To, err = s.span(r); err != nil {
		return sc, err
	}
	sc.Drills, err = s.Drills.Incidents(r.Context())
	return sc, err
}

// IncidentReport answers GET /api/v1/reports/incidents.
func (s *Handler) IncidentReport(w http.ResponseWriter, r *http.Request) error {
	return writeReport(s, w, r, s.Reports.IncidentMetrics)
}

// DORAReport answers GET /api/v1/reports/dora.
func (s *Handler) DORAReport(w http.ResponseWriter, r *http.Request) error {
	return writeReport(s, w, r, s.Reports.Four)
}

// AlertReport answers GET /api/v1/reports/alerts.
func (s *Handler) AlertReport(w http.ResponseWriter, r *http.Request) error {
	return writeReport(s, w, r, s.Reports.Alerts)
}

// writeReport answers with one report over the scope the query asks for.
func writeReport[T any](s *Handler, w http.ResponseWriter, r *http.Request, build func(context.Context, report.Scope) (T, error)) error {
	sc, err := s.ReportScope(r, true)
	if err != nil {
		return err
	}
	rep, err := build(r.Context(), sc)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, rep)
	return nil
}

// ActionReport answers GET /api/v1/reports/actions.
func (s *Handler) ActionReport(w http.ResponseWriter, r *http.Request) error {
	team := r.URL.Query().Get("team")
	if team != "" && !s.guard.Reach(r).Team(team) {
		return httpx.Errorf(http.StatusForbidden, "forbidden: team %s is not one %s acts for", team, httpx.Actor(r, "").Name)
	}
	teams, err := s.OpenActions(r, team)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"teams": teams})
	return nil
}

// OpenActions are the open action items per team (of team, when not "") that the request's
// principal reaches: those of incidents of services it reaches.
func (s *Handler) OpenActions(r *http.Request, team string) ([]postmortem.TeamActions, error) {
	teams, err := s.Postmortems.OpenByTeam(r.Context(), team)
	rc := s.guard.Reach(r)
	if err != nil || rc.All() {
		return teams, err
	}
	out := []postmortem.TeamActions{}
	for _, t := range teams {
		kept := postmortem.TeamActions{Team: t.Team, Items: []postmortem.ActionItem{}}
		for _, it := range t.Items {
			if rc.Service(it.ServiceID) {
				kept.Items = append(kept.Items, it)
				kept.Open++
				if it.Overdue {
					kept.Overdue++
				}
			}
		}
		if kept.Open > 0 {
			out = append(out, kept)
		}
	}
	return out, nil
}

// OnCallReport answers GET /api/v1/reports/oncall.
func (s *Handler) OnCallReport(w http.ResponseWriter, r *http.Request) error {
	now := s.Clock.Now()
	from, err := instant(r, "from", now.Add(-30*24*time.Hour))
	if err != nil {
		return err
	}
	to, err := instant(r, "to", now)
	if err != nil {
		return err
	}
	rep, err := s.OnCallLoad(r, from, to)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, rep)
	return nil
}

// OnCallLoad is the on-call load over [from, to) of the people the request's principal
// reaches.
func (s *Handler) OnCallLoad(r *http.Request, from, to time.Time) (oncall.Report, error) {
	if !to.After(from) || to.Sub(from) > 366*24*time.Hour {
		return oncall.Report{}, invalid.Field("to", "from..to must be a period of up to a year, from before to")
	}
	drills, err := s.Drills.Incidents(r.Context())
	if err != nil {
		return oncall.Report{}, err
	}
	rep, err := s.OnCall.LoadReport(r.Context(), s.Escalation, s.Incidents, drills, from, to)
	if err != nil {
		return oncall.Report{}, err
	}
	rc := s.guard.Reach(r)
	users := rep.Users[:0]
	for _, u := range rep.Users {
		if rc.Person(u.UserID) {
			users = append(users, u)
		}
	}
	rep.Users = users
	return rep, nil
}
