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
	"maps"
	"sort"
	"time"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/severity"
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
	// Labels select the alert for inhibit rules: Alertmanager's labels, or what an Events v2
	// event says of itself (custom_details, component, group, class, severity, source).
	Labels map[string]string
	// Warnings say what was left out of the event as sent (a link that is not http(s)); the
	// ingest route's answer carries them. They are not stored.
	Warnings []string

	// details and labels are Details and Labels as stored, made by Submit on the caller's
	// goroutine so the pipeline's does not spend its time on them.
	details, labels string
}

// validText makes the event's text what the store keeps (store.ValidText: a NUL byte or bytes
// that are not UTF-8 become U+FFFD) before anything reads it, so the key the pipeline holds in
// memory, the timeline and the incident's title say what is stored. The event is kept: a
// sender that gets a 4xx does not send it again (Alertmanager drops it), so an alert is never
// refused for a byte in its text.
func (ev *Event) validText() {
	for _, f := range []*string{&ev.DedupKey, &ev.Summary, &ev.Source, &ev.Severity, &ev.Component, &ev.Group, &ev.Class} {
		*f = store.ValidText(*f)
	}
	var labels map[string]string // a copy, made at the first change: the caller's map is its own
	for k, v := range ev.Labels {
		if vk, vv := store.ValidText(k), store.ValidText(v); vk != k || vv != v {
			if labels == nil {
				labels = maps.Clone(ev.Labels)
			}
			delete(labels, k)
			labels[vk] = vv
		}
	}
	if labels != nil {
		ev.Labels = labels
	}
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
	// Labels are what inhibit rules match (nines_service, the service id, included).
	Labels map[string]string `json:"labels"`
	// InhibitedBy is the open alert that keeps this one from paging anyone, if any.
	InhibitedBy *int64 `json:"inhibited_by,omitempty"`
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
	if ev.Action == Trigger {
		return p.trigger(ctx, tx, t, ev, at, actor)
	}
	open, found, err := p.findOpen(ctx, tx, t.ServiceID, ev.DedupKey)
	if err != nil {
		return res, err
	}
	switch ev.Action {
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
		p.forgetAfterCommit(tx, t.ServiceID, ev.DedupKey, open.ID)
		if err := p.incidents.Append(ctx, tx, open.IncidentID, EventResolved, at, actor, eventData(open.ID, ev)); err != nil {
			return res, err
		}
		if err := p.sourcesGone(ctx, tx, []int64{open.ID}, at, actor); err != nil {
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

// trigger counts a repeat of the open alert of the event's key, or opens a new alert.
func (p *Pipeline) trigger(ctx context.Context, tx *store.Tx, t Target, ev Event, at time.Time, actor incident.Actor) (Result, error) {
	res := Result{DedupKey: ev.DedupKey}
	k := openKey{t.ServiceID, ev.DedupKey}
	hint, held := p.keys.get(k)
	if held && !hint.unknown && !hint.inhibited && hint.burst.entry != 0 && at.Sub(hint.burst.last) <= burstGap {
		// The common case in a storm: a repeat within a burst this node knows is one UPDATE of
		// the alert's row, if that row is still the key's open alert and the burst still its.
		ok, err := p.countInBurst(ctx, tx, hint, k, ev, at)
		if err != nil {
			return res, err
		}
		if ok {
			res.Outcome, res.AlertID, res.IncidentID = Repeated, hint.id, hint.incident
			hint.burst.last = at
			if rank := severity.Rank(ev.Severity); rank > hint.incRank {
				// It may raise the incident: the incident service decides, and records it.
				if err := p.incidents.RaisedBy(ctx, tx, hint.incident, ev.Severity, at, actor); err != nil {
					return res, err
				}
				hint.incRank = rank
			}
			p.keys.set(k, hint)
			return res, nil
		}
		// Resolved meanwhile, or another node started the next burst: read the row.
	}
	if held || p.keys.mustLookUp() {
		open, found, err := p.findOpenBurst(ctx, tx, k)
		if err != nil {
			return res, err
		}
		if found {
			if !held || hint.id != open.ID {
				hint = openHint{}
			}
			return p.repeat(ctx, tx, k, hint.incRank, open, ev, at, actor)
		}
		p.keys.forget(k, hint.id)
	}
	res, err := p.open(ctx, tx, t, ev, at, actor)
	if store.IsUniqueViolation(err) {
		// Another node opened this key since this one last knew: the retry looks it up.
		p.keys.markUnknown(k)
	}
	return res, err
}

// countInBurst adds a trigger to the alert and burst of hint if that alert is still the open
// alert of the key and the burst its current one.
func (p *Pipeline) countInBurst(ctx context.Context, tx *store.Tx, hint openHint, k openKey, ev Event, at time.Time) (bool, error) {
	r, err := tx.Exec(ctx, `UPDATE alerts SET count = count + 1, burst_count = burst_count + 1, last_seen = ?, summary = ?, severity = ?,
		details = ?, labels = ? WHERE id = ? AND service_id = ? AND dedup_key = ? AND state <> 'resolved' AND burst_entry = ?`,
		at.UnixMilli(), ev.Summary, ev.Severity, ev.details, ev.labels, hint.id, k.service, k.key, hint.burst.entry)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

// openBurst is an open alert with its current burst of repeats, as the database holds them.
type openBurst struct {
	ID, IncidentID int64
	BurstEntry     int64 // 0 before the first repeat
	BurstCount     int
	LastSeen       time.Time
	InhibitedBy    *int64 // the alert an inhibit rule holds it under, if one does
}

// findOpenBurst reads the open alert of a key, locking it on PostgreSQL, where another node
// may be counting a repeat of it.
func (p *Pipeline) findOpenBurst(ctx context.Context, tx *store.Tx, k openKey) (openBurst, bool, error) {
	q := `SELECT id, incident_id, COALESCE(burst_entry, 0), burst_count, last_seen, inhibited_by FROM alerts WHERE service_id = ? AND dedup_key = ? AND state <> 'resolved'`
	if tx.Dialect() == store.Postgres {
		q += ` FOR UPDATE`
	}
	var a openBurst
	var last int64
	err := tx.QueryRow(ctx, q, k.service, k.key).Scan(&a.ID, &a.IncidentID, &a.BurstEntry, &a.BurstCount, &last, &a.InhibitedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	a.LastSeen = time.UnixMilli(last).UTC()
	return a, err == nil, err
}

// repeat counts a trigger against an open alert read from the database: in its current burst
// if the last repeat is recent, else in a new one, which gets its own alert.repeated entry on
// the timeline (the entry of the burst before then gets its final figures) and marks the
// incident updated. incRank is the incident's severity rank as known here.
func (p *Pipeline) repeat(ctx context.Context, tx *store.Tx, k openKey, incRank int, a openBurst, ev Event, at time.Time, actor incident.Actor) (Result, error) {
	res, err := p.countRepeat(ctx, tx, k, incRank, a, ev, at, actor)
	if err != nil || a.InhibitedBy == nil {
		return res, err
	}
	// An alert is judged by its current labels, as Alertmanager does: a repeat of an inhibited
	// alert may have changed what the rules see (its severity, its details).
	return res, p.relabelled(ctx, tx, k.service, openAlert{ID: a.ID, IncidentID: a.IncidentID, InhibitedBy: a.InhibitedBy}, ev, at, actor)
}

// countRepeat counts a repeat of a, read from the database, in its burst (see repeat).
func (p *Pipeline) countRepeat(ctx context.Context, tx *store.Tx, k openKey, incRank int, a openBurst, ev Event, at time.Time, actor incident.Actor) (Result, error) {
	res := Result{DedupKey: ev.DedupKey, Outcome: Repeated, AlertID: a.ID, IncidentID: a.IncidentID}
	h := openHint{id: a.ID, incident: a.IncidentID, incRank: incRank, inhibited: a.InhibitedBy != nil}
	rank := severity.Rank(ev.Severity)
	const update = `UPDATE alerts SET count = count + 1, last_seen = ?, summary = ?, severity = ?, details = ?, labels = ?, `
	if a.BurstEntry != 0 && at.Sub(a.LastSeen) <= burstGap {
		if _, err := tx.Exec(ctx, update+`burst_count = burst_count + 1 WHERE id = ?`,
			at.UnixMilli(), ev.Summary, ev.Severity, ev.details, ev.labels, a.ID); err != nil {
			return res, err
		}
		if rank > h.incRank {
			// In the burst: the incident is marked updated only if this raises it.
			if err := p.incidents.RaisedBy(ctx, tx, a.IncidentID, ev.Severity, at, actor); err != nil {
				return res, err
			}
			h.incRank = rank
		}
		h.burst = burst{entry: a.BurstEntry, last: at}
		p.keys.set(k, h)
		return res, nil
	}
	if a.BurstEntry != 0 {
		if err := p.incidents.Amend(ctx, tx, a.IncidentID, a.BurstEntry, repeatData(a.ID, ev.DedupKey, a.BurstCount, a.LastSeen)); err != nil {
			return res, err
		}
	}
	entry, err := p.incidents.AppendID(ctx, tx, a.IncidentID, EventRepeated, at, actor, repeatData(a.ID, ev.DedupKey, 1, at))
	if err != nil {
		return res, err
	}
	if _, err := tx.Exec(ctx, update+`burst_entry = ?, burst_count = 1 WHERE id = ?`,
		at.UnixMilli(), ev.Summary, ev.Severity, ev.details, ev.labels, entry, a.ID); err != nil {
		return res, err
	}
	if err := p.incidents.Repeated(ctx, tx, a.IncidentID, ev.Severity, at, actor); err != nil {
		return res, err
	}
	h.incRank = max(h.incRank, rank)
	h.burst = burst{entry: entry, last: at}
	p.keys.set(k, h)
	return res, nil
}

// completeBursts brings the alert.repeated entries of bursts still counting up to date from
// their alerts' rows, as the timeline is read.
func (p *Pipeline) completeBursts(ctx context.Context, incidentID int64, events []incident.Event) error {
	any := false
	for _, e := range events {
		any = any || e.Type == EventRepeated
	}
	if !any {
		return nil
	}
	rows, err := p.db.Query(ctx, `SELECT id, dedup_key, burst_entry, burst_count, last_seen FROM alerts
		WHERE incident_id = ? AND burst_entry IS NOT NULL`, incidentID)
	if err != nil {
		return err
	}
	defer rows.Close()
	current := map[int64]repeatRecord{}
	for rows.Next() {
		var id, entry, last int64
		var key string
		var n int
		if err := rows.Scan(&id, &key, &entry, &n, &last); err != nil {
			return err
		}
		current[entry] = repeatData(id, key, n, time.UnixMilli(last))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range events {
		if d, ok := current[events[i].ID]; ok && events[i].Type == EventRepeated {
			events[i].Data, _ = json.Marshal(d)
		}
	}
	return nil
}

// open opens a new alert for a trigger, on a new incident or (grouping by service) the
// service's open one.
func (p *Pipeline) open(ctx context.Context, tx *store.Tx, t Target, ev Event, at time.Time, actor incident.Actor) (Result, error) {
	res := Result{DedupKey: ev.DedupKey}
	src, inhibited, err := p.findInhibitor(ctx, tx, t.ServiceID, ev.Labels, 0)
	if err != nil {
		return res, err
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
			Data: openedData{DedupKey: ev.DedupKey, Summary: ev.Summary}, Inhibited: inhibited, Alerts: 1,
			Origin: incident.Origin{Integration: t.Integration, DedupKey: ev.DedupKey, Labels: ev.Labels},
		})
		if err != nil {
			return res, err
		}
	}
	var inhibitedBy *int64
	if inhibited {
		inhibitedBy = &src.ID
	}
	id, err := tx.InsertID(ctx, `INSERT INTO alerts (incident_id, service_id, dedup_key, state, severity, summary, source, integration,
		count, first_seen, last_seen, details, labels, inhibited_by) VALUES (?, ?, ?, 'triggered', ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)`,
		inc.ID, t.ServiceID, ev.DedupKey, ev.Severity, ev.Summary, ev.Source, t.Integration, at.UnixMilli(), at.UnixMilli(), ev.details,
		ev.labels, inhibitedBy)
	if err != nil {
		return res, err
	}
	res.Outcome, res.AlertID, res.IncidentID = Opened, id, inc.ID
	p.keys.set(openKey{t.ServiceID, ev.DedupKey}, openHint{id: id, incident: inc.ID, incRank: severity.Rank(ev.Severity), inhibited: inhibited})
	if err := p.incidents.Append(ctx, tx, inc.ID, EventTriggered, at, actor, eventData(id, ev)); err != nil {
		return res, err
	}
	if joined {
		// An incident opened for this alert counts it already.
		if err := p.incidents.AlertAdded(ctx, tx, inc.ID, ev.Severity, at, actor); err != nil {
			return res, err
		}
	}
	switch {
	case inhibited:
		return res, p.recordInhibited(ctx, tx, inc.ID, id, ev.DedupKey, src, !joined, at, actor)
	case joined:
		// An alert that is not inhibited joins an incident that may be waiting on inhibited ones.
		return res, p.release(ctx, tx, inc.ID, at, actor)
	}
	return res, nil
}

// forgetAfterCommit drops the hint of a resolved alert once its resolution has committed.
func (p *Pipeline) forgetAfterCommit(tx *store.Tx, serviceID, key string, id int64) {
	tx.AfterCommit(func() { p.keys.forget(openKey{serviceID, key}, id) })
}

type openAlert struct {
	ID, IncidentID int64
	State          string
	InhibitedBy    *int64 // read by repeat only
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

// onIncidentChange keeps alerts in step when a person acknowledges or resolves the incident,
// and records on the timeline, for each alert it moves, who did it and through what.
func (p *Pipeline) onIncidentChange(ctx context.Context, tx *store.Tx, ch incident.Change) error {
	at := ch.Incident.UpdatedAt
	var update, typ string
	var action Action
	switch ch.Incident.State {
	case incident.Acknowledged:
		update = `UPDATE alerts SET state = 'acknowledged', acknowledged_at = ? WHERE incident_id = ? AND state = 'triggered' RETURNING id, dedup_key`
		typ, action = EventAcknowledged, Acknowledge
	case incident.Resolved:
		// The incident's open alerts resolve with it; alerts they inhibited are then free to page.
		update = `UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE incident_id = ? AND state <> 'resolved' RETURNING id, dedup_key`
		typ, action = EventResolved, Resolve
	default:
		return nil
	}
	rows, err := tx.Query(ctx, update, at.UnixMilli(), ch.Incident.ID)
	if err != nil {
		return err
	}
	var moved []followRecord
	for rows.Next() {
		r := followRecord{Action: action, Reason: "incident " + string(ch.Incident.State)}
		if err := rows.Scan(&r.AlertID, &r.DedupKey); err != nil {
			rows.Close()
			return err
		}
		moved = append(moved, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	sort.Slice(moved, func(i, j int) bool { return moved[i].AlertID < moved[j].AlertID })
	for _, r := range moved {
		if err := p.incidents.Append(ctx, tx, ch.Incident.ID, typ, at, ch.Actor, r); err != nil {
			return err
		}
	}
	if action != Resolve {
		return nil
	}
	for _, r := range moved {
		p.forgetAfterCommit(tx, ch.Incident.ServiceID, r.DedupKey, r.AlertID)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM inhibited_incidents WHERE incident_id = ?`, ch.Incident.ID); err != nil {
		return err
	}
	resolved := make([]int64, len(moved))
	for i, r := range moved {
		resolved[i] = r.AlertID
	}
	return p.sourcesGone(ctx, tx, resolved, at, ch.Actor)
}

// followRecord is the timeline data of an alert moved with its incident.
type followRecord struct {
	Action   Action `json:"action"`
	AlertID  int64  `json:"alert_id"`
	DedupKey string `json:"dedup_key"`
	Reason   string `json:"reason"`
}

func labelsJSON(ls map[string]string) string {
	if len(ls) == 0 {
		return "{}"
	}
	names := make([]string, 0, len(ls))
	for k := range ls {
		names = append(names, k)
	}
	sort.Strings(names)
	b := make([]byte, 0, 32*len(ls))
	b = append(b, '{')
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, ls[k])
	}
	return string(append(b, '}'))
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

// repeatRecord is the timeline data of alert.repeated: one burst of repeats of an alert (the
// triggers after the first, none more than burstGap after the one before), the entry's time
// being its first, last_at its latest. The alert's row holds what its latest trigger said.
type repeatRecord struct {
	Action   Action `json:"action"`
	AlertID  int64  `json:"alert_id"`
	Count    int    `json:"count"`
	DedupKey string `json:"dedup_key"`
	LastAt   string `json:"last_at"`
}

func repeatData(alertID int64, key string, count int, last time.Time) repeatRecord {
	return repeatRecord{Action: Trigger, AlertID: alertID, Count: count, DedupKey: key, LastAt: last.UTC().Format(time.RFC3339Nano)}
}

func eventData(alertID int64, ev Event) eventRecord {
	d := eventRecord{Action: ev.Action, AlertID: alertID, DedupKey: ev.DedupKey, Severity: ev.Severity, Source: ev.Source, Summary: ev.Summary}
	if !ev.Timestamp.IsZero() {
		d.Timestamp = ev.Timestamp.UTC().Format(time.RFC3339Nano)
	}
	return d
}

// Lead is the alert a page about an incident shows: its oldest open alert, else its oldest.
// found is false for an incident without alerts (declared by hand). Only its id, source,
// integration and details are read.
func (p *Pipeline) Lead(ctx context.Context, incidentID int64) (lead Alert, found bool, err error) {
	for _, where := range []string{"incident_id = ? AND state <> 'resolved'", "incident_id = ?"} {
		var details string
		err := p.db.QueryRow(ctx, `SELECT id, source, integration, details FROM alerts WHERE `+where+` ORDER BY id LIMIT 1`, incidentID).
			Scan(&lead.ID, &lead.Source, &lead.Integration, &details)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return Alert{}, false, err
		}
		lead.IncidentID, lead.Details = incidentID, json.RawMessage(details)
		return lead, true, nil
	}
	return Alert{}, false, nil
}

// ForIncident lists the alerts of an incident, oldest first.
func (p *Pipeline) ForIncident(ctx context.Context, incidentID int64) ([]Alert, error) {
	rows, err := p.db.Query(ctx, `SELECT id, incident_id, service_id, dedup_key, state, severity, summary, source, integration, count,
		first_seen, last_seen, acknowledged_at, resolved_at, details, actionable, labels, inhibited_by FROM alerts WHERE incident_id = ? ORDER BY id`, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Alert{}
	for rows.Next() {
		var a Alert
		var first, last int64
		var acked, resolved sql.NullInt64
		var details, ls string
		var actionable *int64
		if err := rows.Scan(&a.ID, &a.IncidentID, &a.ServiceID, &a.DedupKey, &a.State, &a.Severity, &a.Summary, &a.Source, &a.Integration,
			&a.Count, &first, &last, &acked, &resolved, &details, &actionable, &ls, &a.InhibitedBy); err != nil {
			return nil, err
		}
		a.Labels = labelSet(a.ServiceID, ls)
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
