package slo

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// engineMetrics are the SLO engine's Prometheus metrics. The figures of each SLO name it and
// its service, so they go in the registry only a scrape with the metrics token reads
// (PrivateCollector); how long rounds take names nothing (Collector).
type engineMetrics struct {
	rounds *prometheus.HistogramVec

	mu     sync.Mutex
	last   map[string]Status // by SLO id, from the last evaluation
	budget *prometheus.Desc
	sli    *prometheus.Desc
	burn   *prometheus.Desc
}

func newEngineMetrics() *engineMetrics {
	labels := []string{"slo", "service"}
	return &engineMetrics{
		rounds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nines_slo_evaluation_seconds",
			Help:    "Time one evaluation round of the SLOs took, by kind (full: every SLO; pushed: the SLOs that just received data).",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"kind"}),
		last:   map[string]Status{},
		budget: prometheus.NewDesc("nines_slo_error_budget_remaining_ratio", "Share of the error budget left in the current period: 1 untouched, 0 spent, negative overspent.", labels, nil),
		sli:    prometheus.NewDesc("nines_slo_sli_ratio", "Share of good events (or time slices) in the current period.", labels, nil),
		burn:   prometheus.NewDesc("nines_slo_burn_rate", "Burn rate of the error budget over each alert window.", append(labels, "window"), nil),
	}
}

func (m *engineMetrics) evaluated(st Status) {
	m.mu.Lock()
	m.last[st.ID] = st
	m.mu.Unlock()
}

func (m *engineMetrics) round(onlyDirty bool, took time.Duration) {
	kind := "full"
	if onlyDirty {
		kind = "pushed"
	}
	m.rounds.WithLabelValues(kind).Observe(took.Seconds())
}

// Collector returns the engine's metrics that name no SLO.
func (e *Engine) Collector() prometheus.Collector { return e.metrics.rounds }

// PrivateCollector returns each SLO's figures as last evaluated.
func (e *Engine) PrivateCollector() prometheus.Collector { return sloCollector{e} }

type sloCollector struct{ e *Engine }

func (c sloCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.e.metrics.budget
	ch <- c.e.metrics.sli
	ch <- c.e.metrics.burn
}

func (c sloCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.e.metrics
	current := map[string]bool{}
	for _, d := range c.e.Definitions() {
		current[d.ID] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, st := range m.last {
		if !current[id] {
			delete(m.last, id) // removed by a reload
			continue
		}
		ch <- prometheus.MustNewConstMetric(m.budget, prometheus.GaugeValue, st.ErrorBudgetRemaining, st.ID, st.ServiceID)
		ch <- prometheus.MustNewConstMetric(m.sli, prometheus.GaugeValue, st.SLIValue, st.ID, st.ServiceID)
		for w, r := range st.BurnRates {
			ch <- prometheus.MustNewConstMetric(m.burn, prometheus.GaugeValue, r, st.ID, st.ServiceID, w)
		}
	}
}
