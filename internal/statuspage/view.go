package statuspage

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/probe"
)

// View is everything a page shows at one moment; every format is rendered from it.
type View struct {
	Page        *config.StatusPage
	URL         string // absolute URL of the page ("" without server.base_url)
	Now         time.Time
	UpdatedAt   time.Time
	Indicator   string // none, minor, major, critical, maintenance
	Description string // "All Systems Operational", ...
	Worst       Status
	Groups      []Group
	Components  []Component
	Active      []PublicIncident // unresolved incidents
	Past        []PublicIncident // resolved in the last 14 days
	Maintenance []PublicIncident // scheduled or running maintenance
	Days        int
}

// Group is a heading of components (Name "" for ungrouped ones), in the order of the config.
type Group struct {
	ID, Name   string
	Status     Status
	Components []*Component
}

// Component is one component's status and history.
type Component struct {
	ID, Name, Description, Group, GroupID string
	Position                              int
	Status                                Status
	Derived                               Status
	Override                              *Override
	UpdatedAt                             time.Time
	Uptime                                float64 // percent over the history window
	Bars                                  []Bar   // oldest first, one per day
	Bad                                   []Bar   // days that were not fully operational
}

// Bar is one day of a component's history.
type Bar struct {
	Index  int
	Day    time.Time
	Status Status
	Uptime float64 // percent
	Down   time.Duration
}

// Time shows a time in the page's zone.
func (v *View) Time(t time.Time) string {
	loc := v.Page.Location
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("Jan 2, 15:04 MST")
}

// Title describes a bar for tooltips and screen readers.
func (b Bar) Title() string {
	if b.Status == Operational {
		return b.Day.Format("Jan 2") + ": no incidents"
	}
	return fmt.Sprintf("%s: %s, %s", b.Day.Format("Jan 2"), strings.ToLower(b.Status.Label()), trimPct(b.Uptime))
}

// partialWeight is how much a partial outage counts as downtime, as Statuspage weighs it.
const partialWeight = 0.3

// view reads a page's current state.
func (s *Service) view(ctx context.Context, p *config.StatusPage) (*View, error) {
	now := s.clock.Now().UTC()
	days := p.HistoryDays
	if days == 0 {
		days = config.DefaultHistoryDays
	}
	start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -(days - 1))
	v := &View{Page: p, Now: now, Days: days}
	if base := s.cfg.Get().Server.BaseURL; p.Domain != "" {
		// The page's own domain is its address; it is served over the scheme nines is.
		scheme := "https"
		if strings.HasPrefix(base, "http:") {
			scheme = "http"
		}
		v.URL = scheme + "://" + p.Domain
	} else if base != "" {
		v.URL = strings.TrimSuffix(base, "/") + "/status/" + url.PathEscape(p.ID)
	}
	var services []string
	seen := map[string]bool{}
	for _, c := range p.Components {
		if c.Service != "" && !seen[c.Service] {
			seen[c.Service] = true
			services = append(services, c.Service)
		}
	}
	incs, err := s.incidents.Overlapping(ctx, services, start)
	if err != nil {
		return nil, err
	}
	byService := map[string][]incident.Incident{}
	for _, inc := range incs {
		byService[inc.ServiceID] = append(byService[inc.ServiceID], inc)
	}
	overrides, err := s.overrides(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	pubs, err := s.publicIncidents(ctx, p.ID, now.AddDate(0, 0, -14))
	if err != nil {
		return nil, err
	}
	maint := map[string]bool{}
	for _, pi := range pubs {
		switch {
		case pi.Kind == KindMaintenance:
			pi.Status = maintenanceStatus(pi, now)
			if pi.Status == "in_progress" {
				for _, c := range pi.Components {
					maint[c] = true
				}
			}
			if pi.Status != "completed" {
				v.Maintenance = append(v.Maintenance, pi)
			}
		case pi.ResolvedAt == nil:
			v.Active = append(v.Active, pi)
		default:
			v.Past = append(v.Past, pi)
		}
	}
	v.UpdatedAt = start
	groups := map[string]int{}
	v.Components = make([]Component, len(p.Components))
	for i, cc := range p.Components {
		c := &v.Components[i]
		*c = Component{ID: cc.ID, Name: cc.Name, Description: cc.Description, Group: cc.Group, Position: i + 1, Derived: Operational, UpdatedAt: start}
		for _, inc := range byService[cc.Service] {
			if inc.ResolvedAt == nil {
				if st := FromSeverity(inc.Severity); st.Rank() > c.Derived.Rank() {
					c.Derived = st
				}
			}
			if t := inc.UpdatedAt; t.After(c.UpdatedAt) {
				c.UpdatedAt = t
			}
		}
		if cc.Monitor != "" && s.monitors != nil {
			if mv, ok := s.monitors.View(cc.Monitor); ok {
				if st := monitorStatus(mv); st.Rank() > c.Derived.Rank() {
					c.Derived = st
				}
				if mv.Since.After(c.UpdatedAt) {
					c.UpdatedAt = mv.Since
				}
			}
		}
		if maint[cc.ID] && c.Derived.Rank() < UnderMaintenance.Rank() {
			c.Derived = UnderMaintenance
		}
		c.Status = c.Derived
		if o, ok := overrides[cc.ID]; ok {
			c.Override, c.Status = &o, o.Status
			if o.SetAt.After(c.UpdatedAt) {
				c.UpdatedAt = o.SetAt
			}
		}
		if cc.Monitor != "" && s.monitors != nil {
			mdays, err := s.monitors.Days(ctx, cc.Monitor, days)
			if err != nil {
				return nil, err
			}
			c.Bars, c.Uptime = monitorBars(mdays, now)
		} else {
			c.Bars, c.Uptime = bars(byService[cc.Service], start, days, now)
		}
		for _, b := range c.Bars {
			if b.Status != Operational {
				c.Bad = append(c.Bad, b)
			}
		}
		if c.Status.Rank() > v.Worst.Rank() {
			v.Worst = c.Status
		}
		if c.UpdatedAt.After(v.UpdatedAt) {
			v.UpdatedAt = c.UpdatedAt
		}
		idx, ok := groups[cc.Group]
		if !ok {
			g := Group{Name: cc.Group, Status: Operational}
			if cc.Group != "" {
				g.ID = p.ID + "-group-" + slugID(cc.Group)
			}
			v.Groups = append(v.Groups, g)
			idx = len(v.Groups) - 1
			groups[cc.Group] = idx
		}
		g := &v.Groups[idx]
		c.GroupID = g.ID
		g.Components = append(g.Components, c)
		if c.Status.Rank() > g.Status.Rank() {
			g.Status = c.Status
		}
	}
	for _, pi := range pubs {
		if pi.UpdatedAt.After(v.UpdatedAt) {
			v.UpdatedAt = pi.UpdatedAt
		}
	}
	if v.Worst == statusUnsetMarker {
		v.Worst = Operational
	}
	v.Indicator, v.Description = indicator(v.Worst, v.Active)
	return v, nil
}

// indicator is Statuspage's page-level status: the worst of the components and the impact of
// unresolved incidents.
func indicator(worst Status, active []PublicIncident) (string, string) {
	ind := map[Status]string{MajorOutage: "critical", PartialOutage: "major", DegradedPerf: "minor", UnderMaintenance: "maintenance"}[worst]
	rank := map[string]int{"none": 0, "maintenance": 1, "minor": 2, "major": 3, "critical": 4}
	if ind == "" {
		ind = "none"
	}
	for _, pi := range active {
		if rank[pi.Impact] > rank[ind] {
			ind = pi.Impact
		}
	}
	return ind, map[string]string{
		"none": "All Systems Operational", "maintenance": "Service Under Maintenance", "minor": "Minor Service Outage",
		"major": "Partial System Outage", "critical": "Major System Outage",
	}[ind]
}

func maintenanceStatus(pi PublicIncident, now time.Time) string {
	switch {
	case pi.ScheduledFor != nil && now.Before(*pi.ScheduledFor):
		return "scheduled"
	case pi.ScheduledUntil != nil && now.Before(*pi.ScheduledUntil):
		return "in_progress"
	}
	return "completed"
}

// bars computes one bar per day from start: each day's worst status and its uptime, where a
// major outage counts fully as downtime and a partial outage at partialWeight.
func bars(incs []incident.Incident, start time.Time, days int, now time.Time) ([]Bar, float64) {
	out := make([]Bar, days)
	down := make([]float64, days) // weighted downtime, in seconds
	for i := range out {
		out[i] = Bar{Index: i, Day: start.AddDate(0, 0, i), Status: Operational, Uptime: 100}
	}
	for _, inc := range incs {
		st := FromSeverity(inc.Severity)
		if st == Operational {
			continue
		}
		from, to := inc.CreatedAt, now
		if inc.ResolvedAt != nil {
			to = *inc.ResolvedAt
		}
		if from.Before(start) {
			from = start
		}
		for d := int(from.Sub(start) / (24 * time.Hour)); d >= 0 && d < days; d++ {
			dayStart := out[d].Day
			dayEnd := dayStart.Add(24 * time.Hour)
			if !to.After(dayStart) {
				break
			}
			a, b := maxTime(from, dayStart), minTime(to, dayEnd)
			if !b.After(a) {
				continue
			}
			if st.Rank() > out[d].Status.Rank() {
				out[d].Status = st
			}
			w := map[Status]float64{MajorOutage: 1, PartialOutage: partialWeight}[st]
			down[d] += w * b.Sub(a).Seconds()
			out[d].Down += b.Sub(a)
		}
	}
	var total, sum float64
	for i := range out {
		length := 86400.0
		if i == days-1 {
			length = now.Sub(out[i].Day).Seconds()
		}
		if length <= 0 {
			continue
		}
		d := down[i]
		if d > length {
			d = length
		}
		out[i].Uptime = 100 * (1 - d/length)
		total += length
		sum += d
	}
	if total == 0 {
		return out, 100
	}
	return out, 100 * (1 - sum/total)
}

// monitorStatus maps a monitor to a component status: down where every location that sees it
// sees it down is a major outage; down by quorum while some location still sees it up is a
// partial outage. Up, pending and paused monitors are operational: a minority of locations
// seeing a failure is what the quorum exists to ignore.
func monitorStatus(v probe.View) Status {
	if v.Status != probe.StatusDown {
		return Operational
	}
	for _, lv := range v.Locations {
		if lv.Status == probe.StatusUp {
			return PartialOutage
		}
	}
	return MajorOutage
}

// monitorBars draws a monitor's days: a day's uptime is its share of passed checks; it is
// operational when every check passed, a major outage when none did, and a partial outage
// otherwise. Down estimates the time down as the failed share of the day so far.
func monitorBars(days []probe.DayBar, now time.Time) ([]Bar, float64) {
	out := make([]Bar, len(days))
	var checks, failures int64
	for i, d := range days {
		b := Bar{Index: i, Day: d.Day, Status: Operational, Uptime: 100}
		if d.Checks > 0 {
			checks, failures = checks+d.Checks, failures+d.Failures
			share := float64(d.Failures) / float64(d.Checks)
			b.Uptime = 100 * (1 - share)
			length := minTime(now, d.Day.Add(24*time.Hour)).Sub(d.Day)
			b.Down = time.Duration(share * float64(length)).Round(time.Second)
			switch {
			case d.Failures == d.Checks:
				b.Status = MajorOutage
			case d.Failures > 0:
				b.Status = PartialOutage
			}
		}
		out[i] = b
	}
	if checks == 0 {
		return out, 100
	}
	return out, 100 * float64(checks-failures) / float64(checks)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func slugID(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

// View reads a page's current state, bypassing the cache (for responders' pages and the API).
func (s *Service) View(ctx context.Context, pageID string) (*View, error) {
	p := s.Page(pageID)
	if p == nil {
		return nil, fmt.Errorf("status page %q: %w", pageID, ErrNotFound)
	}
	return s.view(ctx, p)
}
