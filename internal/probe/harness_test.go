package probe

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/timers"
)

var testSchemas = []store.Schema{store.OwnSchema, incident.Schema, alert.Schema, auth.Schema, timers.Schema, Schema}

// harness is nines' spine with monitors wired in, on a fake clock.
type harness struct {
	t         *testing.T
	db        *store.DB
	clock     *clock.Fake
	live      *config.Live
	incidents *incident.Service
	mon       *Monitors
	cancel    func()
}

func newHarness(t *testing.T, db *store.DB, yaml string, start time.Time) *harness {
	t.Helper()
	return newNode(t, db, yaml, start, true)
}

// newNode starts one node of a cluster on db; leader says whether it should hold the probe
// lease once started.
func newNode(t *testing.T, db *store.DB, yaml string, start time.Time, leader bool) *harness {
	t.Helper()
	cfg, err := config.Parse("nines.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, db: db, clock: clock.NewFake(start), live: config.NewLive(cfg)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h.incidents = incident.New(db, h.clock, nil)
	pipeline := alert.NewPipeline(db, h.incidents, h.clock, alert.Options{})
	runner := timers.NewRunner(db, h.clock, log)
	h.mon = New(db, h.clock, log, h.live, pipeline, runner, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); pipeline.Run() }()
	go func() { defer wg.Done(); runner.Run(ctx) }()
	go func() {
		defer wg.Done()
		if err := h.mon.Run(ctx); err != nil {
			t.Error(err)
		}
	}()
	h.cancel = func() { cancel(); pipeline.Close(); wg.Wait() }
	t.Cleanup(h.cancel)
	probes := 0
	for _, m := range cfg.Monitors {
		if m.Type != config.MonitorHeartbeat && !m.Paused {
			probes++
		}
	}
	if !leader {
		probes = 0
	}
	storetest.Eventually(t, 5*time.Second, "the scheduler to take the monitors", func() bool {
		return h.mon.Leading() == leader && h.mon.sched.Jobs() == probes
	})
	return h
}

// step moves the clock by d and waits until the scheduler has finished n more checks.
func (h *harness) step(d time.Duration, n uint64) {
	h.t.Helper()
	before := h.mon.SchedulerStats().Done
	h.clock.Advance(d)
	storetest.Eventually(h.t, 5*time.Second, "the checks to run", func() bool {
		if h.mon.SchedulerStats().Done >= before+n {
			return true
		}
		h.mon.sched.poke()
		return false
	})
}

func (h *harness) incidentsOf(service string) []incident.Incident {
	h.t.Helper()
	incs, _, err := h.incidents.List(context.Background(), incident.Filter{ServiceIDs: []string{service}})
	if err != nil {
		h.t.Fatal(err)
	}
	return incs
}

func (h *harness) status(id string) string {
	v, _ := h.mon.View(id)
	return v.Status
}
