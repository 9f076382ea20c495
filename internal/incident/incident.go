// Package incident owns incidents and their timelines. An incident groups the alerts of one
// problem and moves triggered -> acknowledged -> resolved; every change is appended to the
// timeline in the same transaction, so the timeline is the record MTTx, postmortems and the
// incident page are read from.
package incident

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/invalid"
	severities "github.com/nines-dev/nines/internal/severity"
	"github.com/nines-dev/nines/internal/store"
)

// State is where an incident is in its life.
type State string

const (
	Triggered    State = "triggered"
	Acknowledged State = "acknowledged"
	Resolved     State = "resolved"
)

// Valid reports whether s names a state.
func (s State) Valid() bool { return s == Triggered || s == Acknowledged || s == Resolved }

// Severities, highest first, as the PagerDuty Events API names them (see package severity).
const (
	Critical = severities.Critical
	Error    = severities.Error
	Warning  = severities.Warning
	Info     = severities.Info
)

// severityRank is severities.Rank of an incident's severity, in SQL.
var severityRank = severities.RankSQL("severity")

// Incident is one problem being handled.
type Incident struct {
	ID             int64      `json:"id"`
	ServiceID      string     `json:"service_id"`
	State          State      `json:"state"`
	Severity       string     `json:"severity"`
	Urgency        string     `json:"urgency"`
	Title          string     `json:"title"`
	AlertCount     int        `json:"alert_count"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	// SEV is the response level (SEV1..SEV5): from the alert severity at first, then by hand.
	SEV string `json:"sev,omitempty"`
	// ImpactStartedAt is when customers were first affected, often before anyone knew.
	ImpactStartedAt *time.Time `json:"impact_started_at,omitempty"`
	// Roles maps a role (commander, communications, scribe, ...) to the person holding it.
	Roles map[string]string `json:"roles,omitempty"`
	// DeclaredBy is who opened the incident by hand; empty when alerts opened it.
	DeclaredBy string `json:"declared_by,omitempty"`
	// ReachedNobodyAt is when a whole round of the escalation policy last reached nobody (the
	// fallback was paged then); nil while every round reached someone.
	ReachedNobodyAt *time.Time `json:"reached_nobody_at,omitempty"`
}

// Event is one entry of a timeline.
type Event struct {
	ID         int64           `json:"-"`
	IncidentID int64           `json:"-"`
	Type       string          `json:"type"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`
	Source     string          `json:"source"`
	Data       json.RawMessage `json:"data"`
}

// Timeline event types written by this package. Other packages add their own
// (alert.triggered, notification.sent, status.update, ...).
const (
	EventTriggered      = "incident.triggered"
	EventAcknowledged   = "incident.acknowledged"
	EventResolved       = "incident.resolved"
	EventNote           = "note"
	EventUrgencyChanged = "incident.urgency_changed"
	EventRetriggered    = "incident.retriggered"
)

// Actor is who did something and through what.
type Actor struct {
	Name   string // "user:alice", "token:ci", "integration:events_v2"
	Source string // "api", "cli", "web", "events_v2", "alertmanager", ...
}

// Change is a state change, handed to hooks inside the transaction that makes it.
type Change struct {
	Incident Incident
	From     State // "" when the incident was just opened
	Actor    Actor
	// Inhibited is set on the opening of an incident whose alerts are all inhibited (an inhibit
	// rule holds them while another alert is open): nobody is to be paged for it yet.
	Inhibited bool
	// Uninhibited is set when such an incident, still triggered, gets an alert that is not
	// inhibited (its source resolved, or a new alert joined): paging may start now. The
	// incident's UpdatedAt is that moment.
	Uninhibited bool
	// UrgencyFrom is set when an alert raised a triggered incident's severity and with it its
	// urgency (From is then the incident's state, which did not change): the urgency it had.
	// Pages held back for that urgency are to follow the new one now.
	UrgencyFrom string
	// Origin is what opened the incident (set on its opening only).
	Origin Origin
}

// Origin is the signal that opened an incident: the integration and the alert's dedup key and
// labels. An incident declared by hand has none.
type Origin struct {
	Integration string // events_v2, alertmanager, monitor, slo, drill, ...
	DedupKey    string
	Labels      map[string]string
}

// Hook reacts to a change inside its transaction (scheduling escalation, resolving alerts).
// An error aborts the change.
type Hook func(ctx context.Context, tx *store.Tx, ch Change) error

// Service reads and changes incidents.
type Service struct {
	db          *store.DB
	clock       clock.Clock
	hooks       []Hook
	appendHooks []AppendHook
	readHooks   []ReadHook
	rules       *Rules
}

// Rules are what the incident service asks other domains as incidents open and change. They
// are made before the incident service and the domains that decide them, and handed to both:
// escalation decides urgency and drills the title, and both need the incident service, so each
// sets its rule in its own constructor. A rule left nil has the default its field says; Check
// says which are unset, so nines refuses to start without one rather than page wrongly.
type Rules struct {
	// SEVFor maps an alert severity to the SEV level a new incident starts at (the config's
	// incidents.sev_for); nil uses DefaultSEV.
	SEVFor func(alertSeverity string) string
	// UrgencyFor is the urgency an incident of a service is paged with at a severity, given
	// the urgency its signal asked for (empty: the service's own). It decides a new incident's
	// urgency and moves it when an alert raises the severity. Escalation sets it; nil keeps the
	// urgency asked for, or high.
	UrgencyFor func(serviceID, severity, asked string) string
	// Retitle may rewrite the title of an incident about to open, inside its transaction (a
	// chaos drill under way on the service marks the incident its fault opened "[DRILL]", so
	// the incident and every page of it say so). Drills set it; nil keeps titles as written.
	Retitle func(ctx context.Context, tx *store.Tx, p OpenParams) (string, error)
	// OnCallFor names whom escalation would page first for a service at an instant, in order:
	// an incident declared without a commander is commanded by the first (Declare).
	// Escalation sets it; nil leaves such an incident without a commander.
	OnCallFor func(ctx context.Context, serviceID string, at time.Time) ([]string, error)
}

// Check returns an error naming every rule left unset.
func (r *Rules) Check() error {
	var unset []string
	for _, f := range []struct {
		set        bool
		name, whom string
	}{
		{r.SEVFor != nil, "SEVFor", "the config's incidents.sev_for"},
		{r.UrgencyFor != nil, "UrgencyFor", "escalation"},
		{r.Retitle != nil, "Retitle", "drills"},
		{r.OnCallFor != nil, "OnCallFor", "escalation"},
	} {
		if !f.set {
			unset = append(unset, f.name+" (from "+f.whom+")")
		}
	}
	if len(unset) > 0 {
		return fmt.Errorf("incident rules unset: %s", strings.Join(unset, ", "))
	}
	return nil
}

// New returns the incident service, asking rules as incidents open and change; nil rules
// keep every default (a service nobody pages from, in tests of one domain).
func New(db *store.DB, c clock.Clock, rules *Rules) *Service {
	if rules == nil {
		rules = &Rules{}
	}
	return &Service{db: db, clock: c, rules: rules}
}

// OnChange registers a hook run on every state change. Wiring happens once, at start-up.
func (s *Service) OnChange(h Hook) { s.hooks = append(s.hooks, h) }

// ReadHook completes the events of an incident's timeline as they are read: an entry that
// counts something going on (a burst of repeats) whose latest figures live with the thing
// counted. It may replace the Data of events.
type ReadHook func(ctx context.Context, incidentID int64, events []Event) error

// OnRead registers a hook run on every timeline read. Wiring happens once, at start-up.
func (s *Service) OnRead(h ReadHook) { s.readHooks = append(s.readHooks, h) }

// Now is the service's clock reading, truncated to what storage keeps.
func (s *Service) Now() time.Time { return s.clock.Now().Truncate(time.Millisecond) }

// ErrNotFound is returned for an incident id that does not exist.
var ErrNotFound = errors.New("incident not found")

// ErrState is returned for a transition the incident's state does not allow.
type ErrState struct {
	ID    int64
	State State
	Want  string
}

func (e *ErrState) Error() string {
	return fmt.Sprintf("incident %d is %s; cannot %s it", e.ID, e.State, e.Want)
}

// OpenParams describes a new incident.
type OpenParams struct {
	ServiceID string
	Severity  string
	// Urgency is what the signal asked for; empty means the service's (see Rules.UrgencyFor).
	Urgency string
	Title   string
	At      time.Time
	Actor   Actor
	Data    any // recorded on the incident.triggered event
	// SEV, when set, is chosen by hand instead of derived from Severity.
	SEV string
	// Inhibited opens the incident for an alert an inhibit rule holds: the hooks hear that
	// nobody is to be paged until Uninhibit.
	Inhibited bool
	// Alerts is the alert count the incident opens with: 1 when opened by an alert, which then
	// needs no AlertAdded.
	Alerts int
	// Origin is the alert that opens it, when an alert does.
	Origin Origin
}

// Open creates a triggered incident inside tx.
func (s *Service) Open(ctx context.Context, tx *store.Tx, p OpenParams) (Incident, error) {
	p.Urgency = s.urgencyFor(p.ServiceID, p.Severity, p.Urgency)
	if s.rules.Retitle != nil {
		title, err := s.rules.Retitle(ctx, tx, p)
		if err != nil {
			return Incident{}, err
		}
		p.Title = title
	}
	at := ms(p.At)
	sev, manual := p.SEV, 1
	if sev == "" {
		sev, manual = s.sevFor(p.Severity), 0
	}
	id, err := tx.InsertID(ctx, `INSERT INTO incidents (service_id, state, severity, urgency, title, alert_count, created_at, updated_at, sev, sev_manual)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.ServiceID, Triggered, p.Severity, p.Urgency, truncate(p.Title, 1024), p.Alerts, at, at, sev, manual)
	if err != nil {
		return Incident{}, fmt.Errorf("open incident: %w", err)
	}
	inc := Incident{ID: id, ServiceID: p.ServiceID, State: Triggered, Severity: p.Severity, Urgency: p.Urgency, AlertCount: p.Alerts,
		Title: truncate(p.Title, 1024), CreatedAt: fromMS(at), UpdatedAt: fromMS(at), SEV: sev}
	if err := s.Append(ctx, tx, id, EventTriggered, p.At, p.Actor, p.Data); err != nil {
		return Incident{}, err
	}
	return inc, s.run(ctx, tx, Change{Incident: inc, Actor: p.Actor, Inhibited: p.Inhibited, Origin: p.Origin})
}

// Uninhibit tells the hooks, inside tx, that an incident opened with its alerts inhibited now
// has one that is not, so paging may start. The caller records why on the timeline. An
// incident no longer triggered (acknowledged or resolved meanwhile) needs no page: it reports
// false and tells no one.
func (s *Service) Uninhibit(ctx context.Context, tx *store.Tx, id int64, at time.Time, a Actor) (bool, error) {
	inc, err := s.getTx(ctx, tx, id)
	if err != nil || inc.State != Triggered {
		return false, err
	}
	if err := s.Touch(ctx, tx, id, at); err != nil {
		return false, err
	}
	inc.UpdatedAt = fromMS(ms(at))
	return true, s.run(ctx, tx, Change{Incident: inc, From: Triggered, Actor: a, Uninhibited: true})
}

// Append writes one timeline event inside tx.
func (s *Service) Append(ctx context.Context, tx *store.Tx, incidentID int64, typ string, at time.Time, a Actor, data any) error {
	_, err := s.append(ctx, tx, false, incidentID, typ, at, a, data)
	return err
}

// AppendID is Append for an event that may later be amended: it returns the event's id.
func (s *Service) AppendID(ctx context.Context, tx *store.Tx, incidentID int64, typ string, at time.Time, a Actor, data any) (int64, error) {
	return s.append(ctx, tx, true, incidentID, typ, at, a, data)
}

func (s *Service) append(ctx context.Context, tx *store.Tx, withID bool, incidentID int64, typ string, at time.Time, a Actor, data any) (int64, error) {
	raw, err := marshalData(data)
	if err != nil {
		return 0, err
	}
	// Events whose id nobody needs are written with the transaction's other rows in one
	// statement; one whose id is needed goes after them, so the timeline keeps its order.
	const insert = `INSERT INTO timeline (incident_id, at, type, actor, source, data)`
	var id int64
	if withID {
		if err = tx.FlushInserts(ctx); err == nil {
			id, err = tx.InsertID(ctx, insert+` VALUES (?, ?, ?, ?, ?, ?)`, incidentID, ms(at), typ, a.Name, a.Source, raw)
		}
	} else {
		tx.InsertLater(insert, incidentID, ms(at), typ, a.Name, a.Source, raw)
	}
	if err != nil {
		return 0, fmt.Errorf("timeline: %w", err)
	}
	for _, h := range s.appendHooks {
		if err := h(ctx, tx, incidentID, typ, at, raw); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// Amend replaces the data of one event of an incident's timeline. The timeline is otherwise
// append-only; this is for an event that counts repeats of itself (a delivery failing again
// and again) so that one fact does not fill the timeline with rows.
func (s *Service) Amend(ctx context.Context, tx *store.Tx, incidentID, eventID int64, data any) error {
	raw, err := marshalData(data)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE timeline SET data = ? WHERE id = ? AND incident_id = ?`, raw, eventID, incidentID)
	if err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	return nil
}

// AlertAdded counts a new alert on the incident and raises its severity if the alert's is
// higher (see raise).
func (s *Service) AlertAdded(ctx context.Context, tx *store.Tx, id int64, severity string, at time.Time, a Actor) error {
	return s.alerted(ctx, tx, `UPDATE incidents SET alert_count = alert_count + 1, updated_at = ? WHERE id = ?
		RETURNING service_id, severity, sev, urgency`, id, severity, at, a)
}

// Repeated marks the incident updated by a repeated alert and raises its severity if the
// alert's is higher. Repeats are most of what arrives: when the severity does not rise, which
// is nearly always, it is one statement that reads nothing back.
func (s *Service) Repeated(ctx context.Context, tx *store.Tx, id int64, severity string, at time.Time, a Actor) error {
	res, err := tx.Exec(ctx, `UPDATE incidents SET updated_at = ? WHERE id = ? AND `+severityRank+` >= ?`,
		ms(at), id, severities.Rank(severity))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	return s.alerted(ctx, tx, `UPDATE incidents SET updated_at = ? WHERE id = ? RETURNING service_id, severity, sev, urgency`,
		id, severity, at, a)
}

// RaisedBy raises the incident's severity to a repeat's when that is higher, marking it
// updated then; otherwise it changes nothing (a repeat within a burst whose first repeat
// marked it updated already).
func (s *Service) RaisedBy(ctx context.Context, tx *store.Tx, id int64, severity string, at time.Time, a Actor) error {
	var higher int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM incidents WHERE id = ? AND `+severityRank+` < ?`, id, severities.Rank(severity)).Scan(&higher)
	if err != nil || higher == 0 {
		return err
	}
	return s.alerted(ctx, tx, `UPDATE incidents SET updated_at = ? WHERE id = ? RETURNING service_id, severity, sev, urgency`,
		id, severity, at, a)
}

func (s *Service) alerted(ctx context.Context, tx *store.Tx, update string, id int64, severity string, at time.Time, a Actor) error {
	var svc, cur, sev, urg string
	if err := tx.QueryRow(ctx, update, ms(at), id).Scan(&svc, &cur, &sev, &urg); err != nil {
		return err
	}
	if severities.Rank(severity) <= severities.Rank(cur) {
		return nil
	}
	return s.raise(ctx, tx, id, svc, cur, sev, urg, severity, at, a)
}

// raise moves the incident to a higher alert severity, and with it its SEV level and urgency:
// the SEV level rises to the one the new severity maps to when that is more severe (even one
// chosen by hand: alerts only ever make it worse, and only when they are worse than before);
// the urgency becomes the one paging uses at the new severity. Each change is on the timeline.
func (s *Service) raise(ctx context.Context, tx *store.Tx, id int64, svc, cur, sev, urg, severity string, at time.Time, a Actor) error {
	newSEV, newUrg := sev, s.urgencyFor(svc, severity, urg)
	if to := s.sevFor(severity); severities.ValidLevel(to) && (sev == "" || to < sev) {
		newSEV = to
	}
	if _, err := tx.Exec(ctx, `UPDATE incidents SET severity = ?, sev = ?, urgency = ? WHERE id = ?`, severity, newSEV, newUrg, id); err != nil {
		return err
	}
	why := "an alert raised the severity from " + cur + " to " + severity
	if newSEV != sev {
		if err := s.Append(ctx, tx, id, EventSEVChanged, at, a, map[string]any{"from": sev, "to": newSEV, "reason": why}); err != nil {
			return err
		}
	}
	if newUrg == urg {
		return nil
	}
	if err := s.Append(ctx, tx, id, EventUrgencyChanged, at, a, map[string]any{"from": urg, "to": newUrg, "reason": why}); err != nil {
		return err
	}
	// Whoever pages hears of it, so that what the incident shows is what is applied.
	inc, err := s.getTx(ctx, tx, id)
	if err != nil || inc.State != Triggered {
		return err
	}
	return s.run(ctx, tx, Change{Incident: inc, From: inc.State, Actor: a, UrgencyFrom: urg})
}

func (s *Service) urgencyFor(serviceID, severity, asked string) string {
	u := asked
	if s.rules.UrgencyFor != nil {
		u = s.rules.UrgencyFor(serviceID, severity, asked)
	}
	if u == "" {
		u = "high"
	}
	return u
}

// MarkReachedNobody records inside tx that a whole round of the escalation policy reached
// nobody at at; escalation writes the timeline entry that says why.
func (s *Service) MarkReachedNobody(ctx context.Context, tx *store.Tx, id int64, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE incidents SET reached_nobody_at = ? WHERE id = ?`, ms(at), id)
	return err
}

// Touch marks the incident updated (a repeated alert, a note).
func (s *Service) Touch(ctx context.Context, tx *store.Tx, id int64, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE incidents SET updated_at = ? WHERE id = ?`, ms(at), id)
	return err
}

// Transition moves the incident to state inside tx. Moving to the state it is already in is
// a no-op that reports false; acknowledging a resolved incident is an ErrState.
func (s *Service) Transition(ctx context.Context, tx *store.Tx, id int64, to State, at time.Time, a Actor, data any) (Incident, bool, error) {
	inc, err := s.getTx(ctx, tx, id)
	if err != nil {
		return Incident{}, false, err
	}
	from := inc.State
	switch {
	case from == to:
		return inc, false, nil
	case from == Resolved:
		return inc, false, &ErrState{ID: id, State: from, Want: verb(to)}
	case to == Triggered:
		return inc, false, &ErrState{ID: id, State: from, Want: "re-trigger"}
	}
	t := ms(at)
	var typ string
	switch to {
	case Acknowledged:
		typ = EventAcknowledged
		_, err = tx.Exec(ctx, `UPDATE incidents SET state = ?, acknowledged_at = COALESCE(acknowledged_at, ?), updated_at = ? WHERE id = ?`, to, t, t, id)
		if inc.AcknowledgedAt == nil {
			v := fromMS(t)
			inc.AcknowledgedAt = &v
		}
	case Resolved:
		typ = EventResolved
		_, err = tx.Exec(ctx, `UPDATE incidents SET state = ?, resolved_at = ?, updated_at = ? WHERE id = ?`, to, t, t, id)
		v := fromMS(t)
		inc.ResolvedAt = &v
	default:
		return inc, false, fmt.Errorf("unknown incident state %q", to)
	}
	if err != nil {
		return inc, false, err
	}
	inc.State, inc.UpdatedAt = to, fromMS(t)
	if err := s.Append(ctx, tx, id, typ, at, a, data); err != nil {
		return inc, false, err
	}
	return inc, true, s.run(ctx, tx, Change{Incident: inc, From: from, Actor: a})
}

func verb(s State) string {
	switch s {
	case Acknowledged:
		return "acknowledge"
	case Resolved:
		return "resolve"
	}
	return string(s)
}

func (s *Service) run(ctx context.Context, tx *store.Tx, ch Change) error {
	for _, h := range s.hooks {
		if err := runHook(ctx, tx, h, ch); err != nil {
			return err
		}
	}
	return nil
}

// runHook turns a hook's panic into its error, which aborts the change like any other: a bug
// in one package's hook must not take down the alert pipeline every sender relies on.
func runHook(ctx context.Context, tx *store.Tx, h Hook, ch Change) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("incident %d: a hook panicked: %v", ch.Incident.ID, p)
		}
	}()
	return h(ctx, tx, ch)
}

// Retrigger moves an acknowledged incident back to triggered inside tx (a snooze ending), so
// that its escalation pages again; the hooks see a Change from acknowledged to triggered. It
// reports false, changing nothing, for an incident that is not acknowledged.
func (s *Service) Retrigger(ctx context.Context, tx *store.Tx, id int64, at time.Time, a Actor, data any) (Incident, bool, error) {
	inc, err := s.getTx(ctx, tx, id)
	if err != nil || inc.State != Acknowledged {
		return inc, false, err
	}
	t := ms(at)
	if _, err := tx.Exec(ctx, `UPDATE incidents SET state = ?, updated_at = ? WHERE id = ?`, Triggered, t, id); err != nil {
		return inc, false, err
	}
	inc.State, inc.UpdatedAt = Triggered, fromMS(t)
	if err := s.Append(ctx, tx, id, EventRetriggered, at, a, data); err != nil {
		return inc, false, err
	}
	return inc, true, s.run(ctx, tx, Change{Incident: inc, From: Acknowledged, Actor: a})
}

// Acknowledge acknowledges an incident on behalf of a person or token.
func (s *Service) Acknowledge(ctx context.Context, id int64, a Actor) (Incident, error) {
	return s.transition(ctx, id, Acknowledged, a)
}

// Resolve resolves an incident and, through the hooks, its alerts.
func (s *Service) Resolve(ctx context.Context, id int64, a Actor) (Incident, error) {
	return s.transition(ctx, id, Resolved, a)
}

func (s *Service) transition(ctx context.Context, id int64, to State, a Actor) (Incident, error) {
	var inc Incident
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		inc, _, err = s.Transition(ctx, tx, id, to, s.Now(), a, nil)
		return err
	})
	return inc, err
}

// AddNote appends a note to the timeline: some text, at most 64 KiB, trimmed.
func (s *Service) AddNote(ctx context.Context, id int64, text string, a Actor) (Event, error) {
	switch text = strings.TrimSpace(text); {
	case text == "":
		return Event{}, invalid.Field("text", "a note needs some text")
	case len(text) > maxNote:
		return Event{}, invalid.Field("text", "a note is at most 64 KiB")
	}
	ev := Event{IncidentID: id, Type: EventNote, Actor: a.Name, Source: a.Source}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		// Timed once the database is held, so the note follows what committed before it.
		now := s.Now()
		ev.At = now
		if _, err := s.getTx(ctx, tx, id); err != nil {
			return err
		}
		data := map[string]string{"text": text}
		ev.Data, _ = json.Marshal(data)
		if err := s.Append(ctx, tx, id, EventNote, now, a, data); err != nil {
			return err
		}
		return s.Touch(ctx, tx, id, now)
	})
	return ev, err
}

const incidentColumns = `id, service_id, state, severity, urgency, title, alert_count, created_at, updated_at, acknowledged_at, resolved_at,
	sev, impact_started_at, roles, declared_by, reached_nobody_at`

type scanner interface{ Scan(...any) error }

func scanIncident(r scanner) (Incident, error) {
	var inc Incident
	var created, updated int64
	var acked, resolved, impact, nobody sql.NullInt64
	var roles string
	err := r.Scan(&inc.ID, &inc.ServiceID, &inc.State, &inc.Severity, &inc.Urgency, &inc.Title, &inc.AlertCount,
		&created, &updated, &acked, &resolved, &inc.SEV, &impact, &roles, &inc.DeclaredBy, &nobody)
	if err != nil {
		return inc, err
	}
	if nobody.Valid {
		t := fromMS(nobody.Int64)
		inc.ReachedNobodyAt = &t
	}
	if impact.Valid {
		t := fromMS(impact.Int64)
		inc.ImpactStartedAt = &t
	}
	if roles != "" && roles != "{}" {
		if err := json.Unmarshal([]byte(roles), &inc.Roles); err != nil {
			return inc, fmt.Errorf("incident %d roles: %w", inc.ID, err)
		}
	}
	inc.CreatedAt, inc.UpdatedAt = fromMS(created), fromMS(updated)
	if acked.Valid {
		t := fromMS(acked.Int64)
		inc.AcknowledgedAt = &t
	}
	if resolved.Valid {
		t := fromMS(resolved.Int64)
		inc.ResolvedAt = &t
	}
	return inc, nil
}

func (s *Service) getTx(ctx context.Context, tx *store.Tx, id int64) (Incident, error) {
	return s.read(ctx, tx, id, "")
}

// read reads one incident inside tx; suffix ends the query (" FOR UPDATE" to lock its row).
func (s *Service) read(ctx context.Context, tx *store.Tx, id int64, suffix string) (Incident, error) {
	inc, err := scanIncident(tx.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`+suffix, id))
	if errors.Is(err, sql.ErrNoRows) {
		return inc, ErrNotFound
	}
	return inc, err
}

// GetTx reads one incident inside tx, so a decision taken on its state (page or not) commits
// only if that state still holds: on PostgreSQL the row is locked until tx ends, so a change
// committing meanwhile (an acknowledgement, a rise in urgency on another node) waits for the
// decision, or the decision reads the change. SQLite has one writer already.
func (s *Service) GetTx(ctx context.Context, tx *store.Tx, id int64) (Incident, error) {
	if tx.Dialect() != store.Postgres {
		return s.getTx(ctx, tx, id)
	}
	return s.read(ctx, tx, id, " FOR UPDATE")
}

// Get reads one incident.
func (s *Service) Get(ctx context.Context, id int64) (Incident, error) {
	inc, err := scanIncident(s.db.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return inc, ErrNotFound
	}
	return inc, err
}

// OpenFor returns the open incident of a service, for services that group all alerts into one.
// On PostgreSQL it first takes a transaction lock on the service's grouping, so that two nodes
// that both find no open incident cannot both open one; SQLite has a single writer anyway.
func (s *Service) OpenFor(ctx context.Context, tx *store.Tx, serviceID string) (Incident, bool, error) {
	if tx.Dialect() == store.Postgres {
		h := fnv.New64a()
		h.Write([]byte("nines/incident-group/" + serviceID))
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(h.Sum64())); err != nil {
			return Incident{}, false, fmt.Errorf("lock incident grouping of %s: %w", serviceID, err)
		}
	}
	inc, err := scanIncident(tx.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents
		WHERE service_id = ? AND state <> 'resolved' ORDER BY id LIMIT 1`, serviceID))
	if errors.Is(err, sql.ErrNoRows) {
		return inc, false, nil
	}
	return inc, err == nil, err
}

// Filter selects incidents for List.
type Filter struct {
	ServiceIDs []string // any of these; empty means all
	States     []State  // any of these; empty means all
	Severities []string // any of these alert severities (critical, warning...); empty means all
	// Text is words the title holds, in any case; empty means any title.
	Text   string
	Limit  int    // 1..1000, default 100
	Cursor string // from a previous page's NextCursor
}

// ErrCursor is returned for a cursor List did not hand out.
// It is input refused for the cursor parameter.
var ErrCursor = invalid.Field("cursor", "not a cursor from a previous page of this nines (it is signed; ask for the first page again)")

// cursorSecret signs the cursors List hands out, so that a cursor a client made up, or
// changed, is refused rather than read.
const cursorSecret = "cursor"

// List returns incidents newest first, a page at a time.
func (s *Service) List(ctx context.Context, f Filter) (incs []Incident, next string, err error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > 1000 {
		f.Limit = 1000
	}
	q := `SELECT ` + incidentColumns + ` FROM incidents WHERE 1 = 1`
	var args []any
	if f.Cursor != "" {
		raw, err := s.db.Verify(ctx, cursorSecret, f.Cursor)
		if errors.Is(err, store.ErrForged) {
			return nil, "", ErrCursor
		} else if err != nil {
			return nil, "", err
		}
		before, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return nil, "", ErrCursor
		}
		q += ` AND id < ?`
		args = append(args, before)
	}
	q, args = inClause(q, "service_id", f.ServiceIDs, args)
	states := make([]string, len(f.States))
	for i, st := range f.States {
		states[i] = string(st)
	}
	q, args = inClause(q, "state", states, args)
	q, args = inClause(q, "severity", f.Severities, args)
	for _, word := range strings.Fields(f.Text) {
		q += ` AND LOWER(title) LIKE ? ESCAPE '\'`
		args = append(args, "%"+likeEscaper.Replace(strings.ToLower(word))+"%")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit+1)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, "", err
		}
		incs = append(incs, inc)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(incs) > f.Limit {
		incs = incs[:f.Limit]
		if next, err = s.db.Sign(ctx, cursorSecret, []byte(strconv.FormatInt(incs[len(incs)-1].ID, 10))); err != nil {
			return nil, "", err
		}
	}
	return incs, next, nil
}

// likeEscaper makes a word match itself in a LIKE pattern, whatever characters it holds.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func inClause(q, col string, vals []string, args []any) (string, []any) {
	if len(vals) == 0 {
		return q, args
	}
	q += ` AND ` + col + ` IN (?`
	for range vals[1:] {
		q += `, ?`
	}
	q += `)`
	for _, v := range vals {
		args = append(args, v)
	}
	return q, args
}

// Timeline returns every event of an incident in the order it happened.
func (s *Service) Timeline(ctx context.Context, id int64) ([]Event, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT id, incident_id, at, type, actor, source, data FROM timeline WHERE incident_id = ? ORDER BY at, id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	events := []Event{}
	for rows.Next() {
		var e Event
		var at int64
		var data string
		if err := rows.Scan(&e.ID, &e.IncidentID, &at, &e.Type, &e.Actor, &e.Source, &data); err != nil {
			return nil, err
		}
		e.At, e.Data = fromMS(at), json.RawMessage(data)
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, h := range s.readHooks {
		if err := h(ctx, id, events); err != nil {
			return nil, err
		}
	}
	return events, nil
}

// OpenCounts returns the number of open incidents per service.
func (s *Service) OpenCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.Query(ctx, `SELECT service_id, COUNT(*) FROM incidents WHERE state <> 'resolved' GROUP BY service_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var svc string
		var n int
		if err := rows.Scan(&svc, &n); err != nil {
			return nil, err
		}
		out[svc] = n
	}
	return out, rows.Err()
}

func marshalData(data any) (string, error) {
	switch d := data.(type) {
	case nil:
		return "{}", nil
	case json.RawMessage:
		if len(d) == 0 {
			return "{}", nil
		}
		return string(d), nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return "", fmt.Errorf("timeline data: %w", err)
	}
	return string(b), nil
}

// truncate cuts s to at most n characters (not bytes: a title may hold a whole summary, and
// summaries are limited in characters).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// ms is how times are stored: UTC unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// Overlapping returns the incidents of the given services that were open at any time since
// since (still open, or resolved after it), oldest first: what status page uptime bars are
// drawn from.
func (s *Service) Overlapping(ctx context.Context, serviceIDs []string, since time.Time) ([]Incident, error) {
	if len(serviceIDs) == 0 {
		return nil, nil
	}
	q, args := inClause(`SELECT `+incidentColumns+` FROM incidents WHERE (resolved_at IS NULL OR resolved_at >= ?)`, "service_id", serviceIDs, []any{ms(since)})
	rows, err := s.db.Query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, rows.Err()
}
