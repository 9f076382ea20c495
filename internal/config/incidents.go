package config

import (
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/severity"
)

// Incident response settings: severities, roles, business days, look-back windows.

// IncidentSettings tunes incident response. Every field has a default, so the section may be
// left out.
type IncidentSettings struct {
	Node
	// Severities names the SEV levels, e.g. SEV1: "Critical". Only SEV1..SEV5 exist; a level
	// left out keeps its default name.
	Severities map[string]string `yaml:"severities"`
	// DefaultSEV maps an alert severity (critical, error, warning, info) to the SEV level an
	// incident gets until someone changes it by hand.
	DefaultSEV map[string]string `yaml:"default_sev"`
	// Roles names the incident roles, e.g. commander: "Incident commander". The three standard
	// roles always exist; more may be added.
	Roles map[string]string `yaml:"roles"`
	// TimeZone is where business days and working hours are counted (IANA name, default UTC).
	TimeZone string `yaml:"time_zone"`
	// Holidays are dates (YYYY-MM-DD) that are not business days.
	Holidays []string `yaml:"holidays"`
	// ActionItemDays is how many business days an action item gets by default (5).
	ActionItemDays int `yaml:"action_item_days"`
	// ChangeLookback is how far before an incident's start its service's changes are shown (24h).
	ChangeLookback Duration `yaml:"change_lookback"`
	// ChangeFailureWindow is how soon after a deploy an incident of its service counts it as a
	// failed change for DORA's change failure rate (24h).
	ChangeFailureWindow Duration `yaml:"change_failure_window"`
	// WorkingHours bounds the working day on business days, for the off-hours page count.
	WorkingHours BusinessHours `yaml:"working_hours"`

	loc      *time.Location
	holidays map[string]bool
}

// BusinessHours is a span of the day, "09:00" to "17:00" by default.
type BusinessHours struct {
	Node
	Start string `yaml:"start"`
	End   string `yaml:"end"`

	start, end time.Duration
}

// The standard incident roles.
const (
	RoleCommander      = "commander"
	RoleCommunications = "communications"
	RoleScribe         = "scribe"
)

var (
	defaultRoleNames = map[string]string{RoleCommander: "Incident commander", RoleCommunications: "Communications lead", RoleScribe: "Scribe"}
)

func (c *Config) validateIncidents(errs *Errors) {
	s := &c.Incidents
	s.validateSeverities(errs)
	s.validateRoles(errs)
	s.validateBusinessDays(errs)
	s.validateLookbacks(errs)
	s.validateWorkingHours(errs)
}

// validateSeverities reads the SEV levels' names and the SEV level each alert severity starts
// an incident at, defaults filled in.
func (s *IncidentSettings) validateSeverities(errs *Errors) {
	names := maps.Clone(severity.LevelNames)
	for k, v := range s.Severities {
		if !severity.ValidLevel(k) {
			errs.add(s.At("severities"), "incidents.severities: %q is not a level; use SEV1, SEV2, SEV3, SEV4 or SEV5", k)
			continue
		}
		if strings.TrimSpace(v) == "" {
			errs.add(s.At("severities"), "incidents.severities: %s needs a name", k)
			continue
		}
		names[k] = v
	}
	s.Severities = names
	sevMap := map[string]string{}
	for _, a := range severity.Alert {
		sevMap[a] = severity.LevelFor(a)
	}
	for k, v := range s.DefaultSEV {
		if severity.Rank(k) == 0 {
			errs.add(s.At("default_sev"), "incidents.default_sev: %q is not an alert severity; use critical, error, warning or info", k)
			continue
		}
		if !severity.ValidLevel(v) {
			errs.add(s.At("default_sev"), "incidents.default_sev: %s: %q is not a level; use SEV1..SEV5", k, v)
			continue
		}
		sevMap[k] = v
	}
	s.DefaultSEV = sevMap
}

// validateRoles reads the incident roles: the standard three, renamed or not, and more.
func (s *IncidentSettings) validateRoles(errs *Errors) {
	roles := map[string]string{}
	for k, v := range defaultRoleNames {
		roles[k] = v
	}
	for k, v := range s.Roles {
		if !validID(k) {
			errs.add(s.At("roles"), "incidents.roles: role %q: use letters, digits, '-', '_' and '.' only", k)
			continue
		}
		if strings.TrimSpace(v) == "" {
			errs.add(s.At("roles"), "incidents.roles: %s needs a name", k)
			continue
		}
		roles[k] = v
	}
	s.Roles = roles
}

// validateBusinessDays reads where business days are counted, the holidays, and how many of
// them an action item gets.
func (s *IncidentSettings) validateBusinessDays(errs *Errors) {
	s.loc = time.UTC
	if s.TimeZone != "" {
		loc, err := time.LoadLocation(s.TimeZone)
		if err != nil {
			errs.add(s.At("time_zone"), "incidents.time_zone %q: not an IANA time zone name (e.g. Europe/Berlin)", s.TimeZone)
		} else {
			s.loc = loc
		}
	}
	s.holidays = map[string]bool{}
	for _, h := range s.Holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil {
			errs.add(s.At("holidays"), "incidents.holidays: %q is not a date written YYYY-MM-DD", h)
			continue
		}
		s.holidays[h] = true
	}
	switch {
	case !s.Has("action_item_days"):
		s.ActionItemDays = 5
	case s.ActionItemDays < 1 || s.ActionItemDays > 60:
		errs.add(s.At("action_item_days"), "incidents.action_item_days %d: want 1 to 60 business days", s.ActionItemDays)
	}
}

// validateLookbacks reads how far around an incident its service's changes count.
func (s *IncidentSettings) validateLookbacks(errs *Errors) {
	if !s.Has("change_lookback") {
		s.ChangeLookback = Duration(24 * time.Hour)
	} else if s.ChangeLookback.D() <= 0 || s.ChangeLookback.D() > 90*24*time.Hour {
		errs.add(s.At("change_lookback"), "incidents.change_lookback: want more than 0 and at most 90d")
	}
	if !s.Has("change_failure_window") {
		s.ChangeFailureWindow = Duration(24 * time.Hour)
	} else if s.ChangeFailureWindow.D() <= 0 || s.ChangeFailureWindow.D() > 30*24*time.Hour {
		errs.add(s.At("change_failure_window"), "incidents.change_failure_window: want more than 0 and at most 30d")
	}
}

// validateWorkingHours reads the working day of business days, 09:00 to 17:00 by default.
func (s *IncidentSettings) validateWorkingHours(errs *Errors) {
	wh := &s.WorkingHours
	if wh.Start == "" {
		wh.Start = "09:00"
	}
	if wh.End == "" {
		wh.End = "17:00"
	}
	var err1, err2 error
	wh.start, err1 = clockTime(wh.Start)
	wh.end, err2 = clockTime(wh.End)
	switch {
	case err1 != nil:
		errs.add(wh.At("start"), "incidents.working_hours.start: %v", err1)
	case err2 != nil:
		errs.add(wh.At("end"), "incidents.working_hours.end: %v", err2)
	case wh.end <= wh.start:
		errs.add(wh.At("end"), "incidents.working_hours: end %s is not after start %s", wh.End, wh.Start)
	}
}

func clockTime(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q: want a time of day written HH:MM", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// SEVName is the configured name of a SEV level ("SEV1" -> "Critical").
func (s *IncidentSettings) SEVName(level string) string {
	if n := s.Severities[level]; n != "" {
		return n
	}
	return severity.LevelNames[level]
}

// SEVLabel says a SEV level as every page and message of nines says it: the level and its name
// ("SEV2 Major"), or "no SEV".
func (s *IncidentSettings) SEVLabel(level string) string {
	if level == "" {
		return "no SEV"
	}
	return strings.TrimSpace(level + " " + s.SEVName(level))
}

// SEVFor is the SEV level an incident of the given alert severity starts at.
func (s *IncidentSettings) SEVFor(alertSeverity string) string {
	if v := s.DefaultSEV[alertSeverity]; v != "" {
		return v
	}
	return severity.LevelFor(alertSeverity)
}

// RoleNames lists the incident roles, the standard three first, then the rest by id.
func (s *IncidentSettings) RoleNames() []string {
	out := []string{RoleCommander, RoleCommunications, RoleScribe}
	var extra []string
	for k := range s.Roles {
		if defaultRoleNames[k] == "" {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

// RoleName is the display name of a role id, "" for an unknown role.
func (s *IncidentSettings) RoleName(role string) string {
	if n := s.Roles[role]; n != "" {
		return n
	}
	return defaultRoleNames[role]
}

// Location is the time zone business days are counted in.
func (s *IncidentSettings) Location() *time.Location {
	if s.loc == nil {
		return time.UTC
	}
	return s.loc
}

// Holiday reports whether the date (YYYY-MM-DD) is a configured holiday.
func (s *IncidentSettings) Holiday(date string) bool { return s.holidays[date] }

// KnowsService reports whether id is a service of the config.
func (c *Config) KnowsService(id string) bool { return c.Service(id) != nil }

// KnowsUser reports whether id is a person of the config; while it lists none, anyone is.
func (c *Config) KnowsUser(id string) bool { return len(c.Users) == 0 || c.User(id) != nil }

// RoleName is the display name of an incident role, "" for a role the config lacks.
func (c *Config) RoleName(role string) string { return c.Incidents.RoleName(role) }

// RoleNames lists the incident roles, the standard three first.
func (c *Config) RoleNames() []string { return c.Incidents.RoleNames() }

// Span is the working day: from start to end after midnight, 09:00 to 17:00 by default.
func (b *BusinessHours) Span() (start, end time.Duration) {
	if b.end == 0 {
		return 9 * time.Hour, 17 * time.Hour
	}
	return b.start, b.end
}
