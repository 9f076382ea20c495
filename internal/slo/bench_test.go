package slo

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// countingSubmitter takes alerts without a database, so the benchmark measures evaluation.
type countingSubmitter struct{ n int }

func (c *countingSubmitter) Submit(ctx context.Context, t alert.Target, evs []alert.Event) ([]alert.Result, error) {
	c.n += len(evs)
	return nil, nil
}

// syntheticMinutes stands in for the points table: every minute of every SLO has traffic
// (eventsPerMinute events, a few of them bad), as a busy service would.
func syntheticMinutes(seed int64, eventsPerMinute float64) loader {
	return func(ctx context.Context, from, to int64) ([]minuteRow, error) {
		rows := make([]minuteRow, 0, to-from)
		for m := from; m < to; m++ {
			bad := float64(uint64(m*2654435761+seed) % 4 / 3) // a quarter of the budget
			rows = append(rows, minuteRow{m: m, good: eventsPerMinute - bad, total: eventsPerMinute})
		}
		return rows, nil
	}
}

// benchEngine builds n SLOs of the given window, each filled with every minute of its window.
func benchEngine(b *testing.B, n int, window string, eventsPerMinute float64) (*Engine, *countingSubmitter) {
	var y strings.Builder
	y.WriteString("services: [{id: svc}]\nslos:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&y, "  - {id: s%d, service: svc, objective: 99.9, window: %s, sli: {events: {source: push}}}\n", i, window)
	}
	cfg, err := config.Parse("bench.yaml", []byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	db := storetest.SQLite(b, []store.Schema{store.OwnSchema, Schema})
	sub := &countingSubmitter{}
	e := NewEngine(db, clock.NewFake(time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)), sub, nil, nil)
	e.Apply(cfg)
	i := int64(0)
	for _, t := range e.tracked {
		t.series.load = syntheticMinutes(i, eventsPerMinute)
		i++
	}
	// The first round loads every series, as a restart does.
	if err := e.Round(context.Background(), false); err != nil {
		b.Fatal(err)
	}
	return e, sub
}

// BenchmarkRound is one evaluation round over 1,000 SLOs: every budget, every burn rate over
// 5m..3d, every alert pair. It reports the heap the series hold per SLO. Run it with
//
//	go test -run '^$' -bench 'Round|NaiveScan' -benchtime 60x -benchmem ./internal/slo/
func BenchmarkRound(b *testing.B) {
	for _, c := range []struct {
		window string
		events float64
	}{{"7d", 1000}, {"30d", 1000}, {"30d", 1e6}, {"90d", 1000}} {
		b.Run(fmt.Sprintf("slos=1000/window=%s/events_per_minute=%g", c.window, c.events), func(b *testing.B) {
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			e, sub := benchEngine(b, 1000, c.window, c.events)
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			ctx := context.Background()
			clk := e.clock.(*clock.Fake)
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// Each round a minute later, so every window's edges move as they do in service.
				clk.Advance(time.Minute)
				if err := e.Round(ctx, false); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			// CPU time is steadier than wall time on a machine others share.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e6, "cpu_ms/round")
			b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/1000/1024, "KiB_heap/slo")
			if sub.n != 0 {
				b.Fatalf("%d alerts on healthy traffic", sub.n)
			}
		})
	}
}

// BenchmarkNaiveScan is the ceiling the round is compared with: adding up every minute of
// 1,000 30-day windows from a flat array, which is what a round would cost without hourly
// aggregates (and before computing any burn rate).
func BenchmarkNaiveScan(b *testing.B) {
	const slos, minutes = 1000, 30 * 24 * 60
	data := make([]minute, minutes)
	for i := range data {
		data[i] = minute{bad: float64(i % 3), total: 1000}
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	var sink float64
	for i := 0; i < b.N; i++ {
		for s := 0; s < slos; s++ {
			var bad, total float64
			for _, m := range data {
				bad += m.bad
				total += m.total
			}
			sink += bad / total
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e6, "cpu_ms/round")
	if sink < 0 {
		b.Fatal(sink)
	}
}

// cpuTime is the process's user and system time so far, in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// emptyLister has no incidents, so the SLA report measures only the SLO's arithmetic.
type emptyLister struct{}

func (emptyLister) List(ctx context.Context, f incident.Filter) ([]incident.Incident, string, error) {
	return nil, "", nil
}

// BenchmarkPostmortemImpact is what a postmortem's Impact section costs per SLO on SQLite: a
// 30-day window and the month holding the incident, every minute of both stored. The ceiling is
// the SLA report of that month, which reads the same table. Run it with
//
//	go test -run '^$' -bench 'PostmortemImpact' -benchtime 20x -count 2 ./internal/slo/
func BenchmarkPostmortemImpact(b *testing.B) {
	cfg, err := config.Parse("bench.yaml", []byte("services: [{id: events}, {id: slices}]\nslos:\n"+
		"  - {id: events, service: events, objective: 99.9, window: 30d, sla: 99.5, sli: {events: {source: push}}}\n"+
		"  - {id: slices, service: slices, objective: 99.9, window: 30d, sla: 99.5, budgeting_method: timeslices, timeslice_target: 99, sli: {events: {source: push}}}\n"))
	if err != nil {
		b.Fatal(err)
	}
	db := storetest.SQLite(b, []store.Schema{store.OwnSchema, Schema})
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	e := NewEngine(db, clock.NewFake(now), &countingSubmitter{}, nil, nil)
	e.Apply(cfg)
	ctx := context.Background()
	first := now.Add(-30 * 24 * time.Hour)
	for from := first; from.Before(now); from = from.Add(MaxPoints * time.Minute) {
		var pts []Point
		for t := from; t.Before(now) && len(pts) < MaxPoints; t = t.Add(time.Minute) {
			pts = append(pts, Point{Timestamp: t, Good: 999, Total: 1000})
		}
		for _, id := range []string{"events", "slices"} {
			if err := e.Push(ctx, id, pts); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, svc := range []string{"events", "slices"} {
		b.Run("impact/"+svc, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				f, err := e.Impact(ctx, svc, now.Add(-2*time.Hour), now.Add(-time.Hour))
				if err != nil || len(f) != 1 {
					b.Fatal(f, err)
				}
			}
		})
		b.Run("ceiling=sla_report/"+svc, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := e.SLA(ctx, emptyLister{}, svc, "2026-11", time.UTC); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
