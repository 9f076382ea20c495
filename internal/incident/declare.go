package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	neturl "net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	severities "github.com/nines-dev/nines/internal/severity"
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

func (s *Service) sevFor(severity string) string {
	if s.rules.SEVFor != nil {
		return s.rules.SEVFor(severity)
	}
	return severities.LevelFor(severity)
}

// AppendHook sees every timeline event inside the transaction that writes it (search indexing
// of notes). It must be cheap: it runs on the ingest path too.
type AppendHook func(ctx context.Context, tx *store.Tx, incidentID int64, typ string, at time.Time, data string) error

// OnAppend registers a hook run on every timeline append. Wiring happens once, at start-up.
func (s *Service) OnAppend(h AppendHook) { s.appendHooks = append(s.appendHooks, h) }

// Directory is what the config in force declares, for the rules of declaring an incident and
// giving its roles (*config.Config answers it).
type Directory interface {
	// KnowsService reports whether id is a service of the config.
	KnowsService(id string) bool
	// KnowsUser reports whether id is a person of the config; while it lists none, anyone is.
	KnowsUser(id string) bool
	// RoleName is the display name of an incident role, "" for a role the config lacks;
	// RoleNames lists every role.
	RoleName(role string) string
	RoleNames() []string
}

// The limits of what people write on an incident.
const (
	maxTitle     = 1024     // characters
	maxSummary   = 64 << 10 // bytes
	maxNote      = 64 << 10 // bytes
	maxReason    = 4096     // characters
	maxPerson    = 128      // characters
	maxURL       = 2048     // characters
	maxLinkTitle = 256      // characters
)

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

// normalize trims what people typed, and gives an incident declared without a SEV level SEV3.
func (p *DeclareParams) normalize() {
	p.Title, p.Summary = strings.TrimSpace(p.Title), strings.TrimSpace(p.Summary)
	if p.SEV == "" {
		p.SEV = "SEV3"
	}
	for role, person := range p.Roles {
		p.Roles[role] = strings.TrimSpace(person)
	}
}

// Check names every problem of declaring p against the config d; Declare refuses p for them.
// The result is never nil: a caller may add problems of its own before it asks Err.
func (p DeclareParams) Check(d Directory) *invalid.Error {
	p.Roles = maps.Clone(p.Roles)
	p.normalize()
	bad := &invalid.Error{}
	if p.ServiceID == "" {
		bad.Add("service", "which service is affected? (a service id)")
	} else if !d.KnowsService(p.ServiceID) {
		bad.Add("service", "unknown service %q", p.ServiceID)
	}
	switch n := utf8.RuneCountInString(p.Title); {
	case n == 0:
		bad.Add("title", "say in a few words what is wrong")
	case n > maxTitle:
		bad.Add("title", "at most %d characters", maxTitle)
	}
	if len(p.Summary) > maxSummary {
		bad.Add("summary", "at most 64 KiB")
	}
	if !severities.ValidLevel(p.SEV) {
		bad.Add("sev", "%q is not SEV1, SEV2, SEV3, SEV4 or SEV5", p.SEV)
	}
	for _, role := range sortedKeys(p.Roles) {
		checkRole(d, role, p.Roles[role], bad)
	}
	return bad
}

// checkRole adds what is wrong with giving person the incident role, if anything.
func checkRole(d Directory, role, person string, bad *invalid.Error) {
	switch {
	case d.RoleName(role) == "":
		bad.Add("role", "%q is not a role; use one of %s", role, strings.Join(d.RoleNames(), ", "))
	case utf8.RuneCountInString(person) > maxPerson:
		bad.Add("person", "at most %d characters", maxPerson)
	case person != "" && !d.KnowsUser(person):
		bad.Add("person", "%q is not a user in the config", person)
	}
}

// Declare opens an incident by hand: a person saw a problem before (or without) an alert. It
// is paged like any incident of its service, at the service's urgency. It is refused, with
// every problem named, unless p passes Check against the config d. Without a commander,
// whoever escalation would page first commands it (Rules.OnCallFor).
func (s *Service) Declare(ctx context.Context, p DeclareParams, d Directory) (Incident, error) {
	if err := p.Check(d).Err(); err != nil {
		return Incident{}, err
	}
	p.normalize()
	now := s.Now()
	if p.Roles[config.RoleCommander] == "" && s.rules.OnCallFor != nil {
		people, err := s.rules.OnCallFor(ctx, p.ServiceID, now)
		if err != nil {
			return Incident{}, fmt.Errorf("who is on call for %s: %w", p.ServiceID, err)
		}
		if len(people) > 0 {
			roles := map[string]string{config.RoleCommander: people[0]}
			for k, v := range p.Roles {
				if v != "" {
					roles[k] = v
				}
			}
			p.Roles = roles
		}
	}
	var inc Incident
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		inc, err = s.Open(ctx, tx, OpenParams{ServiceID: p.ServiceID, Severity: severities.AlertFor(p.SEV), Title: p.Title,
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

// SetSEV changes the SEV level by hand. A later alert moves it again only by raising the
// incident's severity above what it was (see raise).
func (s *Service) SetSEV(ctx context.Context, id int64, level, reason string, a Actor) (Incident, error) {
	if !severities.ValidLevel(level) {
		return Incident{}, invalid.Field("sev", "%q is not SEV1, SEV2, SEV3, SEV4 or SEV5", level)
	}
	if utf8.RuneCountInString(reason) > maxReason {
		return Incident{}, invalid.Field("reason", "at most %d characters", maxReason)
	}
	reason = strings.TrimSpace(reason)
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

// AssignRole gives a role to a person; an empty person frees the role. The role and the person
// must be ones of the config d.
func (s *Service) AssignRole(ctx context.Context, id int64, role, person string, a Actor, d Directory) (Incident, error) {
	person = strings.TrimSpace(person)
	return s.change(ctx, id, func(tx *store.Tx, inc *Incident, now time.Time) error {
		bad := &invalid.Error{}
		if checkRole(d, role, person, bad); len(bad.Problems) > 0 {
			return bad
		}
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

func (s *Service) setImpactStart(ctx context.Context, tx *store.Tx, inc *Incident, at, now time.Time, a Actor) error {
	at = at.UTC().Truncate(time.Millisecond)
	if at.After(now) {
		return invalid.Field("", "impact_started_at %s is in the future", at.Format(time.RFC3339))
	}
	if inc.ResolvedAt != nil && at.After(*inc.ResolvedAt) {
		return invalid.Field("", "impact_started_at %s is after the incident was resolved", at.Format(time.RFC3339))
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
	url, title = strings.TrimSpace(url), strings.TrimSpace(title)
	if u, err := neturl.Parse(url); url == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(url) > maxURL {
		return Link{}, invalid.Field("url", "%q is not an absolute http(s) URL of at most %d characters", url, maxURL)
	}
	if utf8.RuneCountInString(title) > maxLinkTitle {
		return Link{}, invalid.Field("title", "at most %d characters", maxLinkTitle)
	}
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
