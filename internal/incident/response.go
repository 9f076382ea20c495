package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/store"
)

// Timeline event types of incident response. Each is written in the transaction of the change
// it records.
const (
	EventDeclared     = "incident.declared"
	EventSEVChanged   = "incident.sev_changed"
	EventRoleAssigned = "role.assigned"
	EventImpactStart  = "impact.start_set"
	EventLink         = "link"
)

// DefaultSEV is the SEV level an alert severity starts an incident at when no mapping is set.
func DefaultSEV(alertSeverity string) string {
	switch alertSeverity {
	case Critical:
		return "SEV1"
	case Error:
		return "SEV2"
	case Warning:
		return "SEV3"
	case Info:
		return "SEV4"
	}
	return "SEV5"
}

func (s *Service) sevFor(severity string) string {
	if s.SEVFor != nil {
		return s.SEVFor(severity)
	}
	return DefaultSEV(severity)
}

// ValidSEV reports whether level is one of SEV1..SEV5.
func ValidSEV(level string) bool {
	return len(level) == 4 && strings.HasPrefix(level, "SEV") && level[3] >= '1' && level[3] <= '5'
}

// severityForSEV is the alert severity a declared incident is filed under, so lists and
// filters that speak PagerDuty severities still place it.
func severityForSEV(level string) string {
	switch level {
	case "SEV1":
		return Critical
	case "SEV2":
		return Error
	case "SEV3":
		return Warning
	}
	return Info
}

// AppendHook sees every timeline event inside the transaction that writes it (search indexing
// of notes). It must be cheap: it runs on the ingest path too.
type AppendHook func(ctx context.Context, tx *store.Tx, incidentID int64, typ string, at time.Time, data string) error

// OnAppend registers a hook run on every timeline append. Wiring happens once, at start-up.
func (s *Service) OnAppend(h AppendHook) { s.appendHooks = append(s.appendHooks, h) }

// DeclareParams describes an incident opened by hand.
type DeclareParams struct {
	ServiceID string
	Title     string
	SEV       string
	Summary   string
	// ImpactStartedAt, if set, back-dates when customers were first affected.
	ImpactStartedAt *time.Time
	Roles           map[string]string
	Actor           Actor
}

// Declare opens an incident by hand: a person saw a problem before (or without) an alert.
func (s *Service) Declare(ctx context.Context, p DeclareParams) (Incident, error) {
	if !ValidSEV(p.SEV) {
		return Incident{}, fmt.Errorf("sev %q: want SEV1..SEV5", p.SEV)
	}
	now := s.Now()
	var inc Incident
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		inc, err = s.Open(ctx, tx, OpenParams{ServiceID: p.ServiceID, Severity: severityForSEV(p.SEV), Title: p.Title,
			At: now, Actor: p.Actor, SEV: p.SEV, Data: map[string]any{"declared": true, "sev": p.SEV, "summary": p.Summary}})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE incidents SET declared_by = ? WHERE id = ?`, p.Actor.Name, inc.ID); err != nil {
			return err
		}
		inc.DeclaredBy = p.Actor.Name
		if err := s.Append(ctx, tx, inc.ID, EventDeclared, now, p.Actor, map[string]any{"sev": p.SEV, "title": inc.Title, "summary": p.Summary}); err != nil {
			return err
		}
		if p.ImpactStartedAt != nil {
			if err := s.setImpactStart(ctx, tx, &inc, *p.ImpactStartedAt, now, p.Actor); err != nil {
				return err
			}
		}
		for _, role := range sortedKeys(p.Roles) {
			if err := s.assignRole(ctx, tx, &inc, role, p.Roles[role], now, p.Actor); err != nil {
				return err
			}
		}
		return nil
	})
	return inc, err
}

// SetSEV changes the SEV level by hand; a later alert no longer moves it.
func (s *Service) SetSEV(ctx context.Context, id int64, level, reason string, a Actor) (Incident, error) {
	if !ValidSEV(level) {
		return Incident{}, fmt.Errorf("sev %q: want SEV1..SEV5", level)
	}
	return s.change(ctx, id, func(tx *store.Tx, inc *Incident, now time.Time) error {
		if inc.SEV == level {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE incidents SET sev = ?, sev_manual = 1, updated_at = ? WHERE id = ?`, level, ms(now), id); err != nil {
			return err
		}
		from := inc.SEV
		inc.SEV = level
		return s.Append(ctx, tx, id, EventSEVChanged, now, a, map[string]any{"from": from, "to": level, "reason": reason})
	})
}

// AssignRole gives a role to a person; an empty person frees the role.
func (s *Service) AssignRole(ctx context.Context, id int64, role, person string, a Actor) (Incident, error) {
	return s.change(ctx, id, func(tx *store.Tx, inc *Incident, now time.Time) error {
		return s.assignRole(ctx, tx, inc, role, person, now, a)
	})
}

func (s *Service) assignRole(ctx context.Context, tx *store.Tx, inc *Incident, role, person string, now time.Time, a Actor) error {
	prev := inc.Roles[role]
	if prev == person {
		return nil
	}
	roles := map[string]string{}
	for k, v := range inc.Roles {
		roles[k] = v
	}
	if person == "" {
		delete(roles, role)
	} else {
		roles[role] = person
	}
	raw, _ := json.Marshal(roles)
	if _, err := tx.Exec(ctx, `UPDATE incidents SET roles = ?, updated_at = ? WHERE id = ?`, string(raw), ms(now), inc.ID); err != nil {
		return err
	}
	inc.Roles = roles
	if len(roles) == 0 {
		inc.Roles = nil
	}
	return s.Append(ctx, tx, inc.ID, EventRoleAssigned, now, a, map[string]any{"role": role, "person": person, "previous": prev})
}

// SetImpactStart records when customers were first affected. It may be earlier than the
// incident (back-dated) but not in the future.
func (s *Service) SetImpactStart(ctx context.Context, id int64, at time.Time, a Actor) (Incident, error) {
	return s.change(ctx, id, func(tx *store.Tx, inc *Incident, now time.Time) error {
		return s.setImpactStart(ctx, tx, inc, at, now, a)
	})
}

// ErrImpactStart is returned for an impact start the incident cannot have.
type ErrImpactStart struct{ Msg string }

func (e *ErrImpactStart) Error() string { return e.Msg }

func (s *Service) setImpactStart(ctx context.Context, tx *store.Tx, inc *Incident, at, now time.Time, a Actor) error {
	at = at.UTC().Truncate(time.Millisecond)
	if at.After(now) {
		return &ErrImpactStart{Msg: fmt.Sprintf("impact_started_at %s is in the future", at.Format(time.RFC3339))}
	}
	if inc.ResolvedAt != nil && at.After(*inc.ResolvedAt) {
		return &ErrImpactStart{Msg: fmt.Sprintf("impact_started_at %s is after the incident was resolved", at.Format(time.RFC3339))}
	}
	if _, err := tx.Exec(ctx, `UPDATE incidents SET impact_started_at = ?, updated_at = ? WHERE id = ?`, ms(at), ms(now), inc.ID); err != nil {
		return err
	}
	data := map[string]any{"impact_started_at": at.Format(time.RFC3339Nano)}
	if inc.ImpactStartedAt != nil {
		data["previous"] = inc.ImpactStartedAt.Format(time.RFC3339Nano)
	}
	inc.ImpactStartedAt = &at
	return s.Append(ctx, tx, inc.ID, EventImpactStart, now, a, data)
}

// Link is a URL attached to an incident's timeline (a dashboard, a chat thread, a ticket).
type Link struct {
	URL   string    `json:"url"`
	Title string    `json:"title,omitempty"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
}

// AddLink appends a link to the timeline.
func (s *Service) AddLink(ctx context.Context, id int64, url, title string, a Actor) (Link, error) {
	l := Link{URL: url, Title: title, Actor: a.Name}
	_, err := s.change(ctx, id, func(tx *store.Tx, inc *Incident, now time.Time) error {
		l.At = now
		if _, err := tx.Exec(ctx, `UPDATE incidents SET updated_at = ? WHERE id = ?`, ms(now), id); err != nil {
			return err
		}
		return s.Append(ctx, tx, id, EventLink, now, a, map[string]string{"url": url, "title": title})
	})
	return l, err
}

// Links lists the links of an incident, oldest first.
func (s *Service) Links(ctx context.Context, id int64) ([]Link, error) {
	rows, err := s.db.Query(ctx, `SELECT at, actor, data FROM timeline WHERE incident_id = ? AND type = ? ORDER BY at, id`, id, EventLink)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Link{}
	for rows.Next() {
		var at int64
		var l Link
		var data string
		if err := rows.Scan(&at, &l.Actor, &data); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(data), &l)
		l.At = fromMS(at)
		out = append(out, l)
	}
	return out, rows.Err()
}

// change runs fn on the current incident inside one transaction.
func (s *Service) change(ctx context.Context, id int64, fn func(tx *store.Tx, inc *Incident, now time.Time) error) (Incident, error) {
	var inc Incident
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		// Roles are read, changed and written back: on PostgreSQL two nodes must not interleave.
		// (SQLite has one writer already.)
		if tx.Dialect() == store.Postgres {
			if _, err := tx.Exec(ctx, `SELECT id FROM incidents WHERE id = ? FOR UPDATE`, id); err != nil {
				return err
			}
		}
		var err error
		if inc, err = s.getTx(ctx, tx, id); err != nil {
			return err
		}
		return fn(tx, &inc, s.Now())
	})
	return inc, err
}

// OpenIDs lists the incidents of a service not yet resolved, inside tx.
func (s *Service) OpenIDs(ctx context.Context, tx *store.Tx, serviceID string) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM incidents WHERE service_id = ? AND state <> 'resolved' ORDER BY id`, serviceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Facts is what the incident metrics are computed from.
type Facts struct {
	Incident
	// FirstAlertAt is the first alert.triggered on the timeline; nil for an incident declared
	// by hand that no alert ever joined.
	FirstAlertAt *time.Time
}

// Range selects incidents created in [From, To) of some services (all when empty).
type Range struct {
	ServiceIDs []string
	From, To   time.Time
}

// FactsIn returns the facts of every incident created in the range, oldest first.
func (s *Service) FactsIn(ctx context.Context, r Range) ([]Facts, error) {
	q := `SELECT ` + prefixed("i.", incidentColumns) + `,
		(SELECT MIN(t.at) FROM timeline t WHERE t.incident_id = i.id AND t.type = 'alert.triggered')
		FROM incidents i WHERE i.created_at >= ? AND i.created_at < ?`
	args := []any{ms(r.From), ms(r.To)}
	q, args = inClause(q, "i.service_id", r.ServiceIDs, args)
	rows, err := s.db.Query(ctx, q+` ORDER BY i.created_at, i.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Facts{}
	for rows.Next() {
		var f Facts
		var first *int64
		inc, err := scanIncident(scanFunc(func(dest ...any) error { return rows.Scan(append(dest, &first)...) }))
		if err != nil {
			return nil, err
		}
		f.Incident = inc
		if first != nil {
			t := fromMS(*first)
			f.FirstAlertAt = &t
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

type scanFunc func(...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
