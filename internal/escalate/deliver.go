package escalate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// deliverNow sends a job right after the commit that queued it. On failure the job's timer is
// brought forward to the first retry; on a crash the timer fires after directGrace.
//
// inc is the incident as committed with the job: the job's key was made in that transaction,
// so nothing can have been delivered under it yet and neither needs reading back.
func (e *Engine) deliverNow(j job, inc incident.Incident) {
	e.inflight.add(1)
	go func() {
		defer e.inflight.add(-1)
		ctx, cancel := context.WithTimeout(context.Background(), deliveryTimeout)
		defer cancel()
		if err := e.send(ctx, j, inc, 1); err != nil {
			retry := timers.Backoff(1)
			j.Tried = 1
			payload, _ := json.Marshal(j)
			if terr := e.db.Tx(ctx, func(tx *store.Tx) error {
				return e.runner.Set(ctx, tx, kindNotify, j.timerKey(), e.clock.Now().Add(retry), string(payload))
			}); terr != nil {
				e.log.Error("reschedule failed notification", "key", j.key(), "err", terr)
			}
		}
	}()
}

// runNotify is the timer path: delayed notification rules, retries, and the fallback after a
// crash. An error makes the runner retry with backoff.
func (e *Engine) runNotify(ctx context.Context, t timers.Timer) error {
	var j job
	if err := json.Unmarshal([]byte(t.Payload), &j); err != nil {
		e.log.Error("notification timer with a bad payload; dropped", "key", t.Key, "err", err)
		return nil
	}
	return e.deliver(ctx, j, j.Tried+t.Attempts+1)
}

// deliver sends one job unless it was delivered already, is no longer needed, must wait for
// working hours, or is folded into a bundle by the rate limit. It records the outcome on the
// timeline. A non-nil error means "try again".
func (e *Engine) deliver(ctx context.Context, j job, attempt int) error {
	inc, err := e.incidents.Get(ctx, j.Incident)
	if errors.Is(err, incident.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if inc.State != incident.Triggered && j.Step >= 0 || inc.State == incident.Resolved {
		return nil
	}
	var state string
	err = e.db.QueryRow(ctx, `SELECT state FROM notify_deliveries WHERE key = ?`, j.key()).Scan(&state)
	if err == nil {
		return nil // delivered (or bundled, or given up) already: the idempotency key says so
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return e.send(ctx, j, inc, attempt)
}

// send delivers a job known to be needed and not yet delivered.
func (e *Engine) send(ctx context.Context, j job, inc incident.Incident, attempt int) error {
	cfg := e.cfg.Get()
	u := cfg.User(j.User)
	method := contactMethod(u, j.Method)
	if method == nil {
		return nil // removed from the config since it was queued
	}
	now := e.clock.Now()
	if urgency(cfg, inc) == "low" {
		hours, loc := workingHours(cfg, inc.ServiceID, u)
		if !hours.Contains(now, loc) {
			return e.postpone(ctx, j, inc, hours.Next(now, loc), now)
		}
	}
	limitKey := j.User + "/" + j.Method
	if r := method.RateLimit; r != nil {
		if ok, free := e.limiter.take(limitKey, r.Count, r.Per.D(), now); !ok {
			return e.bundle(ctx, j, free, now)
		}
	}
	ch := e.Channel(cfg, method.Type)
	if ch == nil {
		return e.record(ctx, j, "failed", EventFailed, now, map[string]any{"user": j.User, "method": j.Method, "type": method.Type,
			"error": method.Type + " is not configured under notifications", "permanent": true})
	}
	msg, err := e.message(ctx, cfg, inc, j, now)
	if err != nil {
		return err
	}
	if st, ok := e.stopped.get(j.Incident); ok && (st == incident.Resolved || j.Step >= 0) {
		return nil // acknowledged or resolved since the snapshot this delivery started from
	}
	sendErr := ch.Notify(ctx, *method, msg)
	done := e.clock.Now()
	data := map[string]any{"user": j.User, "method": j.Method, "type": method.Type, "step": j.Step + 1, "round": j.Round + 1, "key": j.key(), "attempt": attempt}
	switch {
	case sendErr == nil:
		return e.record(ctx, j, deliverySentState, EventSent, done, data)
	case notify.IsPermanent(sendErr):
		data["error"], data["permanent"] = sendErr.Error(), true
		return e.record(ctx, j, "failed", EventFailed, done, data)
	}
	data["error"] = sendErr.Error()
	data["retry_in"] = timers.Backoff(attempt).String()
	if err := e.db.Tx(ctx, func(tx *store.Tx) error {
		return e.incidents.Append(ctx, tx, j.Incident, EventFailed, done, engineActor, data)
	}); err != nil {
		e.log.Error("record failed notification", "key", j.key(), "err", err)
	}
	return sendErr
}

// record writes the outcome of a job, its timeline event, and drops its timer. The delivery row
// is the idempotency record. Outcomes are group-committed: at a thousand pages a second one
// transaction per page would queue behind the single writer and slow the alerts themselves.
func (e *Engine) record(ctx context.Context, j job, state, event string, at time.Time, data map[string]any) error {
	e.outOnce.Do(func() {
		e.out = make(chan *outcome, 4096)
		go e.writeOutcomes()
	})
	o := &outcome{j: j, state: state, event: event, at: at, data: data, done: make(chan error, 1)}
	select {
	case e.out <- o:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

type outcome struct {
	j            job
	state, event string
	at           time.Time
	data         map[string]any
	done         chan error
}

func (e *Engine) writeOutcomes() {
	ctx := context.Background()
	for o := range e.out {
		batch := []*outcome{o}
	gather:
		for len(batch) < 500 {
			select {
			case o := <-e.out:
				batch = append(batch, o)
			default:
				break gather
			}
		}
		err := e.db.Tx(ctx, func(tx *store.Tx) error {
			for _, o := range batch {
				if err := e.writeOutcome(ctx, tx, o); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil && len(batch) > 1 {
			// One bad outcome must not sink the others: write them one by one.
			for _, o := range batch {
				o.done <- e.db.Tx(ctx, func(tx *store.Tx) error { return e.writeOutcome(ctx, tx, o) })
			}
			continue
		}
		for _, o := range batch {
			o.done <- err
		}
	}
}

func (e *Engine) writeOutcome(ctx context.Context, tx *store.Tx, o *outcome) error {
	j := o.j
	_, err := tx.Exec(ctx, `INSERT INTO notify_deliveries (key, incident_id, round, user_id, method, state, at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state, at = excluded.at`,
		j.key(), j.Incident, j.Round, j.User, j.Method, o.state, o.at.UnixMilli())
	if err != nil {
		return err
	}
	if err := e.incidents.Append(ctx, tx, j.Incident, o.event, o.at, engineActor, o.data); err != nil {
		return err
	}
	return e.runner.Cancel(ctx, tx, kindNotify, j.timerKey())
}

// postpone moves a low-urgency notification to the start of the next working hours.
func (e *Engine) postpone(ctx context.Context, j job, inc incident.Incident, until, now time.Time) error {
	payload, _ := json.Marshal(j)
	return e.db.Tx(ctx, func(tx *store.Tx) error {
		if err := e.runner.Set(ctx, tx, kindNotify, j.timerKey(), until, string(payload)); err != nil {
			return err
		}
		return e.incidents.Append(ctx, tx, j.Incident, EventDeferred, now, engineActor, map[string]any{
			"user": j.User, "method": j.Method, "until": until.UTC(), "reason": "low urgency; outside working hours"})
	})
}

// bundle parks a job over its contact method's rate limit; one message sends every parked job
// when the limit frees up.
func (e *Engine) bundle(ctx context.Context, j job, free, now time.Time) error {
	return e.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO notify_bundles (user_id, method, incident_id, key, step, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`, j.User, j.Method, j.Incident, j.key(), j.Step, now.UnixMilli()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO notify_deliveries (key, incident_id, round, user_id, method, state, at)
			VALUES (?, ?, ?, ?, ?, 'bundled', ?) ON CONFLICT (key) DO NOTHING`, j.key(), j.Incident, j.Round, j.User, j.Method, now.UnixMilli()); err != nil {
			return err
		}
		if err := e.runner.Cancel(ctx, tx, kindNotify, j.timerKey()); err != nil {
			return err
		}
		b, _ := json.Marshal(map[string]string{"user": j.User, "method": j.Method})
		if err := e.runner.Set(ctx, tx, kindBundle, j.User+"/"+j.Method, free, string(b)); err != nil {
			return err
		}
		return e.incidents.Append(ctx, tx, j.Incident, EventBundled, now, engineActor, map[string]any{
			"user": j.User, "method": j.Method, "send_at": free.UTC(), "reason": "rate limit of the contact method"})
	})
}

// runBundle sends one message for every parked job of a contact method.
func (e *Engine) runBundle(ctx context.Context, t timers.Timer) error {
	var p struct{ User, Method string }
	if err := json.Unmarshal([]byte(t.Payload), &p); err != nil {
		return nil
	}
	cfg := e.cfg.Get()
	method := contactMethod(cfg.User(p.User), p.Method)
	rows, err := e.db.Query(ctx, `SELECT incident_id, key, step FROM notify_bundles WHERE user_id = ? AND method = ? ORDER BY id`, p.User, p.Method)
	if err != nil {
		return err
	}
	type parked struct {
		inc  int64
		key  string
		step int
	}
	var all []parked
	for rows.Next() {
		var x parked
		if err := rows.Scan(&x.inc, &x.key, &x.step); err != nil {
			rows.Close()
			return err
		}
		all = append(all, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	now := e.clock.Now()
	var msgs []notify.Message
	var sent []parked
	for _, x := range all {
		inc, err := e.incidents.Get(ctx, x.inc)
		if err != nil || inc.State != incident.Triggered {
			continue
		}
		m, err := e.message(ctx, cfg, inc, job{Incident: x.inc, Step: x.step, User: p.User, Method: p.Method}, now)
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
		sent = append(sent, x)
	}
	if len(msgs) > 0 && method != nil {
		ch := e.Channel(cfg, method.Type)
		if ch == nil {
			return nil
		}
		m := msgs[0]
		m.Key = fmt.Sprintf("bundle-%s-%s-%d", p.User, p.Method, t.ID)
		m.Bundle = msgs[1:]
		if method.RateLimit != nil {
			e.limiter.take(p.User+"/"+p.Method, 1<<30, method.RateLimit.Per.D(), now)
		}
		if err := ch.Notify(ctx, *method, m); err != nil && !notify.IsPermanent(err) {
			return err
		}
	}
	done := e.clock.Now()
	return e.db.Tx(ctx, func(tx *store.Tx) error {
		for _, x := range all {
			if _, err := tx.Exec(ctx, `DELETE FROM notify_bundles WHERE key = ?`, x.key); err != nil {
				return err
			}
		}
		for _, x := range sent {
			if _, err := tx.Exec(ctx, `UPDATE notify_deliveries SET state = 'sent', at = ? WHERE key = ?`, done.UnixMilli(), x.key); err != nil {
				return err
			}
			if err := e.incidents.Append(ctx, tx, x.inc, EventSent, done, engineActor, map[string]any{
				"user": p.User, "method": p.Method, "key": x.key, "bundled_with": len(sent) - 1}); err != nil {
				return err
			}
		}
		return nil
	})
}

func contactMethod(u *config.User, id string) *config.ContactMethod {
	if u == nil {
		return nil
	}
	for i := range u.ContactMethods {
		if u.ContactMethods[i].ID == id {
			return &u.ContactMethods[i]
		}
	}
	return nil
}

// workingHours are the service's support hours if it has them, else the user's working hours
// (weekdays 09:00-18:00 by default), read in the user's time zone unless they name their own.
func workingHours(cfg *config.Config, serviceID string, u *config.User) (*config.WorkingHours, *time.Location) {
	if svc := cfg.Service(serviceID); svc != nil && svc.SupportHours != nil {
		return svc.SupportHours, u.Location()
	}
	if u.WorkingHours != nil {
		return u.WorkingHours, u.Location()
	}
	return config.DefaultWorkingHours(), u.Location()
}

// message composes the page with signed acknowledge and resolve links.
func (e *Engine) message(ctx context.Context, cfg *config.Config, inc incident.Incident, j job, now time.Time) (notify.Message, error) {
	base := strings.TrimRight(cfg.Server.BaseURL, "/")
	if base == "" {
		base = e.BaseURL
	}
	exp := now.Add(cfg.Notifications.LinkTTL.D())
	if cfg.Notifications.LinkTTL == 0 {
		exp = now.Add(24 * time.Hour)
	}
	ack, err := e.links.sign(ctx, Link{Incident: inc.ID, User: j.User, Action: ActionAcknowledge, Expires: exp})
	if err != nil {
		return notify.Message{}, err
	}
	res, err := e.links.sign(ctx, Link{Incident: inc.ID, User: j.User, Action: ActionResolve, Expires: exp})
	if err != nil {
		return notify.Message{}, err
	}
	svcName := inc.ServiceID
	if svc := cfg.Service(inc.ServiceID); svc != nil {
		svcName = svc.Name
	}
	return notify.Message{Key: j.key(), IncidentID: inc.ID, Title: inc.Title, Service: svcName, Severity: inc.Severity,
		Urgency: urgency(cfg, inc), Step: j.Step + 1, At: now, URL: fmt.Sprintf("%s/incidents/%d", base, inc.ID),
		AckURL: base + "/a/" + ack, ResolveURL: base + "/a/" + res}, nil
}

// limiter counts messages per contact method over a sliding window. It is per process: on
// several nodes each enforces the limit for the deliveries it makes.
type limiter struct {
	mu   sync.Mutex
	sent map[string][]time.Time
}

// take reports whether one more message fits; if not, it returns when a slot frees up.
func (l *limiter) take(key string, count int, per time.Duration, now time.Time) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.sent[key]
	keep := ts[:0]
	for _, t := range ts {
		if now.Sub(t) < per {
			keep = append(keep, t)
		}
	}
	if len(keep) >= count {
		l.sent[key] = keep
		return false, keep[0].Add(per)
	}
	l.sent[key] = append(keep, now)
	return true, now
}
