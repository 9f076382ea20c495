// Package escalate pages people for incidents: when an incident opens it pages the first step
// of its service's escalation policy in the same transaction, then walks the steps on durable
// timers until someone acknowledges. Notifications leave at once after the commit (no polling),
// are recorded on the incident's timeline, retried with backoff while the escalation goes on,
// and carry an idempotency key per (incident, step, contact method) so nobody is paged twice
// for the same step.
package escalate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/notify/channels"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// Schema holds what was delivered (the idempotency record) and what waits in a bundle. A
// delivery's message is the key of the message that carried it when that message carried
// several (a bundle); empty when it went alone. Messages are counted by it (see LoadReport).
var Schema = store.Schema{Component: "escalate", Migrations: []string{`
CREATE TABLE notify_deliveries (
	key TEXT PRIMARY KEY,
	incident_id BIGINT NOT NULL,
	round INTEGER NOT NULL,
	user_id TEXT NOT NULL,
	method TEXT NOT NULL,
	state TEXT NOT NULL,
	at BIGINT NOT NULL
);
CREATE INDEX notify_deliveries_user ON notify_deliveries (user_id, at);
CREATE INDEX notify_deliveries_incident ON notify_deliveries (incident_id);
CREATE TABLE notify_bundles (
	id {{id}},
	user_id TEXT NOT NULL,
	method TEXT NOT NULL,
	incident_id BIGINT NOT NULL,
	key TEXT NOT NULL UNIQUE,
	step INTEGER NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX notify_bundles_contact ON notify_bundles (user_id, method);
`, heldMigration, `
ALTER TABLE notify_deliveries ADD COLUMN message TEXT NOT NULL DEFAULT '';
`}}

// Timer kinds.
const (
	kindEscalate = "escalate"
	kindNotify   = "notify"
	kindBundle   = "notify-bundle"
)

// Timeline event types written by escalation.
const (
	EventStep       = "escalation.step"
	EventSkipped    = "escalation.skipped"
	EventNobody     = "escalation.nobody"
	EventStopped    = "escalation.stopped"
	EventManual     = "escalation.manual"
	EventNoPolicy   = "escalation.none"
	EventReassigned = "incident.reassigned"
	EventSent       = "notification.sent"
	EventFailed     = "notification.failed"
	EventDeferred   = "notification.deferred"
	EventHeld       = "notification.held"
	// EventDropped: a held page left the queue unsent, its incident acknowledged or resolved.
	EventDropped    = "notification.dropped"
	EventStepHeld   = "escalation.held"
	directGrace     = 2 * time.Minute
	deliveryTimeout = 60 * time.Second
)

var engineActor = incident.Actor{Name: "nines:escalation", Source: "escalation"}

// Engine runs escalation policies.
type Engine struct {
	db        *store.DB
	cfg       *config.Live
	incidents *incident.Service
	oncall    *oncall.Service
	runner    *timers.Runner
	clock     clock.Clock
	log       *slog.Logger

	// Channel returns the notifier for a contact method type (see Options). Tests replace it.
	Channel func(cfg *config.Config, typ string) notify.Notifier
	baseURL string
	holdFor func(ctx context.Context, tx *store.Tx, serviceID string, at time.Time) (until time.Time, held bool, err error)
	lead    func(ctx context.Context, incidentID int64) (alert.Alert, bool, error)
	secrets configSecrets
	people  People

	links    links
	limiter  limiter
	hint     heldHint
	inflight inflight
	outOnce  sync.Once
	out      chan *outcome
	stopped  stoppedSet
	// crashAfterCommit makes the engine skip the delivery it starts after a commit, as if the
	// process died right then (tests of the timer fallback).
	crashAfterCommit bool
	// crashAfterSend makes the engine stop dead right after a channel accepts each of the
	// next n messages, as if the process died before recording them (tests of repeats).
	crashAfterSend atomic.Int32

	metrics *engineMetrics
}

// Options are what escalation takes from the rest of nines; what is left out has the default
// its field says.
type Options struct {
	// Channel returns the notifier for a contact method type under the config in force, or nil
	// when that type is not configured; by default the standard channels of notify/channels.
	Channel func(cfg *config.Config, typ string) notify.Notifier
	// BaseURL starts links in pages when the config sets no server.base_url; by default
	// http://127.0.0.1:8080.
	BaseURL string
	// Holds hold paging for a service (maintenance windows): a step due while held is
	// recorded and runs when the hold ends, or at once when a change ends it early. By default
	// nothing is held.
	Holds Holds
	// Lead is the alert whose details a page about an incident shows (alert.Pipeline.Lead);
	// without it pages carry no details.
	Lead func(ctx context.Context, incidentID int64) (alert.Alert, bool, error)
	// Rules are the incident service's rules (given to incident.New too): escalation sets the
	// urgency an incident is paged with there. Without them incidents keep the urgency asked.
	Rules *incident.Rules
	// People adds to a user of the config the contact methods and notification rules they set
	// up themselves (verified ones only); by default the config's alone are paged.
	People People
}

// People completes a user of the config with what they set up on their profile.
type People interface {
	With(ctx context.Context, u *config.User) (*config.User, error)
}

// user is the person id as escalation pages them: the config's user, with the contact methods
// and rules they added themselves. Every read of a person's contact methods and rules in the
// engine goes through here. When the database cannot say, the config's methods are paged.
func (e *Engine) user(ctx context.Context, cfg *config.Config, id string) *config.User {
	u := cfg.User(id)
	if u == nil || e.people == nil {
		return u
	}
	w, err := e.people.With(ctx, u)
	if err != nil {
		e.log.Error("reading a person's own contact methods; paging those of the config", "user", id, "err", err)
		return u
	}
	return w
}

// New wires the engine: it hooks incident changes and handles its timer kinds.
func New(db *store.DB, cfg *config.Live, incidents *incident.Service, oc *oncall.Service, runner *timers.Runner, c clock.Clock, log *slog.Logger, o Options) *Engine {
	if o.Channel == nil {
		o.Channel = channels.For(notify.DefaultClient)
	}
	if o.BaseURL == "" {
		o.BaseURL = "http://127.0.0.1:8080"
	}
	e := &Engine{db: db, cfg: cfg, incidents: incidents, oncall: oc, runner: runner, clock: c, log: log,
		Channel: o.Channel, baseURL: o.BaseURL, lead: o.Lead, people: o.People, metrics: newEngineMetrics()}
	e.links.db = db
	e.limiter.sent = map[string][]time.Time{}
	incidents.OnChange(e.onChange)
	incidents.OnAppend(e.metrics.count)
	e.metrics.expect(notify.ChannelTypes(cfg.Get()))
	cfg.Subscribe(func(_, c *config.Config) { e.metrics.expect(notify.ChannelTypes(c)) })
	if o.Holds != nil {
		e.holdFor = o.Holds.Hold
		o.Holds.OnChange(func(ctx context.Context) {
			if err := e.ReleaseHeld(ctx); err != nil {
				log.Error("releasing escalations held by maintenance", "err", err)
			}
		})
	}
	if o.Rules != nil {
		o.Rules.UrgencyFor = func(serviceID, severity, asked string) string {
			return urgencyFor(e.cfg.Get(), serviceID, severity, asked)
		}
		o.Rules.OnCallFor = e.OnCallFor
	}
	runner.Handle(kindEscalate, e.runEscalate)
	runner.Handle(kindNotify, e.runNotify)
	runner.Handle(kindBundle, e.runBundle)
	runner.Handle(kindSnooze, e.runSnooze)
	return e
}

// Wait blocks until deliveries started directly after a commit have finished.
func (e *Engine) Wait() { e.inflight.wait() }

// stoppedSet remembers incidents acknowledged or resolved in the last minutes, so a delivery
// started from a snapshot taken just before does not page after the fact.
type stoppedSet struct {
	mu sync.Mutex
	m  map[int64]stoppedAt
}

type stoppedAt struct {
	state incident.State
	at    time.Time
}

func (s *stoppedSet) mark(id int64, st incident.State, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[int64]stoppedAt{}
	}
	if len(s.m) > 10000 {
		for k, v := range s.m {
			if now.Sub(v.at) > 10*time.Minute {
				delete(s.m, k)
			}
		}
	}
	s.m[id] = stoppedAt{st, now}
}

// forget drops an incident triggered again, whose pages are wanted once more.
func (s *stoppedSet) forget(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

func (s *stoppedSet) get(id int64) (incident.State, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[id]
	return v.state, ok
}

// inflight counts deliveries started after commits. Unlike a WaitGroup it may be waited on
// while new deliveries start, which is what a test or a shutdown does.
type inflight struct {
	mu   sync.Mutex
	n    int
	zero *sync.Cond
}

func (f *inflight) add(d int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n += d
	if f.n == 0 && f.zero != nil {
		f.zero.Broadcast()
	}
}

func (f *inflight) wait() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.zero == nil {
		f.zero = sync.NewCond(&f.mu)
	}
	for f.n > 0 {
		f.zero.Wait()
	}
}

// job is one contact method of one user to notify for one step.
type job struct {
	Incident int64  `json:"incident"`
	Round    int    `json:"round"`
	Step     int    `json:"step"` // 0-based; -1 for a reassignment
	User     string `json:"user"`
	Method   string `json:"method"`
	// Tried counts attempts made before the job's timer was last set (the direct attempt).
	Tried int `json:"tried,omitempty"`
	// Deferred marks a job waiting for working hours because its incident was low urgency.
	Deferred bool `json:"deferred,omitempty"`
}

// key is the idempotency key of the job. ':' cannot occur in user or contact method ids, so
// two jobs never share a key.
func (j job) key() string {
	return fmt.Sprintf("inc%d:r%d:s%d:%s:%s", j.Incident, j.Round, j.Step, j.User, j.Method)
}

// deliveryKey is the idempotency key the job's message carries out of nines (Message-ID,
// Idempotency-Key): key() names the job within one database, where incident numbers are
// unique; out there, the incident is named by thread (notify.IncidentRef), which no other
// installation and no incident after a restore shares.
func (j job) deliveryKey(thread string) string {
	return fmt.Sprintf("%s:r%d:s%d:%s:%s", thread, j.Round, j.Step, j.User, j.Method)
}

func incidentPrefix(id int64) string { return fmt.Sprintf("inc:%d:", id) }
func (j job) timerKey() string       { return incidentPrefix(j.Incident) + j.key() }
func escalateKey(id int64) string    { return fmt.Sprintf("inc:%d", id) }

type stepPayload struct {
	Incident int64 `json:"incident"`
	Round    int   `json:"round"`
	// Base is the round this run of the policy began at: 0, or the fresh round (100 or more)
	// a snooze's end, escalate-now or a retrigger started over from. Round-Base counts the
	// policy's repeats as people do.
	Base int  `json:"base,omitempty"`
	Step int  `json:"step"`
	Held bool `json:"held,omitempty"`
}

func policyFor(cfg *config.Config, serviceID string) *config.EscalationPolicy {
	svc := cfg.Service(serviceID)
	if svc == nil || svc.EscalationPolicy == "" {
		return nil
	}
	return cfg.EscalationPolicy(svc.EscalationPolicy)
}

// onChange starts escalation when an incident opens and stops it when it is acknowledged or
// resolved, inside the transaction of the change.
func (e *Engine) onChange(ctx context.Context, tx *store.Tx, ch incident.Change) error {
	inc := ch.Incident
	switch {
	case ch.From == "" && inc.State == incident.Triggered && ch.Inhibited:
		return nil // its alerts are inhibited (the alert layer says so on the timeline); paging waits for Uninhibited
	case ch.From == "" && inc.State == incident.Triggered, ch.Uninhibited:
		at := inc.CreatedAt
		if ch.Uninhibited {
			at = inc.UpdatedAt
		}
		cfg := e.cfg.Get()
		if policyFor(cfg, inc.ServiceID) == nil {
			return e.incidents.Append(ctx, tx, inc.ID, EventNoPolicy, at, engineActor,
				map[string]string{"reason": "service " + inc.ServiceID + " has no escalation policy; nobody is paged"})
		}
		if held, err := e.held(ctx, tx, inc, stepPayload{Incident: inc.ID}, at); held || err != nil {
			return err
		}
		return e.page(ctx, tx, cfg, inc, 0, 0, 0, at)
	case ch.From == incident.Acknowledged && inc.State == incident.Triggered:
		return e.retriggered(ctx, tx, inc)
	case ch.UrgencyFrom == "low" && urgency(nil, inc) == "high":
		return e.urgencyRaised(ctx, tx, inc)
	case inc.State == incident.Acknowledged || inc.State == incident.Resolved:
		if err := e.stop(ctx, tx, inc.ID, string(inc.State), inc.UpdatedAt); err != nil {
			return err
		}
		tx.AfterCommit(func() { e.stopped.mark(inc.ID, inc.State, e.clock.Now()) })
		if ch.From == incident.Triggered {
			return e.incidents.Append(ctx, tx, inc.ID, EventStopped, inc.UpdatedAt, engineActor,
				map[string]string{"reason": string(inc.State)})
		}
	}
	return nil
}

// urgencyRaised sends now, inside tx, the pages deferred to working hours while the incident
// was low urgency: each person they were for is paged by their high-urgency notification rules
// from now, in place of the deferred pages (the same contact method keeps its idempotency key,
// so nobody gets the page twice). Someone without high-urgency rules gets the deferred page now.
// The pages leave through their timers, due now, which check delivery records first.
func (e *Engine) urgencyRaised(ctx context.Context, tx *store.Tx, inc incident.Incident) error {
	pending, err := e.runner.PendingPrefix(ctx, tx, kindNotify, incidentPrefix(inc.ID))
	if err != nil {
		return err
	}
	var deferred []job
	for _, t := range pending {
		var j job
		if json.Unmarshal([]byte(t.Payload), &j) != nil || !j.Deferred {
			continue
		}
		if err := e.runner.Cancel(ctx, tx, kindNotify, t.Key); err != nil {
			return err
		}
		deferred = append(deferred, j)
	}
	cfg := e.cfg.Get()
	now := e.clock.Now()
	type who struct {
		round, step int
		user        string
	}
	paged := map[who]bool{}
	for _, j := range deferred {
		w := who{j.Round, j.Step, j.User}
		rules := []config.NotificationRule{{ContactMethod: j.Method}}
		if u := e.user(ctx, cfg, j.User); u != nil && len(u.Methods("high")) > 0 {
			if paged[w] {
				continue
			}
			paged[w], rules = true, u.Methods("high")
		}
		for _, r := range rules {
			nj := job{Incident: inc.ID, Round: j.Round, Step: j.Step, User: j.User, Method: r.ContactMethod}
			payload, _ := json.Marshal(nj)
			if err := e.runner.Set(ctx, tx, kindNotify, nj.timerKey(), now.Add(r.After.D()), string(payload)); err != nil {
				return err
			}
		}
	}
	return nil
}

// stop cancels the pending step, a snooze, and every notification not yet delivered; the
// pages held in a contact method's queue are said not sent, and why (the incident was
// acknowledged, resolved or reassigned before they left), at at.
func (e *Engine) stop(ctx context.Context, tx *store.Tx, id int64, why string, at time.Time) error {
	if err := e.dropHeld(ctx, tx, id, why, at); err != nil {
		return err
	}
	if err := e.runner.Cancel(ctx, tx, kindEscalate, escalateKey(id)); err != nil {
		return err
	}
	if err := e.runner.Cancel(ctx, tx, kindSnooze, escalateKey(id)); err != nil {
		return err
	}
	if err := e.runner.CancelPrefix(ctx, tx, kindNotify, incidentPrefix(id)); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM notify_held WHERE incident_id = ?`, id)
	return err
}

// page runs step stepIdx of round for inc inside tx: it records the step, queues the
// notifications of everyone it reaches and schedules the next step. A step that reaches
// nobody (nobody on call, nobody with a contact method for the incident's urgency) is skipped
// at once, with the reason on the timeline; when a whole round reaches nobody the incident
// says so and the policy's fallback is paged.
//
// round is the internal round (unique per incident, keys its deliveries); base the round this
// run of the policy began at: round-base+1 is the repeat people count ("round 2"), written as
// "repeat" beside the internal "round".
func (e *Engine) page(ctx context.Context, tx *store.Tx, cfg *config.Config, inc incident.Incident, round, base, stepIdx int, now time.Time) error {
	pol := policyFor(cfg, inc.ServiceID)
	if pol == nil || stepIdx >= len(pol.Steps) {
		return nil
	}
	// A round entered at its first step here has reached nobody so far; one entered later
	// reached someone at an earlier step (a skipped step never waits).
	fromStart := stepIdx == 0
	var why []string
	for {
		step := pol.Steps[stepIdx]
		r, err := e.reach(ctx, cfg, inc, step, now)
		if err != nil {
			return err
		}
		data := map[string]any{"policy": pol.ID, "round": round + 1, "repeat": round - base + 1, "step": stepIdx + 1, "steps": len(pol.Steps), "users": r.users}
		if len(r.users) > 0 {
			if len(r.unreached) > 0 {
				data["unreached"] = r.unreached
			}
			if err := e.incidents.Append(ctx, tx, inc.ID, EventStep, now, engineActor, data); err != nil {
				return err
			}
			for _, u := range r.users {
				if err := e.queueUser(ctx, tx, cfg, inc, round, stepIdx, u, now); err != nil {
					return err
				}
			}
			return e.scheduleNext(ctx, tx, pol, inc.ID, round, base, stepIdx, now.Add(step.EscalateAfter.D()))
		}
		data["reason"] = strings.Join(r.unreached, "; ")
		if err := e.incidents.Append(ctx, tx, inc.ID, EventSkipped, now, engineActor, data); err != nil {
			return err
		}
		why = append(why, fmt.Sprintf("step %d: %s", stepIdx+1, data["reason"]))
		if stepIdx+1 < len(pol.Steps) {
			stepIdx++
			continue
		}
		if fromStart {
			if err := e.fallback(ctx, tx, cfg, pol, inc, round, base, strings.Join(why, "; "), now); err != nil {
				return err
			}
			return e.scheduleNext(ctx, tx, pol, inc.ID, round, base, stepIdx, now.Add(step.EscalateAfter.D()))
		}
		// The round reached someone earlier: the next round starts now, if there is one.
		if round-base >= pol.Repeat {
			return nil
		}
		round, stepIdx, fromStart, why = round+1, 0, true, nil
	}
}

// scheduleNext sets the timer of the step after stepIdx (the next round's first, after the
// last), unless the policy has run out.
func (e *Engine) scheduleNext(ctx context.Context, tx *store.Tx, pol *config.EscalationPolicy, id int64, round, base, stepIdx int, due time.Time) error {
	next := stepPayload{Incident: id, Round: round, Base: base, Step: stepIdx + 1}
	if next.Step >= len(pol.Steps) {
		if round-base >= pol.Repeat {
			return nil
		}
		next.Round, next.Step = round+1, 0
	}
	payload, _ := json.Marshal(next)
	return e.runner.Set(ctx, tx, kindEscalate, escalateKey(id), due, string(payload))
}

// fallback pages the policy's fallback (or the config's) after a whole round reached nobody,
// and marks the incident so its page and the API say so.
func (e *Engine) fallback(ctx context.Context, tx *store.Tx, cfg *config.Config, pol *config.EscalationPolicy, inc incident.Incident, round, base int, why string, now time.Time) error {
	users := pol.Fallback
	if len(users) == 0 {
		users = cfg.Fallback
	}
	urg := urgency(cfg, inc)
	var reached, unreached []string
	for _, id := range users {
		if w := e.unreachable(ctx, cfg, id, urg); w != "" {
			unreached = append(unreached, w)
			continue
		}
		reached = append(reached, id)
	}
	data := map[string]any{"policy": pol.ID, "round": round + 1, "repeat": round - base + 1, "reason": "no step reached anyone (" + why + ")", "fallback": reached}
	switch {
	case len(users) == 0:
		data["fallback_problem"] = "no fallback is configured; nobody was paged"
	case len(reached) == 0:
		data["fallback_problem"] = "the fallback reaches nobody either: " + strings.Join(unreached, "; ")
	}
	if err := e.incidents.MarkReachedNobody(ctx, tx, inc.ID, now); err != nil {
		return err
	}
	if err := e.incidents.Append(ctx, tx, inc.ID, EventNobody, now, engineActor, data); err != nil {
		return err
	}
	for _, u := range reached {
		// The fallback is the step after the last: acknowledging stops it like any step.
		if err := e.queueUser(ctx, tx, cfg, inc, round, len(pol.Steps), u, now); err != nil {
			return err
		}
	}
	return nil
}

// reached is whom a step pages, and why anyone it names is not paged.
type reached struct {
	users     []string
	unreached []string
}

// reach resolves a step to the people it pages, in order and each once: those on call or named,
// with a contact method for the incident's urgency whose channel is set up.
func (e *Engine) reach(ctx context.Context, cfg *config.Config, inc incident.Incident, step config.EscalationStep, now time.Time) (reached, error) {
	r := reached{users: []string{}}
	seen := map[string]bool{}
	urg := urgency(cfg, inc)
	add := func(id string) {
		if seen[id] {
			return
		}
		seen[id] = true
		if w := e.unreachable(ctx, cfg, id, urg); w != "" {
			r.unreached = append(r.unreached, w)
			return
		}
		r.users = append(r.users, id)
	}
	for _, t := range step.Targets {
		ids, w, err := e.target(ctx, cfg, t, now)
		if err != nil {
			return r, err
		}
		if w != "" {
			r.unreached = append(r.unreached, w)
		}
		for _, id := range ids {
			add(id)
		}
	}
	return r, nil
}

// target resolves one target to user ids, or says why it names nobody.
func (e *Engine) target(ctx context.Context, cfg *config.Config, t config.EscalationTarget, now time.Time) ([]string, string, error) {
	var ids []string
	switch {
	case t.User != "":
		return []string{t.User}, "", nil
	case t.Team != "":
		if team := cfg.Team(t.Team); team != nil {
			ids = team.Members
		}
		if len(ids) == 0 {
			return nil, "team " + t.Team + " has no members", nil
		}
		return ids, "", nil
	case t.Schedule != "":
		shs, err := e.oncall.OnCallLayers(ctx, t.Schedule, t.Layers, now)
		var ie *invalid.Error
		if err != nil && !errors.Is(err, oncall.ErrUnknownSchedule) && !errors.As(err, &ie) {
			return nil, "", err
		}
		for _, sh := range shs {
			ids = append(ids, sh.UserID)
		}
		if len(ids) == 0 {
			what := "schedule " + t.Schedule
			if len(t.Layers) > 0 {
				what += " (layers " + strings.Join(t.Layers, ", ") + ")"
			}
			return nil, what + " has nobody on call at " + now.UTC().Format(time.RFC3339), nil
		}
	}
	return ids, "", nil
}

// unreachable says why a page of urgency urg cannot reach the user, or "" when it can: an
// unknown user, no contact method for that urgency, or only channels nines is not set up for.
func (e *Engine) unreachable(ctx context.Context, cfg *config.Config, id, urg string) string {
	channel := e.Channel
	u := e.user(ctx, cfg, id)
	if u == nil {
		return "user " + id + " is not in the config"
	}
	rules := u.Methods(urg)
	if len(rules) == 0 {
		if len(u.ContactMethods) == 0 {
			return "user " + id + " has no contact method"
		}
		return "user " + id + " has no contact method for " + urg + " urgency"
	}
	for _, r := range rules {
		if m := contactMethod(u, r.ContactMethod); m != nil && channel(cfg, m.Type) != nil {
			return ""
		}
	}
	return "user " + id + " has no contact method whose channel is set up under notifications"
}

// queueUser writes the notifications of one user's rules as timers; those due at once are also
// started right after the commit, the timer staying as the fallback should this process die.
func (e *Engine) queueUser(ctx context.Context, tx *store.Tx, cfg *config.Config, inc incident.Incident, round, stepIdx int, userID string, now time.Time) error {
	u := e.user(ctx, cfg, userID)
	if u == nil {
		return nil
	}
	for _, r := range u.Methods(urgency(cfg, inc)) {
		j := job{Incident: inc.ID, Round: round, Step: stepIdx, User: userID, Method: r.ContactMethod}
		payload, _ := json.Marshal(j)
		due := now.Add(r.After.D())
		if r.After == 0 {
			due = now.Add(directGrace)
			if !e.crashAfterCommit {
				tx.AfterCommit(func() { e.deliverNow(j, inc) })
			}
		}
		if err := e.runner.Set(ctx, tx, kindNotify, j.timerKey(), due, string(payload)); err != nil {
			return err
		}
	}
	return nil
}

// urgency is the urgency inc is paged with: the incident's own, which urgencyFor decided when
// it opened and when its severity rose, so what the API shows is what is applied.
func urgency(_ *config.Config, inc incident.Incident) string {
	if inc.Urgency == "" {
		return "high"
	}
	return inc.Urgency
}

// urgencyFor is the urgency of an incident of a service at a severity: what its signal asked
// for, else the service's; then the policy's severity_urgency for that severity, if it has one.
func urgencyFor(cfg *config.Config, serviceID, severity, asked string) string {
	u := asked
	if u == "" {
		if svc := cfg.Service(serviceID); svc != nil {
			u = svc.Urgency
		}
	}
	if pol := policyFor(cfg, serviceID); pol != nil {
		if v, ok := pol.SeverityUrgency[severity]; ok {
			u = v
		}
	}
	if u == "" {
		u = "high"
	}
	return u
}

func (e *Engine) runEscalate(ctx context.Context, t timers.Timer) error {
	var p stepPayload
	if err := json.Unmarshal([]byte(t.Payload), &p); err != nil {
		e.log.Error("escalation timer with a bad payload; dropped", "key", t.Key, "err", err)
		return nil
	}
	return e.db.Tx(ctx, func(tx *store.Tx) error {
		inc, err := e.incidents.GetTx(ctx, tx, p.Incident)
		if errors.Is(err, incident.ErrNotFound) {
			return nil
		}
		if err != nil || inc.State != incident.Triggered {
			return err
		}
		if held, err := e.held(ctx, tx, inc, p, e.clock.Now()); held || err != nil {
			return err
		}
		return e.page(ctx, tx, e.cfg.Get(), inc, p.Round, p.Base, p.Step, e.clock.Now())
	})
}

// held defers a step while Hold holds paging for the incident's service: the hold goes on the
// timeline once, and the step is set to run when the hold ends, when it asks again.
func (e *Engine) held(ctx context.Context, tx *store.Tx, inc incident.Incident, p stepPayload, now time.Time) (bool, error) {
	if e.holdFor == nil {
		return false, nil
	}
	until, held, err := e.holdFor(ctx, tx, inc.ServiceID, now)
	if err != nil || !held {
		return false, err
	}
	if !p.Held {
		err := e.incidents.Append(ctx, tx, inc.ID, EventStepHeld, now, engineActor, map[string]any{"until": until,
			"reason": "a maintenance window covers service " + inc.ServiceID + "; nobody is paged until it ends"})
		if err != nil {
			return false, err
		}
	}
	p.Held = true
	payload, _ := json.Marshal(p)
	return true, e.runner.Set(ctx, tx, kindEscalate, escalateKey(inc.ID), until, string(payload))
}

// Holds are what can hold paging for a service; *maintenance.Service is one. Hold says
// whether paging for a service is held at a time, and until when; escalation registers with
// OnChange to release what a hold that ended early held (ReleaseHeld).
type Holds interface {
	Hold(ctx context.Context, tx *store.Tx, serviceID string, at time.Time) (until time.Time, held bool, err error)
	OnChange(f func(ctx context.Context))
}

// ReleaseHeld makes every held step due now, for a hold that ended early (a window cut short
// or called off): each asks Hold again and pages unless something still holds it.
func (e *Engine) ReleaseHeld(ctx context.Context) error {
	pending, err := e.runner.Pending(ctx, kindEscalate)
	if err != nil {
		return err
	}
	now := e.clock.Now()
	return e.db.Tx(ctx, func(tx *store.Tx) error {
		for _, t := range pending {
			var p stepPayload
			if json.Unmarshal([]byte(t.Payload), &p) != nil || !p.Held || !t.Due.After(now) {
				continue
			}
			if err := e.runner.Set(ctx, tx, kindEscalate, t.Key, now, t.Payload); err != nil {
				return err
			}
		}
		return nil
	})
}

// ErrNotTriggered is returned for a manual escalation of an incident nobody needs to be paged for.
var ErrNotTriggered = errors.New("incident is not triggered")

// EscalateNow runs the next step at once (or the first, when the policy has run out).
func (e *Engine) EscalateNow(ctx context.Context, id int64, a incident.Actor) error {
	pending, err := e.runner.Pending(ctx, kindEscalate)
	if err != nil {
		return err
	}
	var next *stepPayload
	for _, t := range pending {
		if t.Key == escalateKey(id) {
			var p stepPayload
			if json.Unmarshal([]byte(t.Payload), &p) == nil {
				next = &p
			}
		}
	}
	return e.db.Tx(ctx, func(tx *store.Tx) error {
		inc, err := e.incidents.GetTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if inc.State != incident.Triggered {
			return fmt.Errorf("%w: incident %d is %s", ErrNotTriggered, id, inc.State)
		}
		cfg := e.cfg.Get()
		if policyFor(cfg, inc.ServiceID) == nil {
			return fmt.Errorf("%w: service %s has no escalation policy", ErrNotTriggered, inc.ServiceID)
		}
		if next == nil {
			round, err := e.nextRound(ctx, tx, id)
			if err != nil {
				return err
			}
			next = &stepPayload{Incident: id, Round: round, Base: round}
		}
		now := e.clock.Now()
		if err := e.runner.Cancel(ctx, tx, kindEscalate, escalateKey(id)); err != nil {
			return err
		}
		if err := e.incidents.Append(ctx, tx, id, EventManual, now, a, map[string]int{"step": next.Step + 1, "round": next.Round + 1, "repeat": next.Round - next.Base + 1}); err != nil {
			return err
		}
		return e.page(ctx, tx, cfg, inc, next.Round, next.Base, next.Step, now)
	})
}

// ErrUnknownUser is returned for a reassignment to a user the config does not declare.
var ErrUnknownUser = errors.New("unknown user")

// ErrUnreachable is returned for a reassignment to someone a page cannot reach.
var ErrUnreachable = errors.New("cannot be paged")

// Reassign stops the policy and pages userID instead.
func (e *Engine) Reassign(ctx context.Context, id int64, userID string, a incident.Actor) error {
	cfg := e.cfg.Get()
	if cfg.User(userID) == nil {
		return fmt.Errorf("user_id: %w %q", ErrUnknownUser, userID)
	}
	return e.db.Tx(ctx, func(tx *store.Tx) error {
		inc, err := e.incidents.GetTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if inc.State == incident.Resolved {
			return fmt.Errorf("%w: incident %d is resolved", ErrNotTriggered, id)
		}
		if w := e.unreachable(ctx, cfg, userID, urgency(cfg, inc)); w != "" {
			return fmt.Errorf("user_id: %w: %s", ErrUnreachable, w)
		}
		if err := e.stop(ctx, tx, id, "reassigned", e.clock.Now()); err != nil {
			return err
		}
		round, err := e.nextRound(ctx, tx, id)
		if err != nil {
			return err
		}
		now := e.clock.Now()
		if err := e.incidents.Append(ctx, tx, id, EventReassigned, now, a, map[string]string{"user": userID}); err != nil {
			return err
		}
		return e.queueUser(ctx, tx, cfg, inc, round, -1, userID, now)
	})
}

// nextRound is a round number no delivery of the incident has used, so a manual page is not
// mistaken for a duplicate of an earlier one.
func (e *Engine) nextRound(ctx context.Context, tx *store.Tx, id int64) (int, error) {
	var max sql.NullInt64
	if err := tx.QueryRow(ctx, `SELECT MAX(round) FROM notify_deliveries WHERE incident_id = ?`, id).Scan(&max); err != nil {
		return 0, err
	}
	n := firstManualRound
	if max.Valid && int(max.Int64)+1 > n {
		n = int(max.Int64) + 1
	}
	return n, nil
}

// OnCallFor names the people the service's escalation policy would page at t, step by step,
// each once: the first is the one paged first (the natural commander of a declared incident).
func (e *Engine) OnCallFor(ctx context.Context, serviceID string, at time.Time) ([]string, error) {
	cfg := e.cfg.Get()
	pol := policyFor(cfg, serviceID)
	if pol == nil {
		return nil, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, st := range pol.Steps {
		var users []string
		for _, t := range st.Targets {
			ids, _, err := e.target(ctx, cfg, t, at)
			if err != nil {
				return nil, err
			}
			users = append(users, ids...)
		}
		for _, u := range users {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	return out, nil
}

// ErrNoChannel is returned when a message is for a contact method type nines is not set up to
// send (no notifications.email.smtp for email, say).
var ErrNoChannel = errors.New("this type of contact method is not set up under notifications")

// SendTo hands one message to a contact method's channel at once, outside any escalation (a
// verification code, a test page), as the config in force sets the channel up.
func (e *Engine) SendTo(ctx context.Context, m config.ContactMethod, msg notify.Message) error {
	n := e.Channel(e.cfg.Get(), m.Type)
	if n == nil {
		return fmt.Errorf("%s: %w", m.Type, ErrNoChannel)
	}
	if msg.At.IsZero() {
		msg.At = e.clock.Now()
	}
	return n.Notify(ctx, m, msg)
}

// PagedIncidents lists the incidents the person was paged for (any delivery, held or failed
// ones included), newest first, at most limit.
func (e *Engine) PagedIncidents(ctx context.Context, userID string, limit int) ([]int64, error) {
	rows, err := e.db.Query(ctx, `SELECT incident_id FROM notify_deliveries WHERE user_id = ? GROUP BY incident_id ORDER BY incident_id DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
