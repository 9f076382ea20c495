package config

import (
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Monitors: probes and heartbeats, maintenance windows and probe settings.

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
	// tls: the monitor is down when the certificate expires within this long (default 14d).
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
	UUID     string   `yaml:"uuid"`
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

// Maintenance is a window during which monitors record but do not page: one-off (start and
// end) or recurring (cron and duration, in time_zone).
type Maintenance struct {
	Node
	ID       string   `yaml:"id"`
	Services []string `yaml:"services"`
	Monitors []string `yaml:"monitors"`
	Start    string   `yaml:"start"`
	End      string   `yaml:"end"`
	Cron     string   `yaml:"cron"`
	Duration Duration `yaml:"duration"`
	TimeZone string   `yaml:"time_zone"`

	start, end time.Time
	schedule   cron.Schedule
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
)

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

// Active reports whether the window covers t.
func (mw *Maintenance) Active(t time.Time) bool {
	if mw.schedule != nil {
		// The latest start at or before t: cron schedules only look forward, so step from one
		// duration back.
		zone := time.UTC
		if mw.TimeZone != "" {
			if z, err := time.LoadLocation(mw.TimeZone); err == nil {
				zone = z
			}
		}
		from := t.In(zone).Add(-mw.Duration.D() - time.Second)
		next := mw.schedule.Next(from)
		return !next.After(t) && t.Before(next.Add(mw.Duration.D()))
	}
	return !t.Before(mw.start) && t.Before(mw.end)
}

// Covers reports whether the window applies to a monitor of a service.
func (mw *Maintenance) Covers(monitorID, serviceID string) bool {
	for _, s := range mw.Services {
		if s == serviceID {
			return true
		}
	}
	for _, m := range mw.Monitors {
		if m == monitorID {
			return true
		}
	}
	return false
}

// InMaintenance reports whether a monitor of a service is in a maintenance window at t.
func (c *Config) InMaintenance(monitorID, serviceID string, t time.Time) bool {
	for i := range c.Maintenance {
		mw := &c.Maintenance[i]
		if mw.Covers(monitorID, serviceID) && mw.Active(t) {
			return true
		}
	}
	return false
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

	ids(errs, "monitor", c.Monitors, func(m *Monitor) (string, Node) { return m.ID, m.Node })
	uuids := map[string]Pos{}
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
	only("tls", "server_name", "expiry_warning")
	only("dns", "query", "record_type")
	only("heartbeat", "uuid", "period", "cron", "time_zone", "grace")
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

func (c *Config) validateMaintenance(mw *Maintenance, errs *Errors) {
	if len(mw.Services) == 0 && len(mw.Monitors) == 0 {
		errs.add(mw.Pos, "maintenance %s: name the services or monitors it covers", mw.ID)
	}
	for _, s := range mw.Services {
		if c.Service(s) == nil {
			errs.add(mw.At("services"), "maintenance %s: unknown service %q", mw.ID, s)
		}
	}
	for _, m := range mw.Monitors {
		if c.Monitor(m) == nil {
			errs.add(mw.At("monitors"), "maintenance %s: unknown monitor %q", mw.ID, m)
		}
	}
	if mw.TimeZone != "" {
		if _, err := time.LoadLocation(mw.TimeZone); err != nil {
			errs.add(mw.At("time_zone"), "maintenance %s: time_zone %q: not a known IANA zone such as Europe/Paris", mw.ID, mw.TimeZone)
		}
	}
	switch {
	case mw.Cron != "":
		if mw.Start != "" || mw.End != "" {
			errs.add(mw.At("cron"), "maintenance %s: a recurring window has cron and duration, not start and end", mw.ID)
		}
		s, err := cronParser.Parse(mw.Cron)
		if err != nil {
			errs.add(mw.At("cron"), "maintenance %s: cron %q: %v", mw.ID, mw.Cron, err)
		}
		mw.schedule = s
		if mw.Duration <= 0 {
			errs.add(mw.Pos, "maintenance %s: a recurring window needs a duration (e.g. 2h)", mw.ID)
		}
	default:
		var err error
		if mw.start, err = time.Parse(time.RFC3339, mw.Start); err != nil {
			errs.add(mw.At("start"), "maintenance %s: start %q: want an RFC 3339 time such as 2026-03-01T02:00:00Z (or cron and duration for a recurring window)", mw.ID, mw.Start)
		}
		if mw.end, err = time.Parse(time.RFC3339, mw.End); err != nil {
			errs.add(mw.At("end"), "maintenance %s: end %q: want an RFC 3339 time such as 2026-03-01T04:00:00Z", mw.ID, mw.End)
		} else if !mw.end.After(mw.start) {
			errs.add(mw.At("end"), "maintenance %s: end is not after start", mw.ID)
		}
	}
}
