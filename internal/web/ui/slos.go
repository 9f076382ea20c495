package ui

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/slo"
	"github.com/nines-dev/nines/internal/web/api"
)

// SLOsPage answers GET /slos.
func (s *Handler) SLOsPage(w http.ResponseWriter, r *http.Request) error {
	sts, err := s.api.SLOStatuses(r, "")
	if err != nil {
		return err
	}
	return s.pages.Render(w, r, http.StatusOK, "slos.html", "SLOs", map[string]any{"SLOs": sts, "Pct": pct})
}

// SLOPage answers GET /slos/{id}.
func (s *Handler) SLOPage(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	st, err := s.SLOs.Status(r.Context(), id)
	if err != nil {
		return api.NoSLO(id, err)
	}
	h, err := s.SLOs.History(r.Context(), s.Incidents, id, 240)
	if err != nil {
		return err
	}
	burns := make([]burnView, 0, len(slo.BurnWindows))
	for _, w := range slo.BurnWindows {
		k := config.FormatDuration(w) // the key the engine reports the window's burn rate under
		burns = append(burns, burnView{Window: k, Rate: fmt.Sprintf("%.2f×", st.BurnRates[k])})
	}
	return s.pages.Render(w, r, http.StatusOK, "slo.html", st.Name, map[string]any{
		"Status": st, "Chart": budgetChart(h), "Burns": burns, "Incidents": h.Incidents,
		"Remaining": pct(st.ErrorBudgetRemaining), "SLI": pct(st.SLIValue), "Objective": pct(st.Objective), "Pct": pct})
}

type burnView struct{ Window, Rate string }

func pct(f float64) string {
	s := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", f*100), "0"), ".")
	return s + "%"
}

// budgetChart draws the budget left over the period as an inline SVG: no script, no external
// request, readable without colour (the zero line is dashed and said so). Its labels are HTML
// around the SVG, not SVG text, so they keep the page's size when the chart shrinks to a phone.
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
	scale := fmt.Sprintf("Top: %s left", pct(hi))
	if lo < 0 {
		scale += fmt.Sprintf(" · bottom: %s (overspent)", pct(lo))
	}
	fmt.Fprintf(&b, `<figure class="chartbox"><p class="chart-labels"><span>%s</span><span>dashed line: 0%% left</span></p>`, scale)
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="Error budget remaining over the period, from %s to %s">`,
		w, ht, h.Start.Format("2006-01-02"), h.End.Format("2006-01-02"))
	fmt.Fprintf(&b, `<line stroke="currentColor" stroke-dasharray="4 3" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, pad, y(0), w-pad, y(0))
	if len(h.Points) > 0 {
		b.WriteString(`<polyline fill="none" stroke="#1849a9" stroke-width="2" points="`)
		fmt.Fprintf(&b, "%.1f,%.1f ", x(h.Start), y(1))
		for _, p := range h.Points {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(p.At), y(p.Remaining))
		}
		b.WriteString(`"/>`)
	}
	fmt.Fprintf(&b, `</svg><p class="chart-labels"><span>%s</span><span>%s</span></p></figure>`, h.Start.Format("Jan 2"), h.End.Format("Jan 2"))
	return template.HTML(b.String())
}
