// Package statuspage runs public status pages: component status from monitors, public
// incidents, maintenance and overrides (every internal incident only when a page asks), with
// the reason shown; uptime bars per day of the page's zone, with no-data days and maintenance
// left out; public incidents with Statuspage's update states, corrections and retractions;
// announced maintenance; published postmortems; Statuspage-compatible JSON, an Atom feed, SVG
// badges and email subscriptions. Everything a page serves is rendered once per change and
// served from memory, so a page holds the traffic spike that an outage brings.
package statuspage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/maintenance"
	"github.com/nines-dev/nines/internal/probe"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// Status is a component's status, named as Statuspage names them.
type Status string

// Component statuses, best first.
const (
	Operational       Status = "operational"
	UnderMaintenance  Status = "under_maintenance"
	DegradedPerf      Status = "degraded_performance"
	PartialOutage     Status = "partial_outage"
	MajorOutage       Status = "major_outage"
	statusUnsetMarker Status = ""
)

// Rank orders statuses by how bad they are.
func (s Status) Rank() int {
	switch s {
	case UnderMaintenance:
		return 1
	case DegradedPerf:
		return 2
	case PartialOutage:
		return 3
	case MajorOutage:
		return 4
	}
	return 0
}

// Valid reports whether s names a component status.
func (s Status) Valid() bool {
	return s == Operational || s == UnderMaintenance || s == DegradedPerf || s == PartialOutage || s == MajorOutage
}

// Label is the status as a reader says it.
func (s Status) Label() string {
	switch s {
	case UnderMaintenance:
		return "Under maintenance"
	case DegradedPerf:
		return "Degraded performance"
	case PartialOutage:
		return "Partial outage"
	case MajorOutage:
		return "Major outage"
	}
	return "Operational"
}

// FromSeverity is the status an open incident of a given severity gives its service's
// components: critical -> major_outage, error -> partial_outage, warning ->
// degraded_performance, info (or unknown) -> operational.
func FromSeverity(sev string) Status {
	switch sev {
	case incident.Critical:
		return MajorOutage
	case incident.Error:
		return PartialOutage
	case incident.Warning:
		return DegradedPerf
	}
	return Operational
}

// impactOf is Statuspage's incident impact for a severity.
func impactOf(sev string) string {
	switch sev {
	case incident.Critical:
		return "critical"
	case incident.Error:
		return "major"
	case incident.Warning:
		return "minor"
	}
	return "none"
}

// Update states of a public incident, as Statuspage names them.
const (
	Investigating = "investigating"
	Identified    = "identified"
	Monitoring    = "monitoring"
	Resolved      = "resolved"
)

// ValidUpdateState reports whether s is an update state.
func ValidUpdateState(s string) bool {
	return s == Investigating || s == Identified || s == Monitoring || s == Resolved
}

// Schema holds overrides, public incidents and their updates, subscribers, and when each
// component first appeared on its page (its history starts there: before it, "no data").
// Rows of kind maintenance are notices written before maintenance windows announced
// themselves; they are still shown, and no new ones are written.
var Schema = store.Schema{Component: "statuspage", Migrations: []string{`
CREATE TABLE sp_overrides (
	page_id TEXT NOT NULL,
	component_id TEXT NOT NULL,
	status TEXT NOT NULL,
	set_by TEXT NOT NULL,
	set_at BIGINT NOT NULL,
	PRIMARY KEY (page_id, component_id)
);
CREATE TABLE sp_incidents (
	id {{id}},
	page_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	incident_id BIGINT,
	name TEXT NOT NULL,
	status TEXT NOT NULL,
	impact TEXT NOT NULL,
	components TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	monitoring_at BIGINT,
	resolved_at BIGINT,
	scheduled_for BIGINT,
	scheduled_until BIGINT
);
CREATE INDEX sp_incidents_page ON sp_incidents (page_id, updated_at);
CREATE INDEX sp_incidents_incident ON sp_incidents (incident_id);
CREATE TABLE sp_updates (
	id {{id}},
	sp_incident_id BIGINT NOT NULL REFERENCES sp_incidents (id),
	status TEXT NOT NULL,
	body TEXT NOT NULL,
	actor TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX sp_updates_incident ON sp_updates (sp_incident_id, id);
CREATE TABLE sp_subscribers (
	id {{id}},
	page_id TEXT NOT NULL,
	email TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	confirmed_at BIGINT,
	UNIQUE (page_id, email)
);
CREATE TABLE sp_deliveries (
	update_id BIGINT NOT NULL,
	subscriber_id BIGINT NOT NULL,
	sent_at BIGINT NOT NULL,
	PRIMARY KEY (update_id, subscriber_id)
);
`, `
CREATE TABLE sp_components (
	page_id TEXT NOT NULL,
	component_id TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (page_id, component_id)
);
ALTER TABLE sp_updates ADD COLUMN affected TEXT NOT NULL DEFAULT '';
ALTER TABLE sp_updates ADD COLUMN edited_at BIGINT;
ALTER TABLE sp_updates ADD COLUMN retracted_at BIGINT;
ALTER TABLE sp_incidents ADD COLUMN started_at BIGINT;
ALTER TABLE sp_subscribers ADD COLUMN first_update BIGINT NOT NULL DEFAULT 0;
`}}

// Service runs every status page of the config in force.
type Service struct {
	db        *store.DB
	clock     clock.Clock
	cfg       *config.Live
	incidents *incident.Service
	runner    *timers.Runner
	mailer    Mailer
	monitors  MonitorSource
	maint     MaintenanceSource
	log       *slog.Logger
	key       []byte // signs subscription links

	gen    atomic.Uint64 // bumped by every change; a snapshot of an older generation is stale
	mu     sync.Mutex
	caches map[string]*pageCache
	render *renderer
}

// Options wires a Service. Runner and Mailer may be nil: then subscribers get no mail.
type Options struct {
	DB        *store.DB
	Clock     clock.Clock
	Config    *config.Live
	Incidents *incident.Service
	Runner    *timers.Runner
	Mailer    Mailer
	Log       *slog.Logger
	// Monitors gives components linked to a monitor their status and bars; nil shows them
	// operational with no data.
	Monitors MonitorSource
	// Maintenance gives the windows that put components under maintenance, leave time out of
	// uptime, and are announced; nil means none.
	Maintenance MaintenanceSource
}

// MonitorSource is what status pages read of nines' own monitors; *probe.Monitors is one.
// Status pages register with OnChange to render again when a monitor changes.
type MonitorSource interface {
	View(id string) (probe.View, bool)
	Counts(ctx context.Context, id string, edges []time.Time) ([]probe.Count, error)
	OnChange(f func(monitorID string))
}

// MaintenanceSource is what status pages read of maintenance windows; *maintenance.Service is
// one.
type MaintenanceSource interface {
	Windows(ctx context.Context, since time.Time) ([]maintenance.Window, error)
	OnChange(f func(ctx context.Context))
}

// MaxAge bounds how long a rendered page is served without a change: uptime bars and
// maintenance windows move with the clock, not with events.
const MaxAge = 30 * time.Second

// New returns the status page service and hooks it to incident changes and config reloads.
func New(ctx context.Context, o Options) (*Service, error) {
	key, err := o.DB.Secret(ctx, "statuspage")
	if err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s := &Service{db: o.DB, clock: o.Clock, cfg: o.Config, incidents: o.Incidents, runner: o.Runner, mailer: o.Mailer,
		monitors: o.Monitors, maint: o.Maintenance, log: o.Log, key: key, caches: map[string]*pageCache{}, render: newRenderer()}
	o.Incidents.OnChange(func(ctx context.Context, tx *store.Tx, ch incident.Change) error {
		tx.AfterCommit(s.Invalidate)
		if ch.From == "" {
			// A new incident on a service the public sees: the first update falls due one
			// cadence from now.
			return s.armCadence(ctx, tx, ch.Incident.ServiceID, ch.Incident.ID, ch.Incident.CreatedAt)
		}
		return nil
	})
	o.Config.Subscribe(func(_, c *config.Config) {
		if err := s.syncComponents(context.Background(), c); err != nil {
			s.log.Error("recording new status page components", "err", err)
		}
		s.warnUnaddressed(c)
		s.Invalidate()
	})
	s.warnUnaddressed(o.Config.Get())
	if err := s.syncComponents(ctx, o.Config.Get()); err != nil {
		return nil, err
	}
	if o.Maintenance != nil {
		o.Maintenance.OnChange(func(context.Context) { s.Invalidate() })
	}
	if o.Monitors != nil {
		o.Monitors.OnChange(func(string) { s.Invalidate() })
	}
	if o.Runner != nil {
		o.Runner.Handle(notifyTimer, s.deliver)
		o.Runner.Handle(cadenceTimer, s.checkCadence)
	}
	return s, nil
}

// warnUnaddressed says, at start and at each reload, which pages take no subscription for want
// of an address to link their mail to.
func (s *Service) warnUnaddressed(c *config.Config) {
	if s.mailer == nil {
		return
	}
	for i := range c.StatusPages {
		if p := &c.StatusPages[i]; linkBase(c, p) == "" {
			s.log.Warn("status page subscriptions are off: set server.base_url (or the page's domain) so that mail can link back to the page",
				"page", p.ID)
		}
	}
}

// Invalidate marks every rendered page stale; the next request renders afresh.
func (s *Service) Invalidate() { s.gen.Add(1) }

// Page returns the page with id, or nil.
func (s *Service) Page(id string) *config.StatusPage { return s.cfg.Get().StatusPage(id) }

// PageForDomain returns the page served at a custom domain, or nil.
func (s *Service) PageForDomain(host string) *config.StatusPage {
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	pages := s.cfg.Get().StatusPages
	for i := range pages {
		if pages[i].Domain != "" && strings.EqualFold(pages[i].Domain, host) {
			return &pages[i]
		}
	}
	return nil
}

// PagesFor returns the pages that show a service.
func (s *Service) PagesFor(serviceID string) []*config.StatusPage {
	var out []*config.StatusPage
	cfg := s.cfg.Get()
	for i := range cfg.StatusPages {
		for _, c := range cfg.StatusPages[i].Components {
			if c.Service == serviceID {
				out = append(out, &cfg.StatusPages[i])
				break
			}
		}
	}
	return out
}

// ErrNotFound is returned for an unknown page, component or public incident.
var ErrNotFound = errors.New("not found")

// Override is a responder's word on a component's status, in force until cleared.
type Override struct {
	Status Status    `json:"status"`
	SetBy  string    `json:"set_by"`
	SetAt  time.Time `json:"set_at"`
}

// SetOverride pins a component's status; status "" clears the override so the status is
// derived again.
func (s *Service) SetOverride(ctx context.Context, pageID, componentID string, status Status, actor string) error {
	p := s.Page(pageID)
	if p == nil {
		return fmt.Errorf("status page %q: %w", pageID, ErrNotFound)
	}
	if !hasComponent(p, componentID) {
		return fmt.Errorf("component %q of status page %q: %w", componentID, pageID, ErrNotFound)
	}
	if status != statusUnsetMarker && !status.Valid() {
		return invalid.Field("", "status %q: want operational, degraded_performance, partial_outage, major_outage or under_maintenance", status)
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		tx.AfterCommit(s.Invalidate)
		if _, err := tx.Exec(ctx, `DELETE FROM sp_overrides WHERE page_id = ? AND component_id = ?`, pageID, componentID); err != nil {
			return err
		}
		if status == statusUnsetMarker {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO sp_overrides (page_id, component_id, status, set_by, set_at) VALUES (?, ?, ?, ?, ?)`,
			pageID, componentID, string(status), actor, s.clock.Now().UnixMilli())
		return err
	})
}

func hasComponent(p *config.StatusPage, id string) bool {
	for _, c := range p.Components {
		if c.ID == id {
			return true
		}
	}
	return false
}

func (s *Service) overrides(ctx context.Context, pageID string) (map[string]Override, error) {
	rows, err := s.db.Query(ctx, `SELECT component_id, status, set_by, set_at FROM sp_overrides WHERE page_id = ?`, pageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Override{}
	for rows.Next() {
		var id string
		var o Override
		var at int64
		if err := rows.Scan(&id, &o.Status, &o.SetBy, &at); err != nil {
			return nil, err
		}
		o.SetAt = fromMS(at)
		out[id] = o
	}
	return out, rows.Err()
}

// PublicIncident is an incident or a maintenance as the public sees it.
type PublicIncident struct {
	ID             int64      `json:"id"`
	PageID         string     `json:"page_id"`
	Kind           string     `json:"kind"` // "incident" or "maintenance"
	IncidentID     int64      `json:"incident_id,omitempty"`
	Name           string     `json:"name"`
	Status         string     `json:"status"`
	Impact         string     `json:"impact"`
	Components     []string   `json:"components"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	MonitoringAt   *time.Time `json:"monitoring_at,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	ScheduledFor   *time.Time `json:"scheduled_for,omitempty"`
	ScheduledUntil *time.Time `json:"scheduled_until,omitempty"`
	// StartedAt is when the impact started: the incident's impact start when known, else
	// when it was opened.
	StartedAt time.Time `json:"started_at"`
	Updates   []Update  `json:"updates"` // newest first
	// Ref names maintenance announced by a window ("maintenance-<window id>"); "" otherwise.
	Ref string `json:"ref,omitempty"`
}

// Key is the public incident's id in pages, JSON and feeds.
func (pi PublicIncident) Key() string {
	if pi.Ref != "" {
		return pi.Ref
	}
	return strconv.FormatInt(pi.ID, 10)
}

// Update is one public update of a public incident.
type Update struct {
	ID        int64      `json:"id"`
	Status    string     `json:"status"`
	Body      string     `json:"body"`
	Actor     string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	EditedAt  *time.Time `json:"edited_at,omitempty"`
	// Affected is each component's status before and after the update.
	Affected []Affected `json:"affected_components"`
}

// Affected is a component's status before and after an update.
type Affected struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	OldStatus Status `json:"old_status"`
	NewStatus Status `json:"new_status"`
}

// Kinds of public incident.
const (
	KindIncident    = "incident"
	KindMaintenance = "maintenance"
)

// EventStatusUpdate is the timeline event of a public update.
const EventStatusUpdate = "status.update"

// UpdateParams is a public update posted from an incident.
type UpdateParams struct {
	PageID     string
	IncidentID int64
	Status     string // investigating, identified, monitoring, resolved
	Body       string
	Name       string // public title; default: the incident's title (first update only)
	Actor      incident.Actor
}

// PostUpdate publishes an update about a nines incident on a page: it opens the page's public
// incident on the first update, records the update on the incident's timeline in the same
// transaction, and queues mail to the page's subscribers.
func (s *Service) PostUpdate(ctx context.Context, u UpdateParams) (PublicIncident, error) {
	p := s.Page(u.PageID)
	if p == nil {
		// The page is named in the input, not in a path: input refused, naming the field.
		return PublicIncident{}, invalid.Field("page", "status page %q: %v", u.PageID, ErrNotFound)
	}
	if !ValidUpdateState(u.Status) {
		return PublicIncident{}, invalid.Field("status", "%q: want investigating, identified, monitoring or resolved", u.Status)
	}
	u.Body, u.Name = strings.TrimSpace(u.Body), strings.TrimSpace(u.Name)
	if u.Body == "" {
		return PublicIncident{}, invalid.Field("body", "write what the public should know")
	}
	if len(u.Body) > 16<<10 || len(u.Name) > 256 {
		return PublicIncident{}, invalid.Field("", "body is at most 16 KiB and name at most 256 characters")
	}
	inc, err := s.incidents.Get(ctx, u.IncidentID)
	if err != nil {
		return PublicIncident{}, err
	}
	var comps []string
	for _, c := range p.Components {
		if c.Service == inc.ServiceID {
			comps = append(comps, c.ID)
		}
	}
	if len(comps) == 0 {
		return PublicIncident{}, invalid.Field("", "service %s is not on status page %s; only services on a page can be reported there", inc.ServiceID, p.ID)
	}
	before, err := s.view(ctx, p)
	if err != nil {
		return PublicIncident{}, err
	}
	now := s.clock.Now().Truncate(time.Millisecond)
	started := inc.CreatedAt
	if inc.ImpactStartedAt != nil {
		started = *inc.ImpactStartedAt
	}
	var pubID, updID int64
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		err := tx.QueryRow(ctx, `SELECT id FROM sp_incidents WHERE page_id = ? AND incident_id = ? AND kind = ? ORDER BY id DESC LIMIT 1`,
			p.ID, inc.ID, KindIncident).Scan(&pubID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			name := u.Name
			if name == "" {
				name = inc.Title
			}
			pubID, err = tx.InsertID(ctx, `INSERT INTO sp_incidents (page_id, kind, incident_id, name, status, impact, components, created_at, updated_at, started_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.ID, KindIncident, inc.ID, name, u.Status, impactOf(inc.Severity), strings.Join(comps, ","), now.UnixMilli(), now.UnixMilli(), started.UnixMilli())
			if err != nil {
				return err
			}
		case err != nil:
			return err
		}
		set := `UPDATE sp_incidents SET status = ?, updated_at = ?, started_at = ?`
		args := []any{u.Status, now.UnixMilli(), started.UnixMilli()}
		switch u.Status {
		case Monitoring:
			set += `, monitoring_at = COALESCE(monitoring_at, ?)`
			args = append(args, now.UnixMilli())
		case Resolved:
			set += `, resolved_at = ?`
			args = append(args, now.UnixMilli())
		default:
			set += `, resolved_at = NULL`
		}
		if _, err := tx.Exec(ctx, set+` WHERE id = ?`, append(args, pubID)...); err != nil {
			return err
		}
		updID, err = tx.InsertID(ctx, `INSERT INTO sp_updates (sp_incident_id, status, body, actor, created_at) VALUES (?, ?, ?, ?, ?)`,
			pubID, u.Status, u.Body, u.Actor.Name, now.UnixMilli())
		if err != nil {
			return err
		}
		if err := s.incidents.Append(ctx, tx, inc.ID, EventStatusUpdate, now, u.Actor, map[string]any{
			"page": p.ID, "status": u.Status, "body": u.Body, "public_incident": pubID}); err != nil {
			return err
		}
		if err := s.incidents.Touch(ctx, tx, inc.ID, now); err != nil {
			return err
		}
		if s.runner != nil && s.mailer != nil {
			if err := s.runner.Set(ctx, tx, notifyTimer, fmt.Sprint(updID), now, fmt.Sprint(updID)); err != nil {
				return err
			}
		}
		if err := s.armCadence(ctx, tx, inc.ServiceID, inc.ID, now); err != nil {
			return err
		}
		tx.AfterCommit(s.Invalidate)
		return nil
	})
	if err != nil {
		return PublicIncident{}, err
	}
	if err := s.recordAffected(ctx, p, before, comps, updID); err != nil {
		return PublicIncident{}, err
	}
	return s.PublicIncident(ctx, pubID)
}

// recordAffected writes, on an update just posted, each of its components' status before it
// (from before) and after it (the page as it is now), as Statuspage's affected_components.
func (s *Service) recordAffected(ctx context.Context, p *config.StatusPage, before *View, comps []string, updID int64) error {
	after, err := s.view(ctx, p)
	if err != nil {
		return err
	}
	var aff []Affected
	for _, id := range comps {
		a := Affected{Code: id, OldStatus: Operational, NewStatus: Operational}
		if c := before.component(id); c != nil {
			a.Name, a.OldStatus = c.Name, c.Status
		}
		if c := after.component(id); c != nil {
			a.Name, a.NewStatus = c.Name, c.Status
		}
		aff = append(aff, a)
	}
	raw, _ := json.Marshal(aff)
	_, err = s.db.Exec(ctx, `UPDATE sp_updates SET affected = ? WHERE id = ?`, string(raw), updID)
	return err
}

const publicColumns = `id, page_id, kind, incident_id, name, status, impact, components, created_at, updated_at, monitoring_at, resolved_at, scheduled_for, scheduled_until, started_at`

func scanPublic(r interface{ Scan(...any) error }) (PublicIncident, error) {
	var pi PublicIncident
	var incID, mon, res, from, until, started sql.NullInt64
	var comps string
	var created, updated int64
	if err := r.Scan(&pi.ID, &pi.PageID, &pi.Kind, &incID, &pi.Name, &pi.Status, &pi.Impact, &comps, &created, &updated, &mon, &res, &from, &until, &started); err != nil {
		return pi, err
	}
	pi.IncidentID, pi.CreatedAt, pi.UpdatedAt = incID.Int64, fromMS(created), fromMS(updated)
	pi.StartedAt = pi.CreatedAt
	if started.Valid {
		pi.StartedAt = fromMS(started.Int64)
	}
	pi.Components = strings.Split(comps, ",")
	pi.MonitoringAt, pi.ResolvedAt, pi.ScheduledFor, pi.ScheduledUntil = optTime(mon), optTime(res), optTime(from), optTime(until)
	pi.Updates = []Update{}
	return pi, nil
}

// PublicIncident reads one public incident with its updates.
func (s *Service) PublicIncident(ctx context.Context, id int64) (PublicIncident, error) {
	pi, err := scanPublic(s.db.QueryRow(ctx, `SELECT `+publicColumns+` FROM sp_incidents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return pi, fmt.Errorf("public incident %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return pi, err
	}
	list := []PublicIncident{pi}
	if err := s.loadUpdates(ctx, list); err != nil {
		return pi, err
	}
	return list[0], nil
}

// publicIncidents returns a page's public incidents and maintenance notices updated since
// since, or open then (the history of uptime bars), newest first.
func (s *Service) publicIncidents(ctx context.Context, pageID string, since time.Time) ([]PublicIncident, error) {
	rows, err := s.db.Query(ctx, `SELECT `+publicColumns+` FROM sp_incidents WHERE page_id = ?
		AND (updated_at >= ? OR resolved_at IS NULL OR resolved_at >= ? OR scheduled_until >= ?) ORDER BY updated_at DESC, id DESC LIMIT 1000`,
		pageID, since.UnixMilli(), since.UnixMilli(), since.UnixMilli())
	if err != nil {
		return nil, err
	}
	var out []PublicIncident
	for rows.Next() {
		pi, err := scanPublic(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, pi)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.loadUpdates(ctx, out)
}

func (s *Service) loadUpdates(ctx context.Context, list []PublicIncident) error {
	if len(list) == 0 {
		return nil
	}
	idx := map[int64]int{}
	q := `SELECT id, sp_incident_id, status, body, actor, created_at, affected, edited_at FROM sp_updates WHERE retracted_at IS NULL AND sp_incident_id IN (?`
	args := []any{list[0].ID}
	idx[list[0].ID] = 0
	for i, pi := range list[1:] {
		q += `, ?`
		args = append(args, pi.ID)
		idx[pi.ID] = i + 1
	}
	rows, err := s.db.Query(ctx, q+`) ORDER BY id DESC`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var u Update
		var pid, at int64
		var affected string
		var edited sql.NullInt64
		if err := rows.Scan(&u.ID, &pid, &u.Status, &u.Body, &u.Actor, &at, &affected, &edited); err != nil {
			return err
		}
		u.CreatedAt, u.EditedAt, u.Affected = fromMS(at), optTime(edited), []Affected{}
		if affected != "" {
			json.Unmarshal([]byte(affected), &u.Affected)
		}
		list[idx[pid]].Updates = append(list[idx[pid]].Updates, u)
	}
	return rows.Err()
}

// LastUpdate is when the last public update about an incident went out, per page.
type LastUpdate struct {
	Page    *config.StatusPage
	At      time.Time // zero when nothing was posted yet
	Status  string
	Overdue bool // open incident and the last update (or its start) is older than the cadence
	// Unresolved: the incident is resolved but the public still reads an open incident.
	Unresolved bool
}

// LastUpdates says, for each page showing the incident's service, when the public last heard
// about it and whether another update is due.
func (s *Service) LastUpdates(ctx context.Context, inc incident.Incident) ([]LastUpdate, error) {
	all, err := s.LastUpdatesOf(ctx, []incident.Incident{inc})
	return all[inc.ID], err
}

// LastUpdatesOf is LastUpdates for many incidents with one query, for incident lists.
func (s *Service) LastUpdatesOf(ctx context.Context, incs []incident.Incident) (map[int64][]LastUpdate, error) {
	out := map[int64][]LastUpdate{}
	type key struct {
		page string
		id   int64
	}
	type last struct {
		at     int64
		status string
	}
	latest := map[key]last{}
	var ids []any
	for _, inc := range incs {
		if len(s.PagesFor(inc.ServiceID)) > 0 {
			ids = append(ids, inc.ID)
		}
	}
	if len(ids) > 0 {
		q := `SELECT i.page_id, i.incident_id, u.created_at, u.status FROM sp_updates u JOIN sp_incidents i ON i.id = u.sp_incident_id
			WHERE u.retracted_at IS NULL AND u.status <> 'postmortem' AND i.incident_id IN (?` + strings.Repeat(", ?", len(ids)-1) + `) ORDER BY u.id`
		rows, err := s.db.Query(ctx, q, ids...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var k key
			var l last
			if err := rows.Scan(&k.page, &k.id, &l.at, &l.status); err != nil {
				return nil, err
			}
			latest[k] = l // rows come oldest first: the last one wins
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	now := s.clock.Now()
	for _, inc := range incs {
		for _, p := range s.PagesFor(inc.ServiceID) {
			lu := LastUpdate{Page: p}
			since := inc.CreatedAt
			l, posted := latest[key{p.ID, inc.ID}]
			if posted {
				lu.At, lu.Status = fromMS(l.at), l.status
				since = lu.At
			}
			lu.Overdue = inc.State != incident.Resolved && lu.Status != Resolved && now.Sub(since) >= p.Cadence()
			lu.Unresolved = inc.State == incident.Resolved && posted && lu.Status != Resolved
			out[inc.ID] = append(out[inc.ID], lu)
		}
	}
	return out, nil
}

func optTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func etagOf(b []byte) string {
	h := sha256.Sum256(b)
	return `"` + hex.EncodeToString(h[:8]) + `"`
}

// cadenceTimer checks, one cadence after an incident opened or was last reported, whether the
// public is owed an update; if so it says so on the timeline, where postmortems and MTTx
// reports find communication gaps, and checks again one cadence later.
const cadenceTimer = "statuspage.cadence"

// EventUpdateDue is the timeline event of a public update that is overdue.
const EventUpdateDue = "status.update_due"

// armCadence sets the incident's cadence check for the shortest cadence of the pages that show
// its service; services on no page have none.
func (s *Service) armCadence(ctx context.Context, tx *store.Tx, serviceID string, incidentID int64, from time.Time) error {
	if s.runner == nil {
		return nil
	}
	var cadence time.Duration
	for _, p := range s.PagesFor(serviceID) {
		if c := p.Cadence(); cadence == 0 || c < cadence {
			cadence = c
		}
	}
	if cadence == 0 {
		return nil
	}
	return s.runner.Set(ctx, tx, cadenceTimer, fmt.Sprint(incidentID), from.Add(cadence), fmt.Sprint(incidentID))
}

func (s *Service) checkCadence(ctx context.Context, t timers.Timer) error {
	id, err := strconv.ParseInt(t.Payload, 10, 64)
	if err != nil {
		return nil
	}
	inc, err := s.incidents.Get(ctx, id)
	if errors.Is(err, incident.ErrNotFound) || (err == nil && inc.State == incident.Resolved) {
		return nil
	}
	if err != nil {
		return err
	}
	lus, err := s.LastUpdates(ctx, inc)
	if err != nil {
		return err
	}
	now := s.clock.Now().Truncate(time.Millisecond)
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		for _, lu := range lus {
			if !lu.Overdue {
				continue
			}
			since := inc.CreatedAt
			if !lu.At.IsZero() {
				since = lu.At
			}
			err := s.incidents.Append(ctx, tx, inc.ID, EventUpdateDue, now, incident.Actor{Name: "nines", Source: "statuspage"},
				map[string]any{"page": lu.Page.ID, "since": since, "cadence": lu.Page.Cadence().String()})
			if err != nil {
				return err
			}
		}
		return s.armCadence(ctx, tx, inc.ServiceID, inc.ID, now)
	})
}
