// Package alert turns signals from outside (PagerDuty Events API v2, Alertmanager webhooks, a
// generic JSON webhook, nines' own monitors) into alerts, deduplicated by (service, dedup key),
// and opens, joins or resolves incidents through package incident.
package alert

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
)

// Action is what an event asks for.
type Action string

const (
	Trigger     Action = "trigger"
	Acknowledge Action = "acknowledge"
	Resolve     Action = "resolve"
)

// Event is a signal in nines' own terms, whatever format it came in.
type Event struct {
	Action    Action
	DedupKey  string
	Summary   string
	Source    string
	Severity  string
	Component string
	Group     string
	Class     string
	// Timestamp is when the sender says it happened; zero if it did not say.
	Timestamp time.Time
	// Details holds everything else the sender gave (custom_details, links, images, labels),
	// kept as a JSON object.
	Details json.RawMessage
}

// Target is the service an event is for, resolved from its integration key.
type Target struct {
	ServiceID   string
	Integration string // events_v2, alertmanager, generic, monitor, slo
	Grouping    string // "alert" or "service"
	Urgency     string // high or low
}

// Outcome says what an event did.
type Outcome string

const (
	Opened       Outcome = "opened"       // a new alert (and maybe a new incident)
	Repeated     Outcome = "repeated"     // a trigger for an alert already open
	Acknowledged Outcome = "acknowledged" // the open alert was acknowledged
	Resolved     Outcome = "resolved"     // the open alert was resolved
	Ignored      Outcome = "ignored"      // acknowledge/resolve with no open alert, or ack of an acked one
)

// Result is what happened to one event.
type Result struct {
	DedupKey   string  `json:"dedup_key"`
	Outcome    Outcome `json:"outcome"`
	AlertID    int64   `json:"alert_id,omitempty"`
	IncidentID int64   `json:"incident_id,omitempty"`
}

// Alert is one deduplicated signal.
type Alert struct {
	ID             int64           `json:"id"`
	IncidentID     int64           `json:"incident_id"`
	ServiceID      string          `json:"service_id"`
	DedupKey       string          `json:"dedup_key"`
	State          string          `json:"state"`
	Severity       string          `json:"severity"`
	Summary        string          `json:"summary"`
	Source         string          `json:"source"`
	Integration    string          `json:"integration"`
	Count          int             `json:"count"`
	FirstSeen      time.Time       `json:"first_seen"`
	LastSeen       time.Time       `json:"last_seen"`
	AcknowledgedAt *time.Time      `json:"acknowledged_at,omitempty"`
	ResolvedAt     *time.Time      `json:"resolved_at,omitempty"`
	Details        json.RawMessage `json:"details"`
	// Actionable is a responder's verdict, absent until given.
	Actionable *bool `json:"actionable,omitempty"`
}

// Timeline event types written by this package.
const (
	EventTriggered    = "alert.triggered"
	EventRepeated     = "alert.repeated"
	EventAcknowledged = "alert.acknowledged"
	EventResolved     = "alert.resolved"
)

// NewDedupKey makes a key for a trigger that came without one, as PagerDuty does.
func NewDedupKey() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// apply runs one event inside tx.
func (p *Pipeline) apply(ctx context.Context, tx *store.Tx, t Target, ev Event, now time.Time) (Result, error) {
	actor := incident.Actor{Name: "integration:" + t.Integration, Source: t.Integration}
	res := Result{DedupKey: ev.DedupKey, Outcome: Ignored}
	at := now
	var open openAlert
	var found bool
	var err error
	if ev.Action == Trigger {
		// A repeat is the common trigger: count it in the statement that finds the open alert.
		open, found, err = p.repeatOpen(ctx, tx, t.ServiceID, ev, at)
	} else {
		open, found, err = p.findOpen(ctx, tx, t.ServiceID, ev.DedupKey)
	}
	if err != nil {
		return res, err
	}
	switch ev.Action {
	case Trigger:
		if found {
			res.Outcome, res.AlertID, res.IncidentID = Repeated, open.ID, open.IncidentID
			if err := p.incidents.Append(ctx, tx, open.IncidentID, EventRepeated, at, actor, eventData(open.ID, ev)); err != nil {
				return res, err
			}
			return res, p.incidents.Repeated(ctx, tx, open.IncidentID, ev.Severity, at)
		}
		var inc incident.Incident
		joined := false
		if t.Grouping == "service" {
			inc, joined, err = p.incidents.OpenFor(ctx, tx, t.ServiceID)
			if err != nil {
				return res, err
			}
		}
		if !joined {
			inc, err = p.incidents.Open(ctx, tx, incident.OpenParams{
				ServiceID: t.ServiceID, Severity: ev.Severity, Urgency: t.Urgency, Title: ev.Summary, At: at, Actor: actor,
				Data: openedData{DedupKey: ev.DedupKey, Summary: ev.Summary},
			})
			if err != nil {
				return res, err
			}
		}
		id, err := tx.InsertID(ctx, `INSERT INTO alerts (incident_id, service_id, dedup_key, state, severity, summary, source, integration,
			count, first_seen, last_seen, details) VALUES (?, ?, ?, 'triggered', ?, ?, ?, ?, 1, ?, ?, ?)`,
			inc.ID, t.ServiceID, ev.DedupKey, ev.Severity, ev.Summary, ev.Source, t.Integration, at.UnixMilli(), at.UnixMilli(), detailsJSON(ev))
		if err != nil {
			return res, err
		}
		res.Outcome, res.AlertID, res.IncidentID = Opened, id, inc.ID
		if err := p.incidents.Append(ctx, tx, inc.ID, EventTriggered, at, actor, eventData(id, ev)); err != nil {
			return res, err
		}
		return res, p.incidents.AlertAdded(ctx, tx, inc.ID, ev.Severity, at)

	case Acknowledge:
		if !found || open.State != "triggered" {
			if found {
				res.AlertID, res.IncidentID = open.ID, open.IncidentID
			}
			return res, nil
		}
		res.Outcome, res.AlertID, res.IncidentID = Acknowledged, open.ID, open.IncidentID
		if _, err := tx.Exec(ctx, `UPDATE alerts SET state = 'acknowledged', acknowledged_at = ? WHERE id = ?`, at.UnixMilli(), open.ID); err != nil {
			return res, err
		}
		if err := p.incidents.Append(ctx, tx, open.IncidentID, EventAcknowledged, at, actor, eventData(open.ID, ev)); err != nil {
			return res, err
		}
		_, _, err := p.incidents.Transition(ctx, tx, open.IncidentID, incident.Acknowledged, at, actor, map[string]any{"dedup_key": ev.DedupKey})
		return res, err

	case Resolve:
		if !found {
			return res, nil
		}
		res.Outcome, res.AlertID, res.IncidentID = Resolved, open.ID, open.IncidentID
		if _, err := tx.Exec(ctx, `UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE id = ?`, at.UnixMilli(), open.ID); err != nil {
			return res, err
		}
		if err := p.incidents.Append(ctx, tx, open.IncidentID, EventResolved, at, actor, eventData(open.ID, ev)); err != nil {
			return res, err
		}
		var stillOpen int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM alerts WHERE incident_id = ? AND state <> 'resolved'`, open.IncidentID).Scan(&stillOpen); err != nil {
			return res, err
		}
		if stillOpen == 0 {
			_, _, err := p.incidents.Transition(ctx, tx, open.IncidentID, incident.Resolved, at, actor, map[string]any{"dedup_key": ev.DedupKey, "reason": "all alerts resolved"})
			var es *incident.ErrState
			if errors.As(err, &es) {
				err = nil // already resolved by hand
			}
			return res, err
		}
		return res, p.incidents.Touch(ctx, tx, open.IncidentID, at)
	}
	return res, fmt.Errorf("unknown event action %q", ev.Action)
}

type openAlert struct {
	ID, IncidentID int64
	State          string
}

// repeatOpen counts a trigger against the open alert of its key, if there is one, and returns it.
func (p *Pipeline) repeatOpen(ctx context.Context, tx *store.Tx, serviceID string, ev Event, at time.Time) (openAlert, bool, error) {
	var a openAlert
	err := tx.QueryRow(ctx, `UPDATE alerts SET count = count + 1, last_seen = ?, summary = ?, severity = ?, details = ?
		WHERE service_id = ? AND dedup_key = ? AND state <> 'resolved' RETURNING id, incident_id, state`,
		at.UnixMilli(), ev.Summary, ev.Severity, detailsJSON(ev), serviceID, ev.DedupKey).Scan(&a.ID, &a.IncidentID, &a.State)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	return a, err == nil, err
}

func (p *Pipeline) findOpen(ctx context.Context, tx *store.Tx, serviceID, key string) (openAlert, bool, error) {
	q := `SELECT id, incident_id, state FROM alerts WHERE service_id = ? AND dedup_key = ? AND state <> 'resolved'`
	if tx.Dialect() == store.Postgres {
		q += ` FOR UPDATE`
	}
	var a openAlert
	err := tx.QueryRow(ctx, q, serviceID, key).Scan(&a.ID, &a.IncidentID, &a.State)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	return a, err == nil, err
}

// onIncidentChange keeps alerts in step when a person acknowledges or resolves the incident.
func (p *Pipeline) onIncidentChange(ctx context.Context, tx *store.Tx, ch incident.Change) error {
	at := ch.Incident.UpdatedAt.UnixMilli()
	switch ch.Incident.State {
	case incident.Acknowledged:
		_, err := tx.Exec(ctx, `UPDATE alerts SET state = 'acknowledged', acknowledged_at = ? WHERE incident_id = ? AND state = 'triggered'`, at, ch.Incident.ID)
		return err
	case incident.Resolved:
		_, err := tx.Exec(ctx, `UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE incident_id = ? AND state <> 'resolved'`, at, ch.Incident.ID)
		return err
	}
	return nil
}

func detailsJSON(ev Event) string {
	if len(ev.Details) == 0 {
		return "{}"
	}
	return string(ev.Details)
}

// eventRecord is the timeline data of an alert event. Its fields are in name order, so it
// reads as the map it replaced did; a struct spares a map and its sorting on every event.
type eventRecord struct {
	Action    Action `json:"action"`
	AlertID   int64  `json:"alert_id"`
	DedupKey  string `json:"dedup_key"`
	Severity  string `json:"severity,omitempty"`
	Source    string `json:"source,omitempty"`
	Summary   string `json:"summary,omitempty"`
	Timestamp string `json:"timestamp,omitempty"`
}

// openedData is the timeline data of an incident opened by an alert.
type openedData struct {
	DedupKey string `json:"dedup_key"`
	Summary  string `json:"summary"`
}

func eventData(alertID int64, ev Event) eventRecord {
	d := eventRecord{Action: ev.Action, AlertID: alertID, DedupKey: ev.DedupKey, Severity: ev.Severity, Source: ev.Source, Summary: ev.Summary}
	if !ev.Timestamp.IsZero() {
		d.Timestamp = ev.Timestamp.UTC().Format(time.RFC3339Nano)
	}
	return d
}

// ForIncident lists the alerts of an incident, oldest first.
func (p *Pipeline) ForIncident(ctx context.Context, incidentID int64) ([]Alert, error) {
	rows, err := p.db.Query(ctx, `SELECT id, incident_id, service_id, dedup_key, state, severity, summary, source, integration, count,
		first_seen, last_seen, acknowledged_at, resolved_at, details, actionable FROM alerts WHERE incident_id = ? ORDER BY id`, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Alert{}
	for rows.Next() {
		var a Alert
		var first, last int64
		var acked, resolved sql.NullInt64
		var details string
		var actionable *int64
		if err := rows.Scan(&a.ID, &a.IncidentID, &a.ServiceID, &a.DedupKey, &a.State, &a.Severity, &a.Summary, &a.Source, &a.Integration,
			&a.Count, &first, &last, &acked, &resolved, &details, &actionable); err != nil {
			return nil, err
		}
		if actionable != nil {
			v := *actionable == 1
			a.Actionable = &v
		}
		a.FirstSeen, a.LastSeen = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
		if acked.Valid {
			t := time.UnixMilli(acked.Int64).UTC()
			a.AcknowledgedAt = &t
		}
		if resolved.Valid {
			t := time.UnixMilli(resolved.Int64).UTC()
			a.ResolvedAt = &t
		}
		a.Details = json.RawMessage(details)
		out = append(out, a)
	}
	return out, rows.Err()
}
