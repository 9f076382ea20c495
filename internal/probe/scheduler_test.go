package probe

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

type okChecker struct{}

func (okChecker) Check(ctx context.Context) Outcome { return Outcome{OK: true} }

func TestFirstRunsAreSpreadOverTheIntervalTheSameWayEachTime(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 7, 0, time.UTC)
	const n, iv = 3000, 30 * time.Second
	buckets := make([]int, 30)
	for i := 0; i < n; i++ {
		j := Job{ID: fmt.Sprintf("monitor-%d", i), Interval: iv}
		due := spreadDue(now, j)
		if !due.After(now) || due.Sub(now) > iv {
			t.Fatalf("%s due at %s: not within one interval after now", j.ID, due)
		}
		if again := spreadDue(now.Add(time.Hour), j); again.Sub(due)%iv != 0 {
			t.Fatalf("%s: phase changed across a restart (%s then %s)", j.ID, due, again)
		}
		buckets[int(due.Sub(now)/time.Second)%30]++
	}
	for s, c := range buckets {
		if c < n/30/2 || c > n/30*2 {
			t.Fatalf("second %d of the interval has %d first runs of %d: not spread (%v)", s, c, n, buckets)
		}
	}
}

func TestTheSchedulerRunsEachJobOncePerIntervalAndDropsRemovedOnes(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	got := make(chan Result, 100)
	s := NewScheduler(fake, 4, "local", func(_ context.Context, r Result) { got <- r })
	s.Set([]Job{{ID: "a", Interval: 10 * time.Second, Timeout: time.Second, Checker: okChecker{}},
		{ID: "b", Interval: 10 * time.Second, Timeout: time.Second, Checker: okChecker{}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	count := func(rounds int) map[string]int {
		seen := map[string]int{}
		for r := 0; r < rounds; r++ {
			before := s.Stats().Done
			fake.Advance(10 * time.Second)
			deadline := time.Now().Add(5 * time.Second)
			for s.Stats().Done < before+uint64(s.Jobs()) && time.Now().Before(deadline) {
				s.poke()
				time.Sleep(time.Millisecond)
			}
		}
		for len(got) > 0 {
			seen[(<-got).MonitorID]++
		}
		return seen
	}
	if seen := count(3); seen["a"] != 3 || seen["b"] != 3 {
		t.Fatalf("three intervals ran %v, want each job 3 times", seen)
	}
	s.Set([]Job{{ID: "a", Interval: 10 * time.Second, Timeout: time.Second, Checker: okChecker{}}})
	if seen := count(2); seen["a"] != 2 || seen["b"] != 0 {
		t.Fatalf("after removing b: %v, want a twice and b never", seen)
	}
	if st := s.Stats(); st.Skipped != 0 || st.Scheduled != st.Done {
		t.Fatalf("stats %+v: nothing should be skipped", st)
	}
}
