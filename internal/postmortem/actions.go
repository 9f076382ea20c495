package postmortem

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// Action item kinds, after the S.T.A.R. practice (fix the cause, test for it, alert on it,
// write it down, make it visible).
var Kinds = []string{"fix", "test", "alert", "docs", "visibility"}

// Action item states.
const (
	Open = "open"
	Done = "done"
)

// ActionItem is one concrete step to keep an incident from happening again.
type ActionItem struct {
	ID         int64      `json:"id"`
	IncidentID int64      `json:"incident_id"`
	ServiceID  string     `json:"service_id"`
	Team       string     `json:"team,omitempty"`
	Title      string     `json:"title"`
	Owner      string     `json:"owner"`
	Kind       string     `json:"kind"`
	State      string     `json:"state"`
	Due        string     `json:"due"` // YYYY-MM-DD in the configured time zone
	Overdue    bool       `json:"overdue"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	DoneAt     *time.Time `json:"done_at,omitempty"`
}

// NewAction is what a person gives for a new action item; Due is optional.
type NewAction struct {
	Title string `json:"title"`
	Owner string `json:"owner"`
	Kind  string `json:"kind"`
	Due   string `json:"due,omitempty"`
}

// ActionPatch changes an action item; nil fields stay.
type ActionPatch struct {
	Title *string `json:"title"`
	Owner *string `json:"owner"`
	State *string `json:"state"`
	Due   *string `json:"due"`
}

// Timeline events of action items.
const (
	EventActionCreated  = "action_item.created"
	EventActionUpdated  = "action_item.updated"
	EventActionReminder = "action_item.reminder"
	// EventActionReminderFailed records a reminder a contact method did not take; it is
	// retried unless the failure is permanent.
	EventActionReminderFailed = "action_item.reminder_failed"
)

var reminderActor = incident.Actor{Name: "nines", Source: "reminder"}

// ErrNoAction is returned for an action item id that does not exist.
var ErrNoAction = errors.New("action item not found")

func (s *Service) calendar() Calendar {
	set := &s.config.Get().Incidents
	return Calendar{Holiday: set.Holiday}
}

// today is the civil date now in the configured time zone.
func (s *Service) today() time.Time {
	loc := s.config.Get().Incidents.Location()
	n := s.clock.Now().In(loc)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
}

// DefaultDue is the due date of an action item created now: the configured number of
// business days (5) after today.
func (s *Service) DefaultDue() string {
	return s.calendar().AddBusinessDays(s.today(), s.config.Get().Incidents.ActionItemDays).Format(time.DateOnly)
}

func (s *Service) checkOwner(owner string, bad *invalid.Error) {
	switch {
	case owner == "":
		bad.Add("owner", "who will do it? (a user id)")
	case utf8.RuneCountInString(owner) > 128:
		bad.Add("owner", "at most 128 characters")
	default:
		users := s.config.Get().Users
		if len(users) == 0 {
			return
		}
		for _, u := range users {
			if u.ID == owner {
				return
			}
		}
		bad.Add("owner", "%q is not a user in the config", owner)
	}
}

func checkDue(due string, bad *invalid.Error) {
	if _, err := time.Parse(time.DateOnly, due); err != nil {
		bad.Add("due", "%q is not a date written YYYY-MM-DD", due)
	}
}

// AddAction adds an action item to an incident's postmortem and schedules its reminders.
func (s *Service) AddAction(ctx context.Context, incidentID int64, n NewAction, a incident.Actor) (ActionItem, error) {
	bad := &invalid.Error{}
	n.Title, n.Owner, n.Kind = strings.TrimSpace(n.Title), strings.TrimSpace(n.Owner), strings.TrimSpace(n.Kind)
	switch l := utf8.RuneCountInString(n.Title); {
	case l == 0:
		bad.Add("title", "what should be done?")
	case l > 500:
		bad.Add("title", "at most 500 characters")
	}
	s.checkOwner(n.Owner, bad)
	if !validKind(n.Kind) {
		bad.Add("kind", "%q is not one of %s", n.Kind, strings.Join(Kinds, ", "))
	}
	if n.Due == "" {
		n.Due = s.DefaultDue()
	} else {
		checkDue(n.Due, bad)
	}
	if len(bad.Problems) > 0 {
		return ActionItem{}, bad
	}
	inc, err := s.incidents.Get(ctx, incidentID)
	if err != nil {
		return ActionItem{}, err
	}
	team := ""
	if svc := s.config.Get().Service(inc.ServiceID); svc != nil {
		team = svc.Team
	}
	now := s.incidents.Now()
	item := ActionItem{IncidentID: incidentID, ServiceID: inc.ServiceID, Team: team, Title: n.Title, Owner: n.Owner, Kind: n.Kind,
		State: Open, Due: n.Due, CreatedAt: now, CreatedBy: a.Name}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		item.ID, err = tx.InsertID(ctx, `INSERT INTO action_items (incident_id, service_id, team, title, owner, kind, state, due, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, incidentID, item.ServiceID, team, item.Title, item.Owner, item.Kind, Open, item.Due,
			now.UnixMilli(), a.Name)
		if err != nil {
			return err
		}
		if err := s.incidents.Append(ctx, tx, incidentID, EventActionCreated, now, a,
			map[string]any{"action_id": item.ID, "title": item.Title, "owner": item.Owner, "kind": item.Kind, "due": item.Due}); err != nil {
			return err
		}
		return s.scheduleReminder(ctx, tx, item, now)
	})
	item.Overdue = s.overdue(item)
	return item, err
}

func validKind(k string) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// UpdateAction changes an action item. Marking it done stops its reminders; reopening it or
// moving its due date schedules them again.
func (s *Service) UpdateAction(ctx context.Context, id int64, p ActionPatch, a incident.Actor) (ActionItem, error) {
	bad := &invalid.Error{}
	if p.State != nil && *p.State != Open && *p.State != Done {
		bad.Add("state", "%q is not open or done", *p.State)
	}
	if p.Due != nil {
		checkDue(*p.Due, bad)
	}
	if p.Owner != nil {
		*p.Owner = strings.TrimSpace(*p.Owner)
		s.checkOwner(*p.Owner, bad)
	}
	if p.Title != nil {
		*p.Title = strings.TrimSpace(*p.Title)
		if l := utf8.RuneCountInString(*p.Title); l == 0 || l > 500 {
			bad.Add("title", "1 to 500 characters")
		}
	}
	if len(bad.Problems) > 0 {
		return ActionItem{}, bad
	}
	now := s.incidents.Now()
	var item ActionItem
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		q := `SELECT ` + actionColumns + ` FROM action_items WHERE id = ?`
		if tx.Dialect() == store.Postgres {
			q += ` FOR UPDATE`
		}
		var err error
		item, err = scanAction(tx.QueryRow(ctx, q, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoAction
		}
		if err != nil {
			return err
		}
		changed := map[string]any{}
		if p.Title != nil && *p.Title != item.Title {
			item.Title, changed["title"] = *p.Title, *p.Title
		}
		if p.Owner != nil && *p.Owner != item.Owner {
			item.Owner, changed["owner"] = *p.Owner, *p.Owner
		}
		if p.Due != nil && *p.Due != item.Due {
			item.Due, changed["due"] = *p.Due, *p.Due
		}
		if p.State != nil && *p.State != item.State {
			item.State, changed["state"] = *p.State, *p.State
			if item.State == Done {
				item.DoneAt = &now
			} else {
				item.DoneAt = nil
			}
		}
		if len(changed) == 0 {
			return nil
		}
		var done *int64
		if item.DoneAt != nil {
			v := item.DoneAt.UnixMilli()
			done = &v
		}
		if _, err := tx.Exec(ctx, `UPDATE action_items SET title = ?, owner = ?, due = ?, state = ?, done_at = ? WHERE id = ?`,
			item.Title, item.Owner, item.Due, item.State, done, id); err != nil {
			return err
		}
		changed["action_id"] = id
		if err := s.incidents.Append(ctx, tx, item.IncidentID, EventActionUpdated, now, a, changed); err != nil {
			return err
		}
		if item.State == Done {
			if _, err := tx.Exec(ctx, `DELETE FROM action_reminders WHERE action_id = ?`, id); err != nil {
				return err
			}
			return s.timers.Cancel(ctx, tx, reminderTimer, reminderKey(id))
		}
		return s.scheduleReminder(ctx, tx, item, now)
	})
	item.Overdue = s.overdue(item)
	return item, err
}

const actionColumns = `id, incident_id, service_id, team, title, owner, kind, state, due, created_at, created_by, done_at`

func scanAction(r interface{ Scan(...any) error }) (ActionItem, error) {
	var a ActionItem
	var created int64
	var done *int64
	err := r.Scan(&a.ID, &a.IncidentID, &a.ServiceID, &a.Team, &a.Title, &a.Owner, &a.Kind, &a.State, &a.Due, &created, &a.CreatedBy, &done)
	a.CreatedAt = time.UnixMilli(created).UTC()
	if done != nil {
		t := time.UnixMilli(*done).UTC()
		a.DoneAt = &t
	}
	return a, err
}

// overdue: still open after its due date has passed where the team works.
func (s *Service) overdue(a ActionItem) bool {
	return a.State == Open && a.Due < s.today().Format(time.DateOnly)
}

// Actions lists the action items of an incident, oldest first.
func (s *Service) Actions(ctx context.Context, incidentID int64) ([]ActionItem, error) {
	return s.queryActions(ctx, `SELECT `+actionColumns+` FROM action_items WHERE incident_id = ? ORDER BY id`, incidentID)
}

// Action reads one action item.
func (s *Service) Action(ctx context.Context, id int64) (ActionItem, error) {
	items, err := s.queryActions(ctx, `SELECT `+actionColumns+` FROM action_items WHERE id = ?`, id)
	if err != nil {
		return ActionItem{}, err
	}
	if len(items) == 0 {
		return ActionItem{}, ErrNoAction
	}
	return items[0], nil
}

func (s *Service) queryActions(ctx context.Context, q string, args ...any) ([]ActionItem, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ActionItem{}
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return nil, err
		}
		a.Overdue = s.overdue(a)
		out = append(out, a)
	}
	return out, rows.Err()
}

// TeamActions is the open and overdue action items of one team.
type TeamActions struct {
	Team    string       `json:"team"`
	Open    int          `json:"open"`
	Overdue int          `json:"overdue"`
	Items   []ActionItem `json:"items"`
}

// OpenByTeam reports the open action items per team (all teams when team is empty), overdue
// first, then by due date. Items of services without a team are under "".
func (s *Service) OpenByTeam(ctx context.Context, team string) ([]TeamActions, error) {
	q := `SELECT ` + actionColumns + ` FROM action_items WHERE state = 'open'`
	var args []any
	if team != "" {
		q += ` AND team = ?`
		args = append(args, team)
	}
	items, err := s.queryActions(ctx, q+` ORDER BY team, due, id`, args...)
	if err != nil {
		return nil, err
	}
	out := []TeamActions{}
	for _, it := range items {
		if len(out) == 0 || out[len(out)-1].Team != it.Team {
			out = append(out, TeamActions{Team: it.Team, Items: []ActionItem{}})
		}
		t := &out[len(out)-1]
		t.Open++
		if it.Overdue {
			t.Overdue++
		}
		t.Items = append(t.Items, it)
	}
	return out, nil
}

// Reminders.

const reminderTimer = "postmortem.action_reminder"

func reminderKey(id int64) string { return "action:" + strconv.FormatInt(id, 10) }

// When a reminder is sent, relative to the due date.
const (
	Before  = "before"  // the business day before it is due
	Overdue = "overdue" // the business day after, then every RepeatOverdue business days
)

// RepeatOverdue is how many business days pass between reminders of an overdue item.
const RepeatOverdue = 5

type reminderPayload struct {
	When string `json:"when"`
	// At is when the reminder was due. The timer's own due time moves on each retry; this
	// does not, so it keys the reminder's deliveries.
	At int64 `json:"at,omitempty"`
}

// reminderTime is the start of the working day on date, where the team works.
func (s *Service) reminderTime(date time.Time) time.Time {
	set := &s.config.Get().Incidents
	h, m := 9, 0
	if t, err := time.Parse("15:04", set.WorkingHours.Start); err == nil {
		h, m = t.Hour(), t.Minute()
	}
	return time.Date(date.Year(), date.Month(), date.Day(), h, m, 0, 0, set.Location())
}

// nextReminder says when and what the next reminder of an open item is, after now.
func (s *Service) nextReminder(item ActionItem, now time.Time) (time.Time, string) {
	loc := s.config.Get().Incidents.Location()
	due, _ := time.ParseInLocation(time.DateOnly, item.Due, loc)
	cal := s.calendar()
	if before := s.reminderTime(cal.AddBusinessDays(due, -1)); before.After(now) {
		return before, Before
	}
	at := s.reminderTime(cal.AddBusinessDays(due, 1))
	for !at.After(now) {
		at = s.reminderTime(cal.AddBusinessDays(at, RepeatOverdue))
	}
	return at, Overdue
}

func (s *Service) scheduleReminder(ctx context.Context, tx *store.Tx, item ActionItem, now time.Time) error {
	at, when := s.nextReminder(item, now)
	return s.setReminder(ctx, tx, item.ID, at, when)
}

func (s *Service) setReminder(ctx context.Context, tx *store.Tx, id int64, at time.Time, when string) error {
	p, _ := json.Marshal(reminderPayload{When: when, At: at.UnixMilli()})
	return s.timers.Set(ctx, tx, reminderTimer, reminderKey(id), at, string(p))
}

// remind runs when a reminder is due: it tells the owner and schedules the next one, unless
// the item is done. A reminder that fails is retried with backoff until it goes through or the
// next one falls due; the Reminder's keys make a run after a crash send nothing twice but the
// message the crash interrupted.
func (s *Service) remind(ctx context.Context, t timers.Timer) error {
	id, err := strconv.ParseInt(strings.TrimPrefix(t.Key, "action:"), 10, 64)
	if err != nil {
		return nil // not ours to understand; dropping it is all that can be done
	}
	item, err := s.Action(ctx, id)
	if errors.Is(err, ErrNoAction) {
		return nil
	}
	if err != nil {
		return err
	}
	if item.State != Open {
		return nil
	}
	var p reminderPayload
	json.Unmarshal([]byte(t.Payload), &p)
	at := t.Due
	if p.At != 0 {
		at = time.UnixMilli(p.At).UTC()
	}
	if err := s.Reminder.Remind(ctx, Notice{Item: item, When: p.When, At: at, Attempt: t.Attempts + 1}); err != nil {
		next, when := s.nextReminder(item, at)
		if next.After(s.clock.Now()) {
			return err
		}
		// The next reminder is due already and replaces this one's retries, so a contact
		// method that stays down does not hold back the reminders that follow.
		return s.db.Tx(ctx, func(tx *store.Tx) error { return s.setReminder(ctx, tx, item.ID, next, when) })
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		return s.scheduleReminder(ctx, tx, item, s.clock.Now())
	})
}

// Notice is one reminder to an action item's owner.
type Notice struct {
	Item ActionItem
	When string    // Before or Overdue
	At   time.Time // when the reminder was due, the same on every attempt
	// Attempt counts runs of this reminder, from 1; a Reminder that fails is run again.
	Attempt int
}

// Reminder tells an owner about an action item. ContactReminder sends it through the owner's
// contact methods; TimelineReminder only records it on the incident.
type Reminder interface {
	Remind(ctx context.Context, n Notice) error
}

// TimelineReminder records each reminder on the incident's timeline, so the postmortem shows
// who was reminded of what and when.
type TimelineReminder struct {
	db        *store.DB
	incidents *incident.Service
	clock     clock.Clock
}

var _ Reminder = (*TimelineReminder)(nil)

// Remind appends an action_item.reminder event.
func (r *TimelineReminder) Remind(ctx context.Context, n Notice) error {
	return r.db.Tx(ctx, func(tx *store.Tx) error {
		return r.incidents.Append(ctx, tx, n.Item.IncidentID, EventActionReminder, r.clock.Now().Truncate(time.Millisecond), reminderActor,
			map[string]any{"action_id": n.Item.ID, "owner": n.Item.Owner, "due": n.Item.Due, "when": n.When, "title": n.Item.Title})
	})
}
