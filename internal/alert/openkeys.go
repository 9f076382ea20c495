package alert

import (
	"context"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/store"
)

// openKeys is what this node knows of the open alerts: for each (service, dedup key), the
// alert and its incident, so that a repeat is counted by its row id without looking the key up,
// and the repeats burst it is amending on the timeline.
//
// It is a hint, never the truth: every decision taken from it is checked by the statement that
// acts on it. A repeat updates its alert only if that row is still the open alert of that key,
// and otherwise looks the key up; a key not held here opens a new alert, and the partial unique
// index on open keys refuses the insert if another node (or a change this node missed) opened
// it meanwhile, after which the key is looked up. So another node opening, repeating or
// resolving the same alert, or a person resolving its incident, costs at most a lookup, never a
// wrong count.
//
// Changes made by the pipeline's transaction in progress are logged and undone if it, or the
// request that made them, rolls back; a burst's timeline entry or an incident's severity known
// here must never come from a transaction that did not commit.
type openKeys struct {
	mu sync.Mutex
	m  map[openKey]*openHint
	// complete says that every open alert of the database was loaded and every one this node
	// opened since is held, so a key not held is not open (unless another node opened it).
	// Past maxOpenKeys it is false, and a key not held is looked up.
	complete bool
	undo     []undoRecord
}

// maxOpenKeys bounds the hints held (about 200 bytes each).
const maxOpenKeys = 500_000

type openKey struct{ service, key string }

// openHint is what is known of one open alert.
type openHint struct {
	id, incident int64
	// unknown marks a key to look up: the insert of a new alert for it met an open one.
	unknown bool
	// incRank is a severity rank the incident is known to have reached.
	incRank int
	// inhibited marks an alert an inhibit rule held when last read: its repeats are counted
	// through the database's row, whose labels are judged again (relabelled).
	inhibited bool
	// burst is the alert's current burst of repeats as this node last saw it.
	burst burst
}

// burst is the repeats of an alert that came without a gap longer than burstGap, counted on one
// alert.repeated entry of the timeline.
type burst struct {
	entry int64     // the timeline entry; 0 when not known here
	last  time.Time // the latest repeat this node counted in it
}

// burstGap is the quiet time after which a repeat starts a new entry on the timeline.
const burstGap = 5 * time.Minute

type undoRecord struct {
	k    openKey
	prev openHint
	had  bool
}

func newOpenKeys() *openKeys { return &openKeys{m: map[openKey]*openHint{}} }

// load reads every open alert, replacing what is held.
func (o *openKeys) load(ctx context.Context, db *store.DB) error {
	rows, err := db.Query(ctx, `SELECT service_id, dedup_key, id, incident_id FROM alerts WHERE state <> 'resolved'`)
	if err != nil {
		return err
	}
	defer rows.Close()
	m := map[openKey]*openHint{}
	complete := true
	for rows.Next() {
		var k openKey
		h := &openHint{}
		if err := rows.Scan(&k.service, &k.key, &h.id, &h.incident); err != nil {
			return err
		}
		if len(m) >= maxOpenKeys {
			complete = false
			continue
		}
		m[k] = h
	}
	if err := rows.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	o.m, o.complete, o.undo = m, complete, o.undo[:0]
	o.mu.Unlock()
	return nil
}

// incomplete makes every key not held be looked up.
func (o *openKeys) incomplete() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.complete = false
}

// get returns a copy of the hint for k.
func (o *openKeys) get(k openKey) (openHint, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	h, ok := o.m[k]
	if !ok {
		return openHint{}, false
	}
	return *h, true
}

// mustLookUp says whether a key not held may still be open.
func (o *openKeys) mustLookUp() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return !o.complete
}

// set records h for k within the transaction in progress.
func (o *openKeys) set(k openKey, h openHint) {
	o.mu.Lock()
	defer o.mu.Unlock()
	prev, had := o.m[k]
	if !had && len(o.m) >= maxOpenKeys {
		o.complete = false
		return
	}
	rec := undoRecord{k: k, had: had}
	if had {
		rec.prev = *prev
		*prev = h
	} else {
		o.m[k] = &h
	}
	o.undo = append(o.undo, rec)
}

// markUnknown makes k be looked up next time; it outlives a rollback, since it says what the
// database was found to hold.
func (o *openKeys) markUnknown(k openKey) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.m[k] = &openHint{unknown: true}
}

// forget drops k if it still names alert id (resolved, or found not open).
func (o *openKeys) forget(k openKey, id int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if h, ok := o.m[k]; ok && h.id == id {
		delete(o.m, k)
	}
}

// mark is the point of the undo log a request starts at.
func (o *openKeys) mark() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.undo)
}

// rollbackTo undoes the changes logged since mark.
func (o *openKeys) rollbackTo(mark int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.undo) - 1; i >= mark; i-- {
		rec := o.undo[i]
		if rec.had {
			prev := rec.prev
			o.m[rec.k] = &prev
		} else {
			delete(o.m, rec.k)
		}
	}
	o.undo = o.undo[:mark]
}

// committed keeps the changes of the transaction that just committed.
func (o *openKeys) committed() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.undo = o.undo[:0]
}
