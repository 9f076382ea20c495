package probe

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// TestMain lets the benchmark run its HTTP target as a separate process, so the CPU and memory
// it measures are nines' alone.
func TestMain(m *testing.M) {
	if addr := os.Getenv("NINES_BENCH_TARGET"); addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("listening")
		http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func startBenchTarget(b *testing.B) string {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), "NINES_BENCH_TARGET="+addr)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	buf := make([]byte, 16)
	if _, err := out.Read(buf); err != nil {
		b.Fatal(err)
	}
	return addr
}

// benchDB opens a migrated SQLite database of its own, as nines serve would.
func benchDB(b *testing.B) (*store.DB, string) {
	dir := b.TempDir()
	db, err := store.Open(context.Background(), store.Options{DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background(), testSchemas); err != nil {
		b.Fatal(err)
	}
	return db, dir
}

func cpuAndRSS() (cpu time.Duration, maxRSS int64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss * 1024
}

func currentRSS() int64 {
	data, _ := os.ReadFile("/proc/self/statm")
	var size, rss int64
	fmt.Sscan(string(data), &size, &rss)
	return rss * int64(os.Getpagesize())
}

func dbBytes(dir string) int64 {
	var n int64
	for _, f := range []string{"nines.db", "nines.db-wal"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil {
			n += st.Size()
		}
	}
	return n
}

// BenchmarkTenThousandMonitors runs 10,000 HTTP monitors at 30s against a local server through
// the whole stack (scheduler, checkers, state, history in SQLite) for NINES_BENCH_DURATION
// (default 5m), then measures the ceiling: checks a second with every worker busy. Run it by hand:
//
//	go test -run '^$' -bench TenThousandMonitors -benchtime 1x -timeout 30m ./internal/probe/
func BenchmarkTenThousandMonitors(b *testing.B) {
	const monitors, interval = 10000, 30 * time.Second
	duration := 5 * time.Minute
	if d, err := time.ParseDuration(os.Getenv("NINES_BENCH_DURATION")); err == nil {
		duration = d
	}
	addr := startBenchTarget(b)
	var y strings.Builder
	y.WriteString("services: [{id: fleet}]\nmonitors:\n")
	for i := 0; i < monitors; i++ {
		fmt.Fprintf(&y, "  - {id: m%05d, service: fleet, type: http, url: 'http://%s/health/%d', interval: 30s, timeout: 5s}\n", i, addr, i)
	}
	cfg, err := config.Parse("bench.yaml", []byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	db, dir := benchDB(b)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clk := clock.Real{}
	incidents := incident.New(db, clk, nil)
	pipeline := alert.NewPipeline(db, incidents, clk, alert.Options{})
	go pipeline.Run()
	defer pipeline.Close()
	runner := timers.NewRunner(db, clk, log)
	mon := New(db, clk, log, config.NewLive(cfg), pipeline, runner, Options{})

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	cpu0, _ := cpuAndRSS()
	start := time.Now()
	go func() { mon.Run(runCtx); close(done) }()
	// Sample RSS every 5s; the peak of the steady state is what matters, not start-up parsing.
	var peakRSS int64
	db0 := dbBytes(dir)
	tick := time.NewTicker(5 * time.Second)
	for time.Since(start) < duration {
		<-tick.C
		if r := currentRSS(); r > peakRSS {
			peakRSS = r
		}
	}
	tick.Stop()
	st := mon.SchedulerStats()
	elapsed := time.Since(start)
	cpu1, _ := cpuAndRSS()
	cancel()
	<-done
	growth := dbBytes(dir) - db0

	expected := float64(monitors) * elapsed.Seconds() / interval.Seconds()
	cpuPct := 100 * float64(cpu1-cpu0) / float64(elapsed)
	b.ReportMetric(float64(st.Done), "checks")
	b.ReportMetric(float64(st.Done)/expected*100, "%done/expected")
	b.ReportMetric(float64(st.Skipped), "skipped")
	b.ReportMetric(float64(st.Lateness.Quantile(0.99).Microseconds())/1000, "jitter-p99-ms")
	b.ReportMetric(float64(st.Lateness.Quantile(0.5).Microseconds())/1000, "jitter-p50-ms")
	b.ReportMetric(cpuPct, "%cpu")
	b.ReportMetric(float64(peakRSS)/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(growth)/(1<<20), "db-growth-MB")

	// The ceiling: the same checker, every worker busy, for 10 seconds.
	ch, _ := NewChecker(cfg.Monitor("m00000"), Options{})
	var n atomic.Int64
	stop := time.Now().Add(10 * time.Second)
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				c, cancel := context.WithTimeout(ctx, 5*time.Second)
				ch.Check(c)
				cancel()
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	ceiling := float64(n.Load()) / 10
	b.ReportMetric(ceiling, "ceiling-checks/s")
	b.ReportMetric(float64(monitors)/interval.Seconds()/ceiling*100, "%of-ceiling")
	fmt.Fprintf(os.Stderr, "ran %s: scheduled %d, done %d (expected %.0f), skipped %d, jitter p50 %s p99 %s, cpu %.1f%%, peak RSS %.1f MB, db growth %.1f MB, ceiling %.0f checks/s\n",
		elapsed.Round(time.Second), st.Scheduled, st.Done, expected, st.Skipped, st.Lateness.Quantile(.5), st.Lateness.Quantile(.99),
		cpuPct, float64(peakRSS)/(1<<20), float64(growth)/(1<<20), ceiling)
}

// BenchmarkNinetyDaysOfHistory builds the steady state of 10,000 monitors at 30s kept for 90
// days with the default windows (2h raw, 7d of minute rollups, hourly after) and reports the
// database size. The size stops growing there: compaction and retention hold it.
//
//	go test -run '^$' -bench NinetyDaysOfHistory -benchtime 1x -timeout 30m ./internal/probe/
func BenchmarkNinetyDaysOfHistory(b *testing.B) {
	monitors := 10000
	if v := os.Getenv("NINES_BENCH_MONITORS"); v != "" {
		fmt.Sscan(v, &monitors)
	}
	ctx := context.Background()
	db, dir := benchDB(b)
	rng := rand.New(rand.NewPCG(7, 9))
	// Latency of a healthy local endpoint: around 1ms with a tail; one check in 500 fails.
	latency := func() time.Duration {
		return time.Duration(float64(time.Millisecond) * (0.6 + rng.ExpFloat64()*0.5))
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	hourMS := int64(3600 * 1000)
	insertPages := func(rows [][]any) {
		err := db.Tx(ctx, func(tx *store.Tx) error {
			for _, r := range rows {
				if _, err := tx.Exec(ctx, `INSERT INTO probe_rollups (monitor_id, res, start, total, failed, sketch, slots) VALUES (?, ?, ?, ?, ?, ?, ?)`, r...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	startAll := time.Now()
	// A few hundred distinct pages of each kind, encoded once and dealt out to the monitors:
	// the size is what is measured, and sketching every check of 90 days would take hours.
	type encoded struct {
		total, failed int64
		sketch, slots []byte
	}
	build := func(res, slots, perSlot int) encoded {
		p := &page{res: res, slots: make([]slot, slots)}
		for s := range p.slots {
			for c := 0; c < perSlot; c++ {
				p.slots[s].total++
				if rng.IntN(500) == 0 {
					p.slots[s].failed++
				}
				p.slots[s].sk.Add(latency())
			}
		}
		total, failed, sk := p.totals()
		return encoded{int64(total), int64(failed), sk.AppendBinary(nil), p.encodeSlots()}
	}
	var minutes, days []encoded
	for i := 0; i < 300; i++ {
		minutes = append(minutes, build(resMinute, 60, 2))
		days = append(days, build(resHour, 24, 120))
	}
	// Rows go in the order nines writes them: a minute page per monitor each hour, then day
	// pages as compaction makes them.
	for h := 7 * 24; h >= 1; h-- {
		start := now.UnixMilli() - int64(h)*hourMS
		rows := make([][]any, 0, monitors)
		for i := 0; i < monitors; i++ {
			e := minutes[rng.IntN(len(minutes))]
			rows = append(rows, []any{fmt.Sprintf("m%05d", i), resMinute, start, e.total, e.failed, e.sketch, e.slots})
		}
		insertPages(rows)
	}
	for i := 0; i < monitors; i++ {
		rows := make([][]any, 0, 83)
		for d := 7; d < 90; d++ {
			e := days[rng.IntN(len(days))]
			rows = append(rows, []any{fmt.Sprintf("m%05d", i), resHour, now.AddDate(0, 0, -d-1).UnixMilli(), e.total, e.failed, e.sketch, e.slots})
		}
		insertPages(rows)
	}
	db.Exec(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	rollupBytes := dbBytes(dir)
	for _, res := range []int{resMinute, resHour} {
		var rows, payload int64
		db.QueryRow(ctx, `SELECT COUNT(*), SUM(LENGTH(sketch) + LENGTH(slots)) FROM probe_rollups WHERE res = ?`, res).Scan(&rows, &payload)
		fmt.Fprintf(os.Stderr, "res %d: %d rows, %.0f bytes of sketches and slots a row\n", res, rows, float64(payload)/float64(rows))
	}
	// The raw window: two hours of every check.
	perMonitor := int(2 * time.Hour / (30 * time.Second))
	batch := make([]Result, 0, 200)
	for i := 0; i < monitors; i++ {
		id := fmt.Sprintf("m%05d", i)
		err := db.Tx(ctx, func(tx *store.Tx) error {
			for k := 0; k < perMonitor; k++ {
				batch = append(batch, Result{MonitorID: id, Location: "local", At: now.Add(-time.Duration(k) * 30 * time.Second), OK: true, Latency: latency()})
				if len(batch) == cap(batch) {
					if err := insertResults(ctx, tx, batch); err != nil {
						return err
					}
					batch = batch[:0]
				}
			}
			if len(batch) > 0 {
				err := insertResults(ctx, tx, batch)
				batch = batch[:0]
				return err
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	db.Exec(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	total := dbBytes(dir)

	// What the API and pages read: every monitor's last 24h (the list), and one monitor's 90 days.
	h := NewHistory(db, clock.NewFake(now), slog.New(slog.NewTextHandler(io.Discard, nil)))
	t0 := time.Now()
	sums, err := h.Summaries(ctx, now.Add(-24*time.Hour), now)
	if err != nil || len(sums) != monitors {
		b.Fatalf("summaries of %d monitors: %v", len(sums), err)
	}
	listTook := time.Since(t0)
	t0 = time.Now()
	s, err := h.Range(ctx, "m00000", now.AddDate(0, 0, -90), now)
	if err != nil || s.Checks == 0 {
		b.Fatalf("range: %+v %v", s, err)
	}
	rangeTook := time.Since(t0)
	b.ReportMetric(float64(listTook.Milliseconds()), "list-24h-ms")
	b.ReportMetric(float64(rangeTook.Microseconds())/1000, "range-90d-ms")
	fmt.Fprintf(os.Stderr, "24h summaries of every monitor: %s; one monitor over 90 days: %s (p99 %s)\n", listTook, rangeTook, s.P99)
	b.ReportMetric(float64(rollupBytes)/(1<<20), "rollups-MB")
	b.ReportMetric(float64(total-rollupBytes)/(1<<20), "raw-2h-MB")
	b.ReportMetric(float64(total)/(1<<20), "total-MB")
	b.ReportMetric(float64(total)/(2<<30)*100, "%of-2GB")
	fmt.Fprintf(os.Stderr, "%d monitors, 90 days: rollups %.1f MB, raw window %.1f MB, total %.1f MB (built in %s)\n",
		monitors, float64(rollupBytes)/(1<<20), float64(total-rollupBytes)/(1<<20), float64(total)/(1<<20), time.Since(startAll).Round(time.Second))
}

// BenchmarkMinutesOfThirtyDays measures the first read of an SLO over 30 days on a monitor
// checked every 30 s (7 days of minute pages, 23 of day pages dealt into minutes); the ceiling,
// in the same run, is History.Range over the same rows; it also times the read every pull
// repeats (the last few minutes). Run it by hand:
//
//	go test -run '^$' -bench MinutesOfThirtyDays -benchtime 20x ./internal/probe/
func BenchmarkMinutesOfThirtyDays(b *testing.B) {
	ctx := context.Background()
	db, _ := benchDB(b)
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	fake := clock.NewFake(start)
	h := NewHistory(db, fake, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rng := rand.New(rand.NewPCG(3, 4))
	for at := start; at.Before(start.AddDate(0, 0, 30)); at = at.Add(30 * time.Second) {
		h.Add(Result{MonitorID: "api", Location: "local", At: at, OK: rng.IntN(500) != 0,
			Latency: time.Duration(float64(time.Millisecond) * (0.6 + rng.ExpFloat64()*0.5))})
		if next := at.Add(30 * time.Second); next.Truncate(time.Hour) != at.Truncate(time.Hour) {
			fake.Set(next)
			if err := h.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	now := start.AddDate(0, 0, 30)
	if err := h.Compact(ctx); err != nil {
		b.Fatal(err)
	}
	var mins []Minute
	b.ResetTimer()
	t0 := time.Now()
	for i := 0; i < b.N; i++ {
		var err error
		if mins, err = h.Minutes(ctx, "api", start, now); err != nil {
			b.Fatal(err)
		}
	}
	per := time.Since(t0) / time.Duration(b.N)
	b.StopTimer()
	if len(mins) != 30*1440 {
		b.Fatalf("%d minutes, want %d", len(mins), 30*1440)
	}
	t0 = time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := h.Range(ctx, "api", start, now); err != nil {
			b.Fatal(err)
		}
	}
	ceiling := time.Since(t0) / time.Duration(b.N)
	// The steady state: every 10 s the SLO reads its last few minutes again.
	t0 = time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := h.Minutes(ctx, "api", now.Add(-6*time.Minute), now.Add(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(t0).Microseconds())/float64(b.N)/1000, "minutes-recent-ms")
	b.ReportMetric(float64(per.Microseconds())/1000, "minutes-30d-ms")
	b.ReportMetric(float64(ceiling.Microseconds())/1000, "range-30d-ms")
	b.ReportMetric(float64(per)/float64(ceiling), "x-range")
}
