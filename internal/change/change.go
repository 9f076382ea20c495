// Package change records changes to services (deploys, config flips, feature flags) as the
// PagerDuty Change Events API and `nines deploy` send them, so responders see what changed
// before an incident, postmortems put deploys on the timeline, and DORA's four keys can be
// computed from deploys and the incidents that followed them.
package change

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
)

// Schema holds the changes table. Times are UTC unix milliseconds.
var Schema = store.Schema{Component: "change", Migrations: []string{`
CREATE TABLE changes (
	id {{id}},
	service_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	summary TEXT NOT NULL,
	source TEXT NOT NULL,
	at BIGINT NOT NULL,
	received_at BIGINT NOT NULL,
	version TEXT NOT NULL,
	commit_sha TEXT NOT NULL,
	commit_at BIGINT,
	actor TEXT NOT NULL,
	details TEXT NOT NULL,
	links TEXT NOT NULL
);
CREATE INDEX changes_service_at ON changes (service_id, at);
`}}

// Kinds of change. Only deploys count for DORA; any change shows on incidents.
const (
	KindDeploy = "deploy"
	KindChange = "change"
)

// EventChange is the timeline event a change leaves on the open incidents of its service.
const EventChange = "change"

// Change is one change to a service.
type Change struct {
	ID         int64           `json:"id"`
	ServiceID  string          `json:"service_id"`
	Kind       string          `json:"kind"`
	Summary    string          `json:"summary"`
	Source     string          `json:"source,omitempty"`
	At         time.Time       `json:"at"`
	ReceivedAt time.Time       `json:"received_at"`
	Version    string          `json:"version,omitempty"`
	Commit     string          `json:"commit,omitempty"`
	CommitAt   *time.Time      `json:"commit_at,omitempty"`
	Actor      string          `json:"actor"`
	Details    json.RawMessage `json:"custom_details,omitempty"`
	Links      []Link          `json:"links,omitempty"`
	// Warnings say what was left out of the change event as sent (a link that is not
	// http(s)); the answer carries them. They are not stored.
	Warnings []string `json:"-"`
}

// Link is a link sent with a change (the build, the pull request), read as alert events'
// links are.
type Link = alert.Link

// Store records and reads changes.
type Store struct {
	db        *store.DB
	incidents *incident.Service
	clock     clock.Clock
}

// New returns the change store.
func New(db *store.DB, incidents *incident.Service, c clock.Clock) *Store {
	return &Store{db: db, incidents: incidents, clock: c}
}

// Record stores a change and puts it on the timeline of every open incident of its service,
// in one transaction. A change without a time happened when it was received.
func (s *Store) Record(ctx context.Context, c Change, a incident.Actor) (Change, error) {
	now := s.clock.Now().Truncate(time.Millisecond)
	c.ReceivedAt, c.Actor = now, a.Name
	if c.At.IsZero() {
		c.At = now
	}
	c.At = c.At.UTC().Truncate(time.Millisecond)
	if c.Kind == "" {
		c.Kind = KindChange
	}
	details := "{}"
	if len(c.Details) > 0 {
		details = string(c.Details)
	}
	links, _ := json.Marshal(c.Links)
	if c.Links == nil {
		links = []byte("[]")
	}
	var commitAt *int64
	if c.CommitAt != nil {
		v := c.CommitAt.UTC().UnixMilli()
		commitAt = &v
		t := time.UnixMilli(v).UTC()
		c.CommitAt = &t
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		c.ID, err = tx.InsertID(ctx, `INSERT INTO changes (service_id, kind, summary, source, at, received_at, version, commit_sha, commit_at, actor, details, links)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, c.ServiceID, c.Kind, c.Summary, c.Source, c.At.UnixMilli(), now.UnixMilli(),
			c.Version, c.Commit, commitAt, c.Actor, details, string(links))
		if err != nil {
			return fmt.Errorf("record change: %w", err)
		}
		ids, err := s.incidents.OpenIDs(ctx, tx, c.ServiceID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.incidents.Append(ctx, tx, id, EventChange, c.At, a, timelineData(c)); err != nil {
				return err
			}
		}
		return nil
	})
	return c, err
}

func timelineData(c Change) map[string]any {
	d := map[string]any{"change_id": c.ID, "kind": c.Kind, "summary": c.Summary}
	if c.Version != "" {
		d["version"] = c.Version
	}
	if c.Commit != "" {
		d["commit"] = c.Commit
	}
	if c.Source != "" {
		d["source"] = c.Source
	}
	return d
}

// Query selects changes.
type Query struct {
	ServiceIDs []string // any of these; empty means all
	From, To   time.Time
	Kind       string // empty means every kind
	Limit      int    // default 500, at most 5000
}

// List returns the changes in [From, To), oldest first.
func (s *Store) List(ctx context.Context, q Query) ([]Change, error) {
	if q.Limit <= 0 {
		q.Limit = 500
	}
	if q.Limit > 5000 {
		q.Limit = 5000
	}
	sqlq := `SELECT ` + changeColumns + ` FROM changes WHERE at >= ? AND at < ?`
	args := []any{q.From.UnixMilli(), q.To.UnixMilli()}
	if q.Kind != "" {
		sqlq += ` AND kind = ?`
		args = append(args, q.Kind)
	}
	if len(q.ServiceIDs) > 0 {
		sqlq += ` AND service_id IN (?`
		for range q.ServiceIDs[1:] {
			sqlq += `, ?`
		}
		sqlq += `)`
		for _, id := range q.ServiceIDs {
			args = append(args, id)
		}
	}
	sqlq += ` ORDER BY at, id LIMIT ?`
	args = append(args, q.Limit)
	rows, err := s.db.Query(ctx, sqlq, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Change{}
	for rows.Next() {
		c, err := scanChange(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// changeColumns are the columns scanChange reads, in its order.
const changeColumns = `id, service_id, kind, summary, source, at, received_at, version, commit_sha, commit_at, actor, details, links`

// scanChange reads one row of changeColumns, so every read returns a change whole.
func scanChange(scan func(...any) error) (Change, error) {
	var c Change
	var at, recv int64
	var commitAt *int64
	var details, links string
	if err := scan(&c.ID, &c.ServiceID, &c.Kind, &c.Summary, &c.Source, &at, &recv, &c.Version, &c.Commit, &commitAt,
		&c.Actor, &details, &links); err != nil {
		return c, err
	}
	c.At, c.ReceivedAt = time.UnixMilli(at).UTC(), time.UnixMilli(recv).UTC()
	if commitAt != nil {
		t := time.UnixMilli(*commitAt).UTC()
		c.CommitAt = &t
	}
	if details != "{}" {
		c.Details = json.RawMessage(details)
	}
	json.Unmarshal([]byte(links), &c.Links)
	return c, nil
}

// Window is the span of an incident's changes: from lookback before its impact started (or
// it opened) to its resolution, or now while it is open.
func Window(inc incident.Incident, lookback time.Duration, now time.Time) (from, to time.Time) {
	start := inc.CreatedAt
	if inc.ImpactStartedAt != nil && inc.ImpactStartedAt.Before(start) {
		start = *inc.ImpactStartedAt
	}
	to = now.Add(time.Millisecond)
	if inc.ResolvedAt != nil {
		to = inc.ResolvedAt.Add(time.Millisecond)
	}
	return start.Add(-lookback), to
}

// ForIncident lists the changes of an incident's service in its window, oldest first.
func (s *Store) ForIncident(ctx context.Context, inc incident.Incident, lookback time.Duration) ([]Change, error) {
	from, to := Window(inc, lookback, s.clock.Now())
	return s.List(ctx, Query{ServiceIDs: []string{inc.ServiceID}, From: from, To: to})
}

// EventCause is the timeline event that names the change that caused an incident. DORA's change
// failure rate counts that change as failed, whatever deploy came last before the impact.
const EventCause = "change.cause"

// ErrNotFound is a change id that is not stored.
var ErrNotFound = errors.New("change not found")

// NameCause records on an incident's timeline that change id caused it; naming another later
// replaces it. A change id that is not stored is input refused for change_id.
func (s *Store) NameCause(ctx context.Context, incidentID, changeID int64, a incident.Actor) (Change, error) {
	cs, err := s.byID(ctx, changeID)
	if errors.Is(err, ErrNotFound) {
		return Change{}, invalid.Field("change_id", "no change %d", changeID)
	}
	if err != nil {
		return Change{}, err
	}
	if _, err := s.incidents.Get(ctx, incidentID); err != nil {
		return Change{}, err
	}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		return s.incidents.Append(ctx, tx, incidentID, EventCause, s.clock.Now().Truncate(time.Millisecond), a, timelineData(cs))
	})
	return cs, err
}

// CauseOf returns the change last named as the cause of an incident, if any.
func (s *Store) CauseOf(ctx context.Context, incidentID int64) (int64, bool, error) {
	events, err := s.incidents.Timeline(ctx, incidentID)
	if err != nil {
		return 0, false, err
	}
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Type != EventCause {
			continue
		}
		var d struct {
			ChangeID int64 `json:"change_id"`
		}
		if json.Unmarshal(events[i].Data, &d) == nil && d.ChangeID > 0 {
			return d.ChangeID, true, nil
		}
	}
	return 0, false, nil
}

// Get returns a stored change by id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (Change, error) { return s.byID(ctx, id) }

func (s *Store) byID(ctx context.Context, id int64) (Change, error) {
	c, err := scanChange(s.db.QueryRow(ctx, `SELECT `+changeColumns+` FROM changes WHERE id = ?`, id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	return c, err
}
