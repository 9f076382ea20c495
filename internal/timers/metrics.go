package timers

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// runnerMetrics are the timer runner's Prometheus metrics.
type runnerMetrics struct {
	runs     *prometheus.CounterVec
	lateness *prometheus.HistogramVec
	due      *prometheus.Desc
	oldest   *prometheus.Desc
}

func newRunnerMetrics() *runnerMetrics {
	return &runnerMetrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_timers_run_total",
			Help: "Durable timers run, by kind (escalate, notify, heartbeat-late, ...) and outcome (ok, error: retried with backoff).",
		}, []string{"kind", "outcome"}),
		lateness: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nines_timer_lateness_seconds",
			Help:    "How long after its due time each timer started to run, by kind: escalation steps and deadlines should start within a second.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"kind"}),
		due: prometheus.NewDesc("nines_timers_due", "Timers due now and not yet claimed by any node.", nil, nil),
		oldest: prometheus.NewDesc("nines_timers_oldest_due_seconds",
			"How late the oldest due, unclaimed timer is now (0 when none is due): above a few seconds, due work is not running.", nil, nil),
	}
}

// Collector returns the runner's metrics, for the registry /metrics serves.
func (r *Runner) Collector() prometheus.Collector { return runnerCollector{r} }

type runnerCollector struct{ r *Runner }

func (c runnerCollector) Describe(ch chan<- *prometheus.Desc) {
	c.r.metrics.runs.Describe(ch)
	c.r.metrics.lateness.Describe(ch)
	ch <- c.r.metrics.due
	ch <- c.r.metrics.oldest
}

func (c runnerCollector) Collect(ch chan<- prometheus.Metric) {
	c.r.metrics.runs.Collect(ch)
	c.r.metrics.lateness.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, late, err := c.r.Overdue(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.r.metrics.due, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.r.metrics.due, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.r.metrics.oldest, prometheus.GaugeValue, late.Seconds())
}

// Overdue counts the timers due now that no node has claimed, and says how late the oldest is.
func (r *Runner) Overdue(ctx context.Context) (int, time.Duration, error) {
	now := r.clock.Now().UnixMilli()
	var n int
	var oldest *int64
	err := r.db.QueryRow(ctx, `SELECT COUNT(*), MIN(due_at) FROM timers WHERE due_at <= ? AND lease_until <= ?`, now, now).Scan(&n, &oldest)
	if err != nil || oldest == nil {
		return n, 0, err
	}
	return n, time.Duration(now-*oldest) * time.Millisecond, nil
}

// LateAfter is how late the oldest due timer may be before Healthy says timers are not
// running on time: a runner that sleeps its longest (30 s) still claims a timer set by
// another node well within it, since every Set wakes every node.
const LateAfter = 45 * time.Second

// Healthy reports whether timers run on time: this runner's loop turns, and no due timer
// has waited longer than LateAfter for any node to claim it.
func (r *Runner) Healthy(ctx context.Context) error {
	if at := r.loopAt.Load(); at == 0 {
		return fmt.Errorf("the timer runner is not running")
	} else if since := r.clock.Now().Sub(time.UnixMilli(at)); since > maxSleep+LateAfter {
		return fmt.Errorf("the timer runner last looked for due work %v ago", since.Round(time.Second))
	}
	n, late, err := r.Overdue(ctx)
	if err != nil {
		return fmt.Errorf("reading due timers: %w", err)
	}
	if late > LateAfter {
		return fmt.Errorf("%d timers are due and unclaimed; the oldest is %v late", n, late.Round(time.Second))
	}
	return nil
}
