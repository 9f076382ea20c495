package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Users, teams, schedules, escalation policies and notification channels.

// User is a person who can be paged.
type User struct {
	Node
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// TimeZone is an IANA name (Europe/Paris); working hours and reports are read in it.
	TimeZone string `yaml:"time_zone"`
	// WorkingHours bound when low-urgency incidents may notify the user (default: weekdays
	// 09:00-18:00 in the user's time zone).
	WorkingHours   *WorkingHours   `yaml:"working_hours"`
	ContactMethods []ContactMethod `yaml:"contact_methods"`
	// NotificationRules say which contact method is used how long after the user is paged.
	// Without rules every contact method is used at once.
	NotificationRules []NotificationRule `yaml:"notification_rules"`

	loc *time.Location
}

// Location is the user's time zone (UTC when unset).
func (u *User) Location() *time.Location {
	if u.loc == nil {
		return time.UTC
	}
	return u.loc
}

// ContactMethod is one way to reach a user.
type ContactMethod struct {
	Node
	// ID names the method in notification rules; it defaults to its type.
	ID string `yaml:"id"`
	// Type is email, sms, voice, push (ntfy), slack, teams or webhook.
	Type string `yaml:"type"`
	// Address is what the type needs: an email address, a phone number in E.164 form, an
	// ntfy topic URL, a Slack / Teams / webhook URL.
	Address string `yaml:"address"`
	// Secret signs webhook bodies (HMAC-SHA256) and authenticates ntfy (a bearer token).
	Secret string `yaml:"secret"`
	// RateLimit caps messages to this method in place of its type's default limit; the
	// surplus is held and leaves as one bundle.
	RateLimit *RateLimit `yaml:"rate_limit"`
}

// Contact method types.
const (
	ContactEmail   = "email"
	ContactSMS     = "sms"
	ContactVoice   = "voice"
	ContactPush    = "push"
	ContactSlack   = "slack"
	ContactTeams   = "teams"
	ContactWebhook = "webhook"
)

// RateLimit is at most Count messages per Per window.
type RateLimit struct {
	Node
	Count int      `yaml:"count"`
	Per   Duration `yaml:"per"`
}

// NotificationRule uses one contact method some time after the user is paged, while the
// incident is still unacknowledged.
type NotificationRule struct {
	Node
	ContactMethod string   `yaml:"contact_method"`
	After         Duration `yaml:"after"`
	// Urgency limits the rule to high or low urgency incidents; empty means both.
	Urgency string `yaml:"urgency"`
}

// Team groups users and owns services.
type Team struct {
	Node
	ID      string   `yaml:"id"`
	Name    string   `yaml:"name"`
	Members []string `yaml:"members"`
	// WorkingHours are the team's (default: its services' support hours, else weekdays
	// 09:00-18:00 UTC): chaos drills run only inside them.
	WorkingHours *WorkingHours `yaml:"working_hours"`
	// PingKey pings the team's heartbeats by slug (/ping/{ping_key}/{slug}), and no other
	// team's; PingKeyEnv names an environment variable holding it instead.
	PingKey    string `yaml:"ping_key"`
	PingKeyEnv string `yaml:"ping_key_env"`
}

// Schedule says who is on call when: layers of rotations, the higher (later) layer winning
// where both have someone, and overrides (kept in the database) above all layers.
type Schedule struct {
	Node
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// TimeZone is the IANA zone hand-offs and restrictions are read in.
	TimeZone string  `yaml:"time_zone"`
	Layers   []Layer `yaml:"layers"`

	loc *time.Location
}

// Location is the schedule's time zone (UTC when unset).
func (s *Schedule) Location() *time.Location {
	if s.loc == nil {
		return time.UTC
	}
	return s.loc
}

// Layer is one rotation of users, optionally restricted to some hours.
type Layer struct {
	Node
	Name         string        `yaml:"name"`
	Rotation     Rotation      `yaml:"rotation"`
	Users        []string      `yaml:"users"`
	Restrictions []Restriction `yaml:"restrictions"`
	// End, if set, is the local time the layer stops (a layer replaced by a newer one).
	End LocalTime `yaml:"end"`
}

// Rotation is how often the layer hands off, and when it first does.
type Rotation struct {
	Node
	// Length is a whole number of hours, days or weeks (12h, 1d, 1w, 2w). Days and weeks are
	// calendar days in the schedule's time zone, so hand-offs keep their wall-clock time
	// across DST changes.
	Length RotationLength `yaml:"length"`
	// Handoff is the local date and time of the first hand-off; the layer starts then.
	Handoff LocalTime `yaml:"handoff"`
}

// RotationLength is a rotation's turn length in calendar days plus wall-clock hours.
type RotationLength struct {
	Days, Hours int
}

// UnmarshalYAML reads 12h, 1d, 1w, 2w3d.
func (l *RotationLength) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a rotation length such as 12h, 1d or 1w, found %s", describe(n))
	}
	s := n.Value
	orig := s
	var out RotationLength
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) {
			return fmt.Errorf("rotation length %q: want whole hours, days or weeks, e.g. 12h, 1d, 1w", orig)
		}
		v, err := strconv.Atoi(s[:i])
		if err != nil || v > 10000 {
			return fmt.Errorf("rotation length %q: too long; at most a year (52w)", orig)
		}
		switch s[i] {
		case 'h':
			out.Hours += v
		case 'd':
			out.Days += v
		case 'w':
			out.Days += 7 * v
		default:
			return fmt.Errorf("rotation length %q: unit %q: use h, d or w", orig, s[i:i+1])
		}
		s = s[i+1:]
	}
	if out.Days*24+out.Hours > 366*24 {
		return fmt.Errorf("rotation length %q: too long; at most a year (52w)", orig)
	}
	if out.Days == 0 && out.Hours == 0 {
		return fmt.Errorf("rotation length %q: must be at least 1h", orig)
	}
	*l = out
	return nil
}

// Approx is the length as a duration, ignoring DST (for windows and sanity checks).
func (l RotationLength) Approx() time.Duration {
	return time.Duration(l.Days)*24*time.Hour + time.Duration(l.Hours)*time.Hour
}

// LocalTime is a wall-clock date and time with no zone ("2026-01-05T09:00").
type LocalTime struct {
	Set                         bool
	Year, Month, Day, Hour, Min int
}

// UnmarshalYAML reads 2026-01-05T09:00 (seconds and a space instead of T are accepted).
func (t *LocalTime) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a local time such as 2026-01-05T09:00, found %s", describe(n))
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if v, err := time.Parse(layout, n.Value); err == nil {
			*t = LocalTime{Set: true, Year: v.Year(), Month: int(v.Month()), Day: v.Day(), Hour: v.Hour(), Min: v.Minute()}
			return nil
		}
	}
	return fmt.Errorf("local time %q: want YYYY-MM-DDTHH:MM in the schedule's time zone, without an offset", n.Value)
}

// In is the instant the local time names in loc.
func (t LocalTime) In(loc *time.Location) time.Time {
	return time.Date(t.Year, time.Month(t.Month), t.Day, t.Hour, t.Min, 0, 0, loc)
}

// Restriction limits a layer to some hours of some days, in the schedule's time zone. End
// before Start means the window runs past midnight (22:00-06:00).
type Restriction struct {
	Node
	// Days are mon..sun, or weekdays / weekends; empty means every day.
	Days  []string  `yaml:"days"`
	Start TimeOfDay `yaml:"start"`
	End   TimeOfDay `yaml:"end"`
}

// TimeOfDay is HH:MM, as minutes after midnight.
type TimeOfDay struct {
	Set     bool
	Minutes int
}

// UnmarshalYAML reads HH:MM; 24:00 is the end of the day.
func (d *TimeOfDay) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a time of day such as 09:00, found %s", describe(n))
	}
	h, m, ok := strings.Cut(n.Value, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return fmt.Errorf("time of day %q: want HH:MM, 00:00 to 24:00", n.Value)
	}
	*d = TimeOfDay{Set: true, Minutes: hh*60 + mm}
	return nil
}

// WorkingHours bound when low-urgency work may notify someone: the same hours on some days of
// the week, in a time zone (a user's own zone when unset on a user). Package oncall reckons
// with them (oncall.Hours).
type WorkingHours struct {
	Node
	TimeZone string    `yaml:"time_zone"`
	Days     []string  `yaml:"days"`
	Start    TimeOfDay `yaml:"start"`
	End      TimeOfDay `yaml:"end"`

	loc      *time.Location
	weekdays [7]bool
}

// Zone is the time zone the hours name, nil when they name none.
func (w *WorkingHours) Zone() *time.Location { return w.loc }

// Weekdays are the days the hours apply on, by time.Weekday.
func (w *WorkingHours) Weekdays() [7]bool { return w.weekdays }

// EscalationPolicy says whom to page, in which order, when nobody acknowledges.
type EscalationPolicy struct {
	Node
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Repeat runs the steps this many more times when nobody acknowledged.
	Repeat int              `yaml:"repeat"`
	Steps  []EscalationStep `yaml:"steps"`
	// SeverityUrgency overrides the service's urgency by event severity
	// (e.g. {critical: high, info: low}).
	SeverityUrgency map[string]string `yaml:"severity_urgency"`
	// Fallback are the users paged when a whole round of the steps reached nobody (nobody on
	// call, nobody with a contact method). Without it the config's top-level fallback is used.
	Fallback []string `yaml:"fallback"`
}

// EscalationStep pages its targets, then waits EscalateAfter for an acknowledgement.
type EscalationStep struct {
	Node
	EscalateAfter Duration           `yaml:"escalate_after"`
	Targets       []EscalationTarget `yaml:"targets"`
}

// EscalationTarget is one of: a user, whoever is on call on a schedule (optionally only some of
// its layers, e.g. a "secondary" layer for the lieutenant), or every member of a team.
type EscalationTarget struct {
	Node
	User     string   `yaml:"user"`
	Schedule string   `yaml:"schedule"`
	Layers   []string `yaml:"layers"`
	Team     string   `yaml:"team"`
}

// Notifications configures the channels pages go out through. Slack, Teams, webhook and ntfy
// need nothing here: their URL is the contact method's address.
type Notifications struct {
	Node
	Email  *EmailSettings  `yaml:"email"`
	Twilio *TwilioSettings `yaml:"twilio"`
	// LinkTTL is how long acknowledge and resolve links in pages work (default 24h).
	LinkTTL Duration `yaml:"link_ttl"`
	// Compensation turns off-hours on-call work into time off owed, for the on-call report.
	Compensation *Compensation `yaml:"compensation"`
}

// EmailSettings is the SMTP server pages are sent through.
type EmailSettings struct {
	Node
	SMTP SMTPSettings `yaml:"smtp"`
}

// SMTPSettings says how to reach the mail server.
type SMTPSettings struct {
	Node
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	From string `yaml:"from"`
	// TLS is none, starttls (the default) or tls (implicit TLS, usually port 465).
	TLS      string `yaml:"tls"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// PasswordEnv names an environment variable holding the password instead, so the secret
	// stays out of files under review.
	PasswordEnv string `yaml:"password_env"`
	// InsecureSkipVerify accepts any certificate (for test servers only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// TwilioSettings reach a Twilio-compatible REST API for SMS and voice.
type TwilioSettings struct {
	Node
	// BaseURL defaults to https://api.twilio.com.
	BaseURL    string `yaml:"base_url"`
	AccountSID string `yaml:"account_sid"`
	AuthToken  string `yaml:"auth_token"`
	// AuthTokenEnv names an environment variable holding the auth token instead.
	AuthTokenEnv string `yaml:"auth_token_env"`
	From         string `yaml:"from"`
}

// Compensation is the rule that turns off-hours work into time off: any page outside working
// hours earns NightPage days, and off-hours work of at least LongWork earns LongWorkDays.
type Compensation struct {
	Node
	NightPage    float64  `yaml:"night_page"`
	LongWork     Duration `yaml:"long_work"`
	LongWorkDays float64  `yaml:"long_work_days"`
}

var dayNames = map[string][]time.Weekday{
	"mon": {time.Monday}, "tue": {time.Tuesday}, "wed": {time.Wednesday}, "thu": {time.Thursday},
	"fri": {time.Friday}, "sat": {time.Saturday}, "sun": {time.Sunday},
	"weekdays": {time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
	"weekends": {time.Saturday, time.Sunday},
}

// ParseDays turns day names into a set of weekdays; empty means every day.
func ParseDays(names []string) ([7]bool, error) {
	var set [7]bool
	if len(names) == 0 {
		return [7]bool{true, true, true, true, true, true, true}, nil
	}
	for _, n := range names {
		ds, ok := dayNames[strings.ToLower(n)]
		if !ok {
			return set, fmt.Errorf("day %q: want mon, tue, wed, thu, fri, sat, sun, weekdays or weekends", n)
		}
		for _, d := range ds {
			set[d] = true
		}
	}
	return set, nil
}

// User returns the user with the given id, or nil.
func (c *Config) User(id string) *User {
	return find(c.Users, id, func(u *User) string { return u.ID })
}

// Team returns the team with the given id, or nil.
func (c *Config) Team(id string) *Team {
	return find(c.Teams, id, func(t *Team) string { return t.ID })
}

// Schedule returns the schedule with the given id, or nil.
func (c *Config) Schedule(id string) *Schedule {
	return find(c.Schedules, id, func(s *Schedule) string { return s.ID })
}

// EscalationPolicy returns the policy with the given id, or nil.
func (c *Config) EscalationPolicy(id string) *EscalationPolicy {
	return find(c.EscalationPolicies, id, func(p *EscalationPolicy) string { return p.ID })
}

func find[T any](items []T, id string, key func(*T) string) *T {
	for i := range items {
		if key(&items[i]) == id {
			return &items[i]
		}
	}
	return nil
}

func loadZone(errs *Errors, p Pos, what, name string) *time.Location {
	if name == "" {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		errs.add(p, "%s: unknown time zone %q (use an IANA name such as Europe/Paris or UTC)", what, name)
		return nil
	}
	return loc
}

// InHours reports whether the minute of the day minute (0 to 1439) of weekday wd falls in hours
// that span start to end (minutes after midnight; 24:00 is 1440) on days. A span whose end
// comes before its start runs past midnight: the evening part belongs to its day, the morning
// part to the day before.
func InHours(days [7]bool, start, end int, wd time.Weekday, minute int) bool {
	if end > start {
		return days[wd] && minute >= start && minute < end
	}
	if minute >= start {
		return days[wd]
	}
	return minute < end && days[(wd+6)%7]
}

// TeamWorkingHours are the working hours of the team owning a service: the team's, else the
// service's support hours; nil when neither is set (weekdays 09:00 to 18:00 UTC then).
func (c *Config) TeamWorkingHours(serviceID string) *WorkingHours {
	svc := c.Service(serviceID)
	if svc == nil {
		return nil
	}
	for i := range c.Teams {
		if c.Teams[i].ID == svc.Team && c.Teams[i].WorkingHours != nil {
			return c.Teams[i].WorkingHours
		}
	}
	return svc.SupportHours
}

func (w *WorkingHours) validate(errs *Errors, what string) {
	w.loc = loadZone(errs, w.At("time_zone"), what, w.TimeZone)
	days, err := ParseDays(w.Days)
	if err != nil {
		errs.add(w.At("days"), "%s: %v", what, err)
	}
	w.weekdays = days
	if !w.Start.Set || !w.End.Set {
		errs.add(w.Pos, "%s: start and end are required (HH:MM)", what)
	} else if w.Start.Minutes == w.End.Minutes {
		errs.add(w.At("end"), "%s: end equals start; the window would be empty", what)
	}
}

func (c *Config) validateOnCall(errs *Errors) {
	users := ids(errs, "user", c.Users, func(u *User) (string, Node) { return u.ID, u.Node })
	teams := ids(errs, "team", c.Teams, func(t *Team) (string, Node) { return t.ID, t.Node })
	schedules := ids(errs, "schedule", c.Schedules, func(s *Schedule) (string, Node) { return s.ID, s.Node })
	policies := ids(errs, "escalation policy", c.EscalationPolicies, func(p *EscalationPolicy) (string, Node) { return p.ID, p.Node })

	for i := range c.Users {
		c.validateUser(errs, &c.Users[i])
	}
	c.validateTeams(errs, users)
	c.validateSchedules(errs, users)
	c.validatePolicies(errs, users, teams, schedules)
	c.validateServicesOnCall(errs, teams, policies)
	c.validateFallback(errs, users)
	c.validateNotifications(errs)
}

// validateTeams checks every team's members are users of the config.
func (c *Config) validateTeams(errs *Errors, users map[string]*User) {
	for i := range c.Teams {
		t := &c.Teams[i]
		if t.Name == "" {
			t.Name = t.ID
		}
		if t.WorkingHours != nil {
			t.WorkingHours.validate(errs, "team "+t.ID+": working_hours")
		}
		for _, m := range t.Members {
			if users[m] == nil {
				errs.add(t.At("members"), "team %s: unknown user %q", t.ID, m)
			}
		}
	}
}

// validateSchedules checks each schedule's zone and layers: their rotations and restrictions,
// and that their users are users of the config.
func (c *Config) validateSchedules(errs *Errors, users map[string]*User) {
	for i := range c.Schedules {
		s := &c.Schedules[i]
		if s.Name == "" {
			s.Name = s.ID
		}
		s.loc = loadZone(errs, s.At("time_zone"), "schedule "+s.ID, s.TimeZone)
		if len(s.Layers) == 0 {
			errs.add(s.Pos, "schedule %s: needs at least one layer", s.ID)
		}
		names := map[string]bool{}
		for j := range s.Layers {
			l := &s.Layers[j]
			if l.Name == "" {
				l.Name = "layer-" + strconv.Itoa(j+1)
			}
			if names[l.Name] {
				errs.add(l.At("name"), "schedule %s: layer name %q is used twice", s.ID, l.Name)
			}
			names[l.Name] = true
			if !l.Rotation.Has("length") {
				errs.add(l.Rotation.Pos, "schedule %s, layer %s: rotation.length is required (e.g. 1w)", s.ID, l.Name)
			}
			if !l.Rotation.Handoff.Set {
				errs.add(l.Rotation.Pos, "schedule %s, layer %s: rotation.handoff is required (local time of the first hand-off, e.g. 2026-01-05T09:00)", s.ID, l.Name)
			}
			if len(l.Users) == 0 {
				errs.add(l.Pos, "schedule %s, layer %s: needs at least one user", s.ID, l.Name)
			}
			for _, u := range l.Users {
				if users[u] == nil {
					errs.add(l.At("users"), "schedule %s, layer %s: unknown user %q", s.ID, l.Name, u)
				}
			}
			if l.End.Set && l.Rotation.Handoff.Set && !l.End.In(time.UTC).After(l.Rotation.Handoff.In(time.UTC)) {
				errs.add(l.At("end"), "schedule %s, layer %s: end is not after the first hand-off", s.ID, l.Name)
			}
			for k := range l.Restrictions {
				r := &l.Restrictions[k]
				if _, err := ParseDays(r.Days); err != nil {
					errs.add(r.At("days"), "schedule %s, layer %s: %v", s.ID, l.Name, err)
				}
				if !r.Start.Set || !r.End.Set {
					errs.add(r.Pos, "schedule %s, layer %s: a restriction needs start and end (HH:MM)", s.ID, l.Name)
				} else if r.Start.Minutes == r.End.Minutes {
					errs.add(r.At("end"), "schedule %s, layer %s: restriction end equals start; the window would be empty", s.ID, l.Name)
				}
			}
		}
	}
}

// validatePolicies checks each escalation policy's steps and what they target.
func (c *Config) validatePolicies(errs *Errors, users map[string]*User, teams map[string]*Team, schedules map[string]*Schedule) {
	for i := range c.EscalationPolicies {
		p := &c.EscalationPolicies[i]
		if p.Name == "" {
			p.Name = p.ID
		}
		if p.Repeat < 0 || p.Repeat > 20 {
			errs.add(p.At("repeat"), "escalation policy %s: repeat must be from 0 to 20", p.ID)
		}
		if len(p.Steps) == 0 {
			errs.add(p.Pos, "escalation policy %s: needs at least one step", p.ID)
		}
		for sev, urg := range p.SeverityUrgency {
			if sev != "critical" && sev != "error" && sev != "warning" && sev != "info" {
				errs.add(p.At("severity_urgency"), "escalation policy %s: severity_urgency: unknown severity %q (critical, error, warning, info)", p.ID, sev)
			}
			if urg != "high" && urg != "low" {
				errs.add(p.At("severity_urgency"), "escalation policy %s: severity_urgency: %s: urgency %q: want high or low", p.ID, sev, urg)
			}
		}
		for j := range p.Steps {
			st := &p.Steps[j]
			if st.EscalateAfter.D() < time.Minute && (j < len(p.Steps)-1 || p.Repeat > 0) {
				errs.add(st.At("escalate_after"), "escalation policy %s, step %d: escalate_after must be at least 1m", p.ID, j+1)
			}
			if len(st.Targets) == 0 {
				errs.add(st.Pos, "escalation policy %s, step %d: needs at least one target", p.ID, j+1)
			}
			for k := range st.Targets {
				t := &st.Targets[k]
				set := 0
				for _, v := range []string{t.User, t.Schedule, t.Team} {
					if v != "" {
						set++
					}
				}
				if set != 1 {
					errs.add(t.Pos, "escalation policy %s, step %d: a target names exactly one of user, schedule or team", p.ID, j+1)
					continue
				}
				switch {
				case t.User != "" && users[t.User] == nil:
					errs.add(t.At("user"), "escalation policy %s, step %d: unknown user %q", p.ID, j+1, t.User)
				case t.Team != "" && teams[t.Team] == nil:
					errs.add(t.At("team"), "escalation policy %s, step %d: unknown team %q", p.ID, j+1, t.Team)
				case t.Schedule != "" && schedules[t.Schedule] == nil:
					errs.add(t.At("schedule"), "escalation policy %s, step %d: unknown schedule %q", p.ID, j+1, t.Schedule)
				case t.Schedule != "":
					for _, ln := range t.Layers {
						found := false
						for _, l := range schedules[t.Schedule].Layers {
							found = found || l.Name == ln
						}
						if !found {
							errs.add(t.At("layers"), "escalation policy %s, step %d: schedule %s has no layer %q", p.ID, j+1, t.Schedule, ln)
						}
					}
				}
				if len(t.Layers) > 0 && t.Schedule == "" {
					errs.add(t.At("layers"), "escalation policy %s, step %d: layers only apply to a schedule target", p.ID, j+1)
				}
			}
		}
	}
}

// validateServicesOnCall checks what services name of on-call: their escalation policy, their
// team, their support hours.
func (c *Config) validateServicesOnCall(errs *Errors, teams map[string]*Team, policies map[string]*EscalationPolicy) {
	for i := range c.Services {
		s := &c.Services[i]
		if s.EscalationPolicy != "" && policies[s.EscalationPolicy] == nil {
			errs.add(s.At("escalation_policy"), "service %s: unknown escalation policy %q", s.ID, s.EscalationPolicy)
		}
		// A config without teams may use team as a plain label; once teams are declared, a
		// service's team must be one of them, so a typo cannot orphan a service.
		if s.Team != "" && len(c.Teams) > 0 && teams[s.Team] == nil {
			errs.add(s.At("team"), "service %s: unknown team %q", s.ID, s.Team)
		}
		if s.SupportHours != nil {
			s.SupportHours.validate(errs, "service "+s.ID+": support_hours")
		}
	}
}

func (c *Config) validateUser(errs *Errors, u *User) {
	if u.Name == "" {
		u.Name = u.ID
	}
	u.loc = loadZone(errs, u.At("time_zone"), "user "+u.ID, u.TimeZone)
	if u.WorkingHours != nil {
		u.WorkingHours.validate(errs, "user "+u.ID+": working_hours")
	}
	methods := map[string]*ContactMethod{}
	for j := range u.ContactMethods {
		m := &u.ContactMethods[j]
		if m.ID == "" {
			m.ID = m.Type
		}
		if m.ID != "" && !validID(m.ID) {
			errs.add(m.At("id"), "user %s: contact method id %q: use letters, digits, '-', '_' and '.' only", u.ID, m.ID)
		}
		if methods[m.ID] != nil {
			errs.add(m.Pos, "user %s: two contact methods are called %q; give them distinct ids", u.ID, m.ID)
		}
		methods[m.ID] = m
		what := "user " + u.ID + ", contact method " + m.ID
		switch m.Type {
		case ContactEmail:
			if a, err := mail.ParseAddress(m.Address); err != nil || a.Name != "" {
				errs.add(m.At("address"), "%s: %q is not an email address", what, m.Address)
			}
		case ContactSMS, ContactVoice:
			if !e164(m.Address) {
				errs.add(m.At("address"), "%s: %q is not a phone number in E.164 form (+33612345678)", what, m.Address)
			}
			if c.Notifications.Twilio == nil {
				errs.add(m.At("type"), "%s: %s needs notifications.twilio", what, m.Type)
			}
		case ContactPush, ContactSlack, ContactTeams, ContactWebhook:
			if u, err := url.Parse(m.Address); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs.add(m.At("address"), "%s: %q is not an http(s) URL", what, m.Address)
			}
		case "":
			errs.add(m.Pos, "%s: type is required (email, sms, voice, push, slack, teams, webhook)", what)
		default:
			errs.add(m.At("type"), "%s: unknown type %q (email, sms, voice, push, slack, teams, webhook)", what, m.Type)
		}
		if m.Type == ContactEmail && c.Notifications.Email == nil {
			errs.add(m.At("type"), "%s: email needs notifications.email.smtp", what)
		}
		if r := m.RateLimit; r != nil && (r.Count < 1 || r.Per.D() < time.Second) {
			errs.add(r.Pos, "%s: rate_limit needs count >= 1 and per >= 1s", what)
		}
	}
	for j := range u.NotificationRules {
		r := &u.NotificationRules[j]
		if methods[r.ContactMethod] == nil {
			errs.add(r.At("contact_method"), "user %s: notification rule names unknown contact method %q", u.ID, r.ContactMethod)
		}
		if r.Urgency != "" && r.Urgency != "high" && r.Urgency != "low" {
			errs.add(r.At("urgency"), "user %s: notification rule urgency %q: want high, low or nothing for both", u.ID, r.Urgency)
		}
	}
}

func e164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (c *Config) validateNotifications(errs *Errors) {
	n := &c.Notifications
	if e := n.Email; e != nil {
		s := &e.SMTP
		if s.Host == "" {
			errs.add(s.Pos, "notifications.email.smtp.host is required")
		}
		if s.Port == 0 {
			s.Port = 587
			if s.TLS == "tls" {
				s.Port = 465
			}
		}
		if s.Port < 1 || s.Port > 65535 {
			errs.add(s.At("port"), "notifications.email.smtp.port %d: want 1 to 65535", s.Port)
		}
		if _, err := mail.ParseAddress(s.From); err != nil {
			errs.add(s.At("from"), "notifications.email.smtp.from %q is not an email address", s.From)
		}
		switch s.TLS {
		case "":
			s.TLS = "starttls"
		case "none", "starttls", "tls":
		default:
			errs.add(s.At("tls"), "notifications.email.smtp.tls %q: want none, starttls or tls", s.TLS)
		}
		secretFromEnv(errs, s.Node, "notifications.email.smtp", "password", &s.Password, s.PasswordEnv)
		if (s.Username == "") != (s.Password == "") {
			errs.add(s.Pos, "notifications.email.smtp: username and password go together")
		}
	}
	if t := n.Twilio; t != nil {
		if t.BaseURL == "" {
			t.BaseURL = "https://api.twilio.com"
		}
		if u, err := url.Parse(t.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.add(t.At("base_url"), "notifications.twilio.base_url %q is not an http(s) URL", t.BaseURL)
		}
		secretFromEnv(errs, t.Node, "notifications.twilio", "auth_token", &t.AuthToken, t.AuthTokenEnv)
		if t.AccountSID == "" || t.AuthToken == "" {
			errs.add(t.Pos, "notifications.twilio: account_sid and auth_token are required")
		}
		if !e164(t.From) {
			errs.add(t.At("from"), "notifications.twilio.from %q is not a phone number in E.164 form", t.From)
		}
	}
	if n.LinkTTL == 0 {
		n.LinkTTL = Duration(24 * time.Hour)
	}
	if n.LinkTTL.D() < time.Minute {
		errs.add(n.At("link_ttl"), "notifications.link_ttl must be at least 1m")
	}
	if cp := n.Compensation; cp != nil && (cp.NightPage < 0 || cp.LongWorkDays < 0) {
		errs.add(cp.Pos, "notifications.compensation: days owed cannot be negative")
	}
}

// secretFromEnv fills a secret from the environment variable named by its *_env field, so
// passwords and tokens can stay out of the config files teams review.
func secretFromEnv(errs *Errors, n Node, section, field string, secret *string, env string) {
	if env == "" {
		return
	}
	if *secret != "" {
		errs.add(n.At(field+"_env"), "%s: set %s or %s_env, not both", section, field, field)
		return
	}
	v := os.Getenv(env)
	if v == "" {
		errs.add(n.At(field+"_env"), "%s.%s_env: the environment variable %s is empty or not set", section, field, env)
		return
	}
	*secret = v
}
