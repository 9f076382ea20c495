// Package readiness is the production readiness scorecard of a service: a checklist (config:
// a default one, teams add or drop checks) whose checks nines computes from what it sees (an
// owner, a paging path with cover, a passing health check, SLOs, backups on time, deploys, a
// passed chaos drill...) or, where it cannot see, a person attests, with an expiry.
package readiness

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/drill"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/probe"
	"github.com/nines-dev/nines/internal/slo"
	"github.com/nines-dev/nines/internal/store"
)

// Schema holds attestations.
var Schema = store.Schema{Component: "readiness", Migrations: []string{`
CREATE TABLE readiness_attestations (
	id {{id}},
	service_id TEXT NOT NULL,
	check_id TEXT NOT NULL,
	attested_by TEXT NOT NULL,
	attested_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	note TEXT NOT NULL
);
CREATE INDEX readiness_attestations_check ON readiness_attestations (service_id, check_id, attested_at);
`}}

// Statuses of a check.
const (
	Pass    = "pass"
	Fail    = "fail"
	Unknown = "unknown"
)

// Kinds of check.
const (
	Computed = "computed" // nines sees it
	Attested = "attested" // a person says so
)

// Windows of the computed checks.
const (
	CoverageWindow = 28 * 24 * time.Hour // schedules cover the next 4 weeks
	DeployWindow   = 30 * 24 * time.Hour // a deploy in the last 30 days
	DrillWindow    = 90 * 24 * time.Hour // a drill passed in the last 90 days
	DefaultExpiry  = 365 * 24 * time.Hour
)

// Def is one check of a checklist.
type Def struct {
	ID      string        `json:"id"`
	Name    string        `json:"name"`
	Kind    string        `json:"kind"`
	How     string        `json:"how"`
	Expires time.Duration `json:"-"`
}

// defaults is the default checklist, in the order it is shown.
var defaults = []Def{
	{ID: "criticality", Name: "Criticality is set", Kind: Computed, How: "set urgency (high pages at any hour, low in working hours) or readiness.tier (1 is most critical) on the service"},
	{ID: "owner", Name: "An owning team", Kind: Computed, How: "set team on the service, to a team with members"},
	{ID: "escalation", Name: "Escalation policy with a lieutenant", Kind: Computed, How: "give the service an escalation_policy with at least two steps, so someone backs up the first responder"},
	{ID: "coverage", Name: "On-call cover for the next 4 weeks", Kind: Computed, How: "fill the gaps of the schedules the policy's first step pages (a layer, or an override)"},
	{ID: "health_check", Name: "Health check monitored and passing", Kind: Computed, How: "add an http monitor of the service's health URL (/healthz) and set readiness.health_check to it"},
	{ID: "slis", Name: "Traffic, latency and error SLIs", Kind: Computed, How: "declare an SLO of the service with a source (probe, prometheus or pushed events); a latency SLI for latency"},
	{ID: "backup", Name: "Backups run on time", Kind: Computed, How: "make the backup job ping a heartbeat monitor of the service, and set readiness.backup to it"},
	{ID: "deploys", Name: "Deploys recorded (last 30 days)", Kind: Computed, How: "send deploys from CI (nines deploy, POST /api/v1/changes or Change Events)"},
	{ID: "runbook", Name: "A runbook", Kind: Computed, How: "set runbook on the service (Markdown or a URL)"},
	{ID: "dashboards", Name: "Dashboards linked", Kind: Computed, How: "list the service's dashboards in readiness.dashboards"},
	{ID: "action_items", Name: "No overdue action items", Kind: Computed, How: "close or reschedule the overdue S.T.A.R. action items of its postmortems"},
	{ID: "drill", Name: "A chaos drill passed (last 90 days)", Kind: Computed, How: "opt in (readiness.drills: true), declare a drill and run it in working hours"},
	{ID: "logs", Name: "Logs shipped and rotated", Kind: Attested, How: "ship logs to the central store, rotate them on disk, then attest", Expires: 365 * 24 * time.Hour},
	{ID: "exceptions", Name: "Exceptions reviewed", Kind: Attested, How: "review the exception tracker's open errors, then attest", Expires: 90 * 24 * time.Hour},
	{ID: "restore_tested", Name: "Restore from backup tested", Kind: Attested, How: "restore the latest backup into a scratch environment and check it, then attest", Expires: 90 * 24 * time.Hour},
	{ID: "environments", Name: "Environments and promotion", Kind: Attested, How: "deploy through staging to production by the same pipeline, then attest", Expires: 365 * 24 * time.Hour},
	{ID: "tests", Name: "Automated tests", Kind: Attested, How: "run the tests on every change before it deploys, then attest", Expires: 365 * 24 * time.Hour},
	{ID: "threat_model", Name: "Threat model done", Kind: Attested, How: "model the threats to the service and file what they call for, then attest", Expires: 365 * 24 * time.Hour},
}

// Defaults is the default checklist.
func Defaults() []Def { return append([]Def(nil), defaults...) }

// Checklist is the checklist of a service: the defaults, less what the config and the service's
// team drop, plus the attested checks they add (an added check with a default's id sets its
// expiry).
func Checklist(cfg *config.Config, serviceID string) []Def {
	team := ""
	if svc := cfg.Service(serviceID); svc != nil {
		team = svc.Team
	}
	drop := map[string]bool{}
	var adds []config.AttestedCheck
	for _, id := range cfg.Readiness.Drop {
		drop[id] = true
	}
	adds = append(adds, cfg.Readiness.Add...)
	for _, t := range cfg.Readiness.Teams {
		if t.Team == team && team != "" {
			for _, id := range t.Drop {
				drop[id] = true
			}
			adds = append(adds, t.Add...)
		}
	}
	out := []Def{}
	index := map[string]int{}
	for _, d := range defaults {
		if !drop[d.ID] {
			index[d.ID] = len(out)
			out = append(out, d)
		}
	}
	for _, a := range adds {
		d := Def{ID: a.ID, Name: a.Name, Kind: Attested, How: a.How, Expires: a.Expires.D()}
		if i, ok := index[a.ID]; ok {
			if out[i].Kind != Attested {
				continue // a computed check is seen, not attested
			}
			if d.Name == "" {
				d.Name = out[i].Name
			}
			if d.How == "" {
				d.How = out[i].How
			}
			if d.Expires == 0 {
				d.Expires = out[i].Expires
			}
			out[i] = d
			continue
		}
		if d.How == "" {
			d.How = "attest it once done"
		}
		if d.Expires == 0 {
			d.Expires = DefaultExpiry
		}
		index[a.ID] = len(out)
		out = append(out, d)
	}
	return out
}

// Check is one check's verdict.
type Check struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	// Why says what nines saw; Fix what to do to pass (empty when passing).
	Why         string       `json:"why"`
	Fix         string       `json:"fix,omitempty"`
	Attestation *Attestation `json:"attestation,omitempty"`
	// ExpiresAfter is how long an attestation of it holds, in days.
	ExpiresAfterDays int `json:"expires_after_days,omitempty"`
}

// Report is a service's scorecard.
type Report struct {
	Service string    `json:"service"`
	Name    string    `json:"name"`
	Team    string    `json:"team,omitempty"`
	Ready   bool      `json:"ready"`
	Pass    int       `json:"pass"`
	Fail    int       `json:"fail"`
	Unknown int       `json:"unknown"`
	At      time.Time `json:"at"`
	Checks  []Check   `json:"checks"`
}

// Attestation is a person's word that a check is done.
type Attestation struct {
	ID         int64     `json:"id"`
	Service    string    `json:"service"`
	Check      string    `json:"check"`
	AttestedBy string    `json:"attested_by"`
	AttestedAt time.Time `json:"attested_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Note       string    `json:"note,omitempty"`
}

// Service computes scorecards and keeps attestations.
type Service struct {
	db    *store.DB
	clock clock.Clock
	live  *config.Live

	Sources
}

// Sources are what the checks read; a source left nil makes its checks unknown.
type Sources struct {
	Monitors    *probe.Monitors
	SLOs        *slo.Engine
	OnCall      *oncall.Service
	Changes     *change.Store
	Postmortems *postmortem.Service
	Drills      *drill.Service
}

// New returns the readiness service, whose checks read src.
func New(db *store.DB, c clock.Clock, live *config.Live, src Sources) *Service {
	return &Service{db: db, clock: c, live: live, Sources: src}
}

// Errors a caller can act on.
var ErrNoService = errors.New("no such service")

// ErrNotAPerson refuses an attestation by a shared token: a person answers for it.
var ErrNotAPerson = errors.New("a person must attest: sign in, or use a personal token (nines token create --user)")

// MaxNote bounds an attestation's note.
const MaxNote = 2000

// Attest records that by attests check of a service, now, with a note (a link to the evidence,
// say). Only an attested check of the service's checklist can be attested.
func (s *Service) Attest(ctx context.Context, serviceID, checkID, by, note string) (Attestation, error) {
	cfg := s.live.Get()
	if cfg.Service(serviceID) == nil {
		return Attestation{}, ErrNoService
	}
	var def *Def
	var attestable []string
	for _, d := range Checklist(cfg, serviceID) {
		if d.Kind == Attested {
			attestable = append(attestable, d.ID)
			if d.ID == checkID {
				def = &d
			}
		}
	}
	if def == nil {
		return Attestation{}, invalid.Field("check", "%q is not a check a person attests for %s; one of %s", checkID, serviceID, strings.Join(attestable, ", "))
	}
	if !strings.HasPrefix(by, "user:") {
		return Attestation{}, ErrNotAPerson
	}
	note = strings.TrimSpace(note)
	switch {
	case note == "":
		return Attestation{}, invalid.Field("note", "say what shows it is done: a link to the evidence (the restore test's log, the ticket, the document)")
	case len(note) > MaxNote:
		return Attestation{}, invalid.Field("note", "at most %d bytes", MaxNote)
	}
	if r, ok := controlIn(note); ok {
		return Attestation{}, invalid.Field("note", "contains the control character U+%04X; write the note as plain text", r)
	}
	now := s.clock.Now().Truncate(time.Millisecond)
	a := Attestation{Service: serviceID, Check: checkID, AttestedBy: by, AttestedAt: now, ExpiresAt: now.Add(def.Expires), Note: note}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		a.ID, err = tx.InsertID(ctx, `INSERT INTO readiness_attestations (service_id, check_id, attested_by, attested_at, expires_at, note)
			VALUES (?, ?, ?, ?, ?, ?)`, serviceID, checkID, by, now.UnixMilli(), a.ExpiresAt.UnixMilli(), note)
		return err
	})
	return a, err
}

// controlIn finds a control character a note must not carry: C0 and C1 controls but tab and
// newline, and the bidirectional overrides and isolates that make text read otherwise than it
// is stored (U+202A-U+202E, U+2066-U+2069).
func controlIn(s string) (rune, bool) {
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20, r >= 0x7f && r < 0xa0, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return r, true
		}
	}
	return 0, false
}

// latest returns each check's latest attestation of a service.
func (s *Service) latest(ctx context.Context, serviceID string) (map[string]Attestation, error) {
	rows, err := s.db.Query(ctx, `SELECT id, check_id, attested_by, attested_at, expires_at, note FROM readiness_attestations
		WHERE service_id = ? ORDER BY attested_at, id`, serviceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Attestation{}
	for rows.Next() {
		a := Attestation{Service: serviceID}
		var at, exp int64
		if err := rows.Scan(&a.ID, &a.Check, &a.AttestedBy, &at, &exp, &a.Note); err != nil {
			return nil, err
		}
		a.AttestedAt, a.ExpiresAt = time.UnixMilli(at).UTC(), time.UnixMilli(exp).UTC()
		out[a.Check] = a
	}
	return out, rows.Err()
}

// Report computes the scorecard of a service.
func (s *Service) Report(ctx context.Context, serviceID string) (Report, error) {
	cfg := s.live.Get()
	svc := cfg.Service(serviceID)
	if svc == nil {
		return Report{}, ErrNoService
	}
	now := s.clock.Now()
	att, err := s.latest(ctx, serviceID)
	if err != nil {
		return Report{}, err
	}
	r := Report{Service: svc.ID, Name: svc.Name, Team: svc.Team, At: now, Checks: []Check{}}
	for _, d := range Checklist(cfg, serviceID) {
		c := Check{ID: d.ID, Name: d.Name, Kind: d.Kind}
		if d.Kind == Attested {
			c.ExpiresAfterDays = int(d.Expires / (24 * time.Hour))
			attested(&c, att, d.Expires, now)
		} else if err := s.compute(ctx, cfg, svc, &c, now); err != nil {
			if store.Unavailable(err) {
				return Report{}, err
			}
			c.Status, c.Why = Unknown, "nines could not tell: "+err.Error()
		}
		if c.Status != Pass && c.Fix == "" {
			c.Fix = d.How
		}
		switch c.Status {
		case Pass:
			r.Pass++
		case Fail:
			r.Fail++
		default:
			r.Unknown++
		}
		r.Checks = append(r.Checks, c)
	}
	r.Ready = r.Fail == 0 && r.Unknown == 0
	return r, nil
}

// attested judges an attested check by its latest attestation. It expires after the check's
// expiry in force now, counted from when it was made: tightening expires in the config applies
// to attestations already made.
func attested(c *Check, att map[string]Attestation, expires time.Duration, now time.Time) {
	a, ok := att[c.ID]
	if !ok {
		c.Status, c.Why = Fail, "nobody has attested it"
		return
	}
	a.ExpiresAt = a.AttestedAt.Add(expires)
	c.Attestation = &a
	if !now.Before(a.ExpiresAt) {
		c.Status, c.Why = Fail, fmt.Sprintf("attested by %s on %s, %s ago; that expired on %s", a.AttestedBy, day(a.AttestedAt), days(now.Sub(a.AttestedAt)), day(a.ExpiresAt))
		return
	}
	c.Status, c.Why = Pass, fmt.Sprintf("attested by %s on %s; holds until %s", a.AttestedBy, day(a.AttestedAt), day(a.ExpiresAt))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func days(d time.Duration) string {
	n := int(d / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// compute runs one computed check.
func (s *Service) compute(ctx context.Context, cfg *config.Config, svc *config.Service, c *Check, now time.Time) error {
	pass := func(why string, args ...any) { c.Status, c.Why = Pass, fmt.Sprintf(why, args...) }
	fail := func(why string, args ...any) { c.Status, c.Why = Fail, fmt.Sprintf(why, args...) }
	unknown := func(why string, args ...any) { c.Status, c.Why = Unknown, fmt.Sprintf(why, args...) }
	switch c.ID {
	case "criticality":
		var parts []string
		if svc.Urgency != "" {
			parts = append(parts, "urgency "+svc.Urgency)
		}
		if svc.Readiness.Tier != 0 {
			parts = append(parts, fmt.Sprintf("tier %d", svc.Readiness.Tier))
		}
		if len(parts) == 0 {
			fail("neither urgency nor readiness.tier is set: nobody has said whether an engineer is woken at night when it goes down")
			return nil
		}
		pass("%s", strings.Join(parts, ", "))
	case "owner":
		if svc.Team == "" {
			fail("the service names no team")
			return nil
		}
		for _, t := range cfg.Teams {
			if t.ID == svc.Team {
				if len(t.Members) == 0 {
					fail("team %s has no members", t.ID)
					return nil
				}
				members := fmt.Sprintf("%d members", len(t.Members))
				if len(t.Members) == 1 {
					members = "1 member"
				}
				pass("team %s (%s)", t.ID, members)
				return nil
			}
		}
		pass("team %s", svc.Team)
	case "escalation":
		pol := cfg.EscalationPolicy(svc.EscalationPolicy)
		switch {
		case svc.EscalationPolicy == "" || pol == nil:
			fail("the service has no escalation policy: its incidents page nobody")
		case len(pol.Steps) < 2:
			fail("escalation policy %s has one step: nobody backs up the first responder", pol.ID)
		default:
			pass("escalation policy %s has %d steps", pol.ID, len(pol.Steps))
		}
	case "coverage":
		return s.coverage(ctx, cfg, svc, c, now)
	case "health_check":
		mon := healthMonitor(cfg, svc)
		if mon == nil {
			fail("no monitor checks the service's health URL")
			return nil
		}
		s.monitorStatus(c, mon, "health check")
	case "backup":
		mon := backupMonitor(cfg, svc)
		if mon == nil {
			fail("no heartbeat monitor watches the service's backups")
			return nil
		}
		s.monitorStatus(c, mon, "backup heartbeat")
	case "slis":
		if s.SLOs == nil {
			unknown("the SLO engine is not running")
			return nil
		}
		var names []string
		latency := false
		for _, d := range s.SLOs.Definitions() {
			if d.ServiceID == svc.ID && d.Source.Kind != "" {
				names = append(names, d.ID+" ("+d.Source.Kind+")")
				latency = latency || d.Source.Latency != nil
			}
		}
		if len(names) == 0 {
			fail("the service has no SLO: nothing measures its traffic, latency and errors")
			return nil
		}
		lat := "a latency SLI among them"
		if !latency {
			lat = "none of them on latency"
		}
		pass("SLOs %s; %s", strings.Join(names, ", "), lat)
	case "deploys":
		if s.Changes == nil {
			unknown("changes are not recorded here")
			return nil
		}
		cs, err := s.Changes.List(ctx, change.Query{ServiceIDs: []string{svc.ID}, From: now.Add(-DeployWindow), To: now.Add(time.Millisecond), Kind: change.KindDeploy})
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			fail("no deploy recorded in the last 30 days")
			return nil
		}
		pass("%s in the last 30 days, the last on %s", plural(len(cs), "deploy"), day(cs[len(cs)-1].At))
	case "runbook":
		if strings.TrimSpace(svc.Runbook) == "" {
			fail("the service has no runbook")
			return nil
		}
		if u, err := url.Parse(svc.Runbook); err == nil && u.Host != "" {
			pass("runbook at %s", svc.Runbook)
			return nil
		}
		pass("runbook written in the config")
	case "dashboards":
		if len(svc.Readiness.Dashboards) == 0 {
			fail("no dashboard is linked")
			return nil
		}
		pass("%s", strings.Join(svc.Readiness.Dashboards, ", "))
	case "action_items":
		if s.Postmortems == nil {
			unknown("postmortems are not kept here")
			return nil
		}
		teams, err := s.Postmortems.OpenByTeam(ctx, "")
		if err != nil {
			return err
		}
		var overdue []string
		open := 0
		for _, t := range teams {
			for _, it := range t.Items {
				if it.ServiceID != svc.ID {
					continue
				}
				open++
				if it.Overdue {
					overdue = append(overdue, fmt.Sprintf("#%d %q due %s", it.ID, it.Title, it.Due))
				}
			}
		}
		if len(overdue) > 0 {
			fail("%d overdue: %s", len(overdue), strings.Join(overdue, "; "))
			return nil
		}
		pass("none overdue (%d open)", open)
	case "drill":
		if s.Drills == nil {
			unknown("drills are not run here")
			return nil
		}
		r, ok, err := s.Drills.LastPassed(ctx, svc.ID)
		if err != nil {
			return err
		}
		switch {
		case ok && r.EndedAt != nil && now.Sub(*r.EndedAt) <= DrillWindow:
			pass("drill %s passed on %s (run %d)", r.DrillID, day(*r.EndedAt), r.ID)
		case ok && r.EndedAt != nil:
			fail("the last drill that passed was on %s, %s ago", day(*r.EndedAt), days(now.Sub(*r.EndedAt)))
		case !svc.Readiness.Drills:
			fail("the service has not opted in to drills")
		default:
			fail("no drill has passed yet")
		}
		if c.Status == Fail && svc.Readiness.Drills {
			c.Fix = "run a drill of the service in working hours (the drills page, or POST /api/v1/services/" + svc.ID + "/drills/{drill}/runs), or declare one under drills:"
		}
	default:
		unknown("nines does not know how to compute this check")
	}
	return nil
}

func (s *Service) monitorStatus(c *Check, mon *config.Monitor, what string) {
	if s.Monitors == nil {
		c.Status, c.Why = Unknown, "monitors do not run here"
		return
	}
	v, ok := s.Monitors.View(mon.ID)
	switch {
	case !ok:
		c.Status, c.Why = Unknown, fmt.Sprintf("%s monitor %s is unknown to the prober", what, mon.ID)
	case v.Status == probe.StatusUp:
		c.Status, c.Why = Pass, fmt.Sprintf("%s monitor %s is up", what, mon.ID)
	case v.Status == probe.StatusDown:
		c.Status, c.Why = Fail, fmt.Sprintf("%s monitor %s is down since %s", what, mon.ID, v.Since.UTC().Format("2006-01-02 15:04Z"))
		if v.Message != "" {
			c.Why += ": " + v.Message
		}
		c.Fix = fmt.Sprintf("the monitor exists: make what %s checks answer again (or fix the monitor if it checks the wrong thing)", mon.ID)
	case v.Status == probe.StatusPaused:
		c.Status, c.Why = Unknown, fmt.Sprintf("%s monitor %s is paused", what, mon.ID)
		c.Fix = fmt.Sprintf("resume monitor %s (remove paused: true from it)", mon.ID)
	default:
		c.Status, c.Why = Unknown, fmt.Sprintf("%s monitor %s is %s: no verdict yet", what, mon.ID, v.Status)
		c.Fix = fmt.Sprintf("wait for monitor %s's first result", mon.ID)
	}
}

// healthMonitor is the service's health check: the one its readiness names, else an http
// monitor whose URL path says "health".
func healthMonitor(cfg *config.Config, svc *config.Service) *config.Monitor {
	if id := svc.Readiness.HealthCheck; id != "" {
		return cfg.Monitor(id)
	}
	for i := range cfg.Monitors {
		m := &cfg.Monitors[i]
		if m.Service != svc.ID || m.Type != config.MonitorHTTP {
			continue
		}
		if u, err := url.Parse(m.URL); err == nil && strings.Contains(strings.ToLower(u.Path), "health") {
			return m
		}
	}
	return nil
}

// backupMonitor is the heartbeat of the service's backups: the one its readiness names, else a
// heartbeat whose id or name says "backup".
func backupMonitor(cfg *config.Config, svc *config.Service) *config.Monitor {
	if id := svc.Readiness.Backup; id != "" {
		return cfg.Monitor(id)
	}
	for i := range cfg.Monitors {
		m := &cfg.Monitors[i]
		if m.Service == svc.ID && m.Type == config.MonitorHeartbeat &&
			(strings.Contains(strings.ToLower(m.ID), "backup") || strings.Contains(strings.ToLower(m.Name), "backup")) {
			return m
		}
	}
	return nil
}

// coverage checks that the first step of the service's escalation policy reaches someone at
// every moment of the next 4 weeks: a user or a team always does; schedules do where their
// shifts (layers and overrides) join without a gap.
func (s *Service) coverage(ctx context.Context, cfg *config.Config, svc *config.Service, c *Check, now time.Time) error {
	pol := cfg.EscalationPolicy(svc.EscalationPolicy)
	if pol == nil || len(pol.Steps) == 0 {
		c.Status, c.Why = Fail, "the service has no escalation policy, so nobody is on call for it"
		return nil
	}
	if s.OnCall == nil {
		c.Status, c.Why = Unknown, "schedules are not read here"
		return nil
	}
	from, to := now, now.Add(CoverageWindow)
	var spans []span
	var names []string
	for _, t := range pol.Steps[0].Targets {
		switch {
		case t.User != "" || t.Team != "":
			c.Status, c.Why = Pass, "the first step of "+pol.ID+" pages a person or a team directly, at any hour"
			return nil
		case t.Schedule != "":
			names = append(names, t.Schedule)
			shifts, err := s.OnCall.Shifts(ctx, t.Schedule, from, to)
			if err != nil {
				return err
			}
			for _, sh := range shifts {
				if len(t.Layers) > 0 && sh.OverrideID == 0 && !contains(t.Layers, sh.Layer) {
					continue
				}
				spans = append(spans, span{sh.Start, sh.End})
			}
		}
	}
	gaps := uncovered(spans, from, to)
	if len(gaps) == 0 {
		c.Status, c.Why = Pass, fmt.Sprintf("schedule %s covers every hour until %s", strings.Join(names, ", "), to.UTC().Format("2006-01-02 15:04Z"))
		return nil
	}
	var total time.Duration
	for _, g := range gaps {
		total += g.end.Sub(g.start)
	}
	g := gaps[0]
	c.Status, c.Why = Fail, fmt.Sprintf("nobody is on call from %s to %s (%d gaps, %s uncovered in the next 4 weeks)",
		g.start.UTC().Format("2006-01-02 15:04Z"), g.end.UTC().Format("2006-01-02 15:04Z"), len(gaps), total.Round(time.Minute))
	return nil
}

type span struct{ start, end time.Time }

// uncovered returns the parts of [from, to) no span covers, in order.
func uncovered(spans []span, from, to time.Time) []span {
	sort.Slice(spans, func(i, j int) bool { return spans[i].start.Before(spans[j].start) })
	var gaps []span
	at := from
	for _, s := range spans {
		if !s.end.After(at) {
			continue
		}
		if s.start.After(at) {
			end := s.start
			if end.After(to) {
				end = to
			}
			gaps = append(gaps, span{at, end})
		}
		at = s.end
		if !at.Before(to) {
			return gaps
		}
	}
	if at.Before(to) {
		gaps = append(gaps, span{at, to})
	}
	return gaps
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Summary is a service's line in the table of all services.
type Summary struct {
	Service string   `json:"service"`
	Name    string   `json:"name"`
	Team    string   `json:"team,omitempty"`
	Ready   bool     `json:"ready"`
	Pass    int      `json:"pass"`
	Fail    int      `json:"fail"`
	Unknown int      `json:"unknown"`
	Failing []string `json:"failing"`
	// Checks maps each check id to its status, for the table's columns.
	Checks map[string]string `json:"checks"`
}

// Table is the summary of each service named, in the order of the config.
func (s *Service) Table(ctx context.Context, services []string) ([]Summary, error) {
	cfg := s.live.Get()
	want := map[string]bool{}
	for _, id := range services {
		want[id] = true
	}
	out := []Summary{}
	for _, svc := range cfg.Services {
		if services != nil && !want[svc.ID] {
			continue
		}
		r, err := s.Report(ctx, svc.ID)
		if err != nil {
			return nil, err
		}
		sm := Summary{Service: r.Service, Name: r.Name, Team: r.Team, Ready: r.Ready, Pass: r.Pass, Fail: r.Fail, Unknown: r.Unknown,
			Failing: []string{}, Checks: map[string]string{}}
		for _, c := range r.Checks {
			sm.Checks[c.ID] = c.Status
			if c.Status != Pass {
				sm.Failing = append(sm.Failing, c.ID)
			}
		}
		out = append(out, sm)
	}
	return out, nil
}
