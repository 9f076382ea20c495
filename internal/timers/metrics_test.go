package timers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gather returns the metric families of reg by name.
func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// A timer that waits two minutes past its due time for a runner is counted as due and late,
// makes the runner unhealthy, and once run is observed two minutes late.
func TestTimersDueAndLateAreMeasuredAndMakeTheRunnerUnhealthy(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(h.r.Collector())
		h.set("escalate", "incident-1/step-2", epoch.Add(time.Minute), "")
		h.clock.Advance(3 * time.Minute)

		n, late, err := h.r.Overdue(ctx)
		if err != nil || n != 1 || late != 2*time.Minute {
			t.Errorf("Overdue = %d, %v, %v; want 1 timer 2m late", n, late, err)
		}
		if err := h.r.Healthy(ctx); err == nil || !strings.Contains(err.Error(), "not running") {
			t.Errorf("Healthy with no runner: %v; want it to say the runner is not running", err)
		}
		m := gather(t, reg)
		if due := m["nines_timers_due"].GetMetric()[0].GetGauge().GetValue(); due != 1 {
			t.Errorf("nines_timers_due %v; want 1", due)
		}
		if old := m["nines_timers_oldest_due_seconds"].GetMetric()[0].GetGauge().GetValue(); old != 120 {
			t.Errorf("nines_timers_oldest_due_seconds %v; want 120", old)
		}

		rec := &recorder{}
		h.r.Handle("escalate", rec.handle)
		h.start()
		storetest.Eventually(t, 5*time.Second, "the late timer to run", func() bool { return rec.count() == 1 })
		storetest.Eventually(t, 5*time.Second, "the runner to be healthy and the run counted", func() bool {
			runs := gather(t, reg)["nines_timers_run_total"]
			if h.r.Healthy(ctx) != nil || runs == nil {
				return false
			}
			for _, m := range runs.GetMetric() {
				if m.GetLabel()[1].GetValue() == "ok" && m.GetCounter().GetValue() == 1 {
					return true
				}
			}
			return false
		})
		m = gather(t, reg)
		hist := m["nines_timer_lateness_seconds"].GetMetric()[0].GetHistogram()
		if hist.GetSampleCount() != 1 || hist.GetSampleSum() != 120 {
			t.Errorf("lateness: %d observations summing %vs; want one of 120s", hist.GetSampleCount(), hist.GetSampleSum())
		}
		if due := m["nines_timers_due"].GetMetric()[0].GetGauge().GetValue(); due != 0 {
			t.Errorf("after the run nines_timers_due %v; want 0", due)
		}
	})
}
