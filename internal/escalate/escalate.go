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
	"net/http"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/notify/email"
	"github.com/nines-dev/nines/internal/notify/ntfy"
	"github.com/nines-dev/nines/internal/notify/slack"
	"github.com/nines-dev/nines/internal/notify/teams"
	"github.com/nines-dev/nines/internal/notify/twilio"
	"github.com/nines-dev/nines/internal/notify/webhook"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// Schema holds what was delivered (the idempotency record) and what waits in a bundle.
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
`}}

// Timer kinds.
const (
	kindEscalate = "escalate"
	kindNotify   = "notify"
	kindBundle   = "notify-bundle"
)

// Timeline event types written by escalation.
const (
	EventStep         = "escalation.step"
	EventStopped      = "escalation.stopped"
	EventManual       = "escalation.manual"
	EventNoPolicy     = "escalation.none"
	EventReassigned   = "incident.reassigned"
	EventSent         = "notification.sent"
	EventFailed       = "notification.failed"
	EventDeferred     = "notification.deferred"
	EventBundled      = "notification.bundled"
	directGrace       = 2 * time.Minute
	deliveryTimeout   = 60 * time.Second
	deliverySentState = "sent"
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

	// Channel returns the notifier for a contact method type, or nil when that type is not
	// configured. Tests and benchmarks replace it.
	Channel func(cfg *config.Config, typ string) notify.Notifier
	// BaseURL is used in links when the config sets no server.base_url.
	BaseURL string

	links    links
	limiter  limiter
	inflight inflight
	outOnce  sync.Once
	out      chan *outcome
	stopped  stoppedSet
	// crashAfterCommit makes the engine skip the delivery it starts after a commit, as if the
	// process died right then (tests of the timer fallback).
	crashAfterCommit bool
}

// New wires the engine: it hooks incident changes and handles its timer kinds.
func New(db *store.DB, cfg *config.Live, incidents *incident.Service, oc *oncall.Service, runner *timers.Runner, c clock.Clock, log *slog.Logger) *Engine {
	e := &Engine{db: db, cfg: cfg, incidents: incidents, oncall: oc, runner: runner, clock: c, log: log,
		Channel: Channels(notify.DefaultClient), BaseURL: "http://127.0.0.1:8080"}
	e.links.db = db
	e.limiter.sent = map[string][]time.Time{}
	incidents.OnChange(e.onChange)
	runner.Handle(kindEscalate, e.runEscalate)
	runner.Handle(kindNotify, e.runNotify)
	runner.Handle(kindBundle, e.runBundle)
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

// Channels returns the standard channel set, reading the config in force at each page.
func Channels(c *http.Client) func(cfg *config.Config, typ string) notify.Notifier {
	return func(cfg *config.Config, typ string) notify.Notifier {
		n := &cfg.Notifications
		switch typ {
		case config.ContactEmail:
			if n.Email != nil {
				return email.New(n.Email.SMTP)
			}
		case config.ContactSMS:
			if n.Twilio != nil {
				return &twilio.SMS{Settings: *n.Twilio, Client: c}
			}
		case config.ContactVoice:
			if n.Twilio != nil {
				return &twilio.Voice{Settings: *n.Twilio, Client: c}
			}
		case config.ContactSlack:
			return &slack.Slack{Client: c}
		case config.ContactTeams:
			return &teams.Teams{Client: c}
		case config.ContactWebhook:
			return &webhook.Webhook{Client: c}
		case config.ContactPush:
			return &ntfy.Ntfy{Client: c}
		}
		return nil
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
}

// key is the idempotency key of the job. ':' cannot occur in user or contact method ids, so
// two jobs never share a key.
func (j job) key() string {
	return fmt.Sprintf("inc%d:r%d:s%d:%s:%s", j.Incident, j.Round, j.Step, j.User, j.Method)
}

func incidentPrefix(id int64) string { return fmt.Sprintf("inc:%d:", id) }
func (j job) timerKey() string       { return incidentPrefix(j.Incident) + j.key() }
func escalateKey(id int64) string    { return fmt.Sprintf("inc:%d", id) }

type stepPayload struct {
	Incident int64 `json:"incident"`
	Round    int   `json:"round"`
	Step     int   `json:"step"`
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
	case ch.From == "" && inc.State == incident.Triggered:
		cfg := e.cfg.Get()
		if policyFor(cfg, inc.ServiceID) == nil {
			return e.incidents.Append(ctx, tx, inc.ID, EventNoPolicy, inc.CreatedAt, engineActor,
				map[string]string{"reason": "service " + inc.ServiceID + " has no escalation policy; nobody is paged"})
		}
		return e.page(ctx, tx, cfg, inc, 0, 0, inc.CreatedAt)
	case inc.State == incident.Acknowledged || inc.State == incident.Resolved:
		if err := e.stop(ctx, tx, inc.ID); err != nil {
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

// stop cancels the pending step and every notification not yet delivered.
func (e *Engine) stop(ctx context.Context, tx *store.Tx, id int64) error {
	if err := e.runner.Cancel(ctx, tx, kindEscalate, escalateKey(id)); err != nil {
		return err
	}
	if err := e.runner.CancelPrefix(ctx, tx, kindNotify, incidentPrefix(id)); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM notify_bundles WHERE incident_id = ?`, id)
	return err
}

// page runs step stepIdx of round for inc inside tx: it records the step, queues the
// notifications of every target and schedules the next step.
func (e *Engine) page(ctx context.Context, tx *store.Tx, cfg *config.Config, inc incident.Incident, round, stepIdx int, now time.Time) error {
	pol := policyFor(cfg, inc.ServiceID)
	if pol == nil || stepIdx >= len(pol.Steps) {
		return nil
	}
	step := pol.Steps[stepIdx]
	users, err := e.targets(ctx, cfg, step, now)
	if err != nil {
		return err
	}
	data := map[string]any{"policy": pol.ID, "round": round + 1, "step": stepIdx + 1, "steps": len(pol.Steps), "users": users}
	if len(users) == 0 {
		data["nobody"] = "no target of this step has anyone on call"
	}
	if err := e.incidents.Append(ctx, tx, inc.ID, EventStep, now, engineActor, data); err != nil {
		return err
	}
	for _, u := range users {
		if err := e.queueUser(ctx, tx, cfg, inc, round, stepIdx, u, now); err != nil {
			return err
		}
	}
	next := stepPayload{Incident: inc.ID, Round: round, Step: stepIdx + 1}
	if next.Step >= len(pol.Steps) {
		if round >= pol.Repeat {
			return nil
		}
		next.Round, next.Step = round+1, 0
	}
	payload, _ := json.Marshal(next)
	return e.runner.Set(ctx, tx, kindEscalate, escalateKey(inc.ID), now.Add(step.EscalateAfter.D()), string(payload))
}

// targets resolves a step to user ids, in order, without duplicates.
func (e *Engine) targets(ctx context.Context, cfg *config.Config, step config.EscalationStep, now time.Time) ([]string, error) {
	users := []string{}
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			users = append(users, id)
		}
	}
	for _, t := range step.Targets {
		switch {
		case t.User != "":
			add(t.User)
		case t.Team != "":
			if team := cfg.Team(t.Team); team != nil {
				for _, m := range team.Members {
					add(m)
				}
			}
		case t.Schedule != "" && len(t.Layers) > 0:
			if sc := cfg.Schedule(t.Schedule); sc != nil {
				for _, sh := range oncall.OnLayers(sc, t.Layers, now) {
					add(sh.UserID)
				}
			}
		case t.Schedule != "":
			shs, err := e.oncall.OnCall(ctx, t.Schedule, now)
			if err != nil && !errors.Is(err, oncall.ErrUnknownSchedule) {
				return nil, err
			}
			for _, sh := range shs {
				add(sh.UserID)
			}
		}
	}
	return users, nil
}

// queueUser writes the notifications of one user's rules as timers; those due at once are also
// started right after the commit, the timer staying as the fallback should this process die.
func (e *Engine) queueUser(ctx context.Context, tx *store.Tx, cfg *config.Config, inc incident.Incident, round, stepIdx int, userID string, now time.Time) error {
	u := cfg.User(userID)
	if u == nil {
		return nil
	}
	urg := urgency(cfg, inc)
	type rule struct {
		method string
		after  time.Duration
	}
	var rules []rule
	for _, r := range u.NotificationRules {
		if r.Urgency == "" || r.Urgency == urg {
			rules = append(rules, rule{r.ContactMethod, r.After.D()})
		}
	}
	if len(u.NotificationRules) == 0 {
		for _, m := range u.ContactMethods {
			rules = append(rules, rule{m.ID, 0})
		}
	}
	for _, r := range rules {
		j := job{Incident: inc.ID, Round: round, Step: stepIdx, User: userID, Method: r.method}
		payload, _ := json.Marshal(j)
		due := now.Add(r.after)
		if r.after == 0 {
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

// urgency is the service's, unless the policy maps the incident's severity to another.
func urgency(cfg *config.Config, inc incident.Incident) string {
	u := inc.Urgency
	if pol := policyFor(cfg, inc.ServiceID); pol != nil {
		if v, ok := pol.SeverityUrgency[inc.Severity]; ok {
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
		return e.page(ctx, tx, e.cfg.Get(), inc, p.Round, p.Step, e.clock.Now())
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
			next = &stepPayload{Incident: id, Round: round}
		}
		now := e.clock.Now()
		if err := e.runner.Cancel(ctx, tx, kindEscalate, escalateKey(id)); err != nil {
			return err
		}
		if err := e.incidents.Append(ctx, tx, id, EventManual, now, a, map[string]int{"step": next.Step + 1, "round": next.Round + 1}); err != nil {
			return err
		}
		return e.page(ctx, tx, cfg, inc, next.Round, next.Step, now)
	})
}

// ErrUnknownUser is returned for a reassignment to a user the config does not declare.
var ErrUnknownUser = errors.New("unknown user")

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
		if err := e.stop(ctx, tx, id); err != nil {
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
	n := 100
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
		users, err := e.targets(ctx, cfg, st, at)
		if err != nil {
			return nil, err
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
