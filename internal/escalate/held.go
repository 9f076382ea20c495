package escalate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// Held pages. A page goes to its channel at once when nothing waits for the same contact
// method. Otherwise it is held, in order, in that contact method's queue (notify_held): behind
// earlier pages that wait, over the rate limit, or because its channel failed. One timer per
// contact method, the drain, sends what is held, oldest first: one message per page while the
// rate limit has room for all of them, else one bundle that covers them all and carries a link
// acknowledging every one. After a failure the drain tries the same message again, at most
// retryCap later, so a channel that recovers carries the page that waited within seconds, and
// before any later page to the same person.

// heldMigration turns the bundles of the rate limit into every contact method's queue of held
// pages, with what a retry needs, and keeps the incidents each bundle covered for its
// acknowledge-all link.
const heldMigration = `
ALTER TABLE notify_bundles RENAME TO notify_held;
ALTER TABLE notify_held ADD COLUMN round INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notify_held ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notify_held ADD COLUMN failed_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notify_held ADD COLUMN failed_event BIGINT NOT NULL DEFAULT 0;
CREATE TABLE notify_bundle_links (
	id {{id}},
	key TEXT NOT NULL UNIQUE,
	user_id TEXT NOT NULL,
	incidents TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX notify_bundle_links_created ON notify_bundle_links (created_at);
`

// retryCap bounds the wait between two attempts on a failing channel: it is the longest a
// page waits once the channel is back.
const retryCap = 15 * time.Second

// drainSlice bounds one run of a drain, well inside the runner's lease, so a long queue is
// never sent twice by two nodes.
const drainSlice = 30 * time.Second

// retryDelay is the wait after failures consecutive failures: 1 s, 2 s, 4 s, 8 s, then 15 s.
func retryDelay(failures int) time.Duration {
	d := time.Second
	for i := 1; i < failures && d < retryCap; i++ {
		d *= 2
	}
	return min(d, retryCap)
}

// held is a page waiting in its contact method's queue.
type held struct {
	id  int64
	job job
	key string
	// failures counts the attempts that failed; failedEvent is the timeline row that counts the
	// repeated ones (failedCount of them), once there is one.
	failures, failedCount int
	failedEvent           int64
}

// drainPayload is the drain timer's: the contact method, and how many attempts in a row failed.
type drainPayload struct {
	User     string `json:"user"`
	Method   string `json:"method"`
	Failures int    `json:"failures,omitempty"`
}

func drainKey(user, method string) string { return user + "/" + method }

// lockContact serializes the changes to one contact method's queue between PostgreSQL nodes,
// so a page held just as the drain finds the queue empty is never left behind. SQLite has one
// writer anyway.
func lockContact(ctx context.Context, tx *store.Tx, user, method string) error {
	if tx.Dialect() != store.Postgres {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte("nines/notify-held/" + drainKey(user, method)))
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(h.Sum64()))
	return err
}

// hintRefresh is how soon a PostgreSQL node learns that another one holds pages for a contact
// method.
const hintRefresh = 250 * time.Millisecond

// heldHint remembers which contact methods may hold pages, so the common page (nothing held)
// leaves without a read before it: at a thousand pages a second that read, queued for a
// connection, cost more than the rest of the path. A page held by this process marks its
// contact method inside the transaction that holds it; the transaction that finds the queue
// empty clears it. On SQLite (one process, one writer) the hint is therefore never "no" for a
// held page. PostgreSQL nodes share their queues: each also reads what is held every
// hintRefresh, so a page held by another node is waited behind from then on.
type heldHint struct {
	mu       sync.Mutex
	loadedAt time.Time
	gen      uint64            // counts marks, so a refresh never drops one made after it read
	maybe    map[string]uint64 // contact method -> gen of its mark
}

func (h *heldHint) set(key string, held bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.maybe == nil {
		h.maybe = map[string]uint64{}
	}
	if held {
		h.gen++
		h.maybe[key] = h.gen
	} else {
		delete(h.maybe, key)
	}
}

// mayHold reports whether key may hold pages. It reads what is held once after a start and,
// when every is set, again when the last read is older than that.
func (h *heldHint) mayHold(ctx context.Context, db *store.DB, key string, now time.Time, every time.Duration) (bool, error) {
	h.mu.Lock()
	first := h.loadedAt.IsZero()
	if !first && (every == 0 || now.Sub(h.loadedAt) < every) {
		defer h.mu.Unlock()
		return h.maybe[key] > 0, nil
	}
	h.loadedAt = now
	since := h.gen
	if !first {
		// Others go on with the hint as it is while this refresh reads; the first read after
		// a start is waited for.
		h.mu.Unlock()
	}
	held, err := heldContacts(ctx, db)
	if !first {
		h.mu.Lock()
	}
	defer h.mu.Unlock()
	if err != nil {
		h.loadedAt = time.Time{}
		return false, err
	}
	if h.maybe == nil {
		h.maybe = map[string]uint64{}
	}
	for k, g := range h.maybe {
		if !held[k] && g <= since {
			delete(h.maybe, k)
		}
	}
	for k := range held {
		if h.maybe[k] == 0 {
			h.gen++
			h.maybe[k] = h.gen
		}
	}
	return h.maybe[key] > 0, nil
}

func heldContacts(ctx context.Context, db *store.DB) (map[string]bool, error) {
	rows, err := db.Query(ctx, `SELECT DISTINCT user_id, method FROM notify_held`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var user, method string
		if err := rows.Scan(&user, &method); err != nil {
			return nil, err
		}
		out[drainKey(user, method)] = true
	}
	return out, rows.Err()
}

func (e *Engine) anyHeld(ctx context.Context, user, method string) (bool, error) {
	every := time.Duration(0)
	if e.db.Dialect == store.Postgres {
		every = hintRefresh
	}
	if maybe, err := e.hint.mayHold(ctx, e.db, drainKey(user, method), e.clock.Now(), every); err != nil || !maybe {
		return false, err
	}
	var one int
	err := e.db.QueryRow(ctx, `SELECT 1 FROM notify_held WHERE user_id = ? AND method = ? LIMIT 1`, user, method).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// enqueue holds j inside tx (its own timer gives way to the drain) and returns how many pages
// its contact method now holds.
func (e *Engine) enqueue(ctx context.Context, tx *store.Tx, j job, now time.Time, failures int) (int, error) {
	if err := lockContact(ctx, tx, j.User, j.Method); err != nil {
		return 0, err
	}
	e.hint.set(drainKey(j.User, j.Method), true)
	if _, err := tx.Exec(ctx, `INSERT INTO notify_held (user_id, method, incident_id, key, step, round, created_at, failures, failed_count, failed_event)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0) ON CONFLICT (key) DO NOTHING`,
		j.User, j.Method, j.Incident, j.key(), j.Step, j.Round, now.UnixMilli(), failures); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO notify_deliveries (key, incident_id, round, user_id, method, state, at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`, j.key(), j.Incident, j.Round, j.User, j.Method, notify.DeliveryHeld, now.UnixMilli()); err != nil {
		return 0, err
	}
	if err := e.runner.Cancel(ctx, tx, kindNotify, j.timerKey()); err != nil {
		return 0, err
	}
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM notify_held WHERE user_id = ? AND method = ?`, j.User, j.Method).Scan(&n)
	return n, err
}

func (e *Engine) setDrain(ctx context.Context, tx *store.Tx, p drainPayload, due time.Time) error {
	b, _ := json.Marshal(p)
	return e.runner.Set(ctx, tx, kindBundle, drainKey(p.User, p.Method), due, string(b))
}

// hold parks j behind what its contact method holds, or until sendAt (the rate limit).
func (e *Engine) hold(ctx context.Context, j job, now time.Time, reason string, sendAt time.Time) error {
	return e.db.Tx(ctx, func(tx *store.Tx) error {
		n, err := e.enqueue(ctx, tx, j, now, 0)
		if err != nil {
			return err
		}
		data := map[string]any{"user": j.User, "method": j.Method, "step": j.Step + 1, "round": j.Round + 1, "key": j.key(), "reason": reason}
		if m := contactMethod(e.user(ctx, e.cfg.Get(), j.User), j.Method); m != nil {
			data["type"] = m.Type
		}
		switch {
		case !sendAt.IsZero():
			data["send_at"] = sendAt.UTC()
			err = e.setDrain(ctx, tx, drainPayload{User: j.User, Method: j.Method}, sendAt)
		case n == 1:
			// What it was to wait behind has left meanwhile.
			err = e.setDrain(ctx, tx, drainPayload{User: j.User, Method: j.Method}, now)
		default:
			// Behind others: it leaves with them, when the queue drains next.
			var due time.Time
			var set bool
			if due, set, err = e.runner.DueTx(ctx, tx, kindBundle, drainKey(j.User, j.Method)); set && due.After(now) {
				data["send_at"] = due
			}
		}
		if err != nil {
			return err
		}
		return e.incidents.Append(ctx, tx, j.Incident, EventHeld, now, engineActor, data)
	})
}

// holdFailed parks j at the head of its contact method's queue after its channel failed, and
// records the failure with the real wait before the next attempt.
func (e *Engine) holdFailed(ctx context.Context, j job, method *config.ContactMethod, sendErr error, attempt int, at time.Time) error {
	delay := retryDelay(1)
	return e.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := e.enqueue(ctx, tx, j, at, attempt); err != nil {
			return err
		}
		if err := e.setDrain(ctx, tx, drainPayload{User: j.User, Method: j.Method, Failures: 1}, at.Add(delay)); err != nil {
			return err
		}
		return e.incidents.Append(ctx, tx, j.Incident, EventFailed, at, engineActor, failureData(j, method, attempt, sendErr, delay, at))
	})
}

func failureData(j job, method *config.ContactMethod, attempt int, err error, delay time.Duration, at time.Time) map[string]any {
	return map[string]any{"user": j.User, "method": j.Method, "type": method.Type, "step": j.Step + 1, "round": j.Round + 1, "key": j.key(),
		"attempt": attempt, "error": err.Error(), "retry_in": delay.String(), "retry_at": at.Add(delay).UTC()}
}

// runBundle is the drain of one contact method's queue.
func (e *Engine) runBundle(ctx context.Context, t timers.Timer) error {
	var p drainPayload
	if err := json.Unmarshal([]byte(t.Payload), &p); err != nil || p.User == "" {
		e.log.Error("drain timer with a bad payload; dropped", "key", t.Key, "err", err)
		return nil
	}
	began := e.clock.Now()
	for {
		cfg := e.cfg.Get()
		method := contactMethod(e.user(ctx, cfg, p.User), p.Method)
		queue, incs, err := e.queue(ctx, p.User, p.Method)
		if err != nil {
			return err
		}
		if len(queue) == 0 {
			empty, err := e.drained(ctx, p.User, p.Method)
			if err != nil || empty {
				return err
			}
			continue
		}
		var ch notify.Notifier
		if method != nil {
			ch = e.Channel(cfg, method.Type)
		}
		if ch == nil {
			why := "the contact method is no longer in the config"
			if method != nil {
				why = method.Type + " is not configured under notifications"
			}
			if err := e.heldOutcome(ctx, queue, method, notify.Message{}, e.clock.Now(), errors.New(why)); err != nil {
				return err
			}
			continue
		}
		now := e.clock.Now()
		if now.Sub(began) > drainSlice {
			return e.db.Tx(ctx, func(tx *store.Tx) error { return e.setDrain(ctx, tx, p, now) })
		}
		lkey, limits := drainKey(p.User, p.Method), rateLimits(method)
		room, free := e.limiter.room(lkey, limits, now)
		if room == 0 {
			return e.db.Tx(ctx, func(tx *store.Tx) error { return e.setDrain(ctx, tx, p, free) })
		}
		// One message each while the limit allows them all; else one for all of them.
		batch, batchIncs := queue[:1], incs[:1]
		if len(queue) > room {
			batch, batchIncs = queue, incs
		}
		msg, err := e.compose(ctx, cfg, p, batch, batchIncs, now)
		if err != nil {
			return err
		}
		e.limiter.take(lkey, limits, now)
		sendErr := ch.Notify(ctx, *method, msg)
		e.crashPoint()
		done := e.clock.Now()
		switch {
		case sendErr == nil:
			p.Failures = 0
			err = e.heldOutcome(ctx, batch, method, msg, done, nil)
		case notify.IsPermanent(sendErr):
			e.limiter.release(lkey, now)
			err = e.heldOutcome(ctx, batch, method, msg, done, sendErr)
		default:
			e.limiter.release(lkey, now)
			p.Failures++
			return e.heldRetry(ctx, p, batch, method, msg, sendErr, done)
		}
		if err != nil {
			return err
		}
	}
}

// dropHeld records, inside tx, that the pages incident id holds in contact methods' queues
// will not be sent: the incident was why (acknowledged, resolved, reassigned) before they left.
func (e *Engine) dropHeld(ctx context.Context, tx *store.Tx, id int64, why string, at time.Time) error {
	rows, err := tx.Query(ctx, `SELECT user_id, method, key, step, round FROM notify_held WHERE incident_id = ? ORDER BY id`, id)
	if err != nil {
		return err
	}
	var hs []held
	for rows.Next() {
		var h held
		if err := rows.Scan(&h.job.User, &h.job.Method, &h.key, &h.job.Step, &h.job.Round); err != nil {
			rows.Close()
			return err
		}
		hs = append(hs, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, h := range hs {
		if err := e.incidents.Append(ctx, tx, id, EventDropped, at, engineActor, e.droppedData(ctx, h, why)); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) droppedData(ctx context.Context, h held, why string) map[string]any {
	data := map[string]any{"user": h.job.User, "method": h.job.Method, "step": h.job.Step + 1, "round": h.job.Round + 1, "key": h.key,
		"reason": "the incident was " + why + " before it left"}
	if m := contactMethod(e.user(ctx, e.cfg.Get(), h.job.User), h.job.Method); m != nil {
		data["type"] = m.Type
	}
	return data
}

// queue reads what a contact method holds, oldest first, with the incidents, dropping the
// pages nobody needs any more (acknowledged or resolved since).
func (e *Engine) queue(ctx context.Context, user, method string) ([]held, []incident.Incident, error) {
	rows, err := e.db.Query(ctx, `SELECT id, incident_id, key, step, round, failures, failed_count, failed_event FROM notify_held
		WHERE user_id = ? AND method = ? ORDER BY id`, user, method)
	if err != nil {
		return nil, nil, err
	}
	var all []held
	for rows.Next() {
		h := held{job: job{User: user, Method: method}}
		if err := rows.Scan(&h.id, &h.job.Incident, &h.key, &h.job.Step, &h.job.Round, &h.failures, &h.failedCount, &h.failedEvent); err != nil {
			rows.Close()
			return nil, nil, err
		}
		all = append(all, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var live []held
	var incs []incident.Incident
	// gone are the pages nobody needs any more, with the state their incident reached ("" when
	// it is no more).
	type goneHeld struct {
		held
		state incident.State
	}
	var gone []goneHeld
	for _, h := range all {
		inc, err := e.incidents.Get(ctx, h.job.Incident)
		switch {
		case errors.Is(err, incident.ErrNotFound):
		case err != nil:
			return nil, nil, err
		case inc.State == incident.Triggered || h.job.Step < 0 && inc.State != incident.Resolved:
			live = append(live, h)
			incs = append(incs, inc)
			continue
		}
		gone = append(gone, goneHeld{h, inc.State})
	}
	if len(gone) > 0 {
		now := e.clock.Now()
		err := e.db.Tx(ctx, func(tx *store.Tx) error {
			for _, h := range gone {
				res, err := tx.Exec(ctx, `DELETE FROM notify_held WHERE id = ?`, h.id)
				if err != nil {
					return err
				}
				// Said once, by whoever removed it (another node's drain may have).
				if n, _ := res.RowsAffected(); n == 0 || h.state == "" {
					continue
				}
				if err := e.incidents.Append(ctx, tx, h.job.Incident, EventDropped, now, engineActor, e.droppedData(ctx, h.held, string(h.state))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return live, incs, nil
}

// drained reports whether the contact method's queue is empty, under its lock: a page held
// after this finds it empty and starts the drain again.
func (e *Engine) drained(ctx context.Context, user, method string) (bool, error) {
	var n int
	err := e.db.Tx(ctx, func(tx *store.Tx) error {
		if err := lockContact(ctx, tx, user, method); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM notify_held WHERE user_id = ? AND method = ?`, user, method).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			e.hint.set(drainKey(user, method), false) // before the commit: a page held next sets it again
		}
		return nil
	})
	return n == 0, err
}

// compose makes the message of a batch: the page itself, or a bundle under a key of its own
// whose acknowledge-all link covers every incident in it. A second attempt at the same batch
// (a retry, or after a crash) carries the same key, so the receiver sees the same message.
func (e *Engine) compose(ctx context.Context, cfg *config.Config, p drainPayload, batch []held, incs []incident.Incident, now time.Time) (notify.Message, error) {
	msgs := make([]notify.Message, len(batch))
	for i, h := range batch {
		m, err := e.message(ctx, cfg, incs[i], h.job, now)
		if err != nil {
			return notify.Message{}, err
		}
		msgs[i] = m
	}
	m := msgs[0]
	if len(batch) == 1 {
		d, err := e.details(ctx, cfg, incs[0])
		m.Details = d
		return m, err
	}
	// A bundle is named after the page it starts with, the oldest held: a second attempt
	// starts with the same one.
	m.Key = "bundle:" + msgs[0].Key
	m.Bundle = msgs[1:]
	ids := make([]int64, len(incs))
	for i, inc := range incs {
		ids[i] = inc.ID
	}
	id, err := e.saveBundle(ctx, cfg, m.Key, p.User, ids, now)
	if err != nil {
		return notify.Message{}, err
	}
	tok, err := e.links.sign(ctx, Link{Bundle: id, User: p.User, Action: ActionAcknowledgeAll, Expires: linkExpiry(cfg, now)})
	if err != nil {
		return notify.Message{}, err
	}
	m.AckAllURL = e.linkBase(cfg) + "/a/" + tok
	return m, nil
}

// saveBundle records which incidents a bundle covers, for its acknowledge-all link, and
// forgets bundles whose links have expired.
func (e *Engine) saveBundle(ctx context.Context, cfg *config.Config, key, user string, ids []int64, now time.Time) (int64, error) {
	list, _ := json.Marshal(ids)
	var id int64
	err := e.db.Tx(ctx, func(tx *store.Tx) error {
		horizon := now.Add(-linkExpiry(cfg, now).Sub(now) - 7*24*time.Hour)
		if _, err := tx.Exec(ctx, `DELETE FROM notify_bundle_links WHERE created_at < ?`, horizon.UnixMilli()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO notify_bundle_links (key, user_id, incidents, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET incidents = excluded.incidents`, key, user, string(list), now.UnixMilli()); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT id FROM notify_bundle_links WHERE key = ?`, key).Scan(&id)
	})
	return id, err
}

// bundleIncidents lists the incidents of a bundle, in the order its message named them.
func (e *Engine) bundleIncidents(ctx context.Context, id int64, user string) ([]int64, error) {
	var list, owner string
	err := e.db.QueryRow(ctx, `SELECT incidents, user_id FROM notify_bundle_links WHERE id = ?`, id).Scan(&list, &owner)
	if errors.Is(err, sql.ErrNoRows) || err == nil && owner != user {
		return nil, ErrLinkExpired // forgotten after its links expired
	}
	if err != nil {
		return nil, err
	}
	var ids []int64
	if err := json.Unmarshal([]byte(list), &ids); err != nil {
		return nil, fmt.Errorf("bundle %d: %w", id, err)
	}
	return ids, nil
}

// heldOutcome records that a batch was sent (sendErr nil) or refused for good, and takes it
// out of the queue.
func (e *Engine) heldOutcome(ctx context.Context, batch []held, method *config.ContactMethod, msg notify.Message, at time.Time, sendErr error) error {
	state, event := notify.DeliverySent, EventSent
	if sendErr != nil {
		state, event = notify.DeliveryFailed, EventFailed
	}
	return e.db.Tx(ctx, func(tx *store.Tx) error {
		if err := lockContact(ctx, tx, batch[0].job.User, batch[0].job.Method); err != nil {
			return err
		}
		for _, h := range batch {
			if _, err := tx.Exec(ctx, `DELETE FROM notify_held WHERE id = ?`, h.id); err != nil {
				return err
			}
			// The jobs one message carried share its key: the load report counts the message once.
			message := ""
			if len(batch) > 1 {
				message = msg.Key
			}
			if _, err := tx.Exec(ctx, `UPDATE notify_deliveries SET state = ?, at = ?, message = ? WHERE key = ?`, state, at.UnixMilli(), message, h.key); err != nil {
				return err
			}
			data := map[string]any{"user": h.job.User, "method": h.job.Method, "step": h.job.Step + 1, "round": h.job.Round + 1,
				"key": h.key, "attempt": h.failures + 1}
			if method != nil {
				data["type"] = method.Type
			}
			if len(batch) > 1 {
				data["bundle"], data["bundled_with"] = msg.Key, len(batch)-1
			}
			if sendErr != nil {
				data["error"], data["permanent"] = sendErr.Error(), true
			}
			if err := e.incidents.Append(ctx, tx, h.job.Incident, event, at, engineActor, data); err != nil {
				return err
			}
		}
		return nil
	})
}

// heldRetry records a failed attempt at a batch and sets the next one. Each page's timeline
// keeps its first failure as a row of its own and counts the repeated ones on a second row,
// updated in place with the last error and the real wait before the next attempt: a channel
// down for an hour leaves two rows, not hundreds.
func (e *Engine) heldRetry(ctx context.Context, p drainPayload, batch []held, method *config.ContactMethod, msg notify.Message, sendErr error, at time.Time) error {
	delay := retryDelay(p.Failures)
	return e.db.Tx(ctx, func(tx *store.Tx) error {
		if err := lockContact(ctx, tx, p.User, p.Method); err != nil {
			return err
		}
		for _, h := range batch {
			h.failures++
			data := failureData(h.job, method, h.failures, sendErr, delay, at)
			if len(batch) > 1 {
				data["bundle"], data["bundled_with"] = msg.Key, len(batch)-1
			}
			var err error
			switch {
			case h.failures == 1:
				err = e.incidents.Append(ctx, tx, h.job.Incident, EventFailed, at, engineActor, data)
			case h.failedEvent == 0:
				h.failedCount = 1
				data["count"], data["last_at"] = h.failedCount, at.UTC()
				h.failedEvent, err = e.incidents.AppendID(ctx, tx, h.job.Incident, EventFailed, at, engineActor, data)
			default:
				h.failedCount++
				data["count"], data["last_at"] = h.failedCount, at.UTC()
				err = e.incidents.Amend(ctx, tx, h.job.Incident, h.failedEvent, data)
			}
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE notify_held SET failures = ?, failed_count = ?, failed_event = ? WHERE id = ?`,
				h.failures, h.failedCount, h.failedEvent, h.id); err != nil {
				return err
			}
		}
		return e.setDrain(ctx, tx, p, at.Add(delay))
	})
}
