package escalate

import (
	"context"
	"encoding/json"
	"time"

	"github.com/nines-dev/nines/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// engineMetrics count what escalation did, read off the timeline events it writes, once their
// transaction has committed (a rolled-back step counts nothing).
type engineMetrics struct {
	steps *prometheus.CounterVec
	held  *prometheus.CounterVec
}

func newEngineMetrics() *engineMetrics {
	return &engineMetrics{
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_escalation_steps_total",
			Help: "Escalation steps run, by outcome: paged (reached someone), skipped (reached nobody; the next step runs now), nobody (a whole round reached nobody; the fallback is paged), held (a maintenance window holds it).",
		}, []string{"outcome"}),
		held: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_notifications_held_total",
			Help: "Pages held in a contact method's queue instead of sent at once, by channel and reason (rate_limit, queue: behind earlier pages to the same contact method).",
		}, []string{"channel", "reason"}),
	}
}

// expect makes the series known in advance exist, at 0: every step outcome, and both reasons
// to hold a page for each channel type in use.
func (m *engineMetrics) expect(types []string) {
	for _, o := range stepOutcomes {
		m.steps.WithLabelValues(o)
	}
	for _, typ := range types {
		for _, reason := range []string{"rate_limit", "queue"} {
			m.held.WithLabelValues(typ, reason)
		}
	}
}

var stepOutcomes = map[string]string{EventStep: "paged", EventSkipped: "skipped", EventNobody: "nobody", EventStepHeld: "held"}

// count is an incident.AppendHook.
func (m *engineMetrics) count(ctx context.Context, tx *store.Tx, incidentID int64, typ string, at time.Time, data string) error {
	if o, ok := stepOutcomes[typ]; ok {
		tx.AfterCommit(func() { m.steps.WithLabelValues(o).Inc() })
		return nil
	}
	if typ == EventHeld {
		var d struct {
			Type   string    `json:"type"`
			SendAt time.Time `json:"send_at"`
		}
		json.Unmarshal([]byte(data), &d)
		reason := "queue"
		if !d.SendAt.IsZero() {
			reason = "rate_limit"
		}
		tx.AfterCommit(func() { m.held.WithLabelValues(d.Type, reason).Inc() })
	}
	return nil
}

// Collector returns the engine's metrics, for the registry /metrics serves.
func (e *Engine) Collector() prometheus.Collector { return e.metrics }

func (m *engineMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.steps.Describe(ch)
	m.held.Describe(ch)
}
func (m *engineMetrics) Collect(ch chan<- prometheus.Metric) { m.steps.Collect(ch); m.held.Collect(ch) }
