package alert

import (
	"context"
	"time"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
)

// EventActionable records a responder's verdict on whether an alert needed a human.
const EventActionable = "alert.actionable"

// MaxJudged is the most alerts judged actionable or not at once.
const MaxJudged = 1000

// MarkActionable records whether alerts of an incident were actionable (usually at resolve,
// when the responder knows): 1 to MaxJudged alerts, each of the incident, or nothing. Each
// verdict goes on the timeline in the same transaction.
func (p *Pipeline) MarkActionable(ctx context.Context, incidentID int64, alertIDs []int64, actionable bool, a incident.Actor) error {
	if len(alertIDs) == 0 || len(alertIDs) > MaxJudged {
		return invalid.Field("alert_ids", "list 1 to %d alert ids of this incident", MaxJudged)
	}
	now := p.clock.Now().Truncate(time.Millisecond)
	flag := 0
	if actionable {
		flag = 1
	}
	return p.db.Tx(ctx, func(tx *store.Tx) error {
		for _, id := range alertIDs {
			var key string
			var inc int64
			err := tx.QueryRow(ctx, `SELECT incident_id, dedup_key FROM alerts WHERE id = ?`, id).Scan(&inc, &key)
			if err != nil || inc != incidentID {
				return invalid.Field("alert_ids", "alert %d is not an alert of incident %d", id, incidentID)
			}
			if _, err := tx.Exec(ctx, `UPDATE alerts SET actionable = ? WHERE id = ?`, flag, id); err != nil {
				return err
			}
			if err := p.incidents.Append(ctx, tx, incidentID, EventActionable, now, a,
				map[string]any{"alert_id": id, "dedup_key": key, "actionable": actionable}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Fact is what alert quality reports are computed from.
type Fact struct {
	IncidentID int64
	ServiceID  string
	DedupKey   string
	Summary    string
	FirstSeen  time.Time
	Count      int   // triggers received, repeats included
	Actionable *bool // nil until a responder said
}

// FactsIn returns every alert first seen in [from, to) of some services (all when empty).
func (p *Pipeline) FactsIn(ctx context.Context, services []string, from, to time.Time) ([]Fact, error) {
	q := `SELECT incident_id, service_id, dedup_key, summary, first_seen, count, actionable
		FROM alerts WHERE first_seen >= ? AND first_seen < ?`
	args := []any{from.UnixMilli(), to.UnixMilli()}
	if len(services) > 0 {
		q += ` AND service_id IN (?`
		for range services[1:] {
			q += `, ?`
		}
		q += `)`
		for _, s := range services {
			args = append(args, s)
		}
	}
	rows, err := p.db.Query(ctx, q+` ORDER BY first_seen, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Fact{}
	for rows.Next() {
		var f Fact
		var first int64
		var actionable *int64
		if err := rows.Scan(&f.IncidentID, &f.ServiceID, &f.DedupKey, &f.Summary, &first, &f.Count, &actionable); err != nil {
			return nil, err
		}
		f.FirstSeen = time.UnixMilli(first).UTC()
		if actionable != nil {
			v := *actionable == 1
			f.Actionable = &v
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
