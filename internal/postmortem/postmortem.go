// Package postmortem turns an incident's timeline into a postmortem (summary, impact, timeline,
// root cause, questions, what went well, action items), keeps S.T.A.R. action items with
// business-day due dates and reminders, and indexes incidents, notes and postmortems for
// full-text search and "similar past incidents".
package postmortem

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
)

// SLOImpact tells, for each SLO of a service, how much of its error budget an incident's impact
// window [from, to) consumed and whether its SLA was breached. The SLO package provides it; for
// a service without SLOs, the impact says "not measured".
type SLOImpact interface {
	Impact(ctx context.Context, serviceID string, from, to time.Time) ([]SLOFigures, error)
}

// SLOFigures is the SLO side of an incident's impact, for one SLO.
type SLOFigures struct {
	SLO string `json:"slo"`
	// BudgetConsumed is the share of the SLO window's error budget the incident used (0.25 is
	// a quarter).
	BudgetConsumed float64 `json:"budget_consumed"`
	// DowntimeSeconds, when the SLI can tell, is how long the service was actually down.
	DowntimeSeconds *int64 `json:"downtime_seconds,omitempty"`
	// SLA names the SLA and the period it was judged over; empty when the SLO declares none.
	SLA         string `json:"sla,omitempty"`
	SLABreached *bool  `json:"sla_breached,omitempty"`
}

// Doc is the part of a postmortem people write; the rest is read from the incident.
type Doc struct {
	Status              string   `json:"status"` // draft or final
	Summary             string   `json:"summary"`
	Affected            string   `json:"affected"`
	RootCause           string   `json:"root_cause"`
	ContributingFactors string   `json:"contributing_factors"`
	Questions           []string `json:"questions"`
	WentWell            []string `json:"what_went_well"`
	CustomerSummary     string   `json:"customer_summary"`
	// CustomerTitle names the incident on status pages where the public never heard of it
	// (where it did, the report keeps the name its public updates used there).
	CustomerTitle string `json:"customer_title,omitempty"`
	// The rest of the public report, in words for customers: what happened, and what is
	// being done so it does not happen again.
	CustomerWhatHappened string `json:"customer_what_happened,omitempty"`
	CustomerPrevention   string `json:"customer_prevention,omitempty"`
}

// Postmortem is the whole document as rendered.
type Postmortem struct {
	IncidentID  int64           `json:"incident_id"`
	Title       string          `json:"title"`
	Status      string          `json:"status"`
	ServiceID   string          `json:"service_id"`
	ServiceName string          `json:"service_name"`
	Team        string          `json:"team,omitempty"`
	SEV         string          `json:"sev"`
	SEVName     string          `json:"sev_name"`
	Roles       []Role          `json:"roles"`
	Summary     string          `json:"summary"`
	Impact      Impact          `json:"impact"`
	Timeline    []Entry         `json:"timeline"`
	RootCause   string          `json:"root_cause"`
	Factors     string          `json:"contributing_factors"`
	Questions   []string        `json:"questions"`
	WentWell    []string        `json:"what_went_well"`
	ActionItems []ActionItem    `json:"action_items"`
	Links       []incident.Link `json:"links"`
	Customer    string          `json:"customer_summary"`
	// CustomerTitle is the public report's title where the public never heard of the incident.
	CustomerTitle string `json:"customer_title"`
	// CustomerWhatHappened and CustomerPrevention complete the public report.
	CustomerWhatHappened string            `json:"customer_what_happened"`
	CustomerPrevention   string            `json:"customer_prevention"`
	Metrics              map[string]*int64 `json:"metrics_seconds"`
	CreatedAt            time.Time         `json:"created_at"`
	UpdatedAt            time.Time         `json:"updated_at"`
	CreatedBy            string            `json:"created_by"`
	UpdatedBy            string            `json:"updated_by"`
}

// Role is a role and who held it.
type Role struct {
	Role   string `json:"role"`
	Name   string `json:"name"`
	Person string `json:"person"`
}

// Impact is who was affected and for how long.
type Impact struct {
	Affected        string       `json:"affected"`
	StartedAt       time.Time    `json:"started_at"`
	EndedAt         *time.Time   `json:"ended_at,omitempty"`
	DurationSeconds int64        `json:"duration_seconds"`
	DowntimeSeconds int64        `json:"downtime_seconds"`
	SLOs            []SLOFigures `json:"slos,omitempty"`
}

// Entry is one line of the postmortem's timeline.
type Entry struct {
	At    time.Time `json:"at"`
	Kind  string    `json:"kind"`
	Text  string    `json:"text"`
	Actor string    `json:"actor,omitempty"`
}

// Timeline entry kinds.
const (
	KindImpactStart = "impact_start"
	KindDeclared    = "declared"
	KindDetection   = "detection"
	KindAlert       = "alert"
	KindAck         = "acknowledgement"
	KindDeploy      = "deploy"
	KindChange      = "change"
	KindMitigation  = "mitigation"
	KindNote        = "note"
	KindLink        = "link"
	KindRole        = "role"
	KindSEV         = "sev"
	KindPage        = "page"
	KindHeld        = "paging_held"
	KindStatus      = "status_update"
	KindResolution  = "resolution"
)

// Service drafts, stores and renders postmortems and their action items.
type Service struct {
	db        *store.DB
	incidents *incident.Service
	changes   *change.Store
	config    *config.Live
	timers    *timers.Runner
	clock     clock.Clock
	slo       SLOImpact
	publisher Publisher
	// Reminder tells action item owners (see Options.Channel). Tests replace it.
	Reminder Reminder

	indexer indexer
}

// Options are what postmortems take from other domains.
type Options struct {
	// SLO fills the SLO part of an incident's impact. Required.
	SLO SLOImpact
	// Publisher takes customer-facing summaries to the status pages. Required.
	Publisher Publisher
	// Channel gives the notifier of a contact method type under the config in force (nil when
	// that type is not configured): reminders reach action item owners through it, with links
	// that start with BaseURL when the config sets no server.base_url. Without it, reminders are
	// recorded on the incident's timeline only.
	Channel func(cfg *config.Config, typ string) notify.Notifier
	BaseURL string
}

// New returns the postmortem service and registers its reminder timers with runner. It refuses
// to start without what Options requires.
func New(db *store.DB, incidents *incident.Service, changes *change.Store, cfg *config.Live, runner *timers.Runner, c clock.Clock, o Options) (*Service, error) {
	switch {
	case o.SLO == nil:
		return nil, errors.New("postmortem: no SLO impact source: postmortems could not say what an incident cost")
	case o.Publisher == nil:
		return nil, errors.New("postmortem: no publisher: public reports could not reach the status pages")
	}
	s := &Service{db: db, incidents: incidents, changes: changes, config: cfg, timers: runner, clock: c, slo: o.SLO, publisher: o.Publisher}
	s.Reminder = &TimelineReminder{db: db, incidents: incidents, clock: c}
	if o.Channel != nil {
		s.Reminder = NewContactReminder(s, o.Channel, o.BaseURL)
	}
	runner.Handle(reminderTimer, s.remind)
	s.indexIncidents()
	return s, nil
}

// ErrNoPostmortem is returned when an incident has no postmortem yet.
var ErrNoPostmortem = errors.New("this incident has no postmortem yet: draft one with POST")

// EventDrafted and EventEdited go on the incident's timeline.
const (
	EventDrafted = "postmortem.drafted"
	EventEdited  = "postmortem.edited"
)

// Draft writes the first draft of an incident's postmortem from its timeline. It reports
// false, and changes nothing, when one exists.
func (s *Service) Draft(ctx context.Context, incidentID int64, a incident.Actor) (Postmortem, bool, error) {
	inc, err := s.incidents.Get(ctx, incidentID)
	if err != nil {
		return Postmortem{}, false, err
	}
	if _, _, err := s.load(ctx, incidentID); err == nil {
		pm, err := s.Get(ctx, incidentID)
		return pm, false, err
	} else if !errors.Is(err, ErrNoPostmortem) {
		return Postmortem{}, false, err
	}
	facts, err := s.facts(ctx, inc)
	if err != nil {
		return Postmortem{}, false, err
	}
	doc := Doc{Status: "draft", Summary: facts.summary(), Affected: "Users of " + facts.serviceName + ".",
		Questions: facts.questions(), WentWell: facts.wentWell()}
	raw, _ := json.Marshal(doc)
	now := s.incidents.Now()
	created := true
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `INSERT INTO postmortems (incident_id, doc, created_at, updated_at, created_by, updated_by)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id) DO NOTHING`, incidentID, string(raw), now.UnixMilli(), now.UnixMilli(), a.Name, a.Name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			created = false // drafted meanwhile by someone else
			return nil
		}
		if err := s.index(ctx, tx, kindPostmortem, incidentID, inc, inc.Title, doc.text(), now); err != nil {
			return err
		}
		return s.incidents.Append(ctx, tx, incidentID, EventDrafted, now, a, map[string]any{"status": doc.Status})
	})
	if err != nil {
		return Postmortem{}, false, err
	}
	pm, err := s.Get(ctx, incidentID)
	return pm, created, err
}

// Patch changes the written parts of a postmortem; nil fields stay as they are.
type Patch struct {
	Status              *string   `json:"status"`
	Summary             *string   `json:"summary"`
	Affected            *string   `json:"affected"`
	RootCause           *string   `json:"root_cause"`
	ContributingFactors *string   `json:"contributing_factors"`
	Questions           *[]string `json:"questions"`
	WentWell            *[]string `json:"what_went_well"`
	CustomerSummary     *string   `json:"customer_summary"`
	CustomerTitle       *string   `json:"customer_title"`
	// CustomerWhatHappened and CustomerPrevention are the rest of the public report.
	CustomerWhatHappened *string `json:"customer_what_happened"`
	CustomerPrevention   *string `json:"customer_prevention"`
}

// Edit applies a patch and records who changed which sections on the timeline.
func (s *Service) Edit(ctx context.Context, incidentID int64, p Patch, a incident.Actor) (Postmortem, error) {
	bad := &invalid.Error{}
	if p.Status != nil && *p.Status != "draft" && *p.Status != "final" {
		bad.Add("status", "%q is not draft or final", *p.Status)
	}
	for name, v := range map[string]*string{"summary": p.Summary, "affected": p.Affected, "root_cause": p.RootCause,
		"contributing_factors": p.ContributingFactors, "customer_summary": p.CustomerSummary, "customer_title": p.CustomerTitle,
		"customer_what_happened": p.CustomerWhatHappened, "customer_prevention": p.CustomerPrevention} {
		if v != nil && len(*v) > 64<<10 {
			bad.Add(name, "at most 64 KiB")
		}
	}
	if p.CustomerTitle != nil && len(strings.TrimSpace(*p.CustomerTitle)) > 256 {
		bad.Add("customer_title", "at most 256 characters, as a status page names an incident")
	}
	for name, v := range map[string]*[]string{"questions": p.Questions, "what_went_well": p.WentWell} {
		if v != nil && len(*v) > 100 {
			bad.Add(name, "at most 100 entries")
		}
	}
	if len(bad.Problems) > 0 {
		sort.Slice(bad.Problems, func(i, j int) bool { return bad.Problems[i].String() < bad.Problems[j].String() })
		return Postmortem{}, bad
	}
	inc, err := s.incidents.Get(ctx, incidentID)
	if err != nil {
		return Postmortem{}, err
	}
	now := s.incidents.Now()
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		var raw string
		q := `SELECT doc FROM postmortems WHERE incident_id = ?`
		if tx.Dialect() == store.Postgres {
			q += ` FOR UPDATE` // two editors on two nodes: the second reads the first's edit
		}
		err := tx.QueryRow(ctx, q, incidentID).Scan(&raw)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoPostmortem
		}
		if err != nil {
			return err
		}
		var doc Doc
		if err := json.Unmarshal([]byte(raw), &doc); err != nil {
			return err
		}
		var changed []string
		set := func(name string, dst *string, v *string) {
			if v != nil && *dst != strings.TrimSpace(*v) {
				*dst = strings.TrimSpace(*v)
				changed = append(changed, name)
			}
		}
		setList := func(name string, dst *[]string, v *[]string) {
			if v == nil {
				return
			}
			var clean []string
			for _, x := range *v {
				if x = strings.TrimSpace(x); x != "" {
					clean = append(clean, x)
				}
			}
			if strings.Join(clean, "\n") != strings.Join(*dst, "\n") {
				*dst = clean
				changed = append(changed, name)
			}
		}
		set("status", &doc.Status, p.Status)
		set("summary", &doc.Summary, p.Summary)
		set("affected", &doc.Affected, p.Affected)
		set("root_cause", &doc.RootCause, p.RootCause)
		set("contributing_factors", &doc.ContributingFactors, p.ContributingFactors)
		setList("questions", &doc.Questions, p.Questions)
		setList("what_went_well", &doc.WentWell, p.WentWell)
		set("customer_summary", &doc.CustomerSummary, p.CustomerSummary)
		set("customer_title", &doc.CustomerTitle, p.CustomerTitle)
		set("customer_what_happened", &doc.CustomerWhatHappened, p.CustomerWhatHappened)
		set("customer_prevention", &doc.CustomerPrevention, p.CustomerPrevention)
		if len(changed) == 0 {
			return nil
		}
		b, _ := json.Marshal(doc)
		if _, err := tx.Exec(ctx, `UPDATE postmortems SET doc = ?, updated_at = ?, updated_by = ? WHERE incident_id = ?`,
			string(b), now.UnixMilli(), a.Name, incidentID); err != nil {
			return err
		}
		if err := s.index(ctx, tx, kindPostmortem, incidentID, inc, inc.Title, doc.text(), now); err != nil {
			return err
		}
		return s.incidents.Append(ctx, tx, incidentID, EventEdited, now, a, map[string]any{"sections": changed})
	})
	if err != nil {
		return Postmortem{}, err
	}
	return s.Get(ctx, incidentID)
}

type stored struct {
	doc                  Doc
	created, updated     time.Time
	createdBy, updatedBy string
}

func (s *Service) load(ctx context.Context, incidentID int64) (stored, bool, error) {
	var st stored
	var raw string
	var created, updated int64
	err := s.db.QueryRow(ctx, `SELECT doc, created_at, updated_at, created_by, updated_by FROM postmortems WHERE incident_id = ?`, incidentID).
		Scan(&raw, &created, &updated, &st.createdBy, &st.updatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return st, false, ErrNoPostmortem
	}
	if err != nil {
		return st, false, err
	}
	st.created, st.updated = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return st, true, json.Unmarshal([]byte(raw), &st.doc)
}

// Get reads a postmortem: the written parts as stored, the rest from the incident as it is now.
func (s *Service) Get(ctx context.Context, incidentID int64) (Postmortem, error) {
	inc, err := s.incidents.Get(ctx, incidentID)
	if err != nil {
		return Postmortem{}, err
	}
	st, _, err := s.load(ctx, incidentID)
	if err != nil {
		return Postmortem{}, err
	}
	f, err := s.facts(ctx, inc)
	if err != nil {
		return Postmortem{}, err
	}
	items, err := s.Actions(ctx, incidentID)
	if err != nil {
		return Postmortem{}, err
	}
	d := st.doc
	pm := Postmortem{IncidentID: inc.ID, Title: inc.Title, Status: d.Status, ServiceID: inc.ServiceID, ServiceName: f.serviceName,
		Team: f.team, SEV: inc.SEV, SEVName: f.settings.SEVName(inc.SEV), Roles: f.roles(), Summary: d.Summary,
		Impact: f.impact(d.Affected), Timeline: f.timeline, RootCause: d.RootCause, Factors: d.ContributingFactors,
		Questions: nonNil(d.Questions), WentWell: nonNil(d.WentWell), ActionItems: items, Links: f.links, Customer: d.CustomerSummary, CustomerTitle: d.CustomerTitle,
		CustomerWhatHappened: d.CustomerWhatHappened, CustomerPrevention: d.CustomerPrevention,
		Metrics: f.metrics(), CreatedAt: st.created, UpdatedAt: st.updated, CreatedBy: st.createdBy, UpdatedBy: st.updatedBy}
	return pm, nil
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func (d Doc) text() string {
	parts := []string{d.Summary, d.Affected, d.RootCause, d.ContributingFactors, d.CustomerSummary, d.CustomerWhatHappened, d.CustomerPrevention}
	parts = append(parts, d.Questions...)
	parts = append(parts, d.WentWell...)
	return strings.Join(parts, "\n")
}

// facts is everything a postmortem reads from the incident, its timeline and its changes.
type facts struct {
	inc                      incident.Incident
	settings                 *config.IncidentSettings
	serviceName, team        string
	timeline                 []Entry
	links                    []incident.Link
	firstAlert, ack, resolve *time.Time
	deployBefore             *change.Change
	slos                     []SLOFigures
	now                      time.Time
}

func (s *Service) facts(ctx context.Context, inc incident.Incident) (*facts, error) {
	cfg := s.config.Get()
	f := &facts{inc: inc, settings: &cfg.Incidents, serviceName: inc.ServiceID, ack: inc.AcknowledgedAt, resolve: inc.ResolvedAt,
		now: s.incidents.Now()}
	if svc := cfg.Service(inc.ServiceID); svc != nil {
		f.serviceName, f.team = svc.Name, svc.Team
	}
	events, err := s.incidents.Timeline(ctx, inc.ID)
	if err != nil {
		return nil, err
	}
	if f.links, err = s.incidents.Links(ctx, inc.ID); err != nil {
		return nil, err
	}
	changes, err := s.changes.ForIncident(ctx, inc, cfg.Incidents.ChangeLookback.D())
	if err != nil {
		return nil, err
	}
	if inc.ImpactStartedAt != nil {
		f.timeline = append(f.timeline, Entry{At: *inc.ImpactStartedAt, Kind: KindImpactStart, Text: "Impact started: the first sign customers were affected."})
	}
	start := f.start()
	for i := range changes {
		c := &changes[i]
		kind, text := KindChange, "Change: "+c.Summary
		if c.Kind == change.KindDeploy {
			kind = KindDeploy
			text = fmt.Sprintf("Deploy of %s %s", c.ServiceID, c.Version)
			if c.Commit != "" {
				text += " (commit " + shortSHA(c.Commit) + ")"
			}
			if c.Summary != "" && !strings.HasPrefix(c.Summary, "Deployed ") {
				text += ": " + c.Summary
			}
		}
		f.timeline = append(f.timeline, Entry{At: c.At, Kind: kind, Text: text, Actor: c.Actor})
		if !c.At.After(start) {
			f.deployBefore = c // the latest change before impact: the usual suspect
		}
	}
	for _, ev := range events {
		var d map[string]any
		json.Unmarshal(ev.Data, &d)
		str := func(k string) string { v, _ := d[k].(string); return v }
		e := Entry{At: ev.At, Actor: ev.Actor}
		switch ev.Type {
		case incident.EventDeclared:
			e.Kind, e.Text = KindDeclared, fmt.Sprintf("Declared %s by hand", str("sev"))
			if sum := str("summary"); sum != "" {
				e.Text += ": " + sum
			}
		case "alert.triggered":
			if f.firstAlert == nil {
				at := ev.At
				f.firstAlert = &at
				e.Kind, e.Text = KindDetection, "First alert: "+str("summary")
			} else {
				e.Kind, e.Text = KindAlert, "Alert: "+str("summary")
			}
		case "alert.repeated":
			// One entry per burst of repeats: how many, and until when. An entry written before
			// repeats were counted in bursts stands for one repeat.
			n, _ := d["count"].(float64)
			n = max(n, 1)
			e.Kind, e.Text = KindAlert, fmt.Sprintf("Alert %s repeated %s", str("dedup_key"), times(int(n)))
			if last, err := time.Parse(time.RFC3339Nano, str("last_at")); err == nil && n > 1 {
				e.Text += ", the last at " + last.UTC().Format("2006-01-02 15:04:05 UTC")
			}
		case incident.EventAcknowledged:
			e.Kind, e.Text = KindAck, "Acknowledged"
		case incident.EventResolved:
			e.Kind, e.Text = KindResolution, "Resolved"
			if r := str("reason"); r != "" {
				e.Text += ": " + r
			}
		case incident.EventNote:
			text := str("text")
			e.Kind, e.Text = KindNote, text
			if l := strings.ToLower(text); strings.HasPrefix(l, "mitigat") {
				e.Kind = KindMitigation
			}
		case incident.EventLink:
			e.Kind, e.Text = KindLink, "Link: "+str("url")
			if t := str("title"); t != "" {
				e.Text = "Link: " + t + " (" + str("url") + ")"
			}
		case incident.EventRoleAssigned:
			e.Kind = KindRole
			role := f.settings.RoleName(str("role"))
			if role == "" {
				role = str("role")
			}
			if p := str("person"); p != "" {
				e.Text = p + " is " + role
			} else {
				e.Text = role + " released by " + str("previous")
			}
		case "notification.sent":
			e.Kind, e.Text = KindPage, fmt.Sprintf("Paged %s (%s)", str("user"), str("method"))
			if t := str("type"); t != "" {
				e.Text = fmt.Sprintf("Paged %s by %s (%s)", str("user"), t, str("method"))
			}
		case "escalation.held":
			e.Kind, e.Text = KindHeld, "Paging held by a maintenance window"
			if u := str("until"); u != "" {
				if at, err := time.Parse(time.RFC3339Nano, u); err == nil {
					e.Text += " until " + at.UTC().Format("2006-01-02 15:04 UTC")
				}
			}
		case "status.update":
			e.Kind = KindStatus
			e.Text = fmt.Sprintf("Public update on status page %s (%s): %s", str("page"), str("status"), str("body"))
			if str("status") == "postmortem" {
				e.Text = fmt.Sprintf("Post-incident report published on status page %s", str("page"))
			}
		case incident.EventSEVChanged:
			e.Kind, e.Text = KindSEV, fmt.Sprintf("Severity changed from %s to %s", str("from"), str("to"))
			if r := str("reason"); r != "" {
				e.Text += ": " + r
			}
		default:
			continue // the rest (reminders, edits, changes already listed) is bookkeeping
		}
		f.timeline = append(f.timeline, e)
	}
	sort.SliceStable(f.timeline, func(i, j int) bool { return f.timeline[i].At.Before(f.timeline[j].At) })
	if f.timeline == nil {
		f.timeline = []Entry{}
	}
	end := f.now
	if inc.ResolvedAt != nil {
		end = *inc.ResolvedAt
	}
	if f.slos, err = s.slo.Impact(ctx, inc.ServiceID, start, end); err != nil {
		return nil, fmt.Errorf("SLO impact: %w", err)
	}
	return f, nil
}

// times says how many times: once, twice, 3 times.
func times(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// start is when the incident began for customers: the impact start if known, else when it was
// opened.
func (f *facts) start() time.Time {
	if f.inc.ImpactStartedAt != nil {
		return *f.inc.ImpactStartedAt
	}
	return f.inc.CreatedAt
}

func (f *facts) impact(affected string) Impact {
	im := Impact{Affected: affected, StartedAt: f.start(), SLOs: f.slos}
	end := f.now
	if f.resolve != nil {
		end = *f.resolve
		im.EndedAt = f.resolve
	}
	im.DurationSeconds = int64(end.Sub(im.StartedAt) / time.Second)
	// An SLI that measures bad time knows the downtime better than the incident's length; with
	// several, the worst one counts.
	measured := int64(-1)
	for _, s := range f.slos {
		if s.DowntimeSeconds != nil {
			measured = max(measured, *s.DowntimeSeconds)
		}
	}
	im.DowntimeSeconds = im.DurationSeconds
	if measured >= 0 {
		im.DowntimeSeconds = measured
	}
	return im
}

func (f *facts) roles() []Role {
	out := []Role{}
	for _, r := range f.settings.RoleNames() {
		if p := f.inc.Roles[r]; p != "" {
			out = append(out, Role{Role: r, Name: f.settings.RoleName(r), Person: p})
		}
	}
	return out
}

func seconds(from time.Time, to *time.Time) *int64 {
	if to == nil {
		return nil
	}
	v := int64(to.Sub(from) / time.Second)
	return &v
}

// metrics are this incident's own detection, acknowledgement and resolution times.
func (f *facts) metrics() map[string]*int64 {
	m := map[string]*int64{
		"time_to_acknowledge": seconds(f.inc.CreatedAt, f.ack),
		"time_to_resolve":     seconds(f.inc.CreatedAt, f.resolve),
		"time_to_detect":      nil,
	}
	if f.inc.ImpactStartedAt != nil {
		m["time_to_detect"] = seconds(*f.inc.ImpactStartedAt, f.firstAlert)
	}
	return m
}

func (f *facts) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s) incident on %s: %s.", f.settings.SEVName(f.inc.SEV), f.inc.SEV, f.serviceName, f.inc.Title)
	im := f.impact("")
	if im.EndedAt != nil {
		fmt.Fprintf(&b, " Customers were affected for %s.", Human(time.Duration(im.DurationSeconds)*time.Second))
	}
	var steps []string
	if m := f.metrics(); m["time_to_detect"] != nil {
		steps = append(steps, "detected by an alert after "+Human(time.Duration(*m["time_to_detect"])*time.Second))
	} else if f.firstAlert == nil {
		steps = append(steps, "declared by hand; no alert fired")
	}
	if f.ack != nil {
		steps = append(steps, "acknowledged after "+Human(f.ack.Sub(f.inc.CreatedAt)))
	}
	if f.resolve != nil {
		steps = append(steps, "resolved after "+Human(f.resolve.Sub(f.inc.CreatedAt)))
	}
	if len(steps) > 0 {
		fmt.Fprintf(&b, " It was %s.", strings.Join(steps, ", "))
	}
	return b.String()
}

// Thresholds past which a postmortem asks why.
const (
	slowDetection = 5 * time.Minute
	slowAck       = 5 * time.Minute
	slowResolve   = time.Hour
)

func (f *facts) questions() []string {
	var q []string
	start := f.start()
	switch {
	case f.firstAlert == nil:
		q = append(q, fmt.Sprintf("Why did no alert fire? The incident was declared by hand %s after impact started.", Human(f.inc.CreatedAt.Sub(start))))
	case f.inc.ImpactStartedAt != nil && f.firstAlert.Sub(*f.inc.ImpactStartedAt) >= slowDetection:
		q = append(q, fmt.Sprintf("Why did detection take %s?", Human(f.firstAlert.Sub(*f.inc.ImpactStartedAt))))
	}
	if f.ack != nil && f.ack.Sub(f.inc.CreatedAt) >= slowAck {
		q = append(q, fmt.Sprintf("Why did acknowledgement take %s?", Human(f.ack.Sub(f.inc.CreatedAt))))
	}
	if c := f.deployBefore; c != nil {
		what := c.Summary
		if c.Kind == change.KindDeploy {
			what = c.ServiceID + " " + c.Version
		}
		q = append(q, fmt.Sprintf("Why did CI not catch it? %s went out %s before impact started.", what, Human(start.Sub(c.At))))
	}
	if f.resolve != nil && f.resolve.Sub(start) >= slowResolve {
		q = append(q, fmt.Sprintf("What would have shortened the %s from impact to resolution?", Human(f.resolve.Sub(start))))
	}
	return q
}

func (f *facts) wentWell() []string {
	var w []string
	if f.firstAlert != nil && f.inc.ImpactStartedAt != nil && f.firstAlert.Sub(*f.inc.ImpactStartedAt) < slowDetection {
		w = append(w, fmt.Sprintf("An alert caught it %s after impact started.", Human(f.firstAlert.Sub(*f.inc.ImpactStartedAt))))
	}
	if f.ack != nil && f.ack.Sub(f.inc.CreatedAt) < slowAck {
		w = append(w, fmt.Sprintf("Acknowledged %s after the page.", Human(f.ack.Sub(f.inc.CreatedAt))))
	}
	return w
}

// Human writes a duration the way people say it: 45s, 12m, 1h 5m, 2d 3h.
func Human(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		if s := int(d.Seconds()) % 60; s != 0 {
			return fmt.Sprintf("%dm %ds", int(d.Minutes()), s)
		}
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh %dm", h, m)
	}
	days, h := int(d.Hours())/24, int(d.Hours())%24
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd %dh", days, h)
}

// PublicReport is what a postmortem tells the public: the four sections of a post-incident
// report and the impact's window.
type PublicReport struct {
	IncidentID int64
	ServiceID  string
	// Title is customer_title: the report's name on a page where the public never heard of the
	// incident; "" when none was written. Never the internal title.
	Title        string
	Summary      string // customer_summary
	Affected     string // who was affected
	WhatHappened string // customer_what_happened
	Prevention   string // customer_prevention
	StartedAt    time.Time
	EndedAt      time.Time
}

// Publisher puts a public report on the status pages that show the incident's service and
// returns their ids; with none, it returns an error wrapping ErrNoStatusPage. The status page
// package provides it (wired in internal/app).
type Publisher interface {
	PublishPostmortem(ctx context.Context, r PublicReport, a incident.Actor) ([]string, error)
}

// EventPublished records that the customer-facing summary went out.
const EventPublished = "postmortem.published"

// ErrNoStatusPage is returned by Publish when no status page can take the summary.
var ErrNoStatusPage = errors.New("no status page is set up to publish to")

// Publish puts the public report on the status pages that show the incident's service (which
// mail it to their subscribers) and records it on the timeline. The incident must be resolved
// and the three sections written for customers filled in; publishing again corrects it.
func (s *Service) Publish(ctx context.Context, incidentID int64, a incident.Actor) error {
	pm, err := s.Get(ctx, incidentID)
	if err != nil {
		return err
	}
	bad := &invalid.Error{}
	for _, f := range []struct{ name, v, what string }{
		{"customer_summary", pm.Customer, "the summary"},
		{"customer_what_happened", pm.CustomerWhatHappened, "what happened"},
		{"customer_prevention", pm.CustomerPrevention, "what you are doing so it does not happen again"},
	} {
		if strings.TrimSpace(f.v) == "" {
			bad.Add(f.name, "write %s, in words for customers, before publishing", f.what)
		}
	}
	if pm.Impact.EndedAt == nil {
		bad.Add("", "incident %d is not resolved: publish its report once it is", incidentID)
	}
	if len(bad.Problems) > 0 {
		return bad
	}
	pages, err := s.publisher.PublishPostmortem(ctx, PublicReport{IncidentID: incidentID, ServiceID: pm.ServiceID, Title: strings.TrimSpace(pm.CustomerTitle),
		Summary: pm.Customer, Affected: pm.Impact.Affected, WhatHappened: pm.CustomerWhatHappened, Prevention: pm.CustomerPrevention,
		StartedAt: pm.Impact.StartedAt, EndedAt: *pm.Impact.EndedAt}, a)
	if err != nil {
		return fmt.Errorf("publish to the status page: %w", err)
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		return s.incidents.Append(ctx, tx, incidentID, EventPublished, s.incidents.Now(), a, map[string]any{"summary": pm.Customer, "pages": pages})
	})
}
