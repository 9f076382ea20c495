package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/labels"
	"github.com/nines-dev/nines/internal/store"
)

// Inhibition, with Alertmanager's semantics: an alert that matches the target side of an
// inhibit rule, opened while an alert matching the source side (with equal values for the
// rule's equal labels) is open, is recorded on its incident's timeline and pages nobody. An
// incident opened by such an alert waits (inhibited_incidents) until it has an alert that is
// not inhibited: its source resolves, or another alert joins. The decision is taken when an
// alert opens, again when its source resolves, and again when a repeat of an inhibited alert
// brings new labels (a warning raised to critical is released if the rule targets warnings
// only); an alert already paging is not silenced by a source that opens later.

// Timeline event types of inhibition.
const (
	EventInhibited   = "alert.inhibited"
	EventUninhibited = "alert.uninhibited"
)

// ServiceLabel is the label nines gives every alert: the id of its service.
const ServiceLabel = "nines_service"

// labelSet reads stored labels and adds the service's.
func labelSet(serviceID, stored string) labels.Set {
	s := labels.Set{}
	json.Unmarshal([]byte(stored), (*map[string]string)(&s))
	s[ServiceLabel] = serviceID
	return s
}

func withService(ls map[string]string, serviceID string) labels.Set {
	s := make(labels.Set, len(ls)+1)
	for k, v := range ls {
		s[k] = v
	}
	s[ServiceLabel] = serviceID
	return s
}

// inhibitor is the open alert that keeps another from paging, and the rule that says so.
type inhibitor struct {
	ID         int64  `json:"alert_id"`
	IncidentID int64  `json:"incident_id"`
	ServiceID  string `json:"service_id"`
	DedupKey   string `json:"dedup_key"`
	Summary    string `json:"summary"`
	rule       *config.InhibitRule
}

func (p *Pipeline) inhibitRules() []config.InhibitRule {
	if p.Config == nil {
		return nil
	}
	return p.Config.Get().InhibitRules
}

// findInhibitor returns an open alert that inhibits an alert of serviceID with labels ls, if
// any; self is the alert's own id (0 for one not yet written), which never inhibits itself.
func (p *Pipeline) findInhibitor(ctx context.Context, tx *store.Tx, serviceID string, ls map[string]string, self int64) (inhibitor, bool, error) {
	rules := p.inhibitRules()
	if len(rules) == 0 {
		return inhibitor{}, false, nil
	}
	target := withService(ls, serviceID)
	var applicable []*config.InhibitRule
	for i := range rules {
		if rules[i].Targets().Matches(target) {
			applicable = append(applicable, &rules[i])
		}
	}
	if len(applicable) == 0 {
		return inhibitor{}, false, nil
	}
	filter, args := sourceFilter(applicable)
	rows, err := tx.Query(ctx, `SELECT id, incident_id, service_id, dedup_key, summary, labels FROM alerts
		WHERE state <> 'resolved' AND id <> ?`+filter+` ORDER BY id`, append([]any{self}, args...)...)
	if err != nil {
		return inhibitor{}, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var src inhibitor
		var stored string
		if err := rows.Scan(&src.ID, &src.IncidentID, &src.ServiceID, &src.DedupKey, &src.Summary, &stored); err != nil {
			return inhibitor{}, false, err
		}
		source := labelSet(src.ServiceID, stored)
		for _, r := range applicable {
			if !r.Sources().Matches(source) || !labels.EqualOn(source, target, r.Equal) {
				continue
			}
			// An alert on both sides of a rule is not inhibited by another on both sides, so
			// that two such alerts do not keep each other quiet.
			if r.Sources().Matches(target) && r.Targets().Matches(source) {
				continue
			}
			src.rule = r
			return src, true, rows.Close()
		}
	}
	return inhibitor{}, false, rows.Err()
}

// sourceFilter narrows, in SQL, the open alerts that could be sources of the rules: a row must
// hold, for some rule, every equality its source matchers ask for (the service for
// nines_service; "name":"value" in the labels' JSON otherwise). It may let through rows that
// are no source (LIKE ignores case on SQLite); the matchers decide. A rule without such an
// equality leaves every open alert a candidate.
func sourceFilter(rules []*config.InhibitRule) (string, []any) {
	var ors []string
	var args []any
	for _, r := range rules {
		var ands []string
		for _, m := range r.Sources() {
			if m.Op != labels.Equal || m.Value == "" {
				continue
			}
			if m.Name == ServiceLabel {
				ands, args = append(ands, "service_id = ?"), append(args, m.Value)
				continue
			}
			name, _ := json.Marshal(m.Name)
			value, _ := json.Marshal(m.Value)
			ands, args = append(ands, `labels LIKE ? ESCAPE '\'`), append(args, "%"+likeEscaper.Replace(string(name)+":"+string(value))+"%")
		}
		if len(ands) == 0 {
			return "", nil
		}
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return " AND (" + strings.Join(ors, " OR ") + ")", args
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// inhibitedRecord is the timeline data of alert.inhibited.
type inhibitedRecord struct {
	AlertID  int64     `json:"alert_id"`
	DedupKey string    `json:"dedup_key"`
	Rule     string    `json:"rule"`
	Source   inhibitor `json:"source"`
	Text     string    `json:"text"`
}

// recordInhibited writes why an alert pages nobody; held says its incident was opened by it
// and waits to page.
func (p *Pipeline) recordInhibited(ctx context.Context, tx *store.Tx, incidentID, alertID int64, key string, src inhibitor, held bool, at time.Time, actor incident.Actor) error {
	if held {
		if _, err := tx.Exec(ctx, `INSERT INTO inhibited_incidents (incident_id, since) VALUES (?, ?) ON CONFLICT (incident_id) DO NOTHING`,
			incidentID, at.UnixMilli()); err != nil {
			return err
		}
	}
	return p.incidents.Append(ctx, tx, incidentID, EventInhibited, at, actor, inhibitedRecord{
		AlertID: alertID, DedupKey: key, Rule: src.rule.Label(), Source: src,
		Text: fmt.Sprintf("Inhibited by alert %q (%s, service %s, incident %d) under %s: this alert pages nobody while that one is open.",
			src.Summary, src.DedupKey, src.ServiceID, src.IncidentID, src.rule.Label()),
	})
}

// release starts paging for an incident that was waiting on inhibited alerts, if it was.
func (p *Pipeline) release(ctx context.Context, tx *store.Tx, incidentID int64, at time.Time, actor incident.Actor) error {
	r, err := tx.Exec(ctx, `DELETE FROM inhibited_incidents WHERE incident_id = ?`, incidentID)
	if err != nil {
		return err
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return err
	}
	_, err = p.incidents.Uninhibit(ctx, tx, incidentID, at, actor)
	return err
}

// relabelled looks again at an inhibited alert that a repeat has just given new labels (its
// severity, its details): an alert is judged by its current labels, as Alertmanager does. One
// that some open alert still inhibits stays quiet (under that source, if another); one that no
// rule's target matchers hold any more, or whose source no longer matches, is released and its
// incident, if it was waiting, pages now.
func (p *Pipeline) relabelled(ctx context.Context, tx *store.Tx, serviceID string, a openAlert, ev Event, at time.Time, actor incident.Actor) error {
	src, still, err := p.findInhibitor(ctx, tx, serviceID, ev.Labels, a.ID)
	if err != nil {
		return err
	}
	if still {
		if src.ID == *a.InhibitedBy {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE alerts SET inhibited_by = ? WHERE id = ?`, src.ID, a.ID); err != nil {
			return err
		}
		return p.recordInhibited(ctx, tx, a.IncidentID, a.ID, ev.DedupKey, src, false, at, actor)
	}
	if _, err := tx.Exec(ctx, `UPDATE alerts SET inhibited_by = NULL WHERE id = ?`, a.ID); err != nil {
		return err
	}
	if err := p.incidents.Append(ctx, tx, a.IncidentID, EventUninhibited, at, actor, map[string]any{
		"alert_id": a.ID, "dedup_key": ev.DedupKey, "source_alert_id": *a.InhibitedBy,
		"text": fmt.Sprintf("No longer inhibited: this alert came again with labels no inhibit rule holds against alert %d (severity %s). It pages as any other from now on.",
			*a.InhibitedBy, ev.Severity),
	}); err != nil {
		return err
	}
	return p.release(ctx, tx, a.IncidentID, at, actor)
}

// openAlertsOf lists the ids and dedup keys of an incident's open alerts.
func (p *Pipeline) openAlertsOf(ctx context.Context, tx *store.Tx, incidentID int64) ([]int64, []string, error) {
	rows, err := tx.Query(ctx, `SELECT id, dedup_key FROM alerts WHERE incident_id = ? AND state <> 'resolved'`, incidentID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var ids []int64
	var keys []string
	for rows.Next() {
		var id int64
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			return nil, nil, err
		}
		ids, keys = append(ids, id), append(keys, key)
	}
	return ids, keys, rows.Err()
}

// sourcesGone looks again at the open alerts the given (now resolved) alerts inhibited: one
// another open alert still inhibits stays quiet; any other is no longer inhibited, and its
// incident, if it was waiting, pages now.
func (p *Pipeline) sourcesGone(ctx context.Context, tx *store.Tx, resolved []int64, at time.Time, actor incident.Actor) error {
	for _, sourceID := range resolved {
		type target struct {
			id, incidentID int64
			serviceID, key string
			stored         string
		}
		rows, err := tx.Query(ctx, `SELECT id, incident_id, service_id, dedup_key, labels FROM alerts
			WHERE inhibited_by = ? AND state <> 'resolved' ORDER BY id`, sourceID)
		if err != nil {
			return err
		}
		var targets []target
		for rows.Next() {
			var t target
			if err := rows.Scan(&t.id, &t.incidentID, &t.serviceID, &t.key, &t.stored); err != nil {
				rows.Close()
				return err
			}
			targets = append(targets, t)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, t := range targets {
			var ls map[string]string
			json.Unmarshal([]byte(t.stored), &ls)
			src, still, err := p.findInhibitor(ctx, tx, t.serviceID, ls, t.id)
			if err != nil {
				return err
			}
			if still {
				if _, err := tx.Exec(ctx, `UPDATE alerts SET inhibited_by = ? WHERE id = ?`, src.ID, t.id); err != nil {
					return err
				}
				if err := p.recordInhibited(ctx, tx, t.incidentID, t.id, t.key, src, false, at, actor); err != nil {
					return err
				}
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE alerts SET inhibited_by = NULL WHERE id = ?`, t.id); err != nil {
				return err
			}
			if err := p.incidents.Append(ctx, tx, t.incidentID, EventUninhibited, at, actor, map[string]any{
				"alert_id": t.id, "dedup_key": t.key, "source_alert_id": sourceID,
				"text": fmt.Sprintf("No longer inhibited: alert %d, which inhibited this one, is resolved. This alert pages as any other from now on.", sourceID),
			}); err != nil {
				return err
			}
			if err := p.release(ctx, tx, t.incidentID, at, actor); err != nil {
				return err
			}
		}
	}
	return nil
}

// maxLabels bounds how many labels one event brings, whatever its custom_details hold.
const maxLabels = 64

// detailLabels turns the scalar members of a JSON object (custom_details, a generic webhook's
// details) into labels: strings as they are, numbers as written, true and false. Nested objects
// and lists are not labels.
func detailLabels(raw json.RawMessage, into map[string]string) {
	if isNull(raw) {
		return
	}
	members, ok := scanMembers(raw)
	if !ok && json.Unmarshal(raw, &members) != nil {
		return
	}
	for _, k := range sortedKeys(members) {
		if len(into) >= maxLabels {
			return
		}
		v := members[k]
		switch jsonKind(v) {
		case "string":
			into[k] = stringValue(v)
		case "number", "boolean":
			into[k] = string(v)
		}
	}
}

// setLabel sets a label the event's own fields give, over any detail of that name.
func setLabel(into map[string]string, name, value string) {
	if value != "" {
		into[name] = value
	}
}
