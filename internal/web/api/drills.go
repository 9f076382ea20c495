package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/drill"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// Chaos drills: the drills of the config with their next and last runs, run now or at a time,
// abort, and each run's timings and timeline. Runs are reached through their service, so the
// service's team scope covers them.

// DrillView is a drill of the config as the API and pages show it.
type DrillView struct {
	ID       string        `json:"id"`
	Name     string        `json:"name"`
	Service  string        `json:"service"`
	Kind     string        `json:"kind"`
	What     string        `json:"what"`
	Targets  drill.Targets `json:"targets"`
	LimitS   float64       `json:"limit_s"`
	Schedule string        `json:"schedule,omitempty"`
	Next     *drill.Run    `json:"next,omitempty"`
	// NoNext says why no run is planned, when none is.
	NoNext string     `json:"no_next,omitempty"`
	Last   *drill.Run `json:"last,omitempty"`
}

// DrillsOf lists the drills of the services given (nil: every service) with their runs.
func (s *Handler) DrillsOf(r *http.Request, services []string) ([]DrillView, []drill.Run, error) {
	cfg := s.Config.Get()
	runs, err := s.Drills.List(r.Context(), drill.Query{Services: services, Limit: 200})
	if err != nil {
		return nil, nil, err
	}
	want := map[string]bool{}
	for _, id := range services {
		want[id] = true
	}
	views := []DrillView{}
	for i := range cfg.Drills {
		d := &cfg.Drills[i]
		if services != nil && !want[d.Service] {
			continue
		}
		v := DrillView{ID: d.ID, Name: d.Name, Service: d.Service, Kind: d.Kind, What: describeDrill(d), LimitS: d.Limit.D().Seconds(),
			Targets: drill.Targets{DetectS: d.Targets.Detect.D().Seconds(), PageS: d.Targets.Page.D().Seconds(), AcknowledgeS: d.Targets.Acknowledge.D().Seconds()}}
		if sc := d.Schedule; sc != nil {
			days := "every day"
			if len(sc.Days) > 0 {
				days = strings.Join(sc.Days, ", ")
			}
			v.Schedule = "once every " + config.FormatDuration(sc.Every.D()) + ", a random time of " + days + " between " +
				clockTime(sc.Start.Minutes) + " and " + clockTime(sc.End.Minutes) + " in the team's time zone and working hours"
		}
		for j := range runs {
			run := &runs[j]
			if run.DrillID != d.ID {
				continue
			}
			if run.State == drill.Scheduled {
				v.Next = run // runs are newest first: the last one seen is the soonest
			} else if v.Last == nil {
				v.Last = run
			}
		}
		if v.Next == nil {
			switch {
			case d.Schedule == nil:
				v.NoNext = "no run is planned: the drill has no schedule; run it now or schedule a run"
			case cfg.NeverRuns(d) != "":
				v.NoNext = "the schedule " + cfg.NeverRuns(d)
			default:
				v.NoNext = "no run is planned: no minute of the schedule in the year to come leaves room for the drill inside the team's working hours"
			}
		}
		views = append(views, v)
	}
	return views, runs, nil
}

func clockTime(m int) string {
	return strconv.Itoa(m/60/10) + strconv.Itoa(m/60%10) + ":" + strconv.Itoa(m%60/10) + strconv.Itoa(m%10)
}

// describeDrill says what a drill does.
func describeDrill(d *config.Drill) string {
	switch d.Kind {
	case config.DrillToxiproxy:
		if t := d.Toxiproxy; t != nil {
			return "Toxiproxy toxic " + t.Toxic + " (" + t.Stream + ") on proxy " + t.Proxy
		}
	case config.DrillWebhook:
		return "a chaos tool started and stopped by webhook"
	case config.DrillPage:
		return "no fault: a synthetic [DRILL] alert travels the escalation path"
	}
	return d.Kind
}

// ListDrills answers GET /api/v1/drills.
func (s *Handler) ListDrills(w http.ResponseWriter, r *http.Request) error {
	services, err := s.guard.Reach(r).Services(nil)
	if err != nil {
		return err
	}
	views, runs, err := s.DrillsOf(r, services)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"drills": views, "runs": runs})
	return nil
}

// ServiceDrills answers GET /api/v1/services/{id}/drills.
func (s *Handler) ServiceDrills(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if s.Config.Get().Service(id) == nil {
		return httpx.Errorf(http.StatusNotFound, "no service %q", id)
	}
	views, runs, err := s.DrillsOf(r, []string{id})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"drills": views, "runs": runs})
	return nil
}

// ServiceDrill is the drill the path names, of the service the path names.
func (s *Handler) ServiceDrill(r *http.Request) (*config.Drill, error) {
	d := s.Config.Get().Drill(r.PathValue("drill"))
	if d == nil || d.Service != r.PathValue("id") {
		return nil, httpx.Errorf(http.StatusNotFound, "service %q has no drill %q", r.PathValue("id"), r.PathValue("drill"))
	}
	return d, nil
}

// ServiceRun is the run the path names, of the service the path names.
func (s *Handler) ServiceRun(r *http.Request) (drill.Run, error) {
	id, err := strconv.ParseInt(r.PathValue("run"), 10, 64)
	if err != nil {
		return drill.Run{}, httpx.Errorf(http.StatusNotFound, "drill run %q: not a run id", r.PathValue("run"))
	}
	run, err := s.Drills.Get(r.Context(), id)
	if errors.Is(err, drill.ErrNotFound) || err == nil && run.ServiceID != r.PathValue("id") {
		return drill.Run{}, httpx.Errorf(http.StatusNotFound, "service %q has no drill run %d", r.PathValue("id"), id)
	}
	return run, err
}

// runRequest is the body that runs a drill: now, or at a time to come.
type runRequest struct {
	At string `json:"at"`
}

// parseRunAt reads when to run: empty is now; else an RFC 3339 time.
func parseRunAt(v string) (time.Time, bool, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false, nil
	}
	t, err := clock.ParseInstant("at", v)
	if err != nil {
		return time.Time{}, false, err
	}
	return t, true, nil
}

// RunDrill answers POST /api/v1/services/{id}/drills/{drill}/runs: now (202, or 409 with the
// refused run and why), or at a time to come (201).
func (s *Handler) RunDrill(w http.ResponseWriter, r *http.Request) error {
	d, err := s.ServiceDrill(r)
	if err != nil {
		return err
	}
	var q runRequest
	if err := httpx.ReadJSON(w, r, &q); err != nil {
		return err
	}
	at, later, err := parseRunAt(q.At)
	if err != nil {
		return err
	}
	by := httpx.Principal(r).Person()
	if later {
		run, err := s.Drills.Schedule(r.Context(), d.ID, at, by)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusCreated, run)
		return nil
	}
	run, err := s.Drills.RunNow(r.Context(), d.ID, by)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, run)
	return nil
}

// RunDetail is a run with its timeline.
type RunDetail struct {
	drill.Run
	Events []drill.Event `json:"events"`
}

// RunDetailOf is the run the path names, with its timeline.
func (s *Handler) RunDetailOf(r *http.Request) (RunDetail, error) {
	run, err := s.ServiceRun(r)
	if err != nil {
		return RunDetail{}, err
	}
	events, err := s.Drills.Events(r.Context(), run.ID)
	return RunDetail{Run: run, Events: events}, err
}

// GetDrillRun answers GET /api/v1/services/{id}/drill-runs/{run}.
func (s *Handler) GetDrillRun(w http.ResponseWriter, r *http.Request) error {
	d, err := s.RunDetailOf(r)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, d)
	return nil
}

// AbortDrillRun answers POST /api/v1/services/{id}/drill-runs/{run}/abort: 200 with the run
// aborted (or a scheduled one cancelled), or 202 with it "aborting" while its fault's removal
// is retried.
func (s *Handler) AbortDrillRun(w http.ResponseWriter, r *http.Request) error {
	run, err := s.ServiceRun(r)
	if err != nil {
		return err
	}
	if run, err = s.Drills.Abort(r.Context(), run.ID, httpx.Principal(r).Person()); err != nil {
		return err
	}
	// Aborted, but the fault could not be removed yet (the removal is retried): accepted.
	code := http.StatusOK
	if drill.Live(run.State) {
		code = http.StatusAccepted
	}
	httpx.WriteJSON(w, code, run)
	return nil
}
