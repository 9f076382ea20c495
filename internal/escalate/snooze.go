package escalate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// Snoozing. A responder who cannot fix a thing now snoozes its incident for a while, as in
// PagerDuty: the incident is acknowledged (a triggered one is acknowledged by the snooze), and
// a durable timer triggers it again when the snooze ends, which pages the escalation policy
// from its first step. Resolving the incident ends the snooze; snoozing again moves its end.

const kindSnooze = "snooze"

// EventSnoozed is the timeline entry of a snooze; its end is incident.retriggered.
const EventSnoozed = "incident.snoozed"

// Snooze bounds.
const (
	MinSnooze = time.Minute
	MaxSnooze = 7 * 24 * time.Hour
)

// SnoozeChoices are the durations the incident page offers.
var SnoozeChoices = []string{"15m", "30m", "1h", "2h", "4h", "8h", "24h"}

// ParseSnooze reads a snooze's duration ("30m", "4h", "1h30m") and checks it against the
// bounds; a refusal names the field "duration". The API, the page and the CLI call it.
func ParseSnooze(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, invalid.Field("duration", "say how long to snooze, such as 30m or 4h")
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, invalid.Field("duration", "%q is not a duration such as 30m or 4h", s)
	}
	if d < MinSnooze || d > MaxSnooze {
		return 0, invalid.Field("duration", "%s is out of range: snooze for 1m to 168h (7 days)", s)
	}
	return d, nil
}

type snoozePayload struct {
	Incident int64     `json:"incident"`
	Until    time.Time `json:"until"`
}

// Snooze acknowledges the incident (when it is triggered) and sets it to trigger again after
// duration. It returns the incident as it is now and when the snooze ends. A resolved incident
// cannot be snoozed (ErrState).
func (e *Engine) Snooze(ctx context.Context, id int64, duration string, a incident.Actor) (incident.Incident, time.Time, error) {
	d, err := ParseSnooze(duration)
	if err != nil {
		return incident.Incident{}, time.Time{}, err
	}
	var inc incident.Incident
	var until time.Time
	err = e.db.Tx(ctx, func(tx *store.Tx) error {
		now := e.incidents.Now()
		cur, err := e.incidents.GetTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur.State == incident.Resolved {
			return &incident.ErrState{ID: id, State: cur.State, Want: "snooze"}
		}
		if cur, _, err = e.incidents.Transition(ctx, tx, id, incident.Acknowledged, now, a, nil); err != nil {
			return err
		}
		inc, until = cur, now.Add(d)
		payload, _ := json.Marshal(snoozePayload{Incident: id, Until: until})
		if err := e.runner.Set(ctx, tx, kindSnooze, escalateKey(id), until, string(payload)); err != nil {
			return err
		}
		return e.incidents.Append(ctx, tx, id, EventSnoozed, now, a, map[string]any{"duration": d.String(), "until": until.UTC()})
	})
	return inc, until, err
}

// SnoozedUntil is when a snoozed incident triggers again; false when it is not snoozed.
func (e *Engine) SnoozedUntil(ctx context.Context, id int64) (time.Time, bool, error) {
	return e.runner.Due(ctx, kindSnooze, escalateKey(id))
}

// runSnooze ends a snooze: an incident still acknowledged triggers again, and its escalation
// policy pages from the first step. One resolved meanwhile is left alone.
func (e *Engine) runSnooze(ctx context.Context, t timers.Timer) error {
	var p snoozePayload
	if err := json.Unmarshal([]byte(t.Payload), &p); err != nil {
		e.log.Error("snooze timer with a bad payload; dropped", "key", t.Key, "err", err)
		return nil
	}
	return e.db.Tx(ctx, func(tx *store.Tx) error {
		now := e.incidents.Now()
		_, changed, err := e.incidents.Retrigger(ctx, tx, p.Incident, now, snoozeActor,
			map[string]any{"reason": fmt.Sprintf("the snooze until %s ended", p.Until.UTC().Format(time.RFC3339)), "until": p.Until.UTC()})
		if errors.Is(err, incident.ErrNotFound) || err == nil && !changed {
			return nil
		}
		return err
	})
}

var snoozeActor = incident.Actor{Name: "nines:snooze", Source: "escalation"}

// retriggered starts the policy again, from its first step in a round no page of the incident
// has used, for an incident that went from acknowledged back to triggered.
func (e *Engine) retriggered(ctx context.Context, tx *store.Tx, inc incident.Incident) error {
	tx.AfterCommit(func() { e.stopped.forget(inc.ID) })
	cfg := e.cfg.Get()
	if policyFor(cfg, inc.ServiceID) == nil {
		return e.incidents.Append(ctx, tx, inc.ID, EventNoPolicy, inc.UpdatedAt, engineActor,
			map[string]string{"reason": "service " + inc.ServiceID + " has no escalation policy; nobody is paged"})
	}
	round, err := e.nextRound(ctx, tx, inc.ID)
	if err != nil {
		return err
	}
	p := stepPayload{Incident: inc.ID, Round: round, Base: round}
	if held, err := e.held(ctx, tx, inc, p, inc.UpdatedAt); held || err != nil {
		return err
	}
	return e.page(ctx, tx, cfg, inc, round, round, 0, inc.UpdatedAt)
}
