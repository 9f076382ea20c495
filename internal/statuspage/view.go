package statuspage

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/maintenance"
	"github.com/nines-dev/nines/internal/probe"
)

// View is everything a page shows at one moment; every format is rendered from it.
type View struct {
	Page *config.StatusPage
	URL  string // absolute URL of the page ("" without server.base_url)
	// Subscribe says the page takes email subscriptions: nines has a mailer and an address to
	// link its mail back to.
	Subscribe   bool
	Now         time.Time
	UpdatedAt   time.Time
	Indicator   string // none, minor, major, critical, maintenance
	Description string // "All Systems Operational", ...
	Worst       Status
	Groups      []Group
	Components  []Component
	Active      []PublicIncident // unresolved incidents
	Past        []PublicIncident // resolved incidents updated in the last 14 days
	Maintenance []PublicIncident // announced maintenance, scheduled or in progress
	Completed   []PublicIncident // announced maintenance completed in the last 14 days
	// Why says, one line per component, why the page is not all operational.
	Why  []string
	Days int
	// Authority and Since make the feed's tag URIs (RFC 4151): the page's host, and the day
	// its first component appeared.
	Authority string
	Since     time.Time
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
	// Reason says why the status is not operational, in words for the public.
	Reason    string
	CreatedAt time.Time // when it first appeared on the page
	UpdatedAt time.Time
	// Uptime is the percentage over the days shown, of the time with data that was not under
	// maintenance; HasData is false when there was no such time.
	Uptime  float64
	HasData bool
	Bars    []Bar // oldest first, one per day of the page's time zone
	Bad     []Bar // days not drawn green: outages, maintenance, no data
}

// UptimeText is the uptime as the page prints it: "99.999%", or "No data".
func (c *Component) UptimeText() string {
	if !c.HasData {
		return "No data"
	}
	return FormatUptime(c.Uptime)
}

// Bar is one day of a component's history.
type Bar struct {
	Index   int
	Day     time.Time // midnight in the page's time zone
	Status  Status    // the worst status of the day
	HasData bool      // some of the day was observed outside maintenance
	Uptime  float64   // percent of the observed time
	Down    time.Duration
	// Maintenance is how much of the day was under maintenance.
	Maintenance time.Duration
}

// Class is the bar's colour in the page's stylesheet.
func (b Bar) Class() string {
	switch {
	case b.Status != Operational:
		return "b" + strconv.Itoa(b.Status.Rank())
	case !b.HasData && b.Maintenance > 0:
		return "b1"
	case !b.HasData:
		return "nd"
	}
	return "o"
}

// Title describes a bar for tooltips and screen readers.
func (b Bar) Title() string {
	day := b.Day.Format("Jan 2")
	var parts []string
	switch {
	case b.Status != Operational && b.Status != UnderMaintenance:
		parts = append(parts, strings.ToLower(b.Status.Label())+", "+FormatUptime(b.Uptime)+" uptime")
	case b.HasData:
		parts = append(parts, "no incidents")
	case b.Maintenance == 0:
		parts = append(parts, "no data")
	}
	if b.Maintenance > 0 {
		parts = append(parts, "under maintenance for "+spokenDuration(b.Maintenance))
	}
	return day + ": " + strings.Join(parts, "; ")
}

// FormatUptime prints a percentage with two decimals, or as many more as it takes never to
// round an imperfect figure up to 100% (or a figure above nothing down to 0%): 78 s down in 90
// days is 99.999%, never "100%" beside a red bar. Trailing zeros go: 100%, 99.9%.
func FormatUptime(pct float64) string {
	var s string
	for d := 2; d <= 8; d++ {
		s = strconv.FormatFloat(pct, 'f', d, 64)
		v, _ := strconv.ParseFloat(s, 64)
		if (pct < 100 && v >= 100) || (pct > 0 && v <= 0) {
			continue
		}
		break
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + "%"
}

// spokenDuration writes a duration as a status page says it to the public, the one way every
// page, bar and report of it does: "40 seconds", "1 minute", "25 minutes", "1 hour 5 minutes",
// "3 days 4 hours". Seconds under a minute, minutes under an hour, then hours and minutes, and
// from two days days and hours, each rounded to its last unit.
func spokenDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	unit := func(n int64, name string) string {
		if n == 1 {
			return "1 " + name
		}
		return strconv.FormatInt(n, 10) + " " + name + "s"
	}
	pair := func(a int64, an string, b int64, bn string) string {
		if b == 0 {
			return unit(a, an)
		}
		return unit(a, an) + " " + unit(b, bn)
	}
	if s := int64(d.Round(time.Second) / time.Second); s < 60 {
		return unit(s, "second")
	}
	m := int64(d.Round(time.Minute) / time.Minute)
	switch {
	case m < 60:
		return unit(m, "minute")
	case m < 48*60:
		return pair(m/60, "hour", m%60, "minute")
	}
	h := int64(d.Round(time.Hour) / time.Hour)
	return pair(h/24, "day", h%24, "hour")
}

// Time shows a time in the page's zone.
func (v *View) Time(t time.Time) string {
	return t.In(v.zone()).Format("Jan 2, 15:04 MST")
}

func (v *View) zone() *time.Location {
	if v.Page.Location == nil {
		return time.UTC
	}
	return v.Page.Location
}

func (v *View) component(id string) *Component {
	for i := range v.Components {
		if v.Components[i].ID == id {
			return &v.Components[i]
		}
	}
	return nil
}

// partialWeight is how much a partial outage counts as downtime, as Statuspage weighs it.
const partialWeight = 0.3

// weight is how much of a span under a status counts as downtime.
func weight(st Status) float64 {
	switch st {
	case MajorOutage:
		return 1
	case PartialOutage:
		return partialWeight
	}
	return 0
}

// fromImpact is the status a public incident's impact gives the components it names.
func fromImpact(impact string) Status {
	switch impact {
	case "critical":
		return MajorOutage
	case "major":
		return PartialOutage
	case "minor":
		return DegradedPerf
	}
	return Operational
}

func impactStart(inc incident.Incident) time.Time {
	if inc.ImpactStartedAt != nil {
		return *inc.ImpactStartedAt
	}
	return inc.CreatedAt
}

// dayEdges returns the midnights, in loc, that bound the last n days up to now: n+1 edges,
// the last one tomorrow's. Days of a daylight saving change are 23 or 25 hours long.
func dayEdges(now time.Time, loc *time.Location, n int) []time.Time {
	l := now.In(loc)
	out := make([]time.Time, n+1)
	for i := range out {
		out[i] = time.Date(l.Year(), l.Month(), l.Day()-(n-1)+i, 0, 0, 0, 0, loc)
	}
	return out
}

// span is a period under some status: an incident, or a public incident.
type span struct {
	from, to time.Time
	status   Status
}

// view reads a page's current state.
func (s *Service) view(ctx context.Context, p *config.StatusPage) (*View, error) {
	now := s.clock.Now().UTC().Truncate(time.Millisecond)
	days := p.HistoryDays
	if days == 0 {
		days = config.DefaultHistoryDays
	}
	v := &View{Page: p, Now: now, Days: days}
	edges := dayEdges(now, v.zone(), days)
	start := edges[0]
	recent := now.AddDate(0, 0, -14)
	cfg := s.cfg.Get()
	if base := cfg.Server.BaseURL; p.Domain != "" {
		// The page's own domain is its address; it is served over the scheme nines is.
		scheme := "https"
		if strings.HasPrefix(base, "http:") {
			scheme = "http"
		}
		v.URL = scheme + "://" + p.Domain
	} else if base != "" {
		v.URL = strings.TrimSuffix(base, "/") + "/status/" + url.PathEscape(p.ID)
	}
	v.Subscribe = s.mailer != nil && linkBase(cfg, p) != ""
	v.Authority = "localhost"
	if u, err := url.Parse(v.URL); err == nil && u.Hostname() != "" {
		v.Authority = strings.ToLower(u.Hostname())
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
	byID := map[int64]incident.Incident{}
	for _, inc := range incs {
		byService[inc.ServiceID] = append(byService[inc.ServiceID], inc)
		byID[inc.ID] = inc
	}
	overrides, err := s.overrides(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	since, err := s.componentsSince(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	oldest := clock.Earliest(start, recent)
	pubs, err := s.publicIncidents(ctx, p.ID, oldest)
	if err != nil {
		return nil, err
	}
	var windows []maintenance.Window
	if s.maint != nil {
		if windows, err = s.maint.Windows(ctx, oldest); err != nil {
			return nil, err
		}
	}

	// Public incidents: the lists the page shows, and the spans components follow.
	pubSpans := map[string][]span{}      // by component
	pubActive := map[string][]int{}      // by component: indexes into v.Active
	pubUpdated := map[string]time.Time{} // by component: the last update of a public incident naming it
	legacyMaint := map[string][]span{}   // maintenance notices, by component
	for i := range pubs {
		pi := pubs[i]
		if len(pi.Updates) == 0 {
			continue // every update was retracted: the public never saw it
		}
		if inc, ok := byID[pi.IncidentID]; ok && pi.IncidentID != 0 {
			pi.StartedAt = impactStart(inc)
		}
		if pi.Kind == KindMaintenance {
			if pi.ScheduledFor == nil || pi.ScheduledUntil == nil {
				continue
			}
			pi.Status = maintenanceStatus(pi, now)
			for _, c := range pi.Components {
				legacyMaint[c] = append(legacyMaint[c], span{*pi.ScheduledFor, *pi.ScheduledUntil, UnderMaintenance})
			}
			switch {
			case pi.Status != "completed":
				v.Maintenance = append(v.Maintenance, pi)
			case pi.ScheduledUntil.After(recent):
				v.Completed = append(v.Completed, pi)
			}
			continue
		}
		end := now
		if pi.ResolvedAt != nil {
			end = *pi.ResolvedAt
		}
		for _, c := range pi.Components {
			pubSpans[c] = append(pubSpans[c], span{pi.StartedAt, end, fromImpact(pi.Impact)})
			if !pi.UpdatedAt.After(now) {
				pubUpdated[c] = clock.Latest(pubUpdated[c], pi.UpdatedAt)
			}
		}
		switch {
		case pi.ResolvedAt == nil:
			for _, c := range pi.Components {
				pubActive[c] = append(pubActive[c], len(v.Active))
			}
			v.Active = append(v.Active, pi)
		case !pi.UpdatedAt.Before(recent):
			v.Past = append(v.Past, pi)
		}
	}

	// The page changed when a component or a public incident last did; a page where nothing
	// has happened yet was last updated when its first component appeared.
	v.UpdatedAt = time.Time{}
	first := now
	groups := map[string]int{}
	v.Components = make([]Component, len(p.Components))
	for i, cc := range p.Components {
		c := &v.Components[i]
		*c = Component{ID: cc.ID, Name: cc.Name, Description: cc.Description, Group: cc.Group, Position: i + 1, Derived: Operational,
			CreatedAt: now}
		if at, ok := since[cc.ID]; ok {
			c.CreatedAt = fromMS(at)
		}
		// A component is updated when what its status follows changes (below); never before it
		// appeared, and at that moment until anything changes.
		c.UpdatedAt = c.CreatedAt
		if t := pubUpdated[cc.ID]; t.After(c.UpdatedAt) {
			c.UpdatedAt = t
		}
		if c.CreatedAt.Before(first) {
			first = c.CreatedAt
		}
		var scope maintenance.Scope
		if cc.Service != "" {
			scope.Services = append(scope.Services, cc.Service)
		}
		if cc.Monitor != "" {
			scope.Monitors = append(scope.Monitors, cc.Monitor)
			if m := cfg.Monitor(cc.Monitor); m != nil && m.Service != "" {
				scope.Services = append(scope.Services, m.Service)
			}
		}
		maint := maintenance.IntervalsOf(windows, scope, start, now.Add(time.Millisecond))
		for _, sp := range legacyMaint[cc.ID] {
			if sp.to.After(start) && sp.from.Before(now.Add(time.Millisecond)) {
				maint = append(maint, maintenance.Interval{From: clock.Latest(sp.from, start), To: clock.Earliest(sp.to, now.Add(time.Millisecond))})
			}
		}
		maint = maintenance.Merge(maint)
		for _, m := range maint {
			for _, t := range []time.Time{m.From, m.To} {
				if !t.After(now) && t.After(c.UpdatedAt) && !t.Equal(start) {
					c.UpdatedAt = t
				}
			}
		}

		// The status: the worst of what the component follows. While under maintenance, its
		// monitor and internal incidents are expected to be down and do not count; a public
		// incident still does.
		set := func(st Status, reason string) {
			if st.Rank() > c.Derived.Rank() {
				c.Derived, c.Reason = st, reason
			}
		}
		var mv probe.View
		hasMonitor := false
		if cc.Monitor != "" && s.monitors != nil {
			mv, hasMonitor = s.monitors.View(cc.Monitor)
			if hasMonitor && mv.Since.After(c.UpdatedAt) {
				c.UpdatedAt = mv.Since
			}
		}
		if inIntervals(maint, now) {
			reason := "Under maintenance"
			if ahead := maintenance.IntervalsOf(windows, scope, now, now.AddDate(1, 0, 0)); len(ahead) > 0 && !ahead[0].From.After(now) {
				reason += " until " + v.Time(ahead[0].To)
			}
			set(UnderMaintenance, reason)
		} else {
			if hasMonitor {
				switch st := monitorStatus(mv); st {
				case MajorOutage:
					set(st, "Our checks of "+cc.Name+" are failing since "+v.Time(mv.Since))
				case PartialOutage:
					set(st, "Our checks of "+cc.Name+" are failing from some locations since "+v.Time(mv.Since))
				}
			}
			if p.FollowIncidents {
				for _, inc := range byService[cc.Service] {
					if inc.ResolvedAt == nil {
						set(FromSeverity(inc.Severity), "We are investigating a problem with "+cc.Name+" since "+v.Time(impactStart(inc)))
					}
				}
			}
		}
		for _, idx := range pubActive[cc.ID] {
			pi := &v.Active[idx]
			set(fromImpact(pi.Impact), pi.Name+" ("+strings.ReplaceAll(pi.Updates[0].Status, "_", " ")+")")
		}
		for _, inc := range byService[cc.Service] {
			if t := inc.UpdatedAt; t.After(c.UpdatedAt) && (p.FollowIncidents || len(pubActive[cc.ID]) > 0) {
				c.UpdatedAt = t
			}
		}
		c.Status = c.Derived
		if o, ok := overrides[cc.ID]; ok {
			c.Override, c.Status = &o, o.Status
			c.Reason = "Set by our team at " + v.Time(o.SetAt)
			if o.SetAt.After(c.UpdatedAt) {
				c.UpdatedAt = o.SetAt
			}
		}
		if c.Status == Operational {
			c.Reason = ""
		} else {
			v.Why = append(v.Why, c.whyLine())
		}

		// The history.
		if cc.Monitor != "" && s.monitors != nil {
			if err := s.monitorBars(ctx, c, cc.Monitor, edges, maint, now); err != nil {
				return nil, err
			}
		} else {
			spans := pubSpans[cc.ID]
			if p.FollowIncidents {
				for _, inc := range byService[cc.Service] {
					end := now
					if inc.ResolvedAt != nil {
						end = *inc.ResolvedAt
					}
					spans = append(spans, span{impactStart(inc), end, FromSeverity(inc.Severity)})
				}
			}
			timeBars(c, spans, edges, maint, c.CreatedAt, now)
		}
		for _, b := range c.Bars {
			if b.Class() != "o" {
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
	v.Since = first.UTC()
	if v.UpdatedAt.IsZero() {
		v.UpdatedAt = v.Since
	}

	// Announced maintenance windows, on the pages that show what they cover.
	for i := range windows {
		w := &windows[i]
		if !w.Announce || w.Recurring() || (len(w.StatusPages) > 0 && !contains(w.StatusPages, p.ID)) {
			continue
		}
		var comps []string
		for _, cc := range p.Components {
			monService := ""
			if m := cfg.Monitor(cc.Monitor); m != nil {
				monService = m.Service
			}
			if w.Covers(cc.Service, cc.Monitor) || (monService != "" && w.Covers(monService, "")) {
				comps = append(comps, cc.ID)
			}
		}
		if len(comps) == 0 {
			continue
		}
		pi, ok := notice(w, p.ID, comps, v.Since, now)
		if !ok {
			continue
		}
		switch {
		case pi.Status != "completed":
			v.Maintenance = append(v.Maintenance, pi)
		case pi.ScheduledUntil.After(recent):
			v.Completed = append(v.Completed, pi)
		}
	}
	sort.SliceStable(v.Maintenance, func(i, j int) bool { return v.Maintenance[i].ScheduledFor.Before(*v.Maintenance[j].ScheduledFor) })
	sort.SliceStable(v.Completed, func(i, j int) bool { return v.Completed[i].ScheduledUntil.After(*v.Completed[j].ScheduledUntil) })
	for _, list := range [][]PublicIncident{v.Active, v.Past, v.Maintenance, v.Completed} {
		for _, pi := range list {
			if pi.UpdatedAt.After(v.UpdatedAt) && !pi.UpdatedAt.After(now) {
				v.UpdatedAt = pi.UpdatedAt
			}
		}
	}
	if v.Worst == statusUnsetMarker {
		v.Worst = Operational
	}
	v.Indicator, v.Description = indicator(v.Worst, v.Active)
	return v, nil
}

// notice is an announced window as the public sees it: Statuspage's scheduled maintenance,
// with an update when it was scheduled, when it started and when it was completed. A window
// called off before it started is not shown.
func notice(w *maintenance.Window, pageID string, comps []string, pageSince, now time.Time) (PublicIncident, bool) {
	if w.Start == nil || w.End == nil {
		return PublicIncident{}, false
	}
	from, to := *w.Start, *w.End
	if w.CancelledAt != nil {
		if !w.CancelledAt.After(from) {
			return PublicIncident{}, false
		}
		to = clock.Earliest(to, *w.CancelledAt)
	}
	created := from
	if w.CreatedAt != nil {
		created = *w.CreatedAt
	} else if pageSince.Before(from) {
		created = pageSince // declared in the config: known since the page was
	}
	updated := created
	if w.UpdatedAt != nil {
		updated = *w.UpdatedAt
	}
	body := w.Description
	if body == "" {
		body = w.Name
	}
	pi := PublicIncident{Ref: w.Key(), PageID: pageID, Kind: KindMaintenance, Name: w.Name, Impact: "maintenance", Components: comps,
		CreatedAt: created, UpdatedAt: updated, ScheduledFor: &from, ScheduledUntil: &to, StartedAt: from, Status: "scheduled"}
	pi.Updates = []Update{{Status: "scheduled", Body: body, CreatedAt: created, Affected: []Affected{}}}
	if w.UpdatedAt != nil && w.UpdatedAt.After(created) && w.CancelledAt == nil {
		at := *w.UpdatedAt
		pi.Updates[0].EditedAt = &at
	}
	if !now.Before(from) {
		pi.Status = "in_progress"
		pi.Updates = append([]Update{{Status: "in_progress", Body: "Scheduled maintenance is in progress. We will provide updates as necessary.",
			CreatedAt: from, Affected: []Affected{}}}, pi.Updates...)
		pi.UpdatedAt = clock.Latest(pi.UpdatedAt, from)
	}
	if !now.Before(to) {
		end := to
		pi.Status, pi.ResolvedAt = "completed", &end
		body := "The scheduled maintenance has been completed."
		if w.CancelledAt != nil { // shown at all, so called off after it started
			body = "The maintenance was completed early."
		}
		pi.Updates = append([]Update{{Status: "completed", Body: body, CreatedAt: to, Affected: []Affected{}}}, pi.Updates...)
		pi.UpdatedAt = clock.Latest(pi.UpdatedAt, to)
	}
	return pi, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cuts returns the sorted, distinct times of a day's history where something changes: day
// edges, the component's first appearance, now, the ends of maintenance and of spans.
func cuts(edges []time.Time, maint []maintenance.Interval, spans []span, created, now time.Time) []time.Time {
	start := edges[0]
	var ts []time.Time
	add := func(t time.Time) {
		if !t.Before(start) && !t.After(now) {
			ts = append(ts, t)
		}
	}
	for _, e := range edges {
		add(e)
	}
	add(created)
	add(now)
	for _, m := range maint {
		add(m.From)
		add(m.To)
	}
	for _, sp := range spans {
		add(sp.from)
		add(sp.to)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	out := ts[:0]
	for _, t := range ts {
		if len(out) == 0 || !t.Equal(out[len(out)-1]) {
			out = append(out, t)
		}
	}
	return out
}

func inIntervals(ivs []maintenance.Interval, t time.Time) bool {
	for _, iv := range ivs {
		if !t.Before(iv.From) && t.Before(iv.To) {
			return true
		}
	}
	return false
}

// dayOf is the index of the day (between edges) that t falls in.
func dayOf(edges []time.Time, t time.Time) int {
	return sort.Search(len(edges), func(i int) bool { return edges[i].After(t) }) - 1
}

// timeBars draws a component's days from the spans it follows: a day's observed time is the
// part since the component appeared, up to now, not under maintenance; its downtime is the
// observed time under a major outage, and 30% of that under a partial outage (as Statuspage
// weighs it); its uptime is 1 - downtime/observed. The component's uptime is the same ratio
// over all days.
func timeBars(c *Component, spans []span, edges []time.Time, maint []maintenance.Interval, created, now time.Time) {
	n := len(edges) - 1
	c.Bars = make([]Bar, n)
	observed := make([]float64, n)
	down := make([]float64, n)
	for i := range c.Bars {
		c.Bars[i] = Bar{Index: i, Day: edges[i], Status: Operational}
	}
	ts := cuts(edges, maint, spans, created, now)
	for k := 0; k+1 < len(ts); k++ {
		a, b := ts[k], ts[k+1]
		d := dayOf(edges, a)
		if d < 0 || d >= n || a.Before(created) {
			continue
		}
		bar := &c.Bars[d]
		if inIntervals(maint, a) {
			bar.Maintenance += b.Sub(a)
			continue
		}
		worst := Operational
		for _, sp := range spans {
			if !a.Before(sp.from) && a.Before(sp.to) && sp.status.Rank() > worst.Rank() {
				worst = sp.status
			}
		}
		secs := b.Sub(a).Seconds()
		observed[d] += secs
		if worst.Rank() > bar.Status.Rank() {
			bar.Status = worst
		}
		if w := weight(worst); w > 0 {
			down[d] += w * secs
			bar.Down += b.Sub(a)
		}
	}
	var sumObs, sumDown float64
	for i := range c.Bars {
		bar := &c.Bars[i]
		if observed[i] > 0 {
			bar.HasData = true
			bar.Uptime = 100 * (1 - down[i]/observed[i])
		}
		sumObs += observed[i]
		sumDown += down[i]
	}
	if sumObs > 0 {
		c.HasData, c.Uptime = true, 100*(1-sumDown/sumObs)
	}
}

// monitorBars draws a monitor's days from its checks: a day's uptime is its share of passed
// checks outside maintenance (every location's check counts); it is operational when every
// such check passed, a major outage when none did, a partial outage otherwise, and has no data
// without checks. Down estimates the time down as the failed share of the observed time.
func (s *Service) monitorBars(ctx context.Context, c *Component, monitorID string, edges []time.Time, maint []maintenance.Interval, now time.Time) error {
	n := len(edges) - 1
	ts := cuts(edges, maint, nil, edges[0], now)
	counts, err := s.monitors.Counts(ctx, monitorID, ts)
	if err != nil {
		return err
	}
	c.Bars = make([]Bar, n)
	checks := make([]int64, n)
	fails := make([]int64, n)
	observed := make([]time.Duration, n)
	for i := range c.Bars {
		c.Bars[i] = Bar{Index: i, Day: edges[i], Status: Operational}
	}
	for k := range counts {
		a, b := ts[k], ts[k+1]
		d := dayOf(edges, a)
		if d < 0 || d >= n {
			continue
		}
		if inIntervals(maint, a) {
			c.Bars[d].Maintenance += b.Sub(a)
			continue
		}
		checks[d] += counts[k].Checks
		fails[d] += counts[k].Failures
		if counts[k].Checks > 0 {
			observed[d] += b.Sub(a)
		}
	}
	var allChecks, allFails int64
	for i := range c.Bars {
		b := &c.Bars[i]
		if checks[i] == 0 {
			continue
		}
		allChecks, allFails = allChecks+checks[i], allFails+fails[i]
		share := float64(fails[i]) / float64(checks[i])
		b.HasData, b.Uptime = true, 100*(1-share)
		b.Down = time.Duration(share * float64(observed[i])).Round(time.Second)
		switch {
		case fails[i] == checks[i]:
			b.Status = MajorOutage
		case fails[i] > 0:
			b.Status = PartialOutage
		}
	}
	if allChecks > 0 {
		c.HasData, c.Uptime = true, 100*float64(allChecks-allFails)/float64(allChecks)
	}
	return nil
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
