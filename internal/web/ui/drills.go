package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/drill"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// DrillsPage answers GET /drills: the drills of the services the principal reaches, with their
// next and last runs.
func (s *Handler) DrillsPage(w http.ResponseWriter, r *http.Request) error {
	services, err := s.guard.Reach(r).Services(nil)
	if err != nil {
		return err
	}
	views, runs, err := s.api.DrillsOf(r, services)
	if err != nil {
		return err
	}
	if len(runs) > 50 {
		runs = runs[:50]
	}
	return s.pages.Render(w, r, http.StatusOK, "drills.html", "Drills", map[string]any{
		"Drills": views, "Runs": runs, "CanAct": httpx.Principal(r).Can(auth.Responder)})
}

// RunDrill answers POST /services/{id}/drills/{drill}/run: now, or at the form's time.
func (s *Handler) RunDrill(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, 16<<10); err != nil {
		return err
	}
	d, err := s.api.ServiceDrill(r)
	if err != nil {
		return err
	}
	by := httpx.Principal(r).Person()
	var run drill.Run
	if v := strings.TrimSpace(r.PostForm.Get("at")); v != "" {
		// A browser's datetime-local value, read in UTC as the form says.
		at, err := clock.ParseIn("at", v, clock.Local, nil)
		if err != nil {
			return err
		}
		if run, err = s.Drills.Schedule(r.Context(), d.ID, at.UTC(), by); err != nil {
			return err
		}
	} else {
		var re *drill.RefusedError
		run, err = s.Drills.RunNow(r.Context(), d.ID, by)
		if errors.As(err, &re) {
			run, err = re.Run, nil
		}
		if err != nil {
			return err
		}
	}
	http.Redirect(w, r, "/services/"+url.PathEscape(d.Service)+"/drill-runs/"+strconv.FormatInt(run.ID, 10), http.StatusSeeOther)
	return nil
}

// DrillRunPage answers GET /services/{id}/drill-runs/{run}: a run's timings and timeline.
func (s *Handler) DrillRunPage(w http.ResponseWriter, r *http.Request) error {
	d, err := s.api.RunDetailOf(r)
	if err != nil {
		return err
	}
	return s.pages.Render(w, r, http.StatusOK, "drill_run.html", "Drill run "+strconv.FormatInt(d.ID, 10), map[string]any{
		"Run": d.Run, "Events": d.Events, "Live": drill.Live(d.State) || d.State == drill.Scheduled,
		"CanAct": httpx.Principal(r).Can(auth.Responder)})
}

// AbortDrillRun answers POST /services/{id}/drill-runs/{run}/abort.
func (s *Handler) AbortDrillRun(w http.ResponseWriter, r *http.Request) error {
	run, err := s.api.ServiceRun(r)
	if err != nil {
		return err
	}
	if _, err := s.Drills.Abort(r.Context(), run.ID, httpx.Principal(r).Person()); err != nil {
		return err
	}
	http.Redirect(w, r, "/services/"+url.PathEscape(run.ServiceID)+"/drill-runs/"+strconv.FormatInt(run.ID, 10), http.StatusSeeOther)
	return nil
}

// secs says a number of seconds as a duration people read: 1m30s, 4.2s.
func secs(v float64) string {
	d := time.Duration(v * float64(time.Second))
	if d < 10*time.Second {
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	}
	return d.Round(time.Second).String()
}
