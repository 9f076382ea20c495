package escalate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// deliverNow sends a job right after the commit that queued it. Should this process die, the
// job's timer sends it after directGrace.
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
			// A channel that fails holds the job (see hold); an error here is the database's,
			// and the job's timer tries again in a second.
			e.log.Error("deliver a page", "incident", j.Incident, "user", j.User, "method", j.Method, "key", j.key(), "err", err)
			j.Tried = 1
			payload, _ := json.Marshal(j)
			if terr := e.db.Tx(ctx, func(tx *store.Tx) error {
				return e.runner.Set(ctx, tx, kindNotify, j.timerKey(), e.clock.Now().Add(time.Second), string(payload))
			}); terr != nil {
				e.log.Error("reschedule a page", "incident", j.Incident, "key", j.key(), "err", terr)
			}
		}
	}()
}

// runNotify is the timer path: delayed notification rules and the fallback after a crash. An
// error makes the runner retry with backoff.
func (e *Engine) runNotify(ctx context.Context, t timers.Timer) error {
	var j job
	if err := json.Unmarshal([]byte(t.Payload), &j); err != nil {
		e.log.Error("notification timer with a bad payload; dropped", "key", t.Key, "err", err)
		return nil
	}
	return e.deliver(ctx, j, j.Tried+t.Attempts+1)
}

// deliver sends one job unless it was delivered already, is held, or is no longer needed.
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
		return nil // delivered, held, or given up already: the idempotency key says so
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return e.send(ctx, j, inc, attempt)
}

// send delivers a job known to be needed and not yet delivered, or holds it: when the person's
// working hours or the contact method's queue, rate limit or channel say it must wait. A
// non-nil error is the database's and means "try again".
func (e *Engine) send(ctx context.Context, j job, inc incident.Incident, attempt int) error {
	cfg := e.cfg.Get()
	u := e.user(ctx, cfg, j.User)
	method := contactMethod(u, j.Method)
	if method == nil {
		return nil // removed from the config since it was queued
	}
	now := e.clock.Now()
	if urgency(cfg, inc) == "low" {
		hours := workingHours(cfg, inc.ServiceID, u)
		if !hours.Contains(now) {
			return e.postpone(ctx, j, inc, hours.Next(now), now)
		}
	}
	// Pages to one contact method leave in the order they were made: while any waits, this
	// one waits behind it.
	waiting, err := e.anyHeld(ctx, j.User, j.Method)
	if err != nil {
		return err
	}
	if waiting {
		return e.hold(ctx, j, now, "earlier pages to this contact method are waiting; this one follows them", time.Time{})
	}
	ch := e.Channel(cfg, method.Type)
	if ch == nil {
		return e.record(ctx, j, notify.DeliveryFailed, EventFailed, now, map[string]any{"user": j.User, "method": j.Method, "type": method.Type,
			"error": method.Type + " is not configured under notifications", "permanent": true})
	}
	lkey, limits := j.User+"/"+j.Method, rateLimits(method)
	if ok, free := e.limiter.take(lkey, limits, now); !ok {
		return e.hold(ctx, j, now, "rate limit of the contact method: "+describeLimits(limits), free)
	}
	msg, err := e.message(ctx, cfg, inc, j, now)
	if err == nil {
		msg.Details, err = e.details(ctx, cfg, inc)
	}
	if err != nil {
		e.limiter.release(lkey, now)
		return err
	}
	if st, ok := e.stopped.get(j.Incident); ok && (st == incident.Resolved || j.Step >= 0) {
		e.limiter.release(lkey, now)
		return nil // acknowledged or resolved since the snapshot this delivery started from
	}
	sendErr := ch.Notify(ctx, *method, msg)
	e.crashPoint()
	done := e.clock.Now()
	data := map[string]any{"user": j.User, "method": j.Method, "type": method.Type, "step": j.Step + 1, "round": j.Round + 1, "key": j.key(), "attempt": attempt}
	if sendErr == nil {
		return e.record(ctx, j, notify.DeliverySent, EventSent, done, data)
	}
	e.limiter.release(lkey, now) // only messages that arrive count against the limit
	if notify.IsPermanent(sendErr) {
		data["error"], data["permanent"] = sendErr.Error(), true
		return e.record(ctx, j, notify.DeliveryFailed, EventFailed, done, data)
	}
	return e.holdFailed(ctx, j, method, sendErr, attempt, done)
}

// crashPoint plays, in tests, the process dying right after a channel accepted a message: the
// goroutine stops there, so nothing after it runs (no outcome recorded, no timer released).
func (e *Engine) crashPoint() {
	if e.crashAfterSend.Load() > 0 && e.crashAfterSend.Add(-1) >= 0 {
		runtime.Goexit()
	}
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
// The incident is read again first: one whose urgency rose since the snapshot the delivery
// started from is paged now, through the job's timer, instead.
func (e *Engine) postpone(ctx context.Context, j job, inc incident.Incident, until, now time.Time) error {
	return e.db.Tx(ctx, func(tx *store.Tx) error {
		cur, err := e.incidents.GetTx(ctx, tx, j.Incident)
		if err != nil {
			return err
		}
		if urgency(nil, cur) != "low" {
			payload, _ := json.Marshal(j)
			return e.runner.Set(ctx, tx, kindNotify, j.timerKey(), now, string(payload))
		}
		j.Deferred = true
		payload, _ := json.Marshal(j)
		if err := e.runner.Set(ctx, tx, kindNotify, j.timerKey(), until, string(payload)); err != nil {
			return err
		}
		return e.incidents.Append(ctx, tx, j.Incident, EventDeferred, now, engineActor, map[string]any{
			"user": j.User, "method": j.Method, "until": until.UTC(), "reason": "low urgency; outside working hours"})
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
func workingHours(cfg *config.Config, serviceID string, u *config.User) oncall.Hours {
	if svc := cfg.Service(serviceID); svc != nil && svc.SupportHours != nil {
		return oncall.HoursOf(svc.SupportHours, u.Location())
	}
	return oncall.UserHours(u)
}

// message composes the page with signed acknowledge and resolve links; the alert's details
// are added by the caller for a page that goes alone (a bundle names its incidents briefly).
func (e *Engine) message(ctx context.Context, cfg *config.Config, inc incident.Incident, j job, now time.Time) (notify.Message, error) {
	base, exp := e.linkBase(cfg), linkExpiry(cfg, now)
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
	install, err := e.db.InstallID(ctx)
	if err != nil {
		return notify.Message{}, err
	}
	thread := notify.IncidentRef(install, inc.ID, inc.CreatedAt)
	return notify.Message{Key: j.deliveryKey(thread), Thread: thread, IncidentID: inc.ID, Title: inc.Title, Service: svcName, Severity: inc.Severity,
		SEV: inc.SEV, SEVName: sevName(cfg, inc.SEV),
		Urgency: urgency(cfg, inc), Step: j.Step + 1, At: now, URL: fmt.Sprintf("%s/incidents/%d", base, inc.ID),
		AckURL: base + "/a/" + ack, ResolveURL: base + "/a/" + res}, nil
}

// linkBase is where the links of a page point.
func (e *Engine) linkBase(cfg *config.Config) string {
	if base := strings.TrimRight(cfg.Server.BaseURL, "/"); base != "" {
		return base
	}
	return strings.TrimRight(e.baseURL, "/")
}

// linkExpiry is when the links of a page sent now stop working (notifications.link_ttl).
func linkExpiry(cfg *config.Config, now time.Time) time.Time {
	if ttl := cfg.Notifications.LinkTTL.D(); ttl > 0 {
		return now.Add(ttl)
	}
	return now.Add(24 * time.Hour)
}

var _ oncall.Pages = (*Engine)(nil)

// Sent lists the pages delivered in [from, to), oldest first: one a job; the jobs a bundle
// carried share its message key.
func (e *Engine) Sent(ctx context.Context, from, to time.Time) ([]oncall.Page, error) {
	rows, err := e.db.Query(ctx, `SELECT incident_id, user_id, at, message FROM notify_deliveries WHERE state = ? AND at >= ? AND at < ? ORDER BY at`,
		notify.DeliverySent, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []oncall.Page
	for rows.Next() {
		var p oncall.Page
		var at int64
		if err := rows.Scan(&p.IncidentID, &p.UserID, &at, &p.Message); err != nil {
			return nil, err
		}
		p.At = time.UnixMilli(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

// sevName is the name of a SEV level, as the pages say it ("Major"); none without a level.
func sevName(cfg *config.Config, level string) string {
	if level == "" {
		return ""
	}
	return cfg.Incidents.SEVName(level)
}
