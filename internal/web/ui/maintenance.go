package ui

import (
	"net/http"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/maintenance"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// maintenanceView is the maintenance page's data.
type maintenanceView struct {
	Windows  []maintenance.Window
	Services []config.Service
	Monitors []config.Monitor
	Pages    []config.StatusPage
	CanAct   bool
}

// MaintenancePage answers GET /maintenance.
func (s *Handler) MaintenancePage(w http.ResponseWriter, r *http.Request) error {
	ws, err := s.Maintenance.List(r.Context(), s.Clock.Now().AddDate(0, 0, -14))
	if err != nil {
		return err
	}
	cfg, rc := s.Config.Get(), s.guard.Reach(r)
	v := maintenanceView{Windows: s.api.Windows(r, ws), Pages: cfg.StatusPages, CanAct: httpx.Principal(r).Can(auth.Responder)}
	// The form offers what the principal may put under maintenance.
	for _, svc := range cfg.Services {
		if rc.Service(svc.ID) {
			v.Services = append(v.Services, svc)
		}
	}
	for i := range cfg.Monitors {
		if rc.Monitor(&cfg.Monitors[i]) {
			v.Monitors = append(v.Monitors, cfg.Monitors[i])
		}
	}
	return s.pages.Render(w, r, http.StatusOK, "maintenance.html", "Maintenance", v)
}

// formWindow reads the maintenance form: times are the browser's datetime-local values in the
// zone the form names.
func formWindow(r *http.Request) (maintenance.Params, error) {
	f := r.PostForm
	p := maintenance.Params{Name: f.Get("name"), Description: f.Get("description"), Services: f["services"], Monitors: f["monitors"],
		Announce: f.Get("announce") != "", StatusPages: f["status_pages"]}
	zone := time.UTC
	if z := f.Get("time_zone"); z != "" {
		loc, err := time.LoadLocation(z)
		if err != nil {
			return p, invalid.Field("time_zone", "%q is not a known IANA zone", z)
		}
		zone = loc
	}
	for _, t := range []struct {
		field string
		dst   *string
	}{{"start", &p.Start}, {"end", &p.End}} {
		v := f.Get(t.field)
		if v == "" {
			continue
		}
		at, err := clock.ParseIn(t.field, v, clock.Local|clock.RFC3339, zone)
		if err != nil {
			return p, err
		}
		*t.dst = at.Format(time.RFC3339)
	}
	return p, nil
}

// ScheduleWindow answers POST /maintenance.
func (s *Handler) ScheduleWindow(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, httpx.MaxBody); err != nil {
		return err
	}
	p, err := formWindow(r)
	if err != nil {
		return err
	}
	pr, _ := httpx.PrincipalFrom(r.Context())
	if _, err := s.Maintenance.Schedule(r.Context(), p, pr.Actor()); err != nil {
		return err
	}
	http.Redirect(w, r, "/maintenance", http.StatusSeeOther)
	return nil
}

// ChangeWindow edits a window (action=edit, the form's fields) or cancels it (action=cancel).
func (s *Handler) ChangeWindow(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, httpx.MaxBody); err != nil {
		return err
	}
	pr, _ := httpx.PrincipalFrom(r.Context())
	id := r.PathValue("id")
	switch r.PostForm.Get("action") {
	case "cancel":
		if _, err := s.Maintenance.Cancel(r.Context(), id, pr.Actor()); err != nil {
			return err
		}
	case "edit":
		p, err := formWindow(r)
		if err != nil {
			return err
		}
		q := maintenance.Patch{Name: &p.Name, Description: &p.Description, Services: &p.Services, Monitors: &p.Monitors,
			Announce: &p.Announce, StatusPages: &p.StatusPages}
		if p.Start != "" {
			q.Start = &p.Start
		}
		if p.End != "" {
			q.End = &p.End
		}
		if _, err := s.Maintenance.Edit(r.Context(), id, q, pr.Actor()); err != nil {
			return err
		}
	default:
		return invalid.Field("action", "want edit or cancel")
	}
	http.Redirect(w, r, "/maintenance#window-"+id, http.StatusSeeOther)
	return nil
}
