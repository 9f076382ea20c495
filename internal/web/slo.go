package web

import (
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/slo"
)

func (s *Server) sloRoutes() []Route {
	return []Route{
		{Method: "POST", Pattern: "/api/v1/slis/{id}/events", Role: auth.Responder, Handle: s.withSLOs(s.pushSLIEvents), API: true},
		{Method: "GET", Pattern: "/api/v1/slos", Role: auth.Viewer, Handle: s.withSLOs(s.listSLOs), API: true},
		{Method: "GET", Pattern: "/api/v1/slos/{id}", Role: auth.Viewer, Handle: s.withSLOs(s.getSLO), API: true},
		{Method: "GET", Pattern: "/api/v1/services/{id}/gate", Role: auth.Viewer, Handle: s.withSLOs(s.serviceGate), API: true},
		{Method: "GET", Pattern: "/api/v1/services/{id}/sla", Role: auth.Viewer, Handle: s.withSLOs(s.serviceSLA), API: true},
		{Method: "GET", Pattern: "/slos", Role: auth.Viewer, Handle: s.withSLOs(s.slosPage)},
		{Method: "GET", Pattern: "/slos/{id}", Role: auth.Viewer, Handle: s.withSLOs(s.sloPage)},
	}
}

// withSLOs answers 503 when the server runs without the SLO engine (a test server, say), so the
// route table is the same however nines is wired.
func (s *Server) withSLOs(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.SLOs == nil {
			return errorf(http.StatusServiceUnavailable, "SLOs are not evaluated by this server")
		}
		return h(w, r)
	}
}

// sloError turns the engine's errors into answers a caller can act on.
func sloError(err error, id string) error {
	var ie *slo.InputError
	switch {
	case errors.Is(err, slo.ErrNotFound):
		return errorf(http.StatusNotFound, "slo %q not found: it is not in the config in force", id)
	case errors.As(err, &ie):
		return errorf(http.StatusBadRequest, "%s", ie.Msg)
	}
	return err
}

func (s *Server) pushSLIEvents(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, ok := s.SLOs.Definition(id); !ok {
		return sloError(slo.ErrNotFound, id)
	}
	var body struct {
		Events []struct {
			Timestamp string  `json:"timestamp"`
			Good      float64 `json:"good"`
			Total     float64 `json:"total"`
		} `json:"events"`
	}
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	pts := make([]slo.Point, len(body.Events))
	for i, e := range body.Events {
		t, err := time.Parse(time.RFC3339Nano, e.Timestamp)
		if err != nil && e.Timestamp != "" {
			return errorf(http.StatusBadRequest, "events[%d].timestamp %q: want RFC 3339, e.g. 2026-11-22T10:00:00Z", i, e.Timestamp)
		}
		pts[i] = slo.Point{Timestamp: t, Good: e.Good, Total: e.Total}
	}
	if err := s.SLOs.Push(r.Context(), id, pts); err != nil {
		return sloError(err, id)
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "slo_id": id, "events": len(pts)})
	return nil
}

func (s *Server) listSLOs(w http.ResponseWriter, r *http.Request) error {
	svc := r.URL.Query().Get("service")
	if svc != "" && s.Config.Get().Service(svc) == nil {
		return errorf(http.StatusBadRequest, "service: unknown service %q", svc)
	}
	sts, err := s.SLOs.Statuses(r.Context(), svc)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"slos": sts})
	return nil
}

func (s *Server) getSLO(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	st, err := s.SLOs.Status(r.Context(), id)
	if err != nil {
		return sloError(err, id)
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) serviceGate(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if s.Config.Get().Service(id) == nil {
		return errorf(http.StatusNotFound, "service %q not found", id)
	}
	g, err := s.SLOs.Gate(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (s *Server) serviceSLA(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if s.Config.Get().Service(id) == nil {
		return errorf(http.StatusNotFound, "service %q not found", id)
	}
	q := r.URL.Query()
	period := q.Get("period")
	if period == "" {
		return errorf(http.StatusBadRequest, "period is required: a month (2026-10) or a quarter (2026-Q4)")
	}
	loc := time.UTC
	if tz := q.Get("tz"); tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return errorf(http.StatusBadRequest, "tz %q: not an IANA time zone such as Europe/Berlin", tz)
		}
		loc = l
	}
	rep, err := s.SLOs.SLA(r.Context(), s.Incidents, id, period, loc)
	if err != nil {
		return sloError(err, id)
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) slosPage(w http.ResponseWriter, r *http.Request) error {
	sts, err := s.SLOs.Statuses(r.Context(), "")
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "slo_list.html", "SLOs", map[string]any{"SLOs": sts, "Pct": pct})
}

func (s *Server) sloPage(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	st, err := s.SLOs.Status(r.Context(), id)
	if err != nil {
		return sloError(err, id)
	}
	h, err := s.SLOs.History(r.Context(), s.Incidents, id, 240)
	if err != nil {
		return err
	}
	burns := make([]burnView, 0, len(slo.BurnWindows))
	for _, w := range slo.BurnWindows {
		k := durationLabel(w)
		burns = append(burns, burnView{Window: k, Rate: fmt.Sprintf("%.2f×", st.BurnRates[k])})
	}
	return s.render(w, r, http.StatusOK, "slo_detail.html", st.Name, map[string]any{
		"Status": st, "Chart": budgetChart(h), "Burns": burns, "Incidents": h.Incidents,
		"Remaining": pct(st.ErrorBudgetRemaining), "SLI": pct(st.SLIValue), "Objective": pct(st.Objective), "Pct": pct})
}

type burnView struct{ Window, Rate string }

func durationLabel(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}

func pct(f float64) string {
	s := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", f*100), "0"), ".")
	return s + "%"
}

// budgetChart draws the budget left over the period as an inline SVG: no script, no external
// request, readable without colour (the zero line is labelled).
func budgetChart(h slo.History) template.HTML {
	const w, ht, pad = 640.0, 200.0, 30.0
	lo, hi := 0.0, 1.0
	for _, p := range h.Points {
		lo, hi = math.Min(lo, p.Remaining), math.Max(hi, p.Remaining)
	}
	lo = math.Max(lo, -10) // a budget overspent tenfold is off the chart either way
	span := h.End.Sub(h.Start).Seconds()
	x := func(t time.Time) float64 { return pad + (w-2*pad)*t.Sub(h.Start).Seconds()/span }
	y := func(v float64) float64 { return pad + (ht-2*pad)*(hi-math.Max(v, lo))/(hi-lo) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="Error budget remaining over the period, from %s to %s">`,
		w, ht, h.Start.Format("2006-01-02"), h.End.Format("2006-01-02"))
	fmt.Fprintf(&b, `<line stroke="currentColor" stroke-dasharray="4 3" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, pad, y(0), w-pad, y(0))
	fmt.Fprintf(&b, `<text fill="currentColor" font-size="11" x="%.1f" y="%.1f">0%%</text><text fill="currentColor" font-size="11" x="%.1f" y="%.1f">100%%</text>`, 2.0, y(0)+4, 2.0, y(1)+4)
	fmt.Fprintf(&b, `<text fill="currentColor" font-size="11" x="%.1f" y="%.1f">%s</text><text fill="currentColor" font-size="11" x="%.1f" y="%.1f" text-anchor="end">%s</text>`,
		pad, ht-8, h.Start.Format("Jan 2"), w-pad, ht-8, h.End.Format("Jan 2"))
	if len(h.Points) > 0 {
		b.WriteString(`<polyline fill="none" stroke="#1849a9" stroke-width="2" points="`)
		fmt.Fprintf(&b, "%.1f,%.1f ", x(h.Start), y(1))
		for _, p := range h.Points {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(p.At), y(p.Remaining))
		}
		b.WriteString(`"/>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
