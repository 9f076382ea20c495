package probe

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

func TestSketchQuantilesAreWithinTwoPercent(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var a, b Sketch
	var all []float64
	for i := 0; i < 20000; i++ {
		d := time.Duration(math.Exp(r.NormFloat64()*0.8 + math.Log(20e6))) // log-normal around 20ms
		all = append(all, float64(d))
		if i%2 == 0 {
			a.Add(d)
		} else {
			b.Add(d)
		}
	}
	// Merged halves answer like the whole, after a round trip through the encoding.
	var dec Sketch
	a.Merge(&b)
	if _, err := decodeSketch(a.AppendBinary(nil), &dec); err != nil {
		t.Fatal(err)
	}
	sort.Float64s(all)
	for _, q := range []float64{0.5, 0.95, 0.99} {
		exact := all[int(q*float64(len(all)-1))]
		got := float64(dec.Quantile(q))
		if math.Abs(got-exact)/exact > 0.021 {
			t.Errorf("p%v = %v, exact %v: more than 2%% off", q*100, time.Duration(got), time.Duration(exact))
		}
	}
	if dec.Count() != 20000 {
		t.Fatalf("count %d, want 20000", dec.Count())
	}
}

func newTestHistory(t *testing.T, db *store.DB, c clock.Clock) *History {
	return NewHistory(db, c, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestHistoryAnswersAnyRangeAndStaysSmall(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, testSchemas, func(t *testing.T, db *store.DB) {
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		fake := clock.NewFake(start)
		h := newTestHistory(t, db, fake)
		// Ten days of one check a minute: 10ms when up; every 100th minute down at 500ms.
		for m := 0; m < 10*24*60; m++ {
			at := start.Add(time.Duration(m) * time.Minute)
			r := Result{MonitorID: "api", Location: "local", At: at, OK: true, Latency: 10 * time.Millisecond}
			if m%100 == 0 {
				r.OK, r.Latency, r.Cause = false, 500*time.Millisecond, CauseStatus
			}
			h.Add(r)
			if m%60 == 59 {
				fake.Set(at.Add(time.Minute))
				if err := h.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		fake.Set(start.Add(10 * 24 * time.Hour))
		if err := h.Compact(ctx); err != nil {
			t.Fatal(err)
		}
		var minutePages, dayPages, raw int
		db.QueryRow(ctx, `SELECT COUNT(*) FROM probe_rollups WHERE res = 60`).Scan(&minutePages)
		db.QueryRow(ctx, `SELECT COUNT(*) FROM probe_rollups WHERE res = 3600`).Scan(&dayPages)
		db.QueryRow(ctx, `SELECT COUNT(*) FROM probe_results`).Scan(&raw)
		if minutePages != 7*24 || dayPages != 3 || raw != 120 {
			t.Fatalf("%d minute pages, %d day pages, %d raw results; want 168 (7 days), 3 (the older days), 120 (2h)", minutePages, dayPages, raw)
		}

		cases := []struct {
			name             string
			from, to         time.Time
			checks, failures int64
		}{
			{"a range of minute rollups counts each minute", start.Add(9*24*time.Hour + 5*time.Minute), start.Add(9*24*time.Hour + 15*time.Minute), 10, 0},
			{"a range over compacted days counts each hour", start, start.Add(24 * time.Hour), 1440, 15},
			{"a range across both resolutions adds them", start.Add(2 * 24 * time.Hour), start.Add(4 * 24 * time.Hour), 2880, 29},
			{"the whole history", start, start.Add(10 * 24 * time.Hour), 14400, 144},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s, err := h.Range(ctx, "api", tc.from, tc.to)
				if err != nil {
					t.Fatal(err)
				}
				if s.Checks != tc.checks || s.Failures != tc.failures {
					t.Fatalf("checks %d failures %d, want %d and %d", s.Checks, s.Failures, tc.checks, tc.failures)
				}
				if s.Checks > 0 && (s.P50 < 9800*time.Microsecond || s.P50 > 10200*time.Microsecond) {
					t.Fatalf("p50 %s, want 10ms within 2%%", s.P50)
				}
			})
		}
		whole, _ := h.Range(ctx, "api", start, start.Add(10*24*time.Hour))
		if whole.Latency.Quantile(0.995) < 490*time.Millisecond || whole.P95 > 11*time.Millisecond || whole.Uptime != 0.99 {
			t.Fatalf("p99.5 %s uptime %v, want the 500ms failures above p99 and 99%% uptime", whole.Latency.Quantile(0.995), whole.Uptime)
		}

		// Past the retention, nothing of the first days is left.
		h.Retention = 8 * 24 * time.Hour
		if err := h.Compact(ctx); err != nil {
			t.Fatal(err)
		}
		s, _ := h.Range(ctx, "api", start, start.Add(2*24*time.Hour))
		if s.Checks != 0 {
			t.Fatalf("%d checks older than the retention are still counted", s.Checks)
		}
	})
}

func TestAFlushContinuesThePageStoredBeforeARestart(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t, testSchemas)
	fake := clock.NewFake(t0)
	first := newTestHistory(t, db, fake)
	first.Add(Result{MonitorID: "api", At: t0, OK: true, Latency: time.Millisecond})
	if err := first.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	second := newTestHistory(t, db, fake)
	second.Add(Result{MonitorID: "api", At: t0.Add(time.Minute), OK: false, Latency: time.Millisecond})
	second.Flush(ctx)
	second.Add(Result{MonitorID: "api", At: t0.Add(2 * time.Minute), OK: true, Latency: time.Millisecond})
	second.Flush(ctx)
	s, _ := second.Range(ctx, "api", t0, t0.Add(time.Hour))
	if s.Checks != 3 || s.Failures != 1 {
		t.Fatalf("checks %d failures %d, want 3 and 1: the restart lost the stored minutes", s.Checks, s.Failures)
	}
}

func FuzzDecodeSlots(f *testing.F) {
	p := &page{slots: make([]slot, 60)}
	p.slots[3].total, p.slots[3].failed = 2, 1
	p.slots[3].sk.Add(time.Millisecond)
	p.slots[3].sk.Add(time.Second)
	f.Add(p.encodeSlots())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		slots, err := decodeSlots(b)
		if err != nil {
			return
		}
		for _, s := range slots {
			s.sk.Quantile(0.99)
		}
	})
}

func TestSketchMergeAddsEveryBin(t *testing.T) {
	cases := []struct {
		name string
		a, b []time.Duration
	}{
		{"disjoint bins interleave", []time.Duration{time.Millisecond, 100 * time.Millisecond}, []time.Duration{10 * time.Millisecond, time.Second}},
		{"shared bins add up", []time.Duration{time.Millisecond, time.Millisecond}, []time.Duration{time.Millisecond, 2 * time.Millisecond}},
		{"merging into an empty sketch copies", nil, []time.Duration{time.Millisecond, 3 * time.Millisecond}},
		{"merging an empty sketch changes nothing", []time.Duration{time.Millisecond}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var a, b, want Sketch
			for _, d := range tc.a {
				a.Add(d)
				want.Add(d)
			}
			for _, d := range tc.b {
				b.Add(d)
				want.Add(d)
			}
			a.Merge(&b)
			if fmt.Sprint(a.bins) != fmt.Sprint(want.bins) || a.n != want.n {
				t.Fatalf("merged %v (%d), want %v (%d)", a.bins, a.n, want.bins, want.n)
			}
		})
	}
}

// TestTheHistoryLoopRunsOnNinesClock: the loop that writes results down is timed by the clock
// it is given, so a test moves time instead of waiting for it: a minute on the clock writes
// the minute's rollup, which the wall clock would take a minute to do.
func TestTheHistoryLoopRunsOnNinesClock(t *testing.T) {
	db := storetest.SQLite(t, []store.Schema{store.OwnSchema, Schema})
	clk := clock.NewFake(time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC))
	h := NewHistory(db, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	h.Add(Result{MonitorID: "api", Location: "local", At: clk.Now(), Cause: CauseTimeout, Message: "timed out"})
	rollups := func() int {
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM probe_rollups`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := rollups(); n != 0 {
		t.Fatalf("%d rollups written before any time passed on the clock", n)
	}
	storetest.Eventually(t, 5*time.Second, "the rollup written once a minute passed on the clock", func() bool {
		clk.Advance(10 * time.Second)
		return rollups() > 0
	})
}
