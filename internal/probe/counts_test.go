package probe

import (
	"context"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// TestCountsCutAMinuteAtTheEdgeToTheMillisecond: a minute of twelve checks, one every 5 s, the
// first six failed (10:00:00 to 10:00:25), cut by an edge at 10:00:30 (where a maintenance
// window starts, say). With the raw results at hand each check counts at its own time: 6 failed
// before the edge, 6 passed after. Once the raw results are gone (past probes.raw_window) the
// minute is dealt by length: half its checks and half its failures on each side, 6 checks with
// 3 failed. Worked by hand from the schedule above.
func TestCountsCutAMinuteAtTheEdgeToTheMillisecond(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, testSchemas, func(t *testing.T, db *store.DB) {
		ten := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
		fake := clock.NewFake(ten)
		h := newTestHistory(t, db, fake)
		for i := 0; i < 12; i++ {
			h.Add(Result{MonitorID: "api", Location: "local", At: ten.Add(time.Duration(i) * 5 * time.Second), OK: i >= 6, Latency: time.Millisecond})
		}
		edges := []time.Time{ten.Add(-time.Hour), ten.Add(30 * time.Second), ten.Add(time.Hour)}
		want := func(stage string, before, after Count) {
			t.Helper()
			got, err := h.Counts(ctx, "api", edges)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0] != before || got[1] != after {
				t.Errorf("%s: counts %+v, want %+v then %+v", stage, got, before, after)
			}
		}
		want("in memory", Count{6, 6}, Count{6, 0})
		fake.Set(ten.Add(2 * time.Minute))
		if err := h.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		want("flushed", Count{6, 6}, Count{6, 0})
		if _, err := db.Exec(ctx, `DELETE FROM probe_results`); err != nil {
			t.Fatal(err)
		}
		want("past the raw window", Count{6, 3}, Count{6, 3})
		// An edge on the minute's own start splits nothing.
		edges[1] = ten
		want("cut on the minute", Count{}, Count{12, 6})
	})
}
