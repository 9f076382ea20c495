package probe

import (
	"github.com/prometheus/client_golang/prometheus"
)

// monitorMetrics are the monitors' Prometheus metrics. They name no monitor: /metrics may be
// public, and a monitor's name says what runs here.
type monitorMetrics struct {
	checks   *prometheus.CounterVec
	duration *prometheus.HistogramVec
	states   *prometheus.Desc
	leading  *prometheus.Desc
}

func newMonitorMetrics() *monitorMetrics {
	return &monitorMetrics{
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_probe_checks_total",
			Help: "Checks run by this node's probes, by monitor type (http, tcp, dns, tls, ...) and result (up, down).",
		}, []string{"type", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nines_probe_duration_seconds",
			Help:    "Time one check took, by monitor type.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"type"}),
		states: prometheus.NewDesc("nines_monitors", "Monitors by type and state (up, down, pending, paused, unknown).", []string{"type", "state"}, nil),
		leading: prometheus.NewDesc("nines_probe_lease_held",
			"1 while this node holds the probe lease and runs the probes (exactly one node of a cluster should).", nil, nil),
	}
}

// observe records one local check.
func (m *Monitors) observe(r Result) {
	mon := m.live.Get().Monitor(r.MonitorID)
	if mon == nil {
		return
	}
	result := StatusUp
	if !r.OK {
		result = StatusDown
	}
	m.metrics.checks.WithLabelValues(mon.Type, result).Inc()
	m.metrics.duration.WithLabelValues(mon.Type).Observe(r.Latency.Seconds())
}

// Collector returns the monitors' metrics, for the registry /metrics serves.
func (m *Monitors) Collector() prometheus.Collector { return monitorCollector{m} }

type monitorCollector struct{ m *Monitors }

func (c monitorCollector) Describe(ch chan<- *prometheus.Desc) {
	c.m.metrics.checks.Describe(ch)
	c.m.metrics.duration.Describe(ch)
	ch <- c.m.metrics.states
	ch <- c.m.metrics.leading
}

func (c monitorCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.metrics.checks.Collect(ch)
	c.m.metrics.duration.Collect(ch)
	type key struct{ typ, state string }
	counts := map[key]int{}
	for _, mon := range c.m.live.Get().Monitors {
		if v, ok := c.m.View(mon.ID); ok {
			counts[key{mon.Type, v.Status}]++
		}
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.m.metrics.states, prometheus.GaugeValue, float64(n), k.typ, k.state)
	}
	lead := 0.0
	if c.m.Leading() {
		lead = 1
	}
	ch <- prometheus.MustNewConstMetric(c.m.metrics.leading, prometheus.GaugeValue, lead)
}
