package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/labels"
)

// Production readiness and chaos drills.

// ServiceReadiness is what a service's readiness checks read that the rest of its config does
// not say (services[].readiness).
type ServiceReadiness struct {
	Node
	// Tier is the service's criticality, 1 (most critical) to 4; with urgency it makes the
	// criticality check pass.
	Tier int `yaml:"tier"`
	// Dashboards are links to the service's dashboards.
	Dashboards []string `yaml:"dashboards"`
	// HealthCheck names the monitor that checks the service's health URL; unset, an http
	// monitor of the service whose URL path says "health" is taken.
	HealthCheck string `yaml:"health_check"`
	// Backup names the heartbeat its backup job pings; unset, a heartbeat monitor of the service
	// whose id or name says "backup" is taken.
	Backup string `yaml:"backup"`
	// Drills opts the service in to chaos drills: a drill of a service that has not opted in
	// never starts.
	Drills bool `yaml:"drills"`
}

// Readiness is the readiness checklist (readiness:): the default checklist, less what is
// dropped, plus attested checks of one's own, for everyone and per team.
type Readiness struct {
	Node
	// Drop leaves default checks out, by id.
	Drop []string `yaml:"drop"`
	// Add adds attested checks, or sets the expiry of a default attested check of the same id.
	Add   []AttestedCheck `yaml:"add"`
	Teams []TeamReadiness `yaml:"teams"`
}

// TeamReadiness is one team's changes to the checklist, on top of the general ones.
type TeamReadiness struct {
	Node
	Team string          `yaml:"team"`
	Drop []string        `yaml:"drop"`
	Add  []AttestedCheck `yaml:"add"`
}

// AttestedCheck is a check a person attests, because nines cannot see it.
type AttestedCheck struct {
	Node
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// How says what to do to pass it.
	How string `yaml:"how"`
	// Expires is how long an attestation holds (default 365d).
	Expires Duration `yaml:"expires"`
}

// ComputedCheckIDs are the ids of the default checks nines computes, and AttestedCheckIDs those
// a person attests; ReadinessCheckIDs is the default checklist, computed checks first. The
// readiness package defines what each one means.
var (
	ComputedCheckIDs = []string{
		"criticality", "owner", "escalation", "coverage", "health_check", "slis", "backup", "deploys",
		"runbook", "dashboards", "action_items", "drill",
	}
	AttestedCheckIDs  = []string{"logs", "exceptions", "restore_tested", "environments", "tests", "threat_model"}
	ReadinessCheckIDs = append(append([]string{}, ComputedCheckIDs...), AttestedCheckIDs...)
)

// Drill is a planned failure of a service that nines starts, watches and scores.
type Drill struct {
	Node
	ID      string `yaml:"id"`
	Name    string `yaml:"name"`
	Service string `yaml:"service"`
	// Kind is toxiproxy (a toxic on a proxy in front of the service), webhook (a chaos tool's
	// start and stop URLs) or page (no fault: a synthetic alert tests people and routing).
	Kind      string          `yaml:"kind"`
	Toxiproxy *ToxiproxyFault `yaml:"toxiproxy"`
	Webhook   *WebhookFault   `yaml:"webhook"`
	Severity  string          `yaml:"severity"` // of the page drill's alert; default critical
	Targets   DrillTargets    `yaml:"targets"`
	// Limit is the longest a drill runs: not detected and acknowledged by then, it ends, the
	// fault is removed and it fails (default 15m).
	Limit    Duration       `yaml:"limit"`
	Schedule *DrillSchedule `yaml:"schedule"`
	// DetectedBy names the signals that can see a toxiproxy or webhook drill's fault: only an
	// incident one of them opens is the drill's. Unset, every monitor and SLO of the service.
	DetectedBy *DrillDetectors `yaml:"detected_by"`
}

// DrillDetectors are the signals whose alerts may detect a drill's fault. Any other incident
// that opens on the service during the drill is not the drill's: it opens as a real one.
type DrillDetectors struct {
	Node
	Monitors []string `yaml:"monitors"` // monitors of the service
	SLOs     []string `yaml:"slos"`     // SLOs of the service (their burn-rate alerts)
	// Alerts are Alertmanager matchers ({alertname="CheckoutSlow"}) on the labels of an alert
	// of any integration (Alertmanager's labels; an Events v2 event's custom_details, class,
	// component, group, severity, source).
	Alerts []string `yaml:"alerts"`
}

// Drill kinds.
const (
	DrillToxiproxy = "toxiproxy"
	DrillWebhook   = "webhook"
	DrillPage      = "page"
)

// ToxiproxyFault is a toxic nines adds to a Toxiproxy proxy for the drill and removes after.
type ToxiproxyFault struct {
	Node
	// URL is the Toxiproxy server's API (http://127.0.0.1:8474).
	URL   string `yaml:"url"`
	Proxy string `yaml:"proxy"`
	// Toxic is the toxic's type: latency, timeout, reset_peer, bandwidth, slow_close, slicer
	// or limit_data.
	Toxic string `yaml:"toxic"`
	// Stream is downstream (the default) or upstream.
	Stream     string         `yaml:"stream"`
	Attributes map[string]int `yaml:"attributes"`
}

// ToxicTypes are the toxics Toxiproxy has.
var ToxicTypes = []string{"latency", "timeout", "reset_peer", "bandwidth", "slow_close", "slicer", "limit_data"}

// WebhookFault calls a chaos tool's start and stop URLs, signed like the webhook channel.
type WebhookFault struct {
	Node
	StartURL  string `yaml:"start_url"`
	StopURL   string `yaml:"stop_url"`
	Secret    string `yaml:"secret"`
	SecretEnv string `yaml:"secret_env"`
}

// DrillTargets are the times a drill must beat, each from the start of the fault; unset is not
// judged.
type DrillTargets struct {
	Node
	Detect      Duration `yaml:"detect"`
	Page        Duration `yaml:"page"`
	Acknowledge Duration `yaml:"acknowledge"`
}

// DrillSchedule runs a drill once every Every, at a random time of a random allowed day
// between Start and End, in the owning team's time zone and working hours.
type DrillSchedule struct {
	Node
	Every Duration  `yaml:"every"`
	Days  []string  `yaml:"days"`
	Start TimeOfDay `yaml:"start"`
	End   TimeOfDay `yaml:"end"`

	weekdays [7]bool
}

// Weekdays are the days the schedule may pick (every day when days is empty).
func (s *DrillSchedule) Weekdays() [7]bool { return s.weekdays }

// DefaultDrillLimit is how long a drill runs at most when it sets no limit.
const DefaultDrillLimit = Duration(15 * time.Minute)

// Drill returns the drill with the given id, or nil.
func (c *Config) Drill(id string) *Drill {
	return find(c.Drills, id, func(d *Drill) string { return d.ID })
}

func (c *Config) validateReadiness(errs *Errors) {
	for i := range c.Services {
		s := &c.Services[i]
		r := &s.Readiness
		if r.Tier < 0 || r.Tier > 4 {
			errs.add(r.At("tier"), "service %s: readiness.tier %d: want 1 (most critical) to 4", s.ID, r.Tier)
		}
		for _, d := range r.Dashboards {
			if u, err := url.Parse(d); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs.add(r.At("dashboards"), "service %s: readiness.dashboards %q: want an absolute http(s) URL", s.ID, d)
			}
		}
		if r.HealthCheck != "" {
			if m := c.Monitor(r.HealthCheck); m == nil || m.Service != s.ID {
				errs.add(r.At("health_check"), "service %s: readiness.health_check %q: not a monitor of this service", s.ID, r.HealthCheck)
			}
		}
		if r.Backup != "" {
			if m := c.Monitor(r.Backup); m == nil || m.Service != s.ID || m.Type != MonitorHeartbeat {
				errs.add(r.At("backup"), "service %s: readiness.backup %q: not a heartbeat monitor of this service", s.ID, r.Backup)
			}
		}
	}
	known, computed := map[string]bool{}, map[string]bool{}
	for _, id := range ReadinessCheckIDs {
		known[id] = true
	}
	for _, id := range ComputedCheckIDs {
		computed[id] = true
	}
	checkAdd := func(where string, add []AttestedCheck) {
		seen := map[string]bool{}
		for j := range add {
			a := &add[j]
			if a.ID == "" || !validID(a.ID) {
				errs.add(a.At("id"), "%s: check id %q: want letters, digits, '-', '_' and '.'", where, a.ID)
			}
			if seen[a.ID] {
				errs.add(a.At("id"), "%s: check %q is added twice", where, a.ID)
			}
			if computed[a.ID] {
				errs.add(a.At("id"), "%s: check %s is computed by nines and cannot be attested (drop it to leave it out; attested checks: %s)",
					where, a.ID, strings.Join(AttestedCheckIDs, ", "))
			}
			seen[a.ID] = true
			if a.Has("expires") && a.Expires.D() < time.Hour {
				errs.add(a.At("expires"), "%s: check %s: expires %v: want at least 1h", where, a.ID, a.Expires.D())
			}
			if a.Name == "" && !known[a.ID] {
				errs.add(a.Pos, "%s: check %s: name is required", where, a.ID)
			}
		}
	}
	checkDrop := func(where string, n Node, drop []string) {
		for _, id := range drop {
			if !known[id] {
				errs.add(n.At("drop"), "%s: drop %q: not a default check (%s)", where, id, strings.Join(ReadinessCheckIDs, ", "))
			}
		}
	}
	r := &c.Readiness
	checkDrop("readiness", r.Node, r.Drop)
	checkAdd("readiness.add", r.Add)
	for i := range r.Teams {
		t := &r.Teams[i]
		where := "readiness.teams[" + t.Team + "]"
		if find(c.Teams, t.Team, func(x *Team) string { return x.ID }) == nil {
			errs.add(t.At("team"), "readiness.teams: unknown team %q", t.Team)
		}
		checkDrop(where, t.Node, t.Drop)
		checkAdd(where+".add", t.Add)
	}
}

func (c *Config) validateDrills(errs *Errors) {
	ids(errs, "drill", c.Drills, func(d *Drill) (string, Node) { return d.ID, d.Node })
	for i := range c.Drills {
		d := &c.Drills[i]
		what := "drill " + d.ID
		if d.Name == "" {
			d.Name = d.ID
		}
		svc := c.Service(d.Service)
		switch {
		case d.Service == "":
			errs.add(d.Pos, "%s: service is required", what)
		case svc == nil:
			errs.add(d.At("service"), "%s: unknown service %q", what, d.Service)
		case !svc.Readiness.Drills:
			errs.add(d.At("service"), "%s: service %s has not opted in to drills (set readiness.drills: true on it)", what, d.Service)
		}
		switch d.Kind {
		case DrillToxiproxy:
			c.validateToxiproxy(errs, d)
		case DrillWebhook:
			c.validateDrillWebhook(errs, d)
		case DrillPage:
		case "":
			errs.add(d.Pos, "%s: kind is required (toxiproxy, webhook or page)", what)
		default:
			errs.add(d.At("kind"), "%s: kind %q: want toxiproxy, webhook or page", what, d.Kind)
		}
		if d.Kind != DrillToxiproxy && d.Toxiproxy != nil {
			errs.add(d.At("toxiproxy"), "%s: toxiproxy settings belong to a drill of kind toxiproxy", what)
		}
		if d.Kind != DrillWebhook && d.Webhook != nil {
			errs.add(d.At("webhook"), "%s: webhook settings belong to a drill of kind webhook", what)
		}
		switch d.Severity {
		case "":
			d.Severity = "critical"
		case "critical", "error", "warning", "info":
		default:
			errs.add(d.At("severity"), "%s: severity %q: want critical, error, warning or info", what, d.Severity)
		}
		if d.Limit == 0 {
			d.Limit = DefaultDrillLimit
		} else if d.Limit.D() < 10*time.Second || d.Limit.D() > 8*time.Hour {
			errs.add(d.At("limit"), "%s: limit %v: want 10s to 8h", what, d.Limit.D())
		}
		for _, t := range []struct {
			name string
			v    Duration
		}{{"detect", d.Targets.Detect}, {"page", d.Targets.Page}, {"acknowledge", d.Targets.Acknowledge}} {
			if t.v.D() > d.Limit.D() {
				errs.add(d.Targets.At(t.name), "%s: targets.%s %v is longer than the drill's limit %v", what, t.name, t.v.D(), d.Limit.D())
			}
		}
		c.validateDetectors(errs, d)
		if s := d.Schedule; s != nil {
			days, err := ParseDays(s.Days)
			if err != nil {
				errs.add(s.At("days"), "%s: schedule: %v", what, err)
			}
			s.weekdays = days
			if s.Every.D() < 24*time.Hour {
				errs.add(s.At("every"), "%s: schedule.every %v: want at least 1d", what, s.Every.D())
			}
			if !s.Start.Set || !s.End.Set {
				errs.add(s.Pos, "%s: schedule: start and end are required (HH:MM, in the team's time zone)", what)
			} else if s.End.Minutes <= s.Start.Minutes {
				errs.add(s.At("end"), "%s: schedule: end %s is not after start", what, fmtMinutes(s.End.Minutes))
			} else if err == nil && s.Every.D() >= 24*time.Hour && svc != nil {
				if why := c.NeverRuns(d); why != "" {
					errs.add(s.Pos, "%s: schedule (%s): %s", what, s, why)
				}
			}
		}
	}
}

func (c *Config) validateDetectors(errs *Errors, d *Drill) {
	what := "drill " + d.ID
	db := d.DetectedBy
	if db == nil {
		return
	}
	if d.Kind == DrillPage {
		errs.add(d.At("detected_by"), "%s: detected_by: a page drill is detected by its own alert only", what)
		return
	}
	if len(db.Monitors)+len(db.SLOs)+len(db.Alerts) == 0 {
		errs.add(d.At("detected_by"), "%s: detected_by: name monitors, slos or alerts (leave it out for every monitor and SLO of the service)", what)
	}
	for _, id := range db.Monitors {
		if m := c.Monitor(id); m == nil || m.Service != d.Service {
			errs.add(db.At("monitors"), "%s: detected_by.monitors %q: not a monitor of service %s", what, id, d.Service)
		}
	}
	for _, id := range db.SLOs {
		if o := c.SLO(id); o == nil || o.Service != d.Service {
			errs.add(db.At("slos"), "%s: detected_by.slos %q: not an SLO of service %s", what, id, d.Service)
		}
	}
	for _, m := range db.Alerts {
		if _, err := labels.Parse(m); err != nil {
			errs.add(db.At("alerts"), "%s: detected_by.alerts %q: %v", what, m, err)
		}
	}
}

// String says the schedule's days and window: "Sun,Sat 10:00-15:00".
func (s *DrillSchedule) String() string {
	return fmt.Sprintf("%s %s-%s", daysString(s.weekdays), fmtMinutes(s.Start.Minutes), fmtMinutes(s.End.Minutes))
}

func daysString(days [7]bool) string {
	names := []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	var on []string
	for d, ok := range days {
		if ok {
			on = append(on, names[d])
		}
	}
	switch s := strings.Join(on, ","); s {
	case "Sun,Mon,Tue,Wed,Thu,Fri,Sat":
		return "every day"
	case "Mon,Tue,Wed,Thu,Fri":
		return "Mon-Fri"
	default:
		return s
	}
}

// NeverRuns says why a recurring drill can never run, or "" when it can: a drill runs only at
// a minute of its schedule at which the whole drill, start to limit, falls inside the working
// hours of the service's team (see TeamWorkingHours), read in their time zone.
func (c *Config) NeverRuns(d *Drill) string {
	s := d.Schedule
	if s == nil {
		return ""
	}
	days, start, end, zone := [7]bool{false, true, true, true, true, true, false}, 9*60, 18*60, "UTC"
	if w := c.TeamWorkingHours(d.Service); w != nil {
		days, start, end = w.weekdays, w.Start.Minutes, w.End.Minutes
		if w.TimeZone != "" {
			zone = w.TimeZone
		}
	}
	// The drill's last second, in minutes after its first.
	last := int((d.Limit.D() - time.Second) / time.Minute)
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		if !s.weekdays[wd] {
			continue
		}
		for m := s.Start.Minutes; m < s.End.Minutes; m++ {
			e := m + last
			if InHours(days, start, end, wd, m) && InHours(days, start, end, (wd+time.Weekday(e/1440))%7, e%1440) {
				return ""
			}
		}
	}
	team := "the service's team (by default)"
	if svc := c.Service(d.Service); svc != nil && svc.Team != "" {
		team = "team " + svc.Team
	}
	return fmt.Sprintf("can never run: no minute of it leaves room for the drill's %s limit inside the working hours of %s (%s %s-%s %s)",
		d.Limit.D(), team, daysString(days), fmtMinutes(start), fmtMinutes(end), zone)
}

func fmtMinutes(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

func (c *Config) validateToxiproxy(errs *Errors, d *Drill) {
	what := "drill " + d.ID
	t := d.Toxiproxy
	if t == nil {
		errs.add(d.Pos, "%s: a toxiproxy drill needs toxiproxy: {url, proxy, toxic}", what)
		return
	}
	if u, err := url.Parse(t.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs.add(t.At("url"), "%s: toxiproxy.url %q: want the Toxiproxy API's http(s) URL, e.g. http://127.0.0.1:8474", what, t.URL)
	}
	if t.Proxy == "" || strings.ContainsAny(t.Proxy, "/?#") {
		errs.add(t.At("proxy"), "%s: toxiproxy.proxy %q: want the name of a proxy", what, t.Proxy)
	}
	ok := false
	for _, k := range ToxicTypes {
		ok = ok || t.Toxic == k
	}
	if !ok {
		errs.add(t.At("toxic"), "%s: toxiproxy.toxic %q: want one of %s", what, t.Toxic, strings.Join(ToxicTypes, ", "))
	}
	switch t.Stream {
	case "":
		t.Stream = "downstream"
	case "downstream", "upstream":
	default:
		errs.add(t.At("stream"), "%s: toxiproxy.stream %q: want downstream or upstream", what, t.Stream)
	}
	for k, v := range t.Attributes {
		if v < 0 {
			errs.add(t.At("attributes"), "%s: toxiproxy.attributes.%s %d: want 0 or more", what, k, v)
		}
	}
}

func (c *Config) validateDrillWebhook(errs *Errors, d *Drill) {
	what := "drill " + d.ID
	w := d.Webhook
	if w == nil {
		errs.add(d.Pos, "%s: a webhook drill needs webhook: {start_url, stop_url}", what)
		return
	}
	for _, f := range []struct{ field, v string }{{"start_url", w.StartURL}, {"stop_url", w.StopURL}} {
		if u, err := url.Parse(f.v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.add(w.At(f.field), "%s: webhook.%s %q: want an absolute http(s) URL", what, f.field, f.v)
		}
	}
	secretFromEnv(errs, w.Node, what+": webhook", "secret", &w.Secret, w.SecretEnv)
}
