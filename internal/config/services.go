package config

import (
	"fmt"
	"net"
	"net/url"
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
}

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
}

// Integration lets one source send events to a service, authenticated by its key.
type Integration struct {
	Node
	Type string `yaml:"type"`
	Key  string `yaml:"key"`
	Name string `yaml:"name"`
}

// Integration types.
const (
	IntegrationEventsV2     = "events_v2"
	IntegrationAlertmanager = "alertmanager"
	IntegrationGeneric      = "generic"
)

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
			case IntegrationEventsV2, IntegrationAlertmanager, IntegrationGeneric:
			case "":
				errs.add(in.Pos, "service %s: integration type is required (events_v2, alertmanager or generic)", s.ID)
			default:
				errs.add(in.At("type"), "service %s: unknown integration type %q (want events_v2, alertmanager or generic)", s.ID, in.Type)
			}
			switch {
			case in.Key == "":
				errs.add(in.Pos, "service %s: integration key is required", s.ID)
			case len(in.Key) < 8 || strings.ContainsAny(in.Key, " /?#"):
				errs.add(in.At("key"), "service %s: integration key must be at least 8 characters with no spaces, '/', '?' or '#'", s.ID)
			case in.Type == IntegrationEventsV2 && len(in.Key) != 32:
				errs.add(in.At("key"), "service %s: an events_v2 routing key is 32 characters, as PagerDuty's are (this one has %d)", s.ID, len(in.Key))
			default:
				if first, dup := keys[in.Key]; dup {
					errs.add(in.At("key"), "service %s: integration key is already used at %s; each key belongs to one service", s.ID, first)
				}
				keys[in.Key] = in.At("key")
			}
		}
	}
}

// Service returns the service with the given id, or nil.
func (c *Config) Service(id string) *Service { return c.services[id] }

// IntegrationByKey finds the service and integration that own key.
func (c *Config) IntegrationByKey(key string) (*Service, *Integration) {
	if c.integrations == nil {
		c.buildIntegrationIndex()
	}
	r, ok := c.integrations[key]
	if !ok {
		return nil, nil
	}
	return r.svc, r.in
}

type integrationRef struct {
	svc *Service
	in  *Integration
}

func (c *Config) buildIntegrationIndex() {
	idx := map[string]integrationRef{}
	for i := range c.Services {
		s := &c.Services[i]
		for j := range s.Integrations {
			idx[s.Integrations[j].Key] = integrationRef{s, &s.Integrations[j]}
		}
	}
	c.integrations = idx
}

// Duration is a length of time written as Go writes it (90s, 1h30m) or with days and weeks
// (7d, 1w, 1w2d).
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// D is the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

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
