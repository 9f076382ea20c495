package config

import (
	"strings"
	"time"
)

// Public status pages.

// StatusPage is a public page showing the state of some services. Only the services its
// components name ever appear on it.
type StatusPage struct {
	Node
	ID          string `yaml:"id"`
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	// Domain serves the page at the root of a custom domain, chosen by the Host header.
	Domain string `yaml:"domain"`
	// UpdateCadence is how often responders should post a public update while an incident on
	// the page is open; the incident page reminds them once the last update is older (default 30m).
	UpdateCadence Duration `yaml:"update_cadence"`
	// TimeZone is the IANA zone the page shows times in (default UTC).
	TimeZone string `yaml:"time_zone"`
	// Location is TimeZone loaded.
	Location *time.Location `yaml:"-"`
	// HistoryDays is how many days of uptime bars the page shows (default 90).
	HistoryDays int `yaml:"history_days"`
	// FollowIncidents makes components follow every open incident of their service, public
	// or not. By default they follow their monitors, incidents with a public update on the
	// page, maintenance and overrides: an internal alert alone never turns the page red.
	FollowIncidents bool                  `yaml:"follow_incidents"`
	Components      []StatusPageComponent `yaml:"components"`
}

// StatusPageComponent is one line of a status page, backed by a service or a monitor.
type StatusPageComponent struct {
	Node
	// ID is stable across renames; default: the name in lower case with '-' for spaces.
	ID          string `yaml:"id"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Service     string `yaml:"service"`
	Monitor     string `yaml:"monitor"`
	// Group puts the component under a heading of that name.
	Group string `yaml:"group"`
}

// Status page defaults.
const (
	DefaultUpdateCadence = 30 * time.Minute
	DefaultHistoryDays   = 90
)

// StatusPage returns the page with id, or nil.
func (c *Config) StatusPage(id string) *StatusPage {
	for i := range c.StatusPages {
		if c.StatusPages[i].ID == id {
			return &c.StatusPages[i]
		}
	}
	return nil
}

// Cadence is the page's update cadence with its default applied.
func (p *StatusPage) Cadence() time.Duration {
	if p.UpdateCadence <= 0 {
		return DefaultUpdateCadence
	}
	return p.UpdateCadence.D()
}

func (c *Config) validateStatusPages(errs *Errors) {
	ids(errs, "status page", c.StatusPages, func(p *StatusPage) (string, Node) { return p.ID, p.Node })
	monitors := map[string]bool{}
	for _, m := range c.Monitors {
		monitors[m.ID] = true
	}
	domains := map[string]Pos{}
	for i := range c.StatusPages {
		p := &c.StatusPages[i]
		if p.Title == "" {
			p.Title = p.ID
		}
		if p.Domain != "" {
			d := strings.ToLower(p.Domain)
			if strings.ContainsAny(d, "/:@ ") || !strings.Contains(d, ".") {
				errs.add(p.At("domain"), "status page %s: domain %q: want a host name such as status.example.com (no scheme, port or path)", p.ID, p.Domain)
			} else if first, dup := domains[d]; dup {
				errs.add(p.At("domain"), "status page %s: domain %q is already used at %s", p.ID, p.Domain, first)
			}
			p.Domain, domains[d] = d, p.At("domain")
		}
		p.Location = time.UTC
		if p.TimeZone == "" {
			p.TimeZone = "UTC"
		} else if loc, err := time.LoadLocation(p.TimeZone); err != nil {
			errs.add(p.At("time_zone"), "status page %s: time_zone %q: want an IANA zone such as Europe/Berlin", p.ID, p.TimeZone)
		} else {
			p.Location = loc
		}
		if p.UpdateCadence < 0 {
			errs.add(p.At("update_cadence"), "status page %s: update_cadence must be positive", p.ID)
		}
		switch {
		case p.HistoryDays == 0:
			p.HistoryDays = DefaultHistoryDays
		case p.HistoryDays < 1 || p.HistoryDays > 366:
			errs.add(p.At("history_days"), "status page %s: history_days %d: want 1 to 366", p.ID, p.HistoryDays)
		}
		if len(p.Components) == 0 {
			errs.add(p.Pos, "status page %s: list at least one component", p.ID)
		}
		seen := map[string]Pos{}
		for j := range p.Components {
			cp := &p.Components[j]
			if cp.Name == "" {
				errs.add(cp.Pos, "status page %s: component name is required", p.ID)
				continue
			}
			if cp.ID == "" {
				cp.ID = slug(cp.Name)
			}
			if !validID(cp.ID) {
				errs.add(cp.At("id"), "status page %s: component id %q: use letters, digits, '-', '_' and '.' only", p.ID, cp.ID)
			} else if first, dup := seen[cp.ID]; dup {
				errs.add(cp.Pos, "status page %s: component id %q is used twice (first at %s); give one an id", p.ID, cp.ID, first)
			}
			seen[cp.ID] = cp.Pos
			switch {
			case cp.Service == "" && cp.Monitor == "":
				errs.add(cp.Pos, "status page %s: component %q: name a service or a monitor it shows", p.ID, cp.Name)
			case cp.Service != "" && c.Service(cp.Service) == nil:
				errs.add(cp.At("service"), "status page %s: component %q: unknown service %q", p.ID, cp.Name, cp.Service)
			case cp.Monitor != "" && !monitors[cp.Monitor]:
				errs.add(cp.At("monitor"), "status page %s: component %q: unknown monitor %q", p.ID, cp.Name, cp.Monitor)
			}
		}
	}
}

// slug makes an id from a name: "Checkout API" -> "checkout-api".
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
