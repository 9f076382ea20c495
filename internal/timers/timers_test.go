package timers_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/timers"
)

var schemas = []store.Schema{store.OwnSchema, timers.Schema}

var epoch = time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)

// harness is a runner on a fake clock, started by start and stopped when the test ends.
type harness struct {
	t     *testing.T
	db    *store.DB
	clock *clock.Fake
	r     *timers.Runner
}

func newHarness(t *testing.T, db *store.DB) *harness {
	c := clock.NewFake(epoch)
	return &harness{t: t, db: db, clock: c, r: timers.NewRunner(db, c, slog.New(slog.NewTextHandler(io.Discard, nil)))}
}

func (h *harness) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.r.Run(ctx); close(done) }()
	h.t.Cleanup(func() { cancel(); <-done })
}

// advance moves the clock and wakes the runner, so a runner that read the time just before the
// move still looks again.
func (h *harness) advance(d time.Duration) {
	h.clock.Advance(d)
	h.r.Wake()
}

func (h *harness) set(kind, key string, due time.Time, payload string) {
	h.t.Helper()
	err := h.db.Tx(context.Background(), func(tx *store.Tx) error { return h.r.Set(context.Background(), tx, kind, key, due, payload) })
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) pending(kind string) []timers.Timer {
	h.t.Helper()
	ts, err := h.r.Pending(context.Background(), kind)
	if err != nil {
		h.t.Fatal(err)
	}
	return ts
}

// recorder is a handler that records the runs it sees.
type recorder struct {
	mu   sync.Mutex
	runs []timers.Timer
	fail func(t timers.Timer) error
}

func (rc *recorder) handle(ctx context.Context, t timers.Timer) error {
	rc.mu.Lock()
	rc.runs = append(rc.runs, t)
	fail := rc.fail
	rc.mu.Unlock()
	if fail != nil {
		return fail(t)
	}
	return nil
}

func (rc *recorder) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.runs)
}

func (rc *recorder) last() timers.Timer {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.runs[len(rc.runs)-1]
}

func TestATimerRunsWhenDueAndIsThenDeleted(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		rec := &recorder{}
		h.r.Handle("escalate", rec.handle)
		h.start()
		h.set("escalate", "incident-1/step-2", epoch.Add(10*time.Minute), `{"step":2}`)

		h.advance(9 * time.Minute)
		h.r.Wake()
		if rec.count() != 0 {
			t.Fatal("the timer ran a minute early")
		}
		if p := h.pending("escalate"); len(p) != 1 || !p[0].Due.Equal(epoch.Add(10*time.Minute)) || p[0].Payload != `{"step":2}` {
			t.Fatalf("pending = %+v, want the timer due at +10m with its payload", p)
		}

		h.advance(time.Minute)
		storetest.Eventually(t, 5*time.Second, "the due timer to run", func() bool { return rec.count() == 1 })
		got := rec.last()
		if got.Kind != "escalate" || got.Key != "incident-1/step-2" || got.Payload != `{"step":2}` || got.Attempts != 0 {
			t.Errorf("handler got %+v", got)
		}
		storetest.Eventually(t, 5*time.Second, "the finished timer to be deleted", func() bool { return len(h.pending("escalate")) == 0 })
	})
}

func TestSettingATimerAgainMovesIt(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		h.set("reminder", "k", epoch.Add(time.Hour), "one")
		h.set("reminder", "k", epoch.Add(2*time.Hour), "two")
		p := h.pending("reminder")
		if len(p) != 1 || p[0].Payload != "two" || !p[0].Due.Equal(epoch.Add(2*time.Hour)) {
			t.Fatalf("pending = %+v, want one timer due at +2h with payload two", p)
		}
	})
}

func TestACancelledTimerNeverRuns(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		rec := &recorder{}
		h.r.Handle("escalate", rec.handle)
		h.set("escalate", "incident-1/step-1", epoch.Add(time.Minute), "")
		h.set("escalate", "incident-1/step-2", epoch.Add(time.Minute), "")
		h.set("escalate", "incident-10/step-1", epoch.Add(time.Minute), "")
		h.set("escalate", "incident-2/step-1", epoch.Add(time.Minute), "")
		h.set("escalate", "café-3/step-1", epoch.Add(time.Minute), "")
		ctx := context.Background()
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if err := h.r.Cancel(ctx, tx, "escalate", "incident-2/step-1"); err != nil {
				return err
			}
			if err := h.r.CancelPrefix(ctx, tx, "escalate", "café-3/"); err != nil {
				return err
			}
			return h.r.CancelPrefix(ctx, tx, "escalate", "incident-1/")
		})
		if err != nil {
			t.Fatal(err)
		}
		p := h.pending("escalate")
		if len(p) != 1 || p[0].Key != "incident-10/step-1" {
			t.Fatalf("pending after cancelling = %+v, want only incident-10/step-1", p)
		}
		h.start()
		h.advance(time.Minute)
		storetest.Eventually(t, 5*time.Second, "the remaining timer to run", func() bool { return rec.count() == 1 })
		if k := rec.last().Key; k != "incident-10/step-1" {
			t.Errorf("ran %q, want incident-10/step-1", k)
		}
	})
}

func TestATimerSetInARolledBackTransactionDoesNotExist(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		ctx := context.Background()
		errNo := errors.New("no")
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if err := h.r.Set(ctx, tx, "escalate", "k", epoch, ""); err != nil {
				return err
			}
			return errNo
		})
		if !errors.Is(err, errNo) {
			t.Fatal(err)
		}
		if p := h.pending("escalate"); len(p) != 0 {
			t.Errorf("pending = %+v after a rollback", p)
		}
	})
}

func TestAFailingTimerIsRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		var failures atomic.Int32
		failures.Store(3)
		rec := &recorder{fail: func(timers.Timer) error {
			if failures.Add(-1) >= 0 {
				return errors.New("smtp: connection refused")
			}
			return nil
		}}
		h.r.Handle("deliver", rec.handle)
		h.start()
		h.set("deliver", "n-1", epoch, "")
		h.r.Wake()

		// Runs 1, 2 and 3 fail; each is retried after 1s, 2s, then 4s.
		for attempt, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
			storetest.Eventually(t, 5*time.Second, "a run", func() bool { return rec.count() == attempt+1 })
			storetest.Eventually(t, 5*time.Second, "the failure to be recorded", func() bool {
				p := h.pending("deliver")
				return len(p) == 1 && p[0].Attempts == attempt+1
			})
			p := h.pending("deliver")
			if want := h.clock.Now().Add(wait); !p[0].Due.Equal(want) {
				t.Fatalf("after failure %d the retry is due at %v, want %v", attempt+1, p[0].Due, want)
			}
			h.advance(wait - time.Millisecond)
			if rec.count() != attempt+1 {
				t.Fatalf("retry %d ran before its backoff was over", attempt+1)
			}
			h.advance(time.Millisecond)
		}
		storetest.Eventually(t, 5*time.Second, "the fourth run", func() bool { return rec.count() == 4 })
		if got := rec.last().Attempts; got != 3 {
			t.Errorf("the fourth run saw Attempts = %d, want 3", got)
		}
		storetest.Eventually(t, 5*time.Second, "the timer to be deleted after success", func() bool { return len(h.pending("deliver")) == 0 })
	})
}

func TestAPanickingHandlerIsRetriedLikeAFailure(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		var runs atomic.Int32
		h.r.Handle("deliver", func(ctx context.Context, tm timers.Timer) error {
			if runs.Add(1) == 1 {
				panic("nil map")
			}
			return nil
		})
		h.start()
		h.set("deliver", "n-1", epoch, "")
		h.r.Wake()
		storetest.Eventually(t, 5*time.Second, "the panic to be recorded as a failure", func() bool {
			p := h.pending("deliver")
			return len(p) == 1 && p[0].Attempts == 1
		})
		h.advance(time.Second)
		storetest.Eventually(t, 5*time.Second, "the retry to succeed", func() bool { return len(h.pending("deliver")) == 0 })
	})
}

func TestATimerSetAgainWhileRunningIsNotDeletedByTheOldRun(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		var runs atomic.Int32
		h.r.Handle("repeat", func(ctx context.Context, tm timers.Timer) error {
			n := runs.Add(1)
			// The handler schedules the next round of itself (an escalation policy repeating),
			// then the first run fails: neither the delete nor the retry may touch the new round.
			err := db.Tx(ctx, func(tx *store.Tx) error {
				return h.r.Set(ctx, tx, "repeat", tm.Key, h.clock.Now().Add(time.Hour), "round-2")
			})
			if err != nil {
				return err
			}
			if n == 1 {
				return errors.New("first round failed after scheduling the next")
			}
			return nil
		})
		h.start()
		h.set("repeat", "policy-1", epoch, "round-1")
		h.r.Wake()
		storetest.Eventually(t, 5*time.Second, "the first run", func() bool { return runs.Load() == 1 })
		// Give the runner its chance to record the outcome, then check the new round is intact.
		storetest.Eventually(t, 5*time.Second, "the runner to be idle", func() bool {
			p := h.pending("repeat")
			return len(p) == 1 && p[0].Payload == "round-2"
		})
		h.r.Wake()
		p := h.pending("repeat")
		if len(p) != 1 || p[0].Payload != "round-2" || p[0].Attempts != 0 || !p[0].Due.Equal(epoch.Add(time.Hour)) {
			t.Fatalf("pending = %+v; the failed old run overwrote the round it scheduled", p)
		}
		h.advance(time.Hour)
		storetest.Eventually(t, 5*time.Second, "the second round", func() bool { return runs.Load() == 2 })
		// The second round set a third one; its own delete must not remove it either.
		storetest.Eventually(t, 5*time.Second, "the third round to be pending", func() bool {
			p := h.pending("repeat")
			return len(p) == 1 && p[0].Due.Equal(epoch.Add(2*time.Hour))
		})
	})
}

func TestATimerClaimedByAStoppedRunnerRunsAgainAfterItsLease(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		c := clock.NewFake(epoch)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))

		// The first node claims the timer and dies while its handler runs.
		first := timers.NewRunner(db, c, log)
		started := make(chan struct{})
		first.Handle("escalate", func(ctx context.Context, tm timers.Timer) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { first.Run(ctx); close(done) }()
		err := db.Tx(ctx, func(tx *store.Tx) error { return first.Set(ctx, tx, "escalate", "k", epoch, "") })
		if err != nil {
			t.Fatal(err)
		}
		<-started
		cancel()
		<-done

		second := newHarness(t, db)
		second.clock = c
		second.r = timers.NewRunner(db, c, log)
		rec := &recorder{}
		second.r.Handle("escalate", rec.handle)
		second.start()
		second.r.Wake()
		second.advance(second.r.Lease - time.Second)
		if rec.count() != 0 {
			t.Fatal("another node ran the timer while the first node's lease held")
		}
		second.advance(time.Second)
		storetest.Eventually(t, 5*time.Second, "the timer to run once the lease ran out", func() bool { return rec.count() == 1 })
	})
}

func TestTwoRunnersRunEachDueTimerOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		c := clock.NewFake(epoch)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		var mu sync.Mutex
		seen := map[string]int{}
		var runners []*timers.Runner
		for range 2 {
			r := timers.NewRunner(db, c, log)
			r.Workers = 4
			r.Handle("probe", func(ctx context.Context, tm timers.Timer) error {
				mu.Lock()
				seen[tm.Key]++
				mu.Unlock()
				return nil
			})
			runners = append(runners, r)
		}
		ctx := context.Background()
		const n = 40
		err := db.Tx(ctx, func(tx *store.Tx) error {
			for i := range n {
				if err := runners[0].Set(ctx, tx, "probe", string(rune('A'+i)), epoch, ""); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runners {
			h := &harness{t: t, db: db, clock: c, r: r}
			h.start()
			r.Wake()
		}
		storetest.Eventually(t, 10*time.Second, "every timer to run", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) == n
		})
		storetest.Eventually(t, 5*time.Second, "every timer to be deleted", func() bool {
			p, _ := runners[0].Pending(ctx, "probe")
			return len(p) == 0
		})
		mu.Lock()
		defer mu.Unlock()
		for k, v := range seen {
			if v != 1 {
				t.Errorf("timer %s ran %d times", k, v)
			}
		}
	})
}

func TestBackoffDoublesFromOneSecondUpToFiveMinutes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		attempt int
		want    time.Duration
	}{
		{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second},
		{9, 256 * time.Second}, {10, 5 * time.Minute}, {11, 5 * time.Minute}, {1000, 5 * time.Minute},
	}
	for _, c := range cases {
		if got := timers.Backoff(c.attempt); got != c.want {
			t.Errorf("Backoff(%d) = %v, want %v", c.attempt, got, c.want)
		}
	}
}

// TestALongRunningHandlerKeepsItsLease: a handler that runs longer than the lease (a mail
// server that takes minutes to answer) keeps its timer: the lease is renewed while it runs, so
// another node does not claim the timer and send the same page again.
func TestALongRunningHandlerKeepsItsLease(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		c := clock.NewFake(epoch)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		slow := &harness{t: t, db: db, clock: c, r: timers.NewRunner(db, c, log)}
		started, release := make(chan struct{}), make(chan struct{})
		var runs atomic.Int32
		slow.r.Handle("notify", func(ctx context.Context, tm timers.Timer) error {
			if runs.Add(1) == 1 {
				close(started)
			}
			<-release
			return nil
		})
		other := &harness{t: t, db: db, clock: c, r: timers.NewRunner(db, c, log)}
		other.r.Handle("notify", func(ctx context.Context, tm timers.Timer) error {
			runs.Add(1)
			return nil
		})
		slow.set("notify", "page", epoch, "")
		slow.start()
		var releaseOnce sync.Once
		free := func() { releaseOnce.Do(func() { close(release) }) }
		t.Cleanup(free) // before the runner stops: it waits for its handler
		slow.r.Wake()
		<-started
		other.start()
		leaseUntil := func() time.Time {
			var ms int64
			if err := db.QueryRow(context.Background(), `SELECT lease_until FROM timers`).Scan(&ms); err != nil {
				t.Fatal(err)
			}
			return time.UnixMilli(ms)
		}
		step := slow.r.Lease / 4
		for range 12 { // three leases' worth
			slow.clock.Advance(step)
			other.r.Wake()
			storetest.Eventually(t, 5*time.Second, "the lease renewed", func() bool {
				return leaseUntil().Equal(c.Now().Add(slow.r.Lease))
			})
		}
		if n := runs.Load(); n != 1 {
			t.Fatalf("the timer ran %d times while its first run was still going", n)
		}
		free()
		storetest.Eventually(t, 5*time.Second, "the finished timer deleted", func() bool { return len(slow.pending("notify")) == 0 })
		if n := runs.Load(); n != 1 {
			t.Fatalf("the timer ran %d times", n)
		}
	})
}
