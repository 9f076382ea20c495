package alert

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
)

// Pipeline commits events. Requests from many callers are gathered into one transaction (group
// commit): one fsync covers a whole batch, and each caller hears back only after the batch is
// durable. While the disk flushes one batch the next one is gathered and applied, so the writer
// does not sit idle during the flush. Each request's writes stand or fall together: a request
// that fails leaves nothing behind and does not take the rest of its batch with it.
type Pipeline struct {
	db        *store.DB
	incidents *incident.Service
	clock     clock.Clock
	keys      *openKeys

	reqs     chan *request
	stopOnce sync.Once
	done     chan struct{} // closed by Close
	stopped  chan struct{} // closed when Run has answered its last request
	// unanswered holds a token for each batch committed but not yet answered (not yet durable).
	unanswered chan struct{}
	// MaxBatch bounds the events committed in one transaction.
	MaxBatch int
	// Committed and Config are Options' (Committed may be replaced by a benchmark).
	Committed func(events int, took time.Duration)
	Config    *config.Live
}

// Options are what the pipeline takes from the rest of nines.
type Options struct {
	// Config gives the inhibit rules in force; without it no alert is inhibited.
	Config *config.Live
	// Committed, if set, is called once each batch is durable, with its size and the time from
	// the start of its transaction (nines' own metrics). It may be called from another
	// goroutine than Run's.
	Committed func(events int, took time.Duration)
}

// flushDepth is how many batches may be committed and waiting for the disk at once: one being
// flushed while the next is applied. A deeper pipeline would only commit smaller batches (each
// with its own overhead) while the disk is busy anyway.
const flushDepth = 2

type request struct {
	target  Target
	events  []Event
	results []Result
	err     error
	done    chan struct{}
}

// ErrClosed is returned by Submit once the pipeline has stopped.
var ErrClosed = errors.New("alert pipeline is shut down")

// NewPipeline wires the pipeline to the incident service. Run must be called to start it.
func NewPipeline(db *store.DB, incidents *incident.Service, c clock.Clock, o Options) *Pipeline {
	p := &Pipeline{db: db, incidents: incidents, clock: c, Config: o.Config, Committed: o.Committed, keys: newOpenKeys(), reqs: make(chan *request, 4096),
		done: make(chan struct{}), stopped: make(chan struct{}), unanswered: make(chan struct{}, flushDepth), MaxBatch: 1000}
	incidents.OnChange(p.onIncidentChange)
	incidents.OnRead(p.completeBursts)
	return p
}

// Submit commits the events of one request together: all of them or none. It returns once
// they are durable.
func (p *Pipeline) Submit(ctx context.Context, t Target, events []Event) ([]Result, error) {
	events = slices.Clone(events)
	for i := range events {
		events[i].validText()
		events[i].details, events[i].labels = detailsJSON(events[i]), labelsJSON(events[i].Labels)
	}
	r := &request{target: t, events: events, done: make(chan struct{})}
	select {
	case p.reqs <- r:
	case <-p.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-r.done:
		return r.results, r.err
	case <-p.stopped:
		select {
		case <-r.done:
			return r.results, r.err
		default:
			return nil, ErrClosed
		}
	case <-ctx.Done():
		// The batch may still commit; the sender was not told so and will retry, which dedup
		// absorbs for keyed events.
		return nil, ctx.Err()
	}
}

// Run commits batches until Close is called and every submitted request has been answered.
func (p *Pipeline) Run() {
	defer func() {
		// Wait for the last batches to be durable and answered.
		for range flushDepth {
			p.unanswered <- struct{}{}
		}
		close(p.stopped)
	}()
	if err := p.keys.load(context.Background(), p.db); err != nil {
		// Without the open keys every trigger looks its key up, as it would past maxOpenKeys.
		p.keys.incomplete()
	}
	closing := false
	for {
		var r *request
		if closing {
			select {
			case r = <-p.reqs:
			default:
				return
			}
		} else {
			select {
			case r = <-p.reqs:
			case <-p.done:
				closing = true
				continue
			}
		}
		// Wait for room in the flush pipeline before gathering, so that a batch takes in
		// everything that arrived while the disk was busy.
		p.unanswered <- struct{}{}
		batch := []*request{r}
		n := len(r.events)
	gather:
		for n < p.MaxBatch {
			select {
			case r := <-p.reqs:
				batch = append(batch, r)
				n += len(r.events)
			default:
				break gather
			}
		}
		p.commit(batch, n)
	}
}

// Close stops taking requests; Run returns once those already queued are answered. Call it
// after the HTTP server has stopped handing requests in, then wait for Run to return.
func (p *Pipeline) Close() {
	p.stopOnce.Do(func() { close(p.done) })
}

// errIsolate makes commit run a batch again with each request under its own savepoint.
var errIsolate = errors.New("a request of the batch failed")

// maxTransientRetries bounds how often a batch runs again after PostgreSQL failed it to break a
// deadlock or a serialization conflict with another node's batch (store.Transient).
const maxTransientRetries = 8

func (p *Pipeline) commit(batch []*request, n int) {
	start := time.Now()
	ctx := context.Background()
	answer := func(err error) {
		for _, r := range batch {
			if err != nil {
				r.err, r.results = err, nil
			}
			close(r.done)
		}
		if err == nil && p.Committed != nil {
			p.Committed(n, time.Since(start))
		}
		<-p.unanswered
	}
	// Two nodes whose batches hold the same keys lock the same rows; taking the requests in
	// the order of their keys makes them take the rows in the same order, so they seldom
	// deadlock. Requests of one batch were sent concurrently, so their order is no sender's.
	sort.SliceStable(batch, func(i, j int) bool { return batch[i].lockOrder() < batch[j].lockOrder() })
	var err error
	for attempt := 0; ; attempt++ {
		err = p.tryCommit(ctx, batch, answer)
		// A deadlock or serialization failure (PostgreSQL, several nodes) fails the whole
		// transaction through no fault of its requests, and wrote nothing: run it again.
		if !store.Transient(err) || attempt == maxTransientRetries {
			break
		}
		time.Sleep(time.Duration(1+rand.IntN(10<<min(attempt, 4))) * time.Millisecond)
	}
	if err != nil {
		answer(err)
	}
}

// tryCommit runs a batch in one transaction. Almost every batch succeeds whole, so it first runs
// without a savepoint per request (two statements each, a fifth of the work of a repeated
// alert). If any request fails, that transaction is rolled back and the batch runs again, each
// request under its savepoint, so the failure takes only its own request down. A transient
// failure (store.Transient) is returned as it is, for the whole batch to run again.
func (p *Pipeline) tryCommit(ctx context.Context, batch []*request, answer func(error)) error {
	for _, r := range batch {
		r.err = nil
	}
	err := p.db.TxThen(ctx, func(tx *store.Tx) error {
		// The time is read once the transaction holds the database: read before, while waiting
		// for a person's acknowledgement to commit, it would stamp a later resolve earlier.
		now := p.clock.Now().Truncate(time.Millisecond)
		for _, r := range batch {
			if err := p.applyEvents(ctx, tx, r, now); err != nil {
				if store.Transient(err) {
					return err
				}
				return errIsolate
			}
		}
		// Rows written at the end of the transaction may fail too: isolate that request.
		if err := tx.FlushInserts(ctx); err != nil {
			if store.Transient(err) {
				return err
			}
			return errIsolate
		}
		return nil
	}, answer)
	p.settleKeys(err)
	if !errors.Is(err, errIsolate) {
		return err
	}
	err = p.db.TxThen(ctx, func(tx *store.Tx) error {
		now := p.clock.Now().Truncate(time.Millisecond)
		for _, r := range batch {
			if r.err = p.applyRequest(ctx, tx, r, now); store.Transient(r.err) {
				return r.err
			}
		}
		return nil
	}, answer)
	p.settleKeys(err)
	return err
}

// lockOrder is the first of a request's alert keys, by service then dedup key.
func (r *request) lockOrder() string {
	first := ""
	for i, ev := range r.events {
		if k := ev.DedupKey; i == 0 || k < first {
			first = k
		}
	}
	return r.target.ServiceID + "\x00" + first
}

// settleKeys keeps what a transaction taught the open keys if it committed, and forgets it if
// it rolled back.
func (p *Pipeline) settleKeys(err error) {
	if err != nil {
		p.keys.rollbackTo(0)
		return
	}
	p.keys.committed()
}

// applyEvents runs the events of one request, keeping their results.
func (p *Pipeline) applyEvents(ctx context.Context, tx *store.Tx, r *request, now time.Time) (err error) {
	// A bug in a hook fails its request, not the process every sender relies on.
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("alert pipeline: panic while applying an event: %v", v)
		}
	}()
	r.results = append(r.results[:0], make([]Result, len(r.events))...)
	for _, i := range p.sourcesFirst(r.target, r.events) {
		res, err := p.apply(ctx, tx, r.target, r.events[i], now)
		if err != nil {
			return err
		}
		r.results[i] = res
	}
	return nil
}

// sourcesFirst is the order to apply a request's events in: those that could inhibit others
// first, so that an Alertmanager group holding both a cause and its symptoms has the symptoms
// inhibited whatever order the payload lists them in. Results keep the request's order.
func (p *Pipeline) sourcesFirst(t Target, events []Event) []int {
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	rules := p.inhibitRules()
	if len(rules) == 0 || len(events) < 2 {
		return order
	}
	source := make([]bool, len(events))
	for i, ev := range events {
		ls := withService(ev.Labels, t.ServiceID)
		for j := range rules {
			if ev.Action == Trigger && rules[j].Sources().Matches(ls) {
				source[i] = true
				break
			}
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return source[order[a]] && !source[order[b]] })
	return order
}

// applyRequest runs one request under a savepoint, so that its failure undoes only its own
// writes.
func (p *Pipeline) applyRequest(ctx context.Context, tx *store.Tx, r *request, now time.Time) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		mark := p.keys.mark()
		err = tx.Savepoint(ctx, func() error { return p.applyEvents(ctx, tx, r, now) })
		if err != nil {
			p.keys.rollbackTo(mark)
		}
		// Another node opened the same alert between our read and our insert: read again.
		if !store.IsUniqueViolation(err) {
			break
		}
	}
	if err != nil {
		r.results = nil
	}
	return err
}
