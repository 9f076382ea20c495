package probe

import (
	"context"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

func TestMinutesReadRollupsTheMinuteInMemoryAndHoursPastRetention(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, testSchemas, func(t *testing.T, db *store.DB) {
		day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		fake := clock.NewFake(day)
		h := newTestHistory(t, db, fake)
		// An hour of one check a minute, minute 7 failed, then eight days later compacted
		// into an hourly slot.
		for m := 0; m < 60; m++ {
			h.Add(Result{MonitorID: "api", Location: "local", At: day.Add(time.Duration(m) * time.Minute), OK: m != 7, Latency: 10 * time.Millisecond})
		}
		fake.Set(day.Add(time.Hour))
		if err := h.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		now := day.AddDate(0, 0, 8).Add(10 * time.Hour)
		fake.Set(now)
		if err := h.Compact(ctx); err != nil {
			t.Fatal(err)
		}
		var minutePages int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM probe_rollups WHERE res = ?`, resMinute).Scan(&minutePages); err != nil || minutePages != 0 {
			t.Fatalf("after compaction: %d minute pages (%v), want the hour kept only hourly", minutePages, err)
		}
		// Now: two checks flushed in minute 10:00, one more in 10:01 still in memory.
		h.Add(Result{MonitorID: "api", Location: "local", At: now, OK: true, Latency: 200 * time.Millisecond})
		h.Add(Result{MonitorID: "api", Location: "local", At: now.Add(30 * time.Second), Cause: CauseStatus, Latency: 200 * time.Millisecond})
		fake.Set(now.Add(40 * time.Second))
		if err := h.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		h.Add(Result{MonitorID: "api", Location: "local", At: now.Add(70 * time.Second), OK: true, Latency: 20 * time.Millisecond})
		fake.Set(now.Add(80 * time.Second))

		hour, err := h.Minutes(ctx, "api", day, day.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var up, total int64
		for _, m := range hour {
			up, total = up+m.Up, total+m.Total
			if m.P95 < 9*time.Millisecond || m.P95 > 11*time.Millisecond {
				t.Errorf("a minute of the compacted hour has p95 %v, want the hour's 10ms", m.P95)
			}
		}
		if len(hour) != 60 || up != 59 || total != 60 {
			t.Errorf("compacted hour: %d minutes, %d/%d up; want 60 minutes, 59/60", len(hour), up, total)
		}
		if part, _ := h.Minutes(ctx, "api", day.Add(10*time.Minute), day.Add(20*time.Minute)); len(part) != 10 || !part[0].Start.Equal(day.Add(10*time.Minute)) {
			t.Errorf("ten minutes of a compacted hour: %d minutes from %v", len(part), part)
		}

		recent, err := h.Minutes(ctx, "api", now.Add(-time.Hour), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(recent) != 2 || recent[0].Up != 1 || recent[0].Total != 2 || recent[0].P95 < 190*time.Millisecond ||
			recent[1].Up != 1 || recent[1].Total != 1 || !recent[1].Start.Equal(now.Add(time.Minute)) {
			t.Errorf("recent minutes: %+v; want 10:00 with 1/2 up at ~200ms, 10:01 (in memory) with 1/1", recent)
		}

		// After a restart, a minute still in memory adds to its stored hour instead of hiding it.
		h2 := newTestHistory(t, db, fake)
		h2.Add(Result{MonitorID: "api", Location: "local", At: now.Add(75 * time.Second), OK: true, Latency: 20 * time.Millisecond})
		recent, err = h2.Minutes(ctx, "api", now, now.Add(2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(recent) != 2 || recent[0].Total != 2 || recent[1].Total != 1 {
			t.Errorf("after a restart: %+v; want the stored 10:00 with 2 checks and 10:01 with 1", recent)
		}
	})
}

func TestAnHourIsDealtOverItsMinutesWithExactSums(t *testing.T) {
	for _, c := range []struct {
		name          string
		total, failed uint32
	}{
		{"one check a minute, one failed", 60, 1},
		{"fewer checks than minutes, most failed", 3, 2},
		{"every check failed", 7, 7},
		{"two checks a minute", 120, 13},
		{"a single check", 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := slot{total: c.total, failed: c.failed}
			s.sk.Add(time.Millisecond)
			mins := spreadHour(nil, 0, &s, 0, 3600*1000)
			var up, total int64
			for _, m := range mins {
				if m.Total <= 0 || m.Up < 0 || m.Up > m.Total {
					t.Fatalf("minute %+v: want checks, and no more failures than checks", m)
				}
				up, total = up+m.Up, total+m.Total
			}
			if total != int64(c.total) || total-up != int64(c.failed) || len(mins) > 60 {
				t.Errorf("%d minutes with %d checks, %d failed; want %d checks, %d failed", len(mins), total, total-up, c.total, c.failed)
			}
		})
	}
}
