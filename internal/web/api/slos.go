package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/slo"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// maxPushBody is the largest push: 10,000 points (slo.MaxPoints) of up to about 100 bytes each,
// a timestamp with nanoseconds and a zone and 15-digit counts, with room for whitespace: the
// largest body of any route.
const maxPushBody = httpx.MaxAnyBody

// PushSLIEvents answers POST /api/v1/slis/{id}/events.
func (s *Handler) PushSLIEvents(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, ok := s.SLOs.Definition(id); !ok {
		return NoSLO(id, slo.ErrNotFound)
	}
	var body struct {
		Events []struct {
			Timestamp string  `json:"timestamp"`
			Good      float64 `json:"good"`
			Total     float64 `json:"total"`
		} `json:"events"`
	}
	if err := httpx.ReadIngestJSON(w, r, &body, maxPushBody); err != nil {
		return err
	}
	pts := make([]slo.Point, len(body.Events))
	var bad []invalid.Problem
	for i, e := range body.Events {
		var t time.Time
		if e.Timestamp != "" {
			var err error
			if t, err = clock.ParseInstant(fmt.Sprintf("events[%d].timestamp", i), e.Timestamp); err != nil {
				ie, _ := invalid.As(err)
				bad = append(bad, ie.Problems...)
			}
		}
		pts[i] = slo.Point{Timestamp: t, Good: e.Good, Total: e.Total}
	}
	if len(bad) > 0 {
		return slo.BadPoints(bad)
	}
	if err := s.SLOs.Push(r.Context(), id, pts); err != nil {
		return NoSLO(id, err)
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]any{"status": "success", "slo_id": id, "events": len(pts)})
	return nil
}

// ListSLOs answers GET /api/v1/slos.
func (s *Handler) ListSLOs(w http.ResponseWriter, r *http.Request) error {
	svc := r.URL.Query().Get("service")
	if svc != "" && s.Config.Get().Service(svc) == nil {
		return invalid.Field("service", "unknown service %q", svc)
	}
	if svc != "" {
		if _, err := s.guard.Reach(r).Services([]string{svc}); err != nil {
			return err
		}
	}
	sts, err := s.SLOStatuses(r, svc)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"slos": sts})
	return nil
}

// SLOStatuses are the SLOs of service (every service when "") the request's principal reaches.
func (s *Handler) SLOStatuses(r *http.Request, service string) ([]slo.Status, error) {
	sts, err := s.SLOs.Statuses(r.Context(), service)
	if err != nil {
		return nil, err
	}
	rc := s.guard.Reach(r)
	out := sts[:0]
	for _, st := range sts {
		if rc.Service(st.ServiceID) {
			out = append(out, st)
		}
	}
	return out, nil
}

// GetSLO answers GET /api/v1/slos/{id}.
func (s *Handler) GetSLO(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	st, err := s.SLOs.Status(r.Context(), id)
	if err != nil {
		return NoSLO(id, err)
	}
	httpx.WriteJSON(w, http.StatusOK, st)
	return nil
}

// ServiceGate answers GET /api/v1/services/{id}/gate.
func (s *Handler) ServiceGate(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.Config.Get().FindService(id); err != nil {
		return err
	}
	g, err := s.SLOs.Gate(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, g)
	return nil
}

// ServiceSLA answers GET /api/v1/services/{id}/sla.
func (s *Handler) ServiceSLA(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.Config.Get().FindService(id); err != nil {
		return err
	}
	q := r.URL.Query()
	period := q.Get("period")
	if period == "" {
		return invalid.Field("period", "is required: a month (2026-10), a quarter (2026-Q4) or a year (2026)")
	}
	loc := time.UTC
	if tz := q.Get("tz"); tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return invalid.Field("tz", "%q is not an IANA time zone such as Europe/Berlin", tz)
		}
		loc = l
	}
	rep, err := s.SLA(r, id, period, loc)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, rep)
	return nil
}

// SLA is the SLA report of service id over period ("2026-10", "2026-Q4", "2026") in loc.
func (s *Handler) SLA(r *http.Request, id, period string, loc *time.Location) (slo.SLAReport, error) {
	rep, err := s.SLOs.SLA(r.Context(), s.Incidents, id, period, loc)
	return rep, NoSLO(id, err)
}

// NoSLO says which SLO the engine did not know, when err is that it did not.
func NoSLO(id string, err error) error {
	if errors.Is(err, slo.ErrNotFound) {
		return fmt.Errorf("%w: %q is not in the config in force", err, id)
	}
	return err
}
