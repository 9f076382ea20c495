package alert

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
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

	reqs     chan *request
	stopOnce sync.Once
	done     chan struct{} // closed by Close
	stopped  chan struct{} // closed when Run has answered its last request
	// unanswered holds a token for each batch committed but not yet answered (not yet durable).
	unanswered chan struct{}
	// MaxBatch bounds the events committed in one transaction.
	MaxBatch int
	// Committed, if set, is called once each batch is durable, with its size and the time from
	// the start of its transaction. It may be called from another goroutine than Run's.
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
func NewPipeline(db *store.DB, incidents *incident.Service, c clock.Clock) *Pipeline {
	p := &Pipeline{db: db, incidents: incidents, clock: c, reqs: make(chan *request, 4096),
		done: make(chan struct{}), stopped: make(chan struct{}), unanswered: make(chan struct{}, flushDepth), MaxBatch: 1000}
	incidents.OnChange(p.onIncidentChange)
	return p
}

// Submit commits the events of one request together: all of them or none. It returns once
// they are durable.
func (p *Pipeline) Submit(ctx context.Context, t Target, events []Event) ([]Result, error) {
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
	// Almost every batch succeeds whole, so it first runs without a savepoint per request (two
	// statements each, a fifth of the work of a repeated alert). If any request fails, that
	// transaction is rolled back and the batch runs again, each request under its savepoint,
	// so the failure takes only its own request down.
	err := p.db.TxThen(ctx, func(tx *store.Tx) error {
		// The time is read once the transaction holds the database: read before, while waiting
		// for a person's acknowledgement to commit, it would stamp a later resolve earlier.
		now := p.clock.Now().Truncate(time.Millisecond)
		for _, r := range batch {
			if err := p.applyEvents(ctx, tx, r, now); err != nil {
				return errIsolate
			}
		}
		return nil
	}, answer)
	if errors.Is(err, errIsolate) {
		err = p.db.TxThen(ctx, func(tx *store.Tx) error {
			now := p.clock.Now().Truncate(time.Millisecond)
			for _, r := range batch {
				r.err = p.applyRequest(ctx, tx, r, now)
			}
			return nil
		}, answer)
	}
	if err != nil {
		answer(err)
	}
}

// applyEvents runs the events of one request, keeping their results.
func (p *Pipeline) applyEvents(ctx context.Context, tx *store.Tx, r *request, now time.Time) (err error) {
	// A bug in a hook fails its request, not the process every sender relies on.
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("alert pipeline: panic while applying an event: %v", v)
		}
	}()
	r.results = r.results[:0]
	for _, ev := range r.events {
		res, err := p.apply(ctx, tx, r.target, ev, now)
		if err != nil {
			return err
		}
		r.results = append(r.results, res)
	}
	return nil
}

// applyRequest runs one request under a savepoint, so that its failure undoes only its own
// writes.
func (p *Pipeline) applyRequest(ctx context.Context, tx *store.Tx, r *request, now time.Time) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = tx.Savepoint(ctx, func() error { return p.applyEvents(ctx, tx, r, now) })
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
