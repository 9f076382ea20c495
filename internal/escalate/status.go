package escalate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify"
)

// Notification states of Status, beyond notify's delivery states (sent, failed, held).
const (
	// NotificationPending: queued to leave (a rule's delay, or on its way now).
	NotificationPending = "pending"
	// NotificationDeferred: a low-urgency page waiting for working hours.
	NotificationDeferred = "deferred"
	// NotificationDropped: held, then not sent: the incident was handled before it left.
	NotificationDropped = "dropped"
)

// Status is where an incident's escalation stands, for the responder who opens it: the
// policy, the round and step that paged last, whom that paged and how each page fared on each
// contact method, and what happens next.
type Status struct {
	Policy string `json:"policy,omitempty"`
	// Kind is what paged last: "step" (a step of the policy), "fallback" (a round reached
	// nobody), "reassigned" (a person chosen by hand); empty when nobody was paged yet.
	Kind string `json:"kind,omitempty"`
	// Round is the repeat of the policy that paged, as people count them (1, 2...): the
	// policy starts over at 1 after a snooze, escalate-now or a retrigger.
	Round int `json:"round,omitempty"`
	Step  int `json:"step,omitempty"` // 1-based; 0 for a reassignment or the fallback
	Steps int `json:"steps,omitempty"`
	// PagedAt is when that step (or reassignment, or fallback) paged.
	PagedAt *time.Time    `json:"paged_at,omitempty"`
	Paged   []PagedPerson `json:"paged"`
	// Unreached says why people the step named were not paged.
	Unreached []string `json:"unreached,omitempty"`
	// Next is the next step and when it runs; nil when nothing more will page (acknowledged,
	// resolved, snoozed, or the policy ran out).
	Next *NextStep `json:"next"`
	// Stopped is why escalation is over: "acknowledged", "resolved", "reassigned" (a person
	// chosen by hand was paged instead, which stops the policy) or "policy ended".
	Stopped string `json:"stopped,omitempty"`
	// HeldUntil is the end of a maintenance window holding the next step.
	HeldUntil *time.Time `json:"held_until,omitempty"`
	// SnoozedUntil is when a snoozed incident triggers again.
	SnoozedUntil *time.Time `json:"snoozed_until,omitempty"`
	// Reached is true once any page of the incident was taken by its channel.
	Reached bool `json:"reached"`
	// Alarm says, for a triggered incident, that nobody has been reached and why; empty otherwise.
	Alarm string `json:"alarm,omitempty"`
}

// PagedPerson is one person a step paged, with a line per contact method.
type PagedPerson struct {
	User          string         `json:"user"`
	Name          string         `json:"name"`
	Notifications []Notification `json:"notifications"`
}

// Notification is how one page to one contact method fared, as of now.
type Notification struct {
	Method string `json:"method"`         // the contact method's id
	Type   string `json:"type,omitempty"` // email, sms, voice, webhook, ...
	// State is sent (the channel took it), failed, held (waiting in its contact method's
	// queue: rate limit, or behind a failing page), deferred (low urgency, outside working
	// hours) or pending (queued to leave).
	State string    `json:"state"`
	At    time.Time `json:"at"`
	// Error is the channel's refusal, for a failed page (and a held one that failed before).
	Error  string `json:"error,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Until is when it is tried again (failed, held) or leaves (deferred, pending); a page held
	// behind earlier ones to its contact method gives when that queue is next due to drain.
	Until *time.Time `json:"until,omitempty"`
	// Permanent marks a failure nines will not retry.
	Permanent bool `json:"permanent,omitempty"`
}

// NextStep is the step that pages next if nobody acknowledges.
type NextStep struct {
	At      time.Time `json:"at"`
	Round   int       `json:"round"` // the repeat of the policy, as Status.Round
	Step    int       `json:"step"`  // 1-based
	Targets []string  `json:"targets"`
	// Users are whom the step would page if it ran now: for a schedule, who is on call then.
	Users []string `json:"users"`
	// Held is set when a maintenance window holds the step until At.
	Held bool `json:"held,omitempty"`
}

// pageEvent is the data of the timeline entries this package writes about pages.
type pageEvent struct {
	Policy    string    `json:"policy"`
	Round     int       `json:"round"`  // internal: keys the deliveries of one run
	Repeat    int       `json:"repeat"` // the round as people count it
	Step      int       `json:"step"`
	Steps     int       `json:"steps"`
	Users     []string  `json:"users"`
	User      string    `json:"user"`
	Unreached []string  `json:"unreached"`
	Fallback  []string  `json:"fallback"`
	Reason    string    `json:"reason"`
	Method    string    `json:"method"`
	Type      string    `json:"type"`
	Error     string    `json:"error"`
	Permanent bool      `json:"permanent"`
	SendAt    time.Time `json:"send_at"`
	RetryAt   time.Time `json:"retry_at"`
	Until     time.Time `json:"until"`
	Problem   string    `json:"fallback_problem"`
}

// Status reads where the escalation of an incident stands: from its timeline (what paged, and
// each page's outcome), the pending timers (pages queued or deferred, the next step, a snooze)
// and the config in force (names, the next step's targets and who is on call for it).
func (e *Engine) Status(ctx context.Context, id int64) (Status, error) {
	inc, err := e.incidents.Get(ctx, id)
	if err != nil {
		return Status{}, err
	}
	events, err := e.incidents.Timeline(ctx, id)
	if err != nil {
		return Status{}, err
	}
	cfg := e.cfg.Get()
	st := Status{Paged: []PagedPerson{}}
	if pol := policyFor(cfg, inc.ServiceID); pol != nil {
		st.Policy, st.Steps = pol.ID, len(pol.Steps)
	}
	// The last thing that paged, and the outcomes of the pages after it.
	var users []string
	var nobody pageEvent
	type outcome struct {
		n   Notification
		pos int
	}
	outs := map[string]outcome{} // user/method
	round := 0                   // the internal round of what paged last
	matches := func(d pageEvent) bool {
		if d.Round == 0 { // entries that do not say their step (deferrals): by position
			return true
		}
		switch st.Kind {
		case "step":
			return d.Round == round && d.Step == st.Step
		case "reassigned":
			return d.Step == 0
		case "fallback":
			return d.Round == round && d.Step == st.Steps+1
		}
		return false
	}
	for i, ev := range events {
		var d pageEvent
		switch ev.Type {
		case EventStep, EventNobody, EventReassigned, EventSent, EventFailed, EventHeld, EventDeferred, EventDropped:
			json.Unmarshal(ev.Data, &d)
		default:
			continue
		}
		at := ev.At
		switch ev.Type {
		case EventStep:
			st.Kind, round, st.Round, st.Step, st.PagedAt, users, st.Unreached = "step", d.Round, repeatOf(d), d.Step, &at, d.Users, d.Unreached
			if d.Policy != "" {
				st.Policy = d.Policy
			}
			if d.Steps > 0 {
				st.Steps = d.Steps
			}
			clear(outs)
		case EventNobody:
			st.Kind, round, st.Round, st.Step, st.PagedAt, users, st.Unreached = "fallback", d.Round, repeatOf(d), 0, &at, d.Fallback, nil
			nobody = d
			clear(outs)
		case EventReassigned:
			st.Kind, round, st.Round, st.Step, st.PagedAt, users, st.Unreached = "reassigned", 0, 0, 0, &at, []string{d.User}, nil
			clear(outs)
		default:
			if ev.Type == EventSent {
				st.Reached = true
			}
			if st.Kind == "" || !matches(d) {
				continue
			}
			n := Notification{Method: d.Method, Type: d.Type, At: at}
			switch ev.Type {
			case EventSent:
				n.State = notify.DeliverySent
			case EventFailed:
				n.State, n.Error, n.Permanent = notify.DeliveryFailed, d.Error, d.Permanent
				if !d.Permanent && !d.RetryAt.IsZero() {
					n.Until = timePtr(d.RetryAt)
				}
			case EventHeld:
				n.State, n.Reason = notify.DeliveryHeld, d.Reason
				if !d.SendAt.IsZero() {
					n.Until = timePtr(d.SendAt)
				}
				if prev, ok := outs[d.User+"/"+d.Method]; ok && prev.n.State == notify.DeliveryFailed {
					n.Error = prev.n.Error
				}
			case EventDropped:
				n.State, n.Reason = NotificationDropped, d.Reason
			case EventDeferred:
				n.State, n.Reason = NotificationDeferred, d.Reason
				if !d.Until.IsZero() {
					n.Until = timePtr(d.Until)
				}
			}
			outs[d.User+"/"+d.Method] = outcome{n, i}
		}
	}
	// Pages queued or deferred and not yet tried have a timer and no outcome.
	pending, err := e.runner.PendingOf(ctx, kindNotify, incidentPrefix(id))
	if err != nil {
		return Status{}, err
	}
	for _, t := range pending {
		var j job
		if json.Unmarshal([]byte(t.Payload), &j) != nil {
			continue
		}
		d := pageEvent{Round: j.Round + 1, Step: j.Step + 1}
		if st.Kind == "" || !matches(d) {
			continue
		}
		k := j.User + "/" + j.Method
		if o, ok := outs[k]; ok && o.n.State != NotificationDeferred {
			continue
		}
		n := Notification{Method: j.Method, State: NotificationPending, Until: timePtr(t.Due)}
		if st.PagedAt != nil {
			n.At = *st.PagedAt
		}
		if j.Deferred {
			n.State, n.Reason = NotificationDeferred, "low urgency; outside working hours"
		}
		outs[k] = outcome{n, len(events)}
		if !containsStr(users, j.User) {
			users = append(users, j.User)
		}
	}
	failedOrHeld, total := 0, 0
	for _, u := range users {
		p := PagedPerson{User: u, Name: u, Notifications: []Notification{}}
		user := e.user(ctx, cfg, u) // with the methods they added on their profile
		if user != nil && user.Name != "" {
			p.Name = user.Name
		}
		if user != nil {
			for _, r := range user.ContactMethods {
				o, ok := outs[u+"/"+r.ID]
				if !ok {
					continue
				}
				if o.n.Type == "" {
					o.n.Type = r.Type
				}
				if o.n.State == notify.DeliveryHeld && o.n.Until == nil {
					// Queued behind earlier pages: it leaves when the queue is next due to drain.
					due, ok, err := e.runner.Due(ctx, kindBundle, drainKey(u, r.ID))
					if err != nil {
						return Status{}, err
					}
					if ok {
						o.n.Until = timePtr(due)
					}
				}
				p.Notifications = append(p.Notifications, o.n)
			}
		}
		for _, n := range p.Notifications {
			total++
			if n.State == notify.DeliveryFailed || n.State == notify.DeliveryHeld {
				failedOrHeld++
			}
		}
		st.Paged = append(st.Paged, p)
	}

	switch inc.State {
	case incident.Acknowledged, incident.Resolved:
		st.Stopped = string(inc.State)
		snooze, ok, err := e.runner.Due(ctx, kindSnooze, escalateKey(id))
		if err != nil {
			return Status{}, err
		}
		if ok && inc.State == incident.Acknowledged {
			st.SnoozedUntil = &snooze
		}
		return st, nil
	}
	next, err := e.nextStep(ctx, cfg, inc)
	if err != nil {
		return Status{}, err
	}
	st.Next = next
	if next != nil && next.Held {
		st.HeldUntil = timePtr(next.At)
	}
	switch {
	case next == nil && st.Kind == "reassigned":
		st.Stopped = "reassigned" // a reassignment stops the policy
	case next == nil && st.Kind != "":
		st.Stopped = "policy ended"
	}
	switch {
	case st.Reached:
	case inc.ReachedNobodyAt != nil && st.Kind == "fallback":
		st.Alarm = "No step of the escalation policy reached anyone: " + nobody.Reason
		if nobody.Problem != "" {
			st.Alarm += "; " + nobody.Problem
		}
	case total > 0 && failedOrHeld == total:
		st.Alarm = fmt.Sprintf("No page has reached anyone yet: %s failed or waiting to be sent.", plural(total, "page"))
	}
	return st, nil
}

// nextStep is the step the escalation timer of a triggered incident will page, or nil.
func (e *Engine) nextStep(ctx context.Context, cfg *config.Config, inc incident.Incident) (*NextStep, error) {
	ts, err := e.runner.PendingOf(ctx, kindEscalate, escalateKey(inc.ID))
	if err != nil {
		return nil, err
	}
	pol := policyFor(cfg, inc.ServiceID)
	for _, t := range ts {
		var p stepPayload
		if t.Key != escalateKey(inc.ID) || json.Unmarshal([]byte(t.Payload), &p) != nil || pol == nil {
			continue
		}
		if p.Step >= len(pol.Steps) {
			return nil, nil
		}
		step := pol.Steps[p.Step]
		n := &NextStep{At: t.Due, Round: repeatOf(pageEvent{Round: p.Round + 1, Repeat: p.Round - p.Base + 1}), Step: p.Step + 1, Held: p.Held, Targets: []string{}, Users: []string{}}
		for _, tg := range step.Targets {
			n.Targets = append(n.Targets, describeTarget(tg))
		}
		r, err := e.reach(ctx, cfg, inc, step, t.Due)
		if err != nil {
			return nil, err
		}
		for _, u := range r.users {
			name := u
			if user := cfg.User(u); user != nil && user.Name != "" {
				name = user.Name
			}
			n.Users = append(n.Users, name)
		}
		return n, nil
	}
	return nil, nil
}

func describeTarget(t config.EscalationTarget) string {
	switch {
	case t.User != "":
		return "user " + t.User
	case t.Team != "":
		return "team " + t.Team
	case len(t.Layers) > 0:
		return "schedule " + t.Schedule + " (layers " + strings.Join(t.Layers, ", ") + ")"
	}
	return "schedule " + t.Schedule
}

func timePtr(t time.Time) *time.Time { t = t.UTC(); return &t }

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// firstManualRound is where the internal rounds of runs started over (after a snooze,
// escalate-now, a retrigger) begin: rounds below it are the policy's own repeats.
const firstManualRound = 100

// repeatOf is the round of a page as people count the policy's repeats: the event's own
// repeat; for one written before events said it, its round when that is one of the policy's
// own, else 0 (not said).
func repeatOf(d pageEvent) int {
	switch {
	case d.Repeat > 0 && !(d.Repeat == d.Round && d.Round > firstManualRound):
		return d.Repeat
	case d.Round <= firstManualRound:
		return d.Round
	}
	return 0
}
