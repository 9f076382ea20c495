package config

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// SLOs in nines' own form. OpenSLO v1 documents are read and turned into this form by
// internal/slo/openslo (a Format), so the rest of nines knows one shape.

// SLO is a service level objective: the share of good events (or good time slices) a service
// promises over a window.
type SLO struct {
	Node
	ID          string `yaml:"id"`
	Service     string `yaml:"service"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Objective is the promised share of good events, in percent (99.9).
	Objective float64 `yaml:"objective"`
	// Window is a rolling window (30d). Calendar is the alternative: month or quarter, in
	// TimeZone. Neither means a rolling 30d.
	Window   Duration `yaml:"window"`
	Calendar string   `yaml:"calendar"`
	TimeZone string   `yaml:"time_zone"`
	// BudgetingMethod is occurrences (default), timeslices or ratio_timeslices.
	BudgetingMethod string `yaml:"budgeting_method"`
	// Timeslice is the length of a slice for the timeslice methods (default 1m);
	// TimesliceTarget is the percent of good events that makes a slice good (timeslices only).
	Timeslice       Duration `yaml:"timeslice"`
	TimesliceTarget float64  `yaml:"timeslice_target"`
	// TimesliceNoData is how a slice without data counts (timeslice methods): good (default),
	// bad, or skip (not counted at all).
	TimesliceNoData string    `yaml:"timeslice_no_data"`
	SLI             SLI       `yaml:"sli"`
	Alerts          SLOAlerts `yaml:"alerts"`
	// SLA is the looser target promised to customers, in percent; SLA reports measure it.
	SLA float64 `yaml:"sla"`

	// CalendarAnchor starts the first period of a fixed calendar window.
	CalendarAnchor time.Time `yaml:"-"`
	// Origin says where the SLO was declared: "" for nines' own form, "openslo" otherwise.
	Origin string `yaml:"-"`
	loc    *time.Location
}

// Budgeting methods, as OpenSLO names them in snake case.
const (
	Occurrences     = "occurrences"
	Timeslices      = "timeslices"
	RatioTimeslices = "ratio_timeslices"
)

// How a time slice without data counts.
const (
	NoDataGood = "good"
	NoDataBad  = "bad"
	NoDataSkip = "skip"
)

// Calendar windows.
const (
	CalendarMonth   = "month"
	CalendarQuarter = "quarter"
	CalendarYear    = "year"
	// CalendarFixed is a calendar window of a fixed length from an anchor (OpenSLO 1w with a
	// startTime); only OpenSLO documents produce it.
	CalendarFixed = "fixed"
)

// Location is the time zone of a calendar window (UTC unless time_zone says otherwise).
func (s *SLO) Location() *time.Location {
	if s.loc == nil {
		return time.UTC
	}
	return s.loc
}

// SLI says where the good and total counts of an SLO come from: exactly one of Events, Probe
// or Prometheus.
type SLI struct {
	Node
	Events     *PushedSLI     `yaml:"events"`
	Probe      string         `yaml:"probe"`
	Latency    *LatencySLI    `yaml:"latency"`
	Prometheus *PrometheusSLI `yaml:"prometheus"`
}

// PushedSLI is fed by POST /api/v1/slis/{slo-id}/events.
type PushedSLI struct {
	Node
	Source string `yaml:"source"`
}

// LatencySLI turns a monitor's latency into good minutes: a minute is good when its
// Percentile latency is below Below.
type LatencySLI struct {
	Node
	Percentile float64  `yaml:"percentile"`
	Below      Duration `yaml:"below"`
}

// PrometheusSLI reads good (or bad) and total counts from a Prometheus server. Each query is a
// counter selector (http_requests_total{code!~"5.."}), a counter expression, or an expression
// with {{.window}} that returns the number of events in that window.
type PrometheusSLI struct {
	Node
	URL   string `yaml:"url"`
	Good  string `yaml:"good"`
	Bad   string `yaml:"bad"`
	Total string `yaml:"total"`
	// Threshold turns a single query (Good) into events: one event per minute, good when the
	// value compares to Threshold by Op (lt, lte, gt, gte). From OpenSLO thresholdMetric.
	Op        string  `yaml:"-"`
	Threshold float64 `yaml:"-"`
}

// SLOAlerts configures burn-rate alerting. Page and Ticket, when written, replace the SRE
// workbook's defaults (which are scaled to the SLO's window).
type SLOAlerts struct {
	Node
	Disabled bool `yaml:"disabled"`
	// MinEvents is the least number of events both windows of a pair must hold before the pair
	// may fire (default 10), so one failure in a quiet hour pages nobody.
	MinEvents *float64       `yaml:"min_events"`
	Page      []BurnRateRule `yaml:"page"`
	Ticket    []BurnRateRule `yaml:"ticket"`
}

// BurnRateRule fires when the burn rate is at least BurnRate over both Long and Short.
type BurnRateRule struct {
	Node
	Long     Duration `yaml:"long"`
	Short    Duration `yaml:"short"`
	BurnRate float64  `yaml:"burn_rate"`
}

// SLO returns the SLO with the given id, or nil.
func (c *Config) SLO(id string) *SLO {
	for i := range c.SLOs {
		if c.SLOs[i].ID == id {
			return &c.SLOs[i]
		}
	}
	return nil
}

func (c *Config) validateSLOs(errs *Errors) {
	c.translate(errs) // SLOs of other formats (OpenSLO), checked below as if written here
	ids(errs, "slo", c.SLOs, func(s *SLO) (string, Node) { return s.ID, s.Node })
	for i := range c.SLOs {
		c.validateSLO(&c.SLOs[i], errs)
	}
}

func (c *Config) validateSLO(s *SLO, errs *Errors) {
	what := "slo " + s.ID
	if s.Service == "" {
		errs.add(s.Pos, "%s: service is required", what)
	} else if c.Service(s.Service) == nil {
		errs.add(s.At("service"), "%s: unknown service %q (declare it under services:)", what, s.Service)
	}
	if s.Name == "" {
		s.Name = s.ID
	}
	switch {
	case !s.Has("objective") && s.Objective == 0:
		errs.add(s.Pos, "%s: objective is required, in percent (e.g. 99.9)", what)
	case math.IsNaN(s.Objective) || s.Objective <= 0 || s.Objective >= 100:
		errs.add(s.At("objective"), "%s: objective %v: want a percentage above 0 and below 100 (100 leaves no error budget)", what, s.Objective)
	}
	if s.SLA != 0 && (s.SLA <= 0 || s.SLA > s.Objective) {
		errs.add(s.At("sla"), "%s: sla %v: want a percentage above 0 and no higher than the objective %v (an SLA is looser than its SLO)", what, s.SLA, s.Objective)
	}
	switch s.Calendar {
	case "":
		if s.Window == 0 {
			s.Window = Duration(30 * 24 * time.Hour)
		}
		switch w := s.Window.D(); {
		case w%time.Minute != 0 || w < time.Hour:
			errs.add(s.At("window"), "%s: window %s: want whole minutes, at least 1h", what, w)
		case w > 400*24*time.Hour:
			errs.add(s.At("window"), "%s: window %s is longer than the 400 days nines keeps", what, w)
		}
		if s.TimeZone != "" {
			errs.add(s.At("time_zone"), "%s: time_zone applies to calendar windows only", what)
		}
	case CalendarMonth, CalendarQuarter, CalendarYear, CalendarFixed:
		if s.Has("window") && s.Calendar != CalendarFixed && s.Origin == "" {
			errs.add(s.At("window"), "%s: write window (rolling) or calendar, not both", what)
		}
		if s.loc == nil {
			loc, err := time.LoadLocation(s.TimeZone)
			if err != nil {
				errs.add(s.At("time_zone"), "%s: time_zone %q: not an IANA time zone such as Europe/Berlin", what, s.TimeZone)
			}
			s.loc = loc
		}
	default:
		errs.add(s.At("calendar"), "%s: calendar %q: want month or quarter", what, s.Calendar)
	}
	switch s.BudgetingMethod {
	case "":
		s.BudgetingMethod = Occurrences
	case Occurrences, Timeslices, RatioTimeslices:
	default:
		errs.add(s.At("budgeting_method"), "%s: budgeting_method %q: want occurrences, timeslices or ratio_timeslices", what, s.BudgetingMethod)
	}
	if s.BudgetingMethod == Occurrences {
		if s.Timeslice != 0 || s.TimesliceTarget != 0 {
			errs.add(s.At("timeslice"), "%s: timeslice and timeslice_target apply to the timeslices budgeting methods only", what)
		}
		if s.TimesliceNoData != "" {
			errs.add(s.At("timeslice_no_data"), "%s: timeslice_no_data applies to the timeslices budgeting methods only", what)
		}
	} else {
		switch s.TimesliceNoData {
		case "":
			s.TimesliceNoData = NoDataGood
		case NoDataGood, NoDataBad, NoDataSkip:
		default:
			errs.add(s.At("timeslice_no_data"), "%s: timeslice_no_data %q: want good (a slice without data counts as good), bad or skip", what, s.TimesliceNoData)
		}
		if s.Timeslice == 0 {
			s.Timeslice = Duration(time.Minute)
		}
		if d := s.Timeslice.D(); d%time.Minute != 0 || d <= 0 || time.Hour%d != 0 {
			errs.add(s.At("timeslice"), "%s: timeslice %s: want whole minutes that divide an hour (1m, 2m, 5m, 10m, 15m, 30m, 1h)", what, d)
		}
	}
	if s.BudgetingMethod == Timeslices {
		if s.TimesliceTarget == 0 && !s.Has("timeslice_target") {
			s.TimesliceTarget = s.Objective
		}
		if s.TimesliceTarget <= 0 || s.TimesliceTarget > 100 {
			errs.add(s.At("timeslice_target"), "%s: timeslice_target %v: want a percentage above 0, at most 100", what, s.TimesliceTarget)
		}
	} else if s.Has("timeslice_target") && s.BudgetingMethod == RatioTimeslices {
		errs.add(s.At("timeslice_target"), "%s: timeslice_target applies to timeslices only (ratio_timeslices averages each slice's ratio)", what)
	}
	c.validateSLI(s, errs)
	validateSLOAlerts(s, errs)
}

func (c *Config) validateSLI(s *SLO, errs *Errors) {
	what := "slo " + s.ID
	sli := &s.SLI
	n := 0
	if sli.Events != nil {
		n++
		if sli.Events.Source != "push" {
			errs.add(sli.Events.At("source"), "%s: sli.events.source %q: want push", what, sli.Events.Source)
		}
	}
	if sli.Probe != "" {
		n++
		known := false
		for i := range c.Monitors {
			known = known || c.Monitors[i].ID == sli.Probe
		}
		if !known {
			errs.add(sli.At("probe"), "%s: sli.probe %q names no monitor (declare it under monitors:)", what, sli.Probe)
		}
	}
	if sli.Latency != nil {
		if sli.Probe == "" {
			errs.add(sli.At("latency"), "%s: sli.latency needs sli.probe (the monitor whose latency counts)", what)
		}
		switch sli.Latency.Percentile {
		case 50, 95, 99:
		default:
			errs.add(sli.Latency.At("percentile"), "%s: sli.latency.percentile %v: want 50, 95 or 99", what, sli.Latency.Percentile)
		}
		if sli.Latency.Below <= 0 {
			errs.add(sli.Latency.At("below"), "%s: sli.latency.below is required (e.g. 100ms)", what)
		}
	}
	if p := sli.Prometheus; p != nil {
		n++
		if err := checkHTTPURL(p.URL); err != nil {
			errs.add(p.At("url"), "%s: sli.prometheus.url %q: %v", what, p.URL, err)
		}
		switch {
		case p.Op != "":
			if p.Good == "" {
				errs.add(p.Pos, "%s: a threshold metric needs its query", what)
			}
		case (p.Good == "") == (p.Bad == ""):
			errs.add(p.Pos, "%s: sli.prometheus needs exactly one of good or bad, and total", what)
		case p.Total == "":
			errs.add(p.Pos, "%s: sli.prometheus.total is required", what)
		case strings.Contains(p.Good+p.Bad, "{{.window}}") != strings.Contains(p.Total, "{{.window}}"):
			errs.add(p.Pos, "%s: sli.prometheus: write {{.window}} in both queries or in neither: one counts a window's events itself, the other is a counter nines counts", what)
		default:
			for _, f := range []string{"good", "bad", "total"} {
				q := map[string]string{"good": p.Good, "bad": p.Bad, "total": p.Total}[f]
				if q == "" {
					continue
				}
				if why := checkPrometheusQuery(q); why != "" {
					field := "sli.prometheus." + f
					if s.Origin == "openslo" {
						field = "ratioMetric." + f + " query"
					}
					errs.add(p.At(f), "%s: %s %s", what, field, why)
				}
			}
		}
	}
	switch {
	case n == 0:
		errs.add(s.At("sli"), "%s: sli needs one source: events: {source: push}, probe: MONITOR-ID or prometheus: {url, good, total}", what)
	case n > 1:
		errs.add(s.At("sli"), "%s: sli has %d sources; write exactly one", what, n)
	}
}

func checkHTTPURL(s string) error {
	if s == "" {
		return fmt.Errorf("is required")
	}
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return fmt.Errorf("want an http(s) URL")
	}
	return nil
}

func validateSLOAlerts(s *SLO, errs *Errors) {
	a := &s.Alerts
	if a.MinEvents != nil && (*a.MinEvents < 0 || math.IsNaN(*a.MinEvents)) {
		errs.add(a.At("min_events"), "slo %s: alerts.min_events must be zero or more", s.ID)
	}
	for _, rules := range [][]BurnRateRule{a.Page, a.Ticket} {
		for _, r := range rules {
			switch {
			case r.Long <= 0 || r.Short <= 0:
				errs.add(r.Pos, "slo %s: a burn-rate rule needs long and short windows", s.ID)
			case r.Short >= r.Long:
				errs.add(r.At("short"), "slo %s: short window %s must be shorter than long window %s", s.ID, r.Short.D(), r.Long.D())
			case r.Long.D()%time.Minute != 0 || r.Short.D()%time.Minute != 0:
				errs.add(r.Pos, "slo %s: burn-rate windows are whole minutes", s.ID)
			case r.Long.D() > 3*24*time.Hour:
				errs.add(r.At("long"), "slo %s: long window %s: at most 3d", s.ID, r.Long.D())
			}
			if !(r.BurnRate > 0) {
				errs.add(r.At("burn_rate"), "slo %s: burn_rate %v: want a number above 0", s.ID, r.BurnRate)
			}
		}
	}
}
