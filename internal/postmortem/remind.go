package postmortem

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// ContactReminder sends each reminder to the action item's owner through every contact method
// of theirs but voice (a phone call is for pages, not for a to-do), and records each outcome
// on the incident's timeline. Delivery is at least once: a delivery is keyed by (action item,
// the reminder's due time, owner, contact method), so the retry of a reminder that reached
// some methods but not others sends only to the others, and a crash re-sends at most the
// delivery it interrupted.
type ContactReminder struct {
	s       *Service
	channel func(cfg *config.Config, typ string) notify.Notifier
	baseURL string
}

var _ Reminder = (*ContactReminder)(nil)

// NewContactReminder returns the Reminder that reaches owners. channel gives the notifier of a
// contact method type under the config in force, or nil when that type is not configured (the
// escalation engine's Channel); baseURL starts links when the config sets no server.base_url.
func NewContactReminder(s *Service, channel func(cfg *config.Config, typ string) notify.Notifier, baseURL string) *ContactReminder {
	return &ContactReminder{s: s, channel: channel, baseURL: baseURL}
}

// Remind delivers n to the owner. An error means some contact method should be tried again.
func (r *ContactReminder) Remind(ctx context.Context, n Notice) error {
	cfg := r.s.config.Get()
	item := n.Item
	base := map[string]any{"action_id": item.ID, "owner": item.Owner, "due": item.Due, "when": n.When, "title": item.Title}
	var methods []config.ContactMethod
	if u := cfg.User(item.Owner); u != nil {
		for _, m := range u.ContactMethods {
			if m.Type != config.ContactVoice {
				methods = append(methods, m)
			}
		}
	}
	if len(methods) == 0 {
		// Nothing to retry: the reminder stays visible on the incident, and the next one
		// tries again under the config in force then.
		return r.append(ctx, item.IncidentID, EventActionReminderFailed, with(base, map[string]any{
			"error": fmt.Sprintf("%s has no contact method a reminder can use", item.Owner), "permanent": true}))
	}
	inc, err := r.s.incidents.Get(ctx, item.IncidentID)
	if err != nil {
		return err
	}
	var retry []error
	for _, m := range methods {
		key := fmt.Sprintf("action%d:%d:%s:%s", item.ID, n.At.UnixMilli(), item.Owner, m.ID)
		var state string
		err := r.s.db.QueryRow(ctx, `SELECT state FROM action_reminders WHERE key = ?`, key).Scan(&state)
		if err == nil {
			continue // sent (or refused for good) on an earlier attempt
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		data := with(base, map[string]any{"method": m.ID, "type": m.Type, "key": key, "attempt": n.Attempt})
		ch := r.channel(cfg, m.Type)
		if ch == nil {
			data["error"], data["permanent"] = m.Type+" is not configured under notifications", true
			if err := r.record(ctx, item, key, m.ID, notify.DeliveryFailed, EventActionReminderFailed, data); err != nil {
				return err
			}
			continue
		}
		install, err := r.s.db.InstallID(ctx)
		if err != nil {
			return err
		}
		sendErr := ch.Notify(ctx, m, r.message(cfg, inc, n, notify.IncidentRef(install, inc.ID, inc.CreatedAt), key))
		switch {
		case sendErr == nil:
			err = r.record(ctx, item, key, m.ID, notify.DeliverySent, EventActionReminder, data)
		case notify.IsPermanent(sendErr):
			data["error"], data["permanent"] = sendErr.Error(), true
			err = r.record(ctx, item, key, m.ID, notify.DeliveryFailed, EventActionReminderFailed, data)
		default:
			data["error"], data["retry_in"] = sendErr.Error(), timers.Backoff(n.Attempt).String()
			err = r.append(ctx, item.IncidentID, EventActionReminderFailed, data)
			retry = append(retry, fmt.Errorf("remind %s through %s: %w", item.Owner, m.ID, sendErr))
		}
		if err != nil {
			return err
		}
	}
	return errors.Join(retry...)
}

// record writes a delivery's outcome and its timeline event in one transaction, so the key
// that stops a second send exists exactly when the timeline says it was sent.
func (r *ContactReminder) record(ctx context.Context, item ActionItem, key, method, state, event string, data map[string]any) error {
	now := r.s.clock.Now().Truncate(time.Millisecond)
	return r.s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO action_reminders (key, action_id, method, state, at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET state = excluded.state, at = excluded.at`, key, item.ID, method, state, now.UnixMilli()); err != nil {
			return err
		}
		return r.s.incidents.Append(ctx, tx, item.IncidentID, event, now, reminderActor, data)
	})
}

func (r *ContactReminder) append(ctx context.Context, incidentID int64, event string, data map[string]any) error {
	return r.s.db.Tx(ctx, func(tx *store.Tx) error {
		return r.s.incidents.Append(ctx, tx, incidentID, event, r.s.clock.Now().Truncate(time.Millisecond), reminderActor, data)
	})
}

// message is the reminder as channels show it: what to do, for which incident, by when, and
// where to look.
// thread names the incident (notify.IncidentRef); the message's key is the delivery's key
// within nines under it, so that no other installation, and no action item of the same number
// after a restore, sends the same.
func (r *ContactReminder) message(cfg *config.Config, inc incident.Incident, n Notice, thread, key string) notify.Message {
	item := n.Item
	base := strings.TrimRight(cfg.Server.BaseURL, "/")
	if base == "" {
		base = strings.TrimRight(r.baseURL, "/")
	}
	url := fmt.Sprintf("%s/incidents/%d", base, inc.ID)
	service := inc.ServiceID
	if svc := cfg.Service(inc.ServiceID); svc != nil && svc.Name != "" {
		service = svc.Name
	}
	due := item.Due
	if d, err := time.Parse(time.DateOnly, item.Due); err == nil {
		due = d.Format("Monday 2 January 2006")
	}
	headline := fmt.Sprintf("[nines] Action item due %s: %s", item.Due, item.Title)
	when := fmt.Sprintf("It is due on %s, the next business day.", due)
	if n.When == Overdue {
		headline = fmt.Sprintf("[nines] Overdue action item (due %s): %s", item.Due, item.Title)
		when = fmt.Sprintf("It was due on %s and is still open.", due)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Action item #%d (%s) from incident #%d on %s: %s\n", item.ID, item.Kind, inc.ID, service, inc.Title)
	fmt.Fprintf(&b, "\n    %s\n\n", item.Title)
	fmt.Fprintf(&b, "%s\n", when)
	fmt.Fprintf(&b, "Incident: %s\n", url)
	fmt.Fprintf(&b, "\nWhen it is done, mark it so on the incident page or with: nines postmortem done %d\n", item.ID)
	return notify.Message{Key: thread + ":" + key, Thread: thread, IncidentID: inc.ID, Title: inc.Title, Service: service, Severity: inc.Severity,
		At: r.s.clock.Now(), URL: url, Event: EventActionReminder, Headline: headline, Body: b.String()}
}

func with(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
