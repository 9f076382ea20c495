package drill

import (
	"context"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/store"
)

// underwayRefresh is how soon a node learns that a run started elsewhere (another PostgreSQL
// node) is under way. A fault takes longer than that to be injected and seen by a signal.
const underwayRefresh = 250 * time.Millisecond

// underway remembers whether any run may be starting or running, so that an incident opening
// while no drill runs (nearly always) asks nothing of drill_runs: in an alert storm those two
// reads per new incident were a tenth of ingest's CPU. A run this process starts marks it inside
// the transaction that starts it, before anything can see the run; the database is read again
// when the last read is older than underwayRefresh (real time: it is the age of a cache, not a
// time of the domain), and a mark made while that read ran is kept.
type underway struct {
	mu       sync.Mutex
	loadedAt time.Time
	gen      uint64 // counts marks
	maybe    bool
}

func (u *underway) mark() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.gen++
	u.maybe = true
}

// may reports whether a run may be under way.
func (u *underway) may(ctx context.Context, db *store.DB) (bool, error) {
	u.mu.Lock()
	now := time.Now()
	if !u.loadedAt.IsZero() && now.Sub(u.loadedAt) < underwayRefresh {
		defer u.mu.Unlock()
		return u.maybe, nil
	}
	since := u.gen
	u.mu.Unlock()
	var n int
	err := db.QueryRow(ctx, `SELECT COUNT(*) FROM drill_runs WHERE state IN (?, ?)`, Starting, Running).Scan(&n)
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil {
		return true, err
	}
	u.loadedAt = now
	u.maybe = n > 0 || u.gen != since
	return u.maybe, nil
}
