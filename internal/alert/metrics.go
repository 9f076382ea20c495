package alert

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the alert pipeline's Prometheus metrics: the events each group commit carries
// and how long a batch takes from the start of its transaction to durable. Hook them on with
// Options.Committed = m.Committed.
type Metrics struct {
	batch  prometheus.Histogram
	commit prometheus.Histogram
}

// NewMetrics returns the pipeline's metrics, registered nowhere yet.
func NewMetrics() *Metrics {
	return &Metrics{
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nines_ingest_batch_events",
			Help:    "Events committed together in one group commit of the alert pipeline.",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000},
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nines_ingest_commit_seconds",
			Help:    "Time from the start of a group commit's transaction to the batch being durable (the wait every 202 includes).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
	}
}

// Committed records one durable batch.
func (m *Metrics) Committed(events int, took time.Duration) {
	m.batch.Observe(float64(events))
	m.commit.Observe(took.Seconds())
}

// Describe and Collect make Metrics a prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) { m.batch.Describe(ch); m.commit.Describe(ch) }
func (m *Metrics) Collect(ch chan<- prometheus.Metric) { m.batch.Collect(ch); m.commit.Collect(ch) }

var _ prometheus.Collector = (*Metrics)(nil)
