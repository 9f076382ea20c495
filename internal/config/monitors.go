package config

import (
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// Monitors: probes and heartbeats and probe settings (maintenance windows: maintenance.go).

// Monitor kinds.
const (
	MonitorHTTP      = "http"
	MonitorTCP       = "tcp"
	MonitorDNS       = "dns"
	MonitorTLS       = "tls"
	MonitorHeartbeat = "heartbeat"
)

// LocalLocation is the location name of probes run by the server itself.
const LocalLocation = "local"

// Monitor checks one thing on a schedule, or waits for its pings.
type Monitor struct {
	Node
	ID      string `yaml:"id"`
	Name    string `yaml:"name"`
	Service string `yaml:"service"`
	Type    string `yaml:"type"`
	Paused  bool   `yaml:"paused"`

	// http
	URL     string            `yaml:"url"`
	Method  string            `yaml:"method"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	// FollowRedirects defaults to true; MaxRedirects bounds how many (default 10).
	FollowRedirects *bool `yaml:"follow_redirects"`
	MaxRedirects    int   `yaml:"max_redirects"`
	// VerifyTLS defaults to true: a bad certificate is a failure with cause "tls".
	VerifyTLS *bool `yaml:"verify_tls"`

	// tcp, tls: host:port. dns: the server to ask (host:port, default port 53).
	Address string `yaml:"address"`
	// tls: the name to verify the certificate for (default: the host of address).
	ServerName string `yaml:"server_name"`
	// tls, and http with an https:// URL: the monitor is down when the certificate expires
	// within this long (default 14d).
	ExpiryWarning Duration `yaml:"expiry_warning"`

	// dns
	Query      string `yaml:"query"`
	RecordType string `yaml:"record_type"`

	Expect Expect `yaml:"expect"`

	Interval           Duration `yaml:"interval"`
	Timeout            Duration `yaml:"timeout"`
	FailuresBeforeDown int      `yaml:"failures_before_down"`
	SuccessesBeforeUp  int      `yaml:"successes_before_up"`

	// Locations run the probe (agents' names, and "local" for the server itself); the monitor is
	// down when Quorum of them see it down (default: a majority).
	Locations []string `yaml:"locations"`
	Quorum    int      `yaml:"quorum"`

	// heartbeat
	UUID string `yaml:"uuid"`
	// Slug names the heartbeat in ping URLs with the ping key (default: its id).
	Slug     string   `yaml:"slug"`
	Period   Duration `yaml:"period"`
	Cron     string   `yaml:"cron"`
	TimeZone string   `yaml:"time_zone"`
	Grace    Duration `yaml:"grace"`

	// Severity of the alerts it raises (default critical).
	Severity string `yaml:"severity"`

	schedule cron.Schedule
	location *time.Location
}

// Expect is what a successful check looks like.
type Expect struct {
	Node
	// Status is the HTTP status wanted (default: any 2xx).
	Status          int               `yaml:"status"`
	BodyContains    string            `yaml:"body_contains"`
	JSON            *JSONExpect       `yaml:"json"`
	MaxResponseTime Duration          `yaml:"max_response_time"`
	Answer          string            `yaml:"answer"`
	Headers         map[string]string `yaml:"headers"`
}

// JSONExpect checks one value of a JSON response, found by a path such as $.status or
// $.checks[0].state.
type JSONExpect struct {
	Node
	Path   string `yaml:"path"`
	Equals string `yaml:"equals"`
}

// Probes holds settings of the probe scheduler and result history.
type Probes struct {
	Node
	// Workers bounds the checks running at once (default 512).
	Workers int `yaml:"workers"`
	// RawWindow is how long each check's own result is kept (default 2h).
	RawWindow Duration `yaml:"raw_window"`
	// MinuteRetention is how long per-minute rollups are kept before they coarsen to hourly
	// (default 7d).
	MinuteRetention Duration `yaml:"minute_retention"`
	// Retention is how long hourly rollups are kept (default 90d).
	Retention Duration `yaml:"retention"`
	// Location names the server's own probes (default "local").
	Location string `yaml:"location"`
	// Agents says, for the locations probed by remote agents, whose service is paged when the
	// agent stops reporting and after how long. An agent not listed is watched all the same,
	// with the defaults.
	Agents []ProbeAgent `yaml:"agents"`
	// AgentGrace is how long an agent may stay silent before its alert fires (default 1m).
	AgentGrace Duration `yaml:"agent_grace"`
	// PingKey lets heartbeats be pinged by slug: /ping/{ping_key}/{slug}. PingKeyEnv names an
	// environment variable holding it instead.
	PingKey    string `yaml:"ping_key"`
	PingKeyEnv string `yaml:"ping_key_env"`
}

// ProbeAgent is one remote location's agent, watched as a heartbeat: it reports at least every
// few seconds, and an agent silent for its grace raises its own alert on its service.
type ProbeAgent struct {
	Node
	Location string   `yaml:"location"`
	Service  string   `yaml:"service"`
	Grace    Duration `yaml:"grace"`
}

// Agent returns how the agent of a remote location is watched: as listed under probes.agents,
// or else with probes.agent_grace, paging the service of the first monitor that lists the
// location. ok is false for the server's own location and for a location nothing names.
func (c *Config) Agent(location string) (a ProbeAgent, ok bool) {
	if location == c.Probes.Location {
		return a, false
	}
	for _, pa := range c.Probes.Agents {
		if pa.Location == location {
			if pa.Grace == 0 {
				pa.Grace = c.Probes.AgentGrace
			}
			return pa, true
		}
	}
	for _, m := range c.Monitors {
		if m.Type != MonitorHeartbeat && slices.Contains(m.Locations, location) {
			return ProbeAgent{Location: location, Service: m.Service, Grace: c.Probes.AgentGrace}, true
		}
	}
	return a, false
}

// AgentLocations lists every remote location that monitors name or probes.agents lists, in
// config order.
func (c *Config) AgentLocations() []string {
	var out []string
	add := func(l string) {
		if l != c.Probes.Location && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	for _, pa := range c.Probes.Agents {
		add(pa.Location)
	}
	for _, m := range c.Monitors {
		if m.Type != MonitorHeartbeat {
			for _, l := range m.Locations {
				add(l)
			}
		}
	}
	return out
}

// PingKeyOf is the key that pings the heartbeat m by its slug, and the team whose key it is:
// the team of m's service, when that team has a ping key; else probes.ping_key, with no team.
// No other key pings m. "" when none does.
func (c *Config) PingKeyOf(m *Monitor) (key, team string) {
	if svc := c.Service(m.Service); svc != nil && svc.Team != "" {
		if t := c.Team(svc.Team); t != nil && t.PingKey != "" {
			return t.PingKey, t.ID
		}
	}
	return c.Probes.PingKey, ""
}

// HeartbeatBySlug returns the heartbeat a slug names, or nil.
func (c *Config) HeartbeatBySlug(slug string) *Monitor {
	for i := range c.Monitors {
		if m := &c.Monitors[i]; m.Type == MonitorHeartbeat && m.Slug == slug {
			return m
		}
	}
	return nil
}

// HeartbeatByUUID returns the heartbeat a uuid names (in any case), or nil.
func (c *Config) HeartbeatByUUID(uuid string) *Monitor {
	uuid = strings.ToLower(uuid)
	for i := range c.Monitors {
		if m := &c.Monitors[i]; m.Type == MonitorHeartbeat && m.UUID == uuid {
			return m
		}
	}
	return nil
}

// Defaults filled in by validation.
const (
	DefaultMonitorInterval = 60 * time.Second
	DefaultMonitorTimeout  = 10 * time.Second
	DefaultHeartbeatGrace  = time.Hour
	DefaultExpiryWarning   = 14 * 24 * time.Hour
)

var (
	uuidRE       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	recordTypes  = map[string]bool{"A": true, "AAAA": true, "CNAME": true, "MX": true, "NS": true, "TXT": true, "SRV": true, "PTR": true, "SOA": true, "CAA": true}
	httpMethods  = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}
	cronParser   = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	jsonPathRE   = regexp.MustCompile(`^\$(\.[A-Za-z0-9_\-]+|\[[0-9]+\])*$`)
	locationName = regexp.MustCompile(`^[a-z0-9][a-z0-9\-_.]{0,62}$`)
	slugRE       = regexp.MustCompile(`^[a-z0-9_-]{1,100}$`)
	pingKeyRE    = regexp.MustCompile(`^[A-Za-z0-9_-]{16,100}$`)
)

// DefaultAgentGrace is how long an agent may stay silent before its alert fires.
const DefaultAgentGrace = time.Minute

// CronSchedule is the parsed cron of a heartbeat, nil when it has a period instead.
func (m *Monitor) CronSchedule() cron.Schedule { return m.schedule }

// Zone is the time zone of a heartbeat's cron (UTC by default).
func (m *Monitor) Zone() *time.Location {
	if m.location == nil {
		return time.UTC
	}
	return m.location
}

// Monitor returns the monitor with the given id, or nil.
func (c *Config) Monitor(id string) *Monitor {
	for i := range c.Monitors {
		if c.Monitors[i].ID == id {
			return &c.Monitors[i]
		}
	}
	return nil
}

func (c *Config) validateMonitors(errs *Errors) {
	p := &c.Probes
	if p.Workers == 0 {
		p.Workers = 512
	}
	if p.Workers < 1 || p.Workers > 10000 {
		errs.add(p.At("workers"), "probes.workers %d: want 1 to 10000", p.Workers)
	}
	defDur(&p.RawWindow, 2*time.Hour)
	defDur(&p.MinuteRetention, 7*24*time.Hour)
	defDur(&p.Retention, 90*24*time.Hour)
	if p.MinuteRetention.D() < time.Hour {
		errs.add(p.At("minute_retention"), "probes.minute_retention %s: keep per-minute rollups at least 1h", p.MinuteRetention.D())
	}
	if p.Retention.D() < p.MinuteRetention.D() {
		errs.add(p.At("retention"), "probes.retention %s is shorter than probes.minute_retention %s", p.Retention.D(), p.MinuteRetention.D())
	}
	if p.Location == "" {
		p.Location = LocalLocation
	}
	if !locationName.MatchString(p.Location) {
		errs.add(p.At("location"), "probes.location %q: use lower-case letters, digits, '-', '_' and '.'", p.Location)
	}

	defDur(&p.AgentGrace, DefaultAgentGrace)
	if p.AgentGrace.D() < 10*time.Second {
		errs.add(p.At("agent_grace"), "probes.agent_grace %s: agents report every few seconds; give them at least 10s", p.AgentGrace.D())
	}
	// Ping keys: the install's and each team's, each its own.
	keys := map[string]string{}
	pingKey := func(n Node, what string, key *string, env string) {
		secretFromEnv(errs, n, what, "ping_key", key, env)
		switch {
		case *key == "":
		case !pingKeyRE.MatchString(*key) || uuidRE.MatchString(*key):
			errs.add(n.At("ping_key"), "%s.ping_key: want 16 to 100 letters, digits, '-' and '_', not shaped as a UUID (e.g. `openssl rand -base64 16 | tr '+/' '-_' | tr -d =`)", what)
		case keys[*key] != "":
			errs.add(n.At("ping_key"), "%s.ping_key: the same key as %s's; each ping key pings its own heartbeats only", what, keys[*key])
		default:
			keys[*key] = what
		}
	}
	pingKey(p.Node, "probes", &p.PingKey, p.PingKeyEnv)
	for i := range c.Teams {
		t := &c.Teams[i]
		pingKey(t.Node, "team "+t.ID, &t.PingKey, t.PingKeyEnv)
	}
	agents := map[string]Pos{}
	for i := range p.Agents {
		a := &p.Agents[i]
		switch {
		case a.Location == "":
			errs.add(a.Pos, "probes.agents: location is required")
		case !locationName.MatchString(a.Location):
			errs.add(a.At("location"), "probes.agents: location %q: use lower-case letters, digits, '-', '_' and '.'", a.Location)
		case a.Location == p.Location:
			errs.add(a.At("location"), "probes.agents: %q is the server's own location (probes.location), not an agent", a.Location)
		}
		if first, dup := agents[a.Location]; dup {
			errs.add(a.At("location"), "probes.agents: location %q is already listed at %s", a.Location, first)
		}
		agents[a.Location] = a.At("location")
		switch {
		case a.Service == "":
			errs.add(a.Pos, "probes.agents %s: service (paged when the agent stops reporting) is required", a.Location)
		case c.Service(a.Service) == nil:
			errs.add(a.At("service"), "probes.agents %s: unknown service %q", a.Location, a.Service)
		}
		if a.Has("grace") && a.Grace.D() < 10*time.Second {
			errs.add(a.At("grace"), "probes.agents %s: grace %s: agents report every few seconds; give them at least 10s", a.Location, a.Grace.D())
		}
	}

	ids(errs, "monitor", c.Monitors, func(m *Monitor) (string, Node) { return m.ID, m.Node })
	uuids, slugs := map[string]Pos{}, map[string]Pos{}
	for i := range c.Monitors {
		m := &c.Monitors[i]
		c.validateMonitor(m, errs)
		if m.UUID != "" {
			key := strings.ToLower(m.UUID)
			if first, dup := uuids[key]; dup {
				errs.add(m.At("uuid"), "monitor %s: uuid is already used at %s", m.ID, first)
			}
			uuids[key] = m.At("uuid")
		}
		if m.Slug != "" {
			if first, dup := slugs[m.Slug]; dup {
				errs.add(m.At("slug"), "monitor %s: slug %q is already used at %s", m.ID, m.Slug, first)
			}
			slugs[m.Slug] = m.At("slug")
		}
	}

	ids(errs, "maintenance window", c.Maintenance, func(mw *Maintenance) (string, Node) { return mw.ID, mw.Node })
	for i := range c.Maintenance {
		c.validateMaintenance(&c.Maintenance[i], errs)
	}
}

func defDur(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}

func (c *Config) validateMonitor(m *Monitor, errs *Errors) {
	if m.Name == "" {
		m.Name = m.ID
	}
	switch {
	case m.Service == "":
		errs.add(m.Pos, "monitor %s: service is required", m.ID)
	case c.Service(m.Service) == nil:
		errs.add(m.At("service"), "monitor %s: unknown service %q", m.ID, m.Service)
	}
	switch m.Severity {
	case "":
		m.Severity = "critical"
	case "critical", "error", "warning", "info":
	default:
		errs.add(m.At("severity"), "monitor %s: severity %q: want critical, error, warning or info", m.ID, m.Severity)
	}
	// only lists fields that belong to other kinds, so a typo'd kind does not hide them.
	only := func(kinds string, fields ...string) {
		for _, f := range fields {
			if m.Has(f) && !strings.Contains(" "+kinds+" ", " "+m.Type+" ") {
				errs.add(m.At(f), "monitor %s: %s applies to %s monitors, not %s", m.ID, f, strings.ReplaceAll(kinds, " ", " and "), m.Type)
			}
		}
	}
	switch m.Type {
	case MonitorHTTP, MonitorTCP, MonitorDNS, MonitorTLS:
		c.validateProbe(m, errs)
	case MonitorHeartbeat:
		c.validateHeartbeat(m, errs)
	case "":
		errs.add(m.Pos, "monitor %s: type is required (http, tcp, dns, tls or heartbeat)", m.ID)
		return
	default:
		errs.add(m.At("type"), "monitor %s: unknown type %q (want http, tcp, dns, tls or heartbeat)", m.ID, m.Type)
		return
	}
	only("http", "url", "method", "headers", "body", "follow_redirects", "max_redirects", "verify_tls")
	only("tcp tls dns", "address")
	only("tls", "server_name")
	only("tls http", "expiry_warning")
	only("dns", "query", "record_type")
	only("heartbeat", "uuid", "slug", "period", "cron", "time_zone", "grace")
	only("http tcp dns tls", "interval", "timeout", "locations", "quorum", "expect")
	e := &m.Expect
	onlyExpect := func(kind, field string) {
		if e.Has(field) && m.Type != kind {
			errs.add(e.At(field), "monitor %s: expect.%s applies to %s monitors, not %s", m.ID, field, kind, m.Type)
		}
	}
	onlyExpect("http", "status")
	onlyExpect("http", "body_contains")
	onlyExpect("http", "json")
	onlyExpect("http", "headers")
	onlyExpect("dns", "answer")
}

func (c *Config) validateProbe(m *Monitor, errs *Errors) {
	validateProbeTiming(m, errs)
	c.validateProbeLocations(m, errs)
	validateProbeTarget(m, errs)
}

// validateProbeTiming reads how often a probe runs, how long it may take, and how many
// results in a row change its status.
func validateProbeTiming(m *Monitor, errs *Errors) {
	defDur(&m.Interval, DefaultMonitorInterval)
	defDur(&m.Timeout, DefaultMonitorTimeout)
	if m.Interval.D() < time.Second {
		errs.add(m.At("interval"), "monitor %s: interval %s is below the 1s minimum", m.ID, m.Interval.D())
	}
	if m.Timeout.D() > m.Interval.D() && m.Has("timeout") {
		errs.add(m.At("timeout"), "monitor %s: timeout %s is longer than the interval %s", m.ID, m.Timeout.D(), m.Interval.D())
	} else if m.Timeout.D() > m.Interval.D() {
		m.Timeout = m.Interval
	}
	if m.FailuresBeforeDown == 0 {
		m.FailuresBeforeDown = 1
	}
	if m.SuccessesBeforeUp == 0 {
		m.SuccessesBeforeUp = 1
	}
	if m.FailuresBeforeDown < 1 || m.FailuresBeforeDown > 100 {
		errs.add(m.At("failures_before_down"), "monitor %s: failures_before_down %d: want 1 to 100", m.ID, m.FailuresBeforeDown)
	}
	if m.SuccessesBeforeUp < 1 || m.SuccessesBeforeUp > 100 {
		errs.add(m.At("successes_before_up"), "monitor %s: successes_before_up %d: want 1 to 100", m.ID, m.SuccessesBeforeUp)
	}
}

// validateProbeLocations reads where a probe runs from (the server's own location unless it
// names others), and how many of them decide its status.
func (c *Config) validateProbeLocations(m *Monitor, errs *Errors) {
	if len(m.Locations) == 0 {
		m.Locations = []string{c.Probes.Location}
		if c.Probes.Location == "" {
			m.Locations = []string{LocalLocation}
		}
	}
	seen := map[string]bool{}
	for _, l := range m.Locations {
		if !locationName.MatchString(l) {
			errs.add(m.At("locations"), "monitor %s: location %q: use lower-case letters, digits, '-', '_' and '.'", m.ID, l)
		}
		if seen[l] {
			errs.add(m.At("locations"), "monitor %s: location %q is listed twice", m.ID, l)
		}
		seen[l] = true
	}
	if m.Quorum == 0 {
		m.Quorum = len(m.Locations)/2 + 1
	}
	if m.Quorum < 1 || m.Quorum > len(m.Locations) {
		errs.add(m.At("quorum"), "monitor %s: quorum %d: want 1 to the number of locations (%d)", m.ID, m.Quorum, len(m.Locations))
	}
}

// validateProbeTarget reads what a probe of its type checks, and what it expects.
func validateProbeTarget(m *Monitor, errs *Errors) {
	if e := &m.Expect; e.MaxResponseTime.D() > m.Timeout.D() {
		errs.add(e.At("max_response_time"), "monitor %s: expect.max_response_time %s is longer than the timeout %s", m.ID, e.MaxResponseTime.D(), m.Timeout.D())
	}
	switch m.Type {
	case MonitorHTTP:
		u, err := url.Parse(m.URL)
		switch {
		case m.URL == "":
			errs.add(m.Pos, "monitor %s: url is required for an http monitor", m.ID)
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs.add(m.At("url"), "monitor %s: url %q: want an absolute http:// or https:// URL", m.ID, m.URL)
		}
		if m.Method == "" {
			m.Method = "GET"
		}
		m.Method = strings.ToUpper(m.Method)
		if !httpMethods[m.Method] {
			errs.add(m.At("method"), "monitor %s: method %q: want GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS", m.ID, m.Method)
		}
		if m.MaxRedirects == 0 {
			m.MaxRedirects = 10
		}
		if strings.HasPrefix(m.URL, "https://") {
			defDur(&m.ExpiryWarning, DefaultExpiryWarning)
		} else if m.Has("expiry_warning") {
			errs.add(m.At("expiry_warning"), "monitor %s: expiry_warning needs an https:// url", m.ID)
		}
		if m.MaxRedirects < 0 || m.MaxRedirects > 30 {
			errs.add(m.At("max_redirects"), "monitor %s: max_redirects %d: want 0 to 30", m.ID, m.MaxRedirects)
		}
		e := &m.Expect
		if e.Status != 0 && (e.Status < 100 || e.Status > 599) {
			errs.add(e.At("status"), "monitor %s: expect.status %d is not an HTTP status", m.ID, e.Status)
		}
		if j := e.JSON; j != nil {
			if !jsonPathRE.MatchString(j.Path) {
				errs.add(j.At("path"), "monitor %s: expect.json.path %q: want a path such as $.status or $.checks[0].state", m.ID, j.Path)
			}
		}
	case MonitorTCP, MonitorTLS:
		if m.Address == "" {
			errs.add(m.Pos, "monitor %s: address (host:port) is required for a %s monitor", m.ID, m.Type)
		} else if _, port, err := net.SplitHostPort(m.Address); err != nil || port == "" {
			errs.add(m.At("address"), "monitor %s: address %q: want host:port", m.ID, m.Address)
		}
		if m.Type == MonitorTLS {
			defDur(&m.ExpiryWarning, DefaultExpiryWarning)
		}
	case MonitorDNS:
		if m.Query == "" {
			errs.add(m.Pos, "monitor %s: query (the name to look up) is required for a dns monitor", m.ID)
		}
		if m.RecordType == "" {
			m.RecordType = "A"
		}
		m.RecordType = strings.ToUpper(m.RecordType)
		if !recordTypes[m.RecordType] {
			errs.add(m.At("record_type"), "monitor %s: record_type %q: want A, AAAA, CNAME, MX, NS, TXT, SRV, PTR, SOA or CAA", m.ID, m.RecordType)
		}
		if m.Address == "" {
			errs.add(m.Pos, "monitor %s: address of the DNS server to ask is required for a dns monitor (e.g. 1.1.1.1:53)", m.ID)
		} else if _, _, err := net.SplitHostPort(m.Address); err != nil {
			m.Address = net.JoinHostPort(m.Address, "53")
		}
	}
}

func (c *Config) validateHeartbeat(m *Monitor, errs *Errors) {
	switch {
	case m.UUID == "":
		errs.add(m.Pos, "monitor %s: uuid is required for a heartbeat (it is the secret part of the ping URL)", m.ID)
	case !uuidRE.MatchString(m.UUID):
		errs.add(m.At("uuid"), "monitor %s: uuid %q is not a UUID (e.g. 5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10; `uuidgen` makes one)", m.ID, m.UUID)
	}
	m.UUID = strings.ToLower(m.UUID)
	switch {
	case m.Has("slug") && !slugRE.MatchString(m.Slug):
		errs.add(m.At("slug"), "monitor %s: slug %q: use lower-case letters, digits, '-' and '_'", m.ID, m.Slug)
	case m.Slug == "" && slugRE.MatchString(strings.ToLower(m.ID)):
		m.Slug = strings.ToLower(m.ID)
	}
	switch {
	case m.Period == 0 && m.Cron == "":
		errs.add(m.Pos, "monitor %s: a heartbeat needs period (e.g. 24h) or cron (e.g. \"0 3 * * *\")", m.ID)
	case m.Period != 0 && m.Cron != "":
		errs.add(m.At("cron"), "monitor %s: set period or cron, not both", m.ID)
	case m.Cron != "":
		s, err := cronParser.Parse(m.Cron)
		if err != nil {
			errs.add(m.At("cron"), "monitor %s: cron %q: %v", m.ID, m.Cron, err)
		}
		m.schedule = s
	case m.Period.D() < time.Minute:
		errs.add(m.At("period"), "monitor %s: period %s is below the 1m minimum", m.ID, m.Period.D())
	}
	if m.TimeZone != "" {
		z, err := time.LoadLocation(m.TimeZone)
		if err != nil {
			errs.add(m.At("time_zone"), "monitor %s: time_zone %q: not a known IANA zone such as Europe/Paris", m.ID, m.TimeZone)
		}
		m.location = z
		if m.Cron == "" {
			errs.add(m.At("time_zone"), "monitor %s: time_zone applies only with cron", m.ID)
		}
	}
	defDur(&m.Grace, DefaultHeartbeatGrace)
}

// FieldError is one problem of a monitor read on its own (ReadMonitor), with the field it is
// about as written ("expect.status"); "monitor" when it is about the whole.
type FieldError struct {
	Field, Msg string
}

// ReadMonitor reads one monitor written in the config's form (JSON is YAML too) and checks it
// as the config checks its monitors, against c's services and probe locations, with the
// config's own messages. It is for a monitor that is not (yet) in the config: one checked once
// on request. Nothing of c changes.
func (c *Config) ReadMonitor(data []byte) (*Monitor, []FieldError) {
	const file = "monitor"
	var errs Errors
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, []FieldError{{"monitor", syntaxMessage(err)}}
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, []FieldError{{"monitor", "want an object with the fields of a monitor of the config"}}
	}
	doc := root.Content[0]
	fields := map[Pos]string{}
	fieldsOf(file, doc, "", fields)
	m := &Monitor{}
	guard(&errs, func() Pos { return Pos{File: file, Line: doc.Line, Col: doc.Column} }, func() {
		d := &decoder{file: file, errs: &errs}
		d.decode(doc, reflect.ValueOf(m).Elem())
		if len(errs) == 0 {
			if m.ID == "" {
				m.ID = "check"
			}
			c.validateMonitor(m, &errs)
		}
	})
	if len(errs) == 0 {
		return m, nil
	}
	out := make([]FieldError, 0, len(errs))
	for _, e := range errs.sorted() {
		f := fields[e.Pos]
		if f == "" {
			f = "monitor"
		}
		out = append(out, FieldError{Field: f, Msg: e.Msg})
	}
	return nil, out
}

// fieldsOf maps the position of every key and value under n to the field it is, as written.
func fieldsOf(file string, n *yaml.Node, prefix string, out map[Pos]string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name := k.Value
			if prefix != "" {
				name = prefix + "." + name
			}
			out[Pos{file, k.Line, k.Column}] = name
			out[Pos{file, v.Line, v.Column}] = name
			fieldsOf(file, v, name, out)
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			name := fmt.Sprintf("%s[%d]", prefix, i)
			out[Pos{file, v.Line, v.Column}] = name
			fieldsOf(file, v, name, out)
		}
	}
}
