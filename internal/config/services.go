package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Server is how nines serves: where it listens and the address people reach it at (used in
// links inside pages and emails).
type Server struct {
	Node
	Listen  string `yaml:"listen"`
	BaseURL string `yaml:"base_url"`
	// SMTPListen is where nines takes alerts by email (host:port); off when empty.
	SMTPListen string `yaml:"smtp_listen"`
	// SMTPHostname is the name nines gives itself in SMTP greetings; default the host of
	// base_url, else "nines".
	SMTPHostname string `yaml:"smtp_hostname"`
	// SMTPMaxMessageSize bounds one message, in bytes (default 1 MiB); a larger one is refused
	// with 552 before it is read.
	SMTPMaxMessageSize int64 `yaml:"smtp_max_message_size"`
	// SMTPTimeout bounds each command and the whole of a message's DATA (default 1m).
	SMTPTimeout Duration `yaml:"smtp_timeout"`
	// TrustedProxies are the addresses (CIDRs) of the reverse proxies in front of nines: only
	// from them are X-Forwarded-For and Forwarded believed, for login limits and the audit log.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ReadTimeout bounds reading one request, body included (default 30s); IdleTimeout how
	// long a kept-alive connection waits for its next request (default 2m). Read at start.
	ReadTimeout Duration `yaml:"read_timeout"`
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxConnectionsPerClient bounds the connections one address holds open at once (default
	// 256; trusted proxies are not bounded).
	MaxConnectionsPerClient int `yaml:"max_connections_per_client"`
	// MaxBodyMemory bounds the request body bytes held in memory at once, all requests
	// together, in bytes (default 64 MiB); one client address holds at most a quarter of it.
	// A request that cannot get its share is answered 503 with Retry-After.
	MaxBodyMemory int64 `yaml:"max_body_memory"`
	// MetricsTokenEnv names the environment variable holding the bearer token /metrics
	// requires; MetricsToken is its value.
	MetricsTokenEnv string `yaml:"metrics_token_env"`
	MetricsToken    string `yaml:"-"`
	// TLS, when set, serves HTTPS with these files; Watchdog pings an outside checker while
	// nines is healthy (server_ops.go).
	TLS      *TLS      `yaml:"tls"`
	Watchdog *Watchdog `yaml:"watchdog"`

	trusted []netip.Prefix
}

// Defaults of the SMTP listener.
const (
	DefaultSMTPMaxMessageSize = 1 << 20
	DefaultSMTPTimeout        = Duration(time.Minute)
)

// Service is something a team runs and gets paged for.
type Service struct {
	Node
	ID          string `yaml:"id"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Team owns the service: its members may act on its incidents.
	Team string `yaml:"team"`
	// EscalationPolicy decides who is paged for the service's incidents.
	EscalationPolicy string `yaml:"escalation_policy"`
	// Urgency of its incidents: high (page at any hour, the default) or low (working hours).
	Urgency string `yaml:"urgency"`
	// SupportHours bound when low-urgency incidents notify.
	SupportHours *WorkingHours `yaml:"support_hours"`
	// IncidentGrouping: "alert" (default) opens one incident per open alert key; "service" folds
	// every alert of the service into its one open incident.
	IncidentGrouping string        `yaml:"incident_grouping"`
	Integrations     []Integration `yaml:"integrations"`
	// Runbook is Markdown or a URL shown on every incident of the service.
	Runbook string `yaml:"runbook"`
	// Runbooks maps an alert dedup key to its own runbook.
	Runbooks map[string]string `yaml:"runbooks"`
	// Readiness is what its production readiness checks read (see drills.go).
	Readiness ServiceReadiness `yaml:"readiness"`
}

// Integration lets one source send events to a service, authenticated by its key.
type Integration struct {
	Node
	Type string `yaml:"type"`
	Key  string `yaml:"key"`
	// KeyHash holds the key as "sha256:" and the hex of its SHA-256, in place of Key: how
	// integrations made in the browser or the API are kept, and exported, so the key itself is
	// shown once and never stored.
	KeyHash string `yaml:"key_hash"`
	Name    string `yaml:"name"`
	// Email says how mail to an email integration becomes events.
	Email *EmailIntegration `yaml:"email"`
}

// Integration types.
const (
	IntegrationEventsV2     = "events_v2"
	IntegrationAlertmanager = "alertmanager"
	IntegrationGeneric      = "generic"
	IntegrationEmail        = "email"
)

// EmailIntegration reads alerts from mail sent to <key>@<any domain>: the subject is the
// summary, the text body the details.
type EmailIntegration struct {
	Node
	// DedupKey is a regular expression on the subject: its first group (or the whole match)
	// is the dedup key, so mails about one problem make one alert. Without it, or when it does
	// not match, the Message-ID is the key: each mail its own alert.
	DedupKey string `yaml:"dedup_key"`
	// Resolve and Acknowledge are regular expressions on the subject: a mail whose subject
	// matches one resolves or acknowledges the alert of its dedup key instead of triggering.
	Resolve     string `yaml:"resolve"`
	Acknowledge string `yaml:"acknowledge"`
	// Severity of the alerts mail opens: critical, error (the default), warning or info.
	Severity string `yaml:"severity"`

	dedupKey, resolve, acknowledge *regexp.Regexp
}

// DedupKeyRegexp, ResolveRegexp and AcknowledgeRegexp are the compiled expressions, nil when
// not set.
func (e *EmailIntegration) DedupKeyRegexp() *regexp.Regexp    { return e.dedupKey }
func (e *EmailIntegration) ResolveRegexp() *regexp.Regexp     { return e.resolve }
func (e *EmailIntegration) AcknowledgeRegexp() *regexp.Regexp { return e.acknowledge }

// EmailKeyByAddress finds the email integration a mail address (<key>@<domain>, any domain)
// goes to; the key is compared in lower case, as mail systems may change its case.
func (c *Config) EmailKeyByAddress(address string) (*Service, *Integration) {
	local, _, ok := strings.Cut(address, "@")
	if !ok {
		return nil, nil
	}
	svc, in := c.IntegrationByKey(strings.ToLower(local))
	if svc == nil || in.Type != IntegrationEmail {
		return nil, nil
	}
	return svc, in
}

// Incident grouping rules.
const (
	GroupByAlert   = "alert"
	GroupByService = "service"
)

func (c *Config) validateServer(errs *Errors) {
	s := &c.Server
	if s.Listen != "" {
		if _, _, err := net.SplitHostPort(s.Listen); err != nil {
			errs.add(s.At("listen"), "server.listen %q: want host:port, e.g. 127.0.0.1:8080 or :8080", s.Listen)
		}
	}
	if s.BaseURL != "" {
		u, err := url.Parse(s.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.add(s.At("base_url"), "server.base_url %q: want an absolute http(s) URL", s.BaseURL)
		}
	}
	if s.SMTPListen != "" {
		if _, _, err := net.SplitHostPort(s.SMTPListen); err != nil {
			errs.add(s.At("smtp_listen"), "server.smtp_listen %q: want host:port, e.g. 0.0.0.0:2525 or :25", s.SMTPListen)
		}
	}
	if s.SMTPMaxMessageSize < 0 || (s.Has("smtp_max_message_size") && s.SMTPMaxMessageSize < 1024) {
		errs.add(s.At("smtp_max_message_size"), "server.smtp_max_message_size %d: want at least 1024 bytes", s.SMTPMaxMessageSize)
	}
	if s.SMTPMaxMessageSize == 0 {
		s.SMTPMaxMessageSize = DefaultSMTPMaxMessageSize
	}
	if s.Has("smtp_timeout") && s.SMTPTimeout.D() < time.Second {
		errs.add(s.At("smtp_timeout"), "server.smtp_timeout %v: want at least 1s", s.SMTPTimeout.D())
	}
	if s.SMTPTimeout == 0 {
		s.SMTPTimeout = DefaultSMTPTimeout
	}
	if s.SMTPHostname == "" {
		s.SMTPHostname = "nines"
		if u, err := url.Parse(s.BaseURL); err == nil && u.Hostname() != "" {
			s.SMTPHostname = u.Hostname()
		}
	}
	s.validateLimits(errs)
	s.validateOps(errs)
}

func (c *Config) validateServices(errs *Errors) {
	c.services = ids(errs, "service", c.Services, func(s *Service) (string, Node) { return s.ID, s.Node })
	keys := map[string]Pos{}
	for i := range c.Services {
		s := &c.Services[i]
		if s.Name == "" {
			s.Name = s.ID
		}
		switch s.Urgency {
		case "", "high", "low":
		default:
			errs.add(s.At("urgency"), "service %s: urgency %q: want high or low", s.ID, s.Urgency)
		}
		switch s.IncidentGrouping {
		case "", GroupByAlert, GroupByService:
		default:
			errs.add(s.At("incident_grouping"), "service %s: incident_grouping %q: want %q or %q", s.ID, s.IncidentGrouping, GroupByAlert, GroupByService)
		}
		for j := range s.Integrations {
			in := &s.Integrations[j]
			switch in.Type {
			case IntegrationEventsV2, IntegrationAlertmanager, IntegrationGeneric, IntegrationEmail:
			case "":
				errs.add(in.Pos, "service %s: integration type is required (events_v2, alertmanager, generic or email)", s.ID)
			default:
				errs.add(in.At("type"), "service %s: unknown integration type %q (want events_v2, alertmanager, generic or email)", s.ID, in.Type)
			}
			c.validateEmailIntegration(errs, s, in)
			if in.KeyHash != "" {
				switch {
				case in.Key != "":
					errs.add(in.At("key_hash"), "service %s: an integration has a key or a key_hash, not both", s.ID)
				case !keyHash.MatchString(in.KeyHash):
					errs.add(in.At("key_hash"), "service %s: key_hash is \"sha256:\" and 64 lower-case hex digits, the SHA-256 of the key", s.ID)
				default:
					if first, dup := keys[in.KeyHash]; dup {
						errs.add(in.At("key_hash"), "service %s: integration key is already used at %s; each key belongs to one service", s.ID, first)
					}
					keys[in.KeyHash] = in.At("key_hash")
				}
				continue
			}
			switch {
			case in.Key == "":
				errs.add(in.Pos, "service %s: integration key (or key_hash) is required", s.ID)
			case CheckKey(in.Type, in.Key) != nil:
				errs.add(in.At("key"), "service %s: %v", s.ID, CheckKey(in.Type, in.Key))
			default:
				for _, k := range []string{in.Key, HashKey(in.Key)} {
					if first, dup := keys[k]; dup {
						errs.add(in.At("key"), "service %s: integration key is already used at %s; each key belongs to one service", s.ID, first)
						break
					}
				}
				keys[in.Key] = in.At("key")
				keys[HashKey(in.Key)] = in.At("key")
			}
		}
	}
}

// Service returns the service with the given id, or nil.
func (c *Config) Service(id string) *Service { return c.services[id] }

// ErrNoService is what a lookup of a service nines is not configured with wraps.
var ErrNoService = errors.New("service not found")

// NoServiceError is a service id that names no configured service; it is ErrNoService.
type NoServiceError struct{ ID string }

func (e *NoServiceError) Error() string        { return fmt.Sprintf("service %q not found", e.ID) }
func (e *NoServiceError) Is(target error) bool { return target == ErrNoService }

// FindService returns the service with the given id, or a *NoServiceError naming it: what a
// service named in a path answers when there is none.
func (c *Config) FindService(id string) (*Service, error) {
	if s := c.services[id]; s != nil {
		return s, nil
	}
	return nil, &NoServiceError{ID: id}
}

// IntegrationByKey finds the service and integration that own key.
func (c *Config) IntegrationByKey(key string) (*Service, *Integration) {
	if c.integrations == nil {
		c.buildIntegrationIndex()
	}
	r, ok := c.integrations[key]
	if !ok {
		// A hash is never a key: only the key whose hash it is finds an integration kept so.
		if r, ok = c.hashedKeys[HashKey(key)]; !ok {
			return nil, nil
		}
	}
	return r.svc, r.in
}

type integrationRef struct {
	svc *Service
	in  *Integration
}

func (c *Config) buildIntegrationIndex() {
	idx, hashed := map[string]integrationRef{}, map[string]integrationRef{}
	for i := range c.Services {
		s := &c.Services[i]
		for j := range s.Integrations {
			in := &s.Integrations[j]
			if in.KeyHash != "" {
				hashed[in.KeyHash] = integrationRef{s, in}
			} else {
				idx[in.Key] = integrationRef{s, in}
			}
		}
	}
	c.integrations, c.hashedKeys = idx, hashed
}

// Duration is a length of time written as Go writes it (90s, 1h30m) or with days and weeks
// (7d, 1w, 1w2d).
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a duration such as 30s or 1h30m, found %s", describe(n))
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// D is the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// FormatDuration writes d as the config does, in the largest of days, hours and minutes that
// divides it (7d, 36h, 90m; 0 is "0"), else as Go does (1m30s). ParseDuration reads it back.
// It names durations wherever nines shows them: burn-rate windows, drill schedules, rules.
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

// ParseDuration reads 30s, 10m, 1h30m, 7d, 1w, 2w3d12h.
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		j := i
		for j < len(s) && !(s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if i == 0 || j == i {
			return 0, fmt.Errorf("duration %q: want a number and a unit, e.g. 30s, 10m, 2h, 7d, 1w", orig)
		}
		num, unit := s[:i], s[i:j]
		switch unit {
		case "d", "w":
			n, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("duration %q: %v", orig, err)
			}
			day := 24 * time.Hour
			if unit == "w" {
				day *= 7
			}
			total += time.Duration(n * float64(day))
		default:
			v, err := time.ParseDuration(num + unit)
			if err != nil {
				return 0, fmt.Errorf("duration %q: unknown unit %q (use ms, s, m, h, d or w)", orig, unit)
			}
			total += v
		}
		s = s[j:]
	}
	if total < 0 {
		return 0, fmt.Errorf("duration %q is negative", orig)
	}
	return total, nil
}

// validateEmailIntegration checks what only email integrations have: a key that is a mail
// address's local part, and subject expressions that compile.
func (c *Config) validateEmailIntegration(errs *Errors, s *Service, in *Integration) {
	if in.Type != IntegrationEmail {
		if in.Email != nil {
			errs.add(in.At("email"), "service %s: email settings belong to an integration of type email, not %s", s.ID, in.Type)
		}
		return
	}
	if in.Key != "" && !emailKey.MatchString(in.Key) {
		errs.add(in.At("key"), "service %s: an email integration key is the part of an address before the @: lower-case letters, digits, '.', '-' and '_' only", s.ID)
	}
	e := in.Email
	if e == nil {
		return
	}
	compile := func(field, expr string) *regexp.Regexp {
		if expr == "" {
			return nil
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			errs.add(e.At(field), "service %s: email.%s %q is not a regular expression: %v", s.ID, field, expr, err)
		}
		return re
	}
	e.dedupKey, e.resolve, e.acknowledge = compile("dedup_key", e.DedupKey), compile("resolve", e.Resolve), compile("acknowledge", e.Acknowledge)
	if (e.Resolve != "" || e.Acknowledge != "") && e.DedupKey == "" {
		errs.add(e.Pos, "service %s: email.resolve and email.acknowledge need email.dedup_key, to find the alert a mail resolves from its subject", s.ID)
	}
	switch e.Severity {
	case "", "critical", "error", "warning", "info":
	default:
		errs.add(e.At("severity"), "service %s: email.severity %q: want critical, error, warning or info", s.ID, e.Severity)
	}
}

var emailKey = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

var keyHash = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// HashKey is what key_hash holds for key.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Ident names the integration's key without holding it: the key, or its hash.
func (in *Integration) Ident() string {
	if in.KeyHash != "" {
		return in.KeyHash
	}
	return in.Key
}

// CheckKey says what is wrong with key as the key of an integration of type typ: the one rule
// for keys written in a file and keys given to nines to keep (as their hash).
func CheckKey(typ, key string) error {
	switch {
	case len(key) < 8 || strings.ContainsAny(key, " /?#"):
		return fmt.Errorf("integration key must be at least 8 characters with no spaces, '/', '?' or '#'")
	case typ == IntegrationEventsV2 && len(key) != 32:
		return fmt.Errorf("an events_v2 routing key is 32 characters, as PagerDuty's are (this one has %d)", len(key))
	}
	return nil
}
