package ui

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/severity"
	"github.com/nines-dev/nines/internal/web/api"
	"github.com/nines-dev/nines/internal/web/httpx"
)

type option struct{ Value, Label string }

func (s *Handler) sevOptions() []option {
	set := &s.Config.Get().Incidents
	out := make([]option, len(severity.Levels))
	for i, l := range severity.Levels {
		out[i] = option{l, l + " · " + set.SEVName(l)}
	}
	return out
}

// DeclarePage answers GET /incidents/new.
func (s *Handler) DeclarePage(w http.ResponseWriter, r *http.Request) error {
	cfg, rc := s.Config.Get(), s.guard.Reach(r)
	var services []option
	for _, svc := range cfg.Services {
		if rc.Service(svc.ID) {
			services = append(services, option{svc.ID, svc.Name})
		}
	}
	return s.pages.Render(w, r, http.StatusOK, "declare.html", "Declare an incident", map[string]any{
		"Services": services, "SEVs": s.sevOptions(), "Service": r.URL.Query().Get("service")})
}

// DeclareForm answers POST /incidents/new.
func (s *Handler) DeclareForm(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, httpx.MaxBody); err != nil {
		return err
	}
	f := r.PostForm
	b := api.DeclareBody{Service: f.Get("service"), Title: f.Get("title"), SEV: f.Get("sev"), Summary: f.Get("summary"),
		ImpactStartedAt: f.Get("impact_started_at")}
	if v := f.Get("impact_started_at"); v != "" {
		// The form's time is the viewer's, in the zone they read times in.
		at, err := clock.ParseIn("impact_started_at", v, clock.Local|clock.RFC3339, s.pages.Zone(r))
		if err != nil {
			return err
		}
		b.ImpactStartedAt = at.UTC().Format(time.RFC3339)
	}
	if c := strings.TrimSpace(f.Get("commander")); c != "" {
		b.Roles = map[string]string{config.RoleCommander: c}
	}
	inc, err := s.api.Declare(r.Context(), b, httpx.Actor(r, "web"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(inc.ID, 10), http.StatusSeeOther)
	return nil
}
