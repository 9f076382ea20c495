// Package incident owns incidents and their timelines. An incident groups the alerts of one
// problem and moves triggered -> acknowledged -> resolved; every change is appended to the
// timeline in the same transaction, so the timeline is the record MTTx, postmortems and the
// incident page are read from.
package incident

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/nines-dev/nines/internal/clock"
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

// Severities, highest first, as the PagerDuty Events API names them.
const (
	Critical = "critical"
	Error    = "error"
	Warning  = "warning"
	Info     = "info"
)

// SeverityRank orders severities: critical is 4, info is 1, anything else 0.
func SeverityRank(s string) int {
	switch s {
	case Critical:
		return 4
	case Error:
		return 3
	case Warning:
		return 2
	case Info:
		return 1
	}
	return 0
}

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
	EventTriggered    = "incident.triggered"
	EventAcknowledged = "incident.acknowledged"
	EventResolved     = "incident.resolved"
	EventNote         = "note"
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
	// SEVFor maps an alert severity to the SEV level a new incident starts at; nil uses
	// DefaultSEV. Set once, at start-up.
	SEVFor func(alertSeverity string) string
}

// New returns the incident service.
func New(db *store.DB, c clock.Clock) *Service { return &Service{db: db, clock: c} }

// OnChange registers a hook run on every state change. Wiring happens once, at start-up.
func (s *Service) OnChange(h Hook) { s.hooks = append(s.hooks, h) }

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
	Urgency   string
	Title     string
	At        time.Time
	Actor     Actor
	Data      any // recorded on the incident.triggered event
	// SEV, when set, is chosen by hand instead of derived from Severity.
	SEV string
}

// Open creates a triggered incident inside tx.
func (s *Service) Open(ctx context.Context, tx *store.Tx, p OpenParams) (Incident, error) {
	if p.Urgency == "" {
		p.Urgency = "high"
	}
	at := ms(p.At)
	sev, manual := p.SEV, 1
	if sev == "" {
		sev, manual = s.sevFor(p.Severity), 0
	}
	id, err := tx.InsertID(ctx, `INSERT INTO incidents (service_id, state, severity, urgency, title, alert_count, created_at, updated_at, sev, sev_manual)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`, p.ServiceID, Triggered, p.Severity, p.Urgency, truncate(p.Title, 1024), at, at, sev, manual)
	if err != nil {
		return Incident{}, fmt.Errorf("open incident: %w", err)
	}
	inc := Incident{ID: id, ServiceID: p.ServiceID, State: Triggered, Severity: p.Severity, Urgency: p.Urgency,
		Title: truncate(p.Title, 1024), CreatedAt: fromMS(at), UpdatedAt: fromMS(at), SEV: sev}
	if err := s.Append(ctx, tx, id, EventTriggered, p.At, p.Actor, p.Data); err != nil {
		return Incident{}, err
	}
	return inc, s.run(ctx, tx, Change{Incident: inc, Actor: p.Actor})
}

// Append writes one timeline event inside tx.
func (s *Service) Append(ctx context.Context, tx *store.Tx, incidentID int64, typ string, at time.Time, a Actor, data any) error {
	raw, err := marshalData(data)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO timeline (incident_id, at, type, actor, source, data) VALUES (?, ?, ?, ?, ?, ?)`,
		incidentID, ms(at), typ, a.Name, a.Source, raw)
	if err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	for _, h := range s.appendHooks {
		if err := h(ctx, tx, incidentID, typ, at, raw); err != nil {
			return err
		}
	}
	return nil
}

// AlertAdded counts a new alert on the incident and raises its severity if the alert's is higher.
func (s *Service) AlertAdded(ctx context.Context, tx *store.Tx, id int64, severity string, at time.Time) error {
	var cur string
	if err := tx.QueryRow(ctx, `SELECT severity FROM incidents WHERE id = ?`, id).Scan(&cur); err != nil {
		return err
	}
	if SeverityRank(severity) <= SeverityRank(cur) {
		severity = cur
	}
	// A SEV chosen by hand stays; one derived from the alerts follows them up.
	_, err := tx.Exec(ctx, `UPDATE incidents SET alert_count = alert_count + 1, severity = ?, updated_at = ?,
		sev = CASE WHEN sev_manual = 0 AND sev > ? THEN ? ELSE sev END WHERE id = ?`,
		severity, ms(at), s.sevFor(severity), s.sevFor(severity), id)
	return err
}

// Repeated marks the incident updated by a repeated alert and raises its severity to the
// alert's if that is higher, in one statement since repeats are most of what arrives.
func (s *Service) Repeated(ctx context.Context, tx *store.Tx, id int64, severity string, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE incidents SET updated_at = ?, severity = CASE WHEN ? > (CASE severity
		WHEN 'critical' THEN 4 WHEN 'error' THEN 3 WHEN 'warning' THEN 2 WHEN 'info' THEN 1 ELSE 0 END)
		THEN ? ELSE severity END WHERE id = ?`, ms(at), SeverityRank(severity), severity, id)
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

// AddNote appends a note to the timeline.
func (s *Service) AddNote(ctx context.Context, id int64, text string, a Actor) (Event, error) {
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
	sev, impact_started_at, roles, declared_by`

type scanner interface{ Scan(...any) error }

func scanIncident(r scanner) (Incident, error) {
	var inc Incident
	var created, updated int64
	var acked, resolved, impact sql.NullInt64
	var roles string
	err := r.Scan(&inc.ID, &inc.ServiceID, &inc.State, &inc.Severity, &inc.Urgency, &inc.Title, &inc.AlertCount,
		&created, &updated, &acked, &resolved, &inc.SEV, &impact, &roles, &inc.DeclaredBy)
	if err != nil {
		return inc, err
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
	inc, err := scanIncident(tx.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return inc, ErrNotFound
	}
	return inc, err
}

// GetTx reads one incident inside tx, so a decision taken on its state (page or not) commits
// only if that state still holds.
func (s *Service) GetTx(ctx context.Context, tx *store.Tx, id int64) (Incident, error) {
	return s.getTx(ctx, tx, id)
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
	Limit      int      // 1..1000, default 100
	Cursor     string   // from a previous page's NextCursor
}

// ErrCursor is returned for a cursor List did not hand out.
var ErrCursor = errors.New("cursor: not a cursor from a previous page")

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
		raw, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		if err != nil {
			return nil, "", ErrCursor
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
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(incs[len(incs)-1].ID, 10)))
	}
	return incs, next, nil
}

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
	return events, rows.Err()
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
