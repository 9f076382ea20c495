package probe

import (
	"container/heap"
	"context"
	"hash/fnv"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

// Job is one monitor the scheduler runs.
type Job struct {
	ID       string
	Interval time.Duration
	Timeout  time.Duration
	Checker  Checker
}

// Scheduler runs every job at its interval with one timer and a bounded pool of workers, not
// a goroutine and a ticker per monitor. First runs are spread over each interval by a hash of the
// id, so 10,000 monitors at 30s make about 333 checks a second, not 10,000 at once. A check that
// is still running when it falls due again is skipped (and counted), so one slow target holds at
// most one worker and never delays the others.
type Scheduler struct {
	clock   clock.Clock
	workers chan struct{}
	report  func(context.Context, Result)
	loc     string

	mu    sync.Mutex
	queue entries
	byID  map[string]*entry
	wake  chan struct{}
	stats SchedulerStats
}

// SchedulerStats counts what the scheduler did, for the benchmark and /metrics.
type SchedulerStats struct {
	Scheduled uint64 // checks that fell due
	Done      uint64 // checks that ran to an outcome
	Skipped   uint64 // checks not run because the previous one of the monitor was still running
	// Lateness is the delay from a check's due time to its start, worker wait included.
	Lateness Sketch
}

type entry struct {
	job     Job
	due     time.Time
	running bool
	index   int
	removed bool
}

type entries []*entry

func (e entries) Len() int           { return len(e) }
func (e entries) Less(i, j int) bool { return e[i].due.Before(e[j].due) }
func (e entries) Swap(i, j int)      { e[i], e[j] = e[j], e[i]; e[i].index = i; e[j].index = j }
func (e *entries) Push(x any)        { it := x.(*entry); it.index = len(*e); *e = append(*e, it) }
func (e *entries) Pop() any {
	old := *e
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*e = old[:len(old)-1]
	return it
}

// NewScheduler returns a scheduler running at most workers checks at once and handing each
// result, tagged with location, to report.
func NewScheduler(c clock.Clock, workers int, location string, report func(context.Context, Result)) *Scheduler {
	return &Scheduler{clock: c, workers: make(chan struct{}, workers), report: report, loc: location,
		byID: map[string]*entry{}, wake: make(chan struct{}, 1)}
}

// offset spreads first runs over the interval, the same way on every restart.
func offset(id string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(id))
	return time.Duration(h.Sum64() % uint64(interval))
}

// Set replaces the jobs. A job whose interval is unchanged keeps its place in time.
func (s *Scheduler) Set(jobs []Job) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		keep[j.ID] = true
		if e := s.byID[j.ID]; e != nil {
			if e.job.Interval != j.Interval {
				e.due = spreadDue(now, j)
				heap.Fix(&s.queue, e.index)
			}
			e.job = j
			continue
		}
		e := &entry{job: j, due: spreadDue(now, j)}
		s.byID[j.ID] = e
		heap.Push(&s.queue, e)
	}
	for id, e := range s.byID {
		if !keep[id] {
			heap.Remove(&s.queue, e.index)
			e.removed = true
			delete(s.byID, id)
		}
	}
	s.poke()
}

// spreadDue is the next time after now that is the job's offset past a multiple of its
// interval: the phase is stable across restarts.
func spreadDue(now time.Time, j Job) time.Time {
	iv := j.Interval
	base := now.Truncate(iv).Add(offset(j.ID, iv))
	for !base.After(now) {
		base = base.Add(iv)
	}
	return base
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Jobs is the number of jobs scheduled.
func (s *Scheduler) Jobs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// Stats returns a copy of the counters.
func (s *Scheduler) Stats() SchedulerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Lateness = Sketch{}
	st.Lateness.Merge(&s.stats.Lateness)
	return st
}

// Run dispatches due checks until ctx is done, then waits for running ones.
func (s *Scheduler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	type due struct {
		e  *entry
		at time.Time
	}
	var batch []due
	for {
		now := s.clock.Now()
		batch = batch[:0]
		s.mu.Lock()
		for len(s.queue) > 0 && !s.queue[0].due.After(now) {
			e := s.queue[0]
			s.stats.Scheduled++
			if e.running {
				s.stats.Skipped++
			} else {
				e.running = true
				batch = append(batch, due{e, e.due})
			}
			e.due = e.due.Add(e.job.Interval)
			if !e.due.After(now) {
				// Far behind (a suspended process): skip to the next slot instead of a burst.
				e.due = spreadDue(now, e.job)
			}
			heap.Fix(&s.queue, 0)
		}
		wait := time.Hour
		if len(s.queue) > 0 {
			wait = s.queue[0].due.Sub(now)
		}
		s.mu.Unlock()

		for _, d := range batch {
			select {
			case s.workers <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func(e *entry, at time.Time) {
				defer func() { <-s.workers; wg.Done() }()
				s.runOne(ctx, e, at)
			}(d.e, d.at)
		}
		if len(batch) > 0 {
			continue
		}
		t := s.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.wake:
		case <-t.C():
		}
		t.Stop()
	}
}

func (s *Scheduler) runOne(ctx context.Context, e *entry, dueAt time.Time) {
	start := s.clock.Now()
	late := start.Sub(dueAt)
	cctx, cancel := context.WithTimeout(ctx, e.job.Timeout)
	out := e.job.Checker.Check(cctx)
	cancel()
	s.mu.Lock()
	e.running = false
	s.stats.Lateness.Add(late)
	removed := e.removed
	s.mu.Unlock()
	if ctx.Err() != nil || removed {
		return // shutting down, or the monitor is gone: the outcome means nothing
	}
	s.report(ctx, Result{MonitorID: e.job.ID, Location: s.loc, At: start.Truncate(time.Millisecond), OK: out.OK,
		Latency: out.Latency, Cause: out.Cause, Message: out.Message})
	// Done counts checks whose result has been handed on, alerts included.
	s.mu.Lock()
	s.stats.Done++
	s.mu.Unlock()
}
