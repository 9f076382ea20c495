// Command oncall measures how long a page takes from the commit of the alert that opens an
// incident to the moment its notification is handed to the channel, at a sustained alert rate,
// on SQLite or PostgreSQL. It drives the real alert pipeline, incident hooks, escalation engine
// and timer runner; only the channel is an in-process recorder, so the figure is nines' own
// latency and not a mail server's.
//
//	go run ./bench/oncall -rate 1000 -duration 60s                 # SQLite in a temp dir
//	go run ./bench/oncall -rate 1000 -duration 60s -db postgres://...
//
// The floor printed beside it is measured in the same run: the delay from the same commit to
// a goroutine started by an after-commit hook that does nothing else, i.e. the least any
// after-commit work can take on this machine under this load.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// alice's webhook declares a limit above the offered rate: the run times the path of a page
// that leaves at once, not the storm bundling that the default limit would apply.
const cfgYAML = `
users:
  - {id: alice, time_zone: UTC, contact_methods: [{type: webhook, address: "http://127.0.0.1:1/bench", rate_limit: {count: 1000000, per: 1s}}]}
schedules:
  - id: ops
    layers: [{name: primary, rotation: {length: 1w, handoff: "2020-01-06T09:00"}, users: [alice]}]
escalation_policies:
  - id: p
    steps: [{escalate_after: 10m, targets: [{schedule: ops}]}, {escalate_after: 10m, targets: [{user: alice}]}]
services:
  - {id: svc, escalation_policy: p}
`

// recorder is the channel: it notes when each incident's page was handed to it.
type recorder struct {
	mu     sync.Mutex
	handed map[int64]time.Time
}

func (r *recorder) Notify(ctx context.Context, to config.ContactMethod, m notify.Message) error {
	now := time.Now()
	r.mu.Lock()
	if _, ok := r.handed[m.IncidentID]; !ok {
		r.handed[m.IncidentID] = now
	}
	r.mu.Unlock()
	return nil
}

func main() {
	dbURL := flag.String("db", "", "PostgreSQL URL; empty for SQLite in a temporary directory")
	rate := flag.Int("rate", 1000, "alerts per second")
	duration := flag.Duration("duration", 60*time.Second, "how long to sustain the rate")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*dbURL, *rate, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(dbURL string, rate int, duration time.Duration) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "nines-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// A throwaway database: a throwaway key (with SQLite, nines makes one in dir).
	db, err := store.Open(ctx, store.Options{URL: dbURL, DataDir: dir, Key: []byte("nines-bench-key-0123456789abcdef0123456789")})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, []store.Schema{store.OwnSchema, incident.Schema, alert.Schema, auth.Schema, timers.Schema, oncall.Schema, escalate.Schema}); err != nil {
		return err
	}
	cfg, err := config.Parse("bench.yaml", []byte(cfgYAML))
	if err != nil {
		return err
	}
	live := config.NewLive(cfg)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clk := clock.Real{}
	rules := &incident.Rules{}
	incs := incident.New(db, clk, rules)

	// Registered before the engine's hook, so in each transaction its after-commit function
	// is the first to run: it stamps the commit instant every page of the batch is timed from.
	var mu sync.Mutex
	committed := map[int64]time.Time{}
	var floor []time.Duration
	batches := map[*store.Tx]*time.Time{}
	incs.OnChange(func(ctx context.Context, tx *store.Tx, ch incident.Change) error {
		if ch.From != "" {
			return nil
		}
		id := ch.Incident.ID
		mu.Lock()
		at, ok := batches[tx]
		if !ok {
			at = new(time.Time)
			batches[tx] = at
			tx.AfterCommit(func() {
				*at = time.Now()
				mu.Lock()
				delete(batches, tx)
				mu.Unlock()
			})
		}
		mu.Unlock()
		tx.AfterCommit(func() {
			mu.Lock()
			committed[id] = *at
			mu.Unlock()
			go func() {
				d := time.Since(*at)
				mu.Lock()
				floor = append(floor, d)
				mu.Unlock()
			}()
		})
		return nil
	})
	pipe := alert.NewPipeline(db, incs, clk, alert.Options{})
	runner := timers.NewRunner(db, clk, log)
	oc := oncall.New(db, live, clk)
	rec := &recorder{handed: map[int64]time.Time{}}
	eng := escalate.New(db, live, incs, oc, runner, clk, log, escalate.Options{Rules: rules,
		Channel: func(*config.Config, string) notify.Notifier { return rec }})

	go pipe.Run()
	rctx, stop := context.WithCancel(ctx)
	runnerDone := make(chan struct{})
	go func() { runner.Run(rctx); close(runnerDone) }()

	target := alert.Target{ServiceID: "svc", Integration: "bench", Grouping: config.GroupByAlert, Urgency: "high"}
	total := int(duration.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < total; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := pipe.Submit(ctx, target, []alert.Event{{Action: alert.Trigger, DedupKey: fmt.Sprintf("bench-%d", i),
				Summary: "bench alert", Source: "bench", Severity: "critical"}})
			if err != nil {
				failed.Add(1)
			}
		}(i)
	}
	wg.Wait()
	sent := time.Since(start)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		rec.mu.Lock()
		n := len(rec.handed)
		rec.mu.Unlock()
		if n >= total-int(failed.Load()) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	eng.Wait()
	pipe.Close()
	stop()
	<-runnerDone

	mu.Lock()
	defer mu.Unlock()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var lat []time.Duration
	for id, c := range committed {
		if h, ok := rec.handed[id]; ok {
			lat = append(lat, h.Sub(c))
		}
	}
	dialect := "sqlite"
	if dbURL != "" {
		dialect = "postgres"
	}
	p50, p99, max := quantiles(lat)
	f50, f99, _ := quantiles(floor)
	fmt.Printf("database=%s rate=%d/s duration=%s achieved=%.0f alerts/s alerts=%d failed=%d paged=%d GOMAXPROCS=%d\n",
		dialect, rate, duration, float64(total)/sent.Seconds(), total, failed.Load(), len(lat), runtime.GOMAXPROCS(0))
	fmt.Printf("commit -> handed to channel: p50=%s p99=%s max=%s (budget p99 < 50ms: %.2f of budget)\n", p50, p99, max, float64(p99)/float64(50*time.Millisecond))
	fmt.Printf("floor (commit -> bare after-commit goroutine): p50=%s p99=%s; ratio p99/floor p99 = %.1f\n", f50, f99, float64(p99)/float64(f99))
	return nil
}

func quantiles(d []time.Duration) (p50, p99, max time.Duration) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)*50/100], d[len(d)*99/100], d[len(d)-1]
}
