package config

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// SLOs in nines' own form and as OpenSLO v1 documents. OpenSLO documents are checked where they
// are written and then turned into the native form, so the rest of nines knows one shape.

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
	Timeslice       Duration  `yaml:"timeslice"`
	TimesliceTarget float64   `yaml:"timeslice_target"`
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
	c.SLOs = append(c.SLOs, c.openSLOToNative(errs)...)
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
	} else {
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

// OpenSLO v1.

// OpenSLODocument is one OpenSLO v1 document. Spec holds the kind's spec: *OpenSLOService,
// *OpenSLOSLISpec, *OpenSLOSLOSpec, *OpenSLODataSource, *OpenSLOAlertPolicy,
// *OpenSLOAlertCondition or *OpenSLONotificationTarget.
type OpenSLODocument struct {
	Node
	APIVersion string          `yaml:"apiVersion"`
	Kind       string          `yaml:"kind"`
	Metadata   OpenSLOMetadata `yaml:"metadata"`
	Spec       any             `yaml:"-"`
}

// OpenSLOMetadata names a document.
type OpenSLOMetadata struct {
	Node
	Name        string         `yaml:"name"`
	DisplayName string         `yaml:"displayName"`
	Labels      map[string]any `yaml:"labels"`
	Annotations map[string]any `yaml:"annotations"`
}

// YAMLNode keeps a piece of YAML as written, for fields that are either a reference or an
// inline document.
type YAMLNode struct{ Node *yaml.Node }

// UnmarshalYAML keeps the node.
func (y *YAMLNode) UnmarshalYAML(n *yaml.Node) error {
	y.Node = n
	return nil
}

// OpenSLOService is the spec of kind Service.
type OpenSLOService struct {
	Node
	Description string `yaml:"description"`
}

// OpenSLOSLISpec is the spec of kind SLI (and of an SLO's inline indicator).
type OpenSLOSLISpec struct {
	Node
	Description     string              `yaml:"description"`
	ThresholdMetric *OpenSLOMetric      `yaml:"thresholdMetric"`
	RatioMetric     *OpenSLORatioMetric `yaml:"ratioMetric"`
}

// OpenSLORatioMetric is good (or bad) over total.
type OpenSLORatioMetric struct {
	Node
	Counter bool           `yaml:"counter"`
	Good    *OpenSLOMetric `yaml:"good"`
	Bad     *OpenSLOMetric `yaml:"bad"`
	Total   *OpenSLOMetric `yaml:"total"`
	RawType string         `yaml:"rawType"`
	Raw     *OpenSLOMetric `yaml:"raw"`
}

// OpenSLOMetric holds a metric source.
type OpenSLOMetric struct {
	Node
	MetricSource OpenSLOMetricSource `yaml:"metricSource"`
}

// OpenSLOMetricSource is where a metric is read: a type (Prometheus, Datadog, ...) with its
// own spec, possibly naming a DataSource.
type OpenSLOMetricSource struct {
	Node
	MetricSourceRef string         `yaml:"metricSourceRef"`
	Type            string         `yaml:"type"`
	Spec            map[string]any `yaml:"spec"`
}

// OpenSLOInlineSLI is an SLO's inline indicator.
type OpenSLOInlineSLI struct {
	Node
	Metadata OpenSLOMetadata `yaml:"metadata"`
	Spec     OpenSLOSLISpec  `yaml:"spec"`
}

// OpenSLOSLOSpec is the spec of kind SLO.
type OpenSLOSLOSpec struct {
	Node
	Description     string              `yaml:"description"`
	Service         string              `yaml:"service"`
	Indicator       *OpenSLOInlineSLI   `yaml:"indicator"`
	IndicatorRef    string              `yaml:"indicatorRef"`
	TimeWindow      []OpenSLOTimeWindow `yaml:"timeWindow"`
	BudgetingMethod string              `yaml:"budgetingMethod"`
	Objectives      []OpenSLOObjective  `yaml:"objectives"`
	AlertPolicies   []YAMLNode          `yaml:"alertPolicies"`
}

// OpenSLOTimeWindow is a rolling or calendar window.
type OpenSLOTimeWindow struct {
	Node
	Duration  string           `yaml:"duration"`
	IsRolling bool             `yaml:"isRolling"`
	Calendar  *OpenSLOCalendar `yaml:"calendar"`
}

// OpenSLOCalendar anchors a calendar window.
type OpenSLOCalendar struct {
	Node
	StartTime string `yaml:"startTime"`
	TimeZone  string `yaml:"timeZone"`
}

// OpenSLOObjective is one target of an SLO.
type OpenSLOObjective struct {
	Node
	DisplayName     string            `yaml:"displayName"`
	Op              string            `yaml:"op"`
	Value           *float64          `yaml:"value"`
	Target          *float64          `yaml:"target"`
	TargetPercent   *float64          `yaml:"targetPercent"`
	TimeSliceTarget *float64          `yaml:"timeSliceTarget"`
	TimeSliceWindow string            `yaml:"timeSliceWindow"`
	Indicator       *OpenSLOInlineSLI `yaml:"indicator"`
	IndicatorRef    string            `yaml:"indicatorRef"`
	CompositeWeight *float64          `yaml:"compositeWeight"`
}

// OpenSLODataSource is the spec of kind DataSource.
type OpenSLODataSource struct {
	Node
	Description       string         `yaml:"description"`
	Type              string         `yaml:"type"`
	ConnectionDetails map[string]any `yaml:"connectionDetails"`
}

// OpenSLOAlertPolicy is the spec of kind AlertPolicy.
type OpenSLOAlertPolicy struct {
	Node
	Description         string     `yaml:"description"`
	AlertWhenNoData     bool       `yaml:"alertWhenNoData"`
	AlertWhenResolved   bool       `yaml:"alertWhenResolved"`
	AlertWhenBreaching  bool       `yaml:"alertWhenBreaching"`
	Conditions          []YAMLNode `yaml:"conditions"`
	NotificationTargets []YAMLNode `yaml:"notificationTargets"`
}

// OpenSLOAlertCondition is the spec of kind AlertCondition.
type OpenSLOAlertCondition struct {
	Node
	Description string               `yaml:"description"`
	Severity    string               `yaml:"severity"`
	Condition   OpenSLOBurnCondition `yaml:"condition"`
}

// OpenSLOBurnCondition is a burn-rate condition.
type OpenSLOBurnCondition struct {
	Node
	Kind           string   `yaml:"kind"`
	Op             string   `yaml:"op"`
	Threshold      *float64 `yaml:"threshold"`
	LookbackWindow string   `yaml:"lookbackWindow"`
	AlertAfter     string   `yaml:"alertAfter"`
}

// OpenSLONotificationTarget is the spec of kind AlertNotificationTarget. nines notifies
// through escalation policies, so targets are read and otherwise ignored.
type OpenSLONotificationTarget struct {
	Node
	Description string `yaml:"description"`
	Target      string `yaml:"target"`
}

var openSLOKinds = map[string]func() any{
	"Service":                 func() any { return &OpenSLOService{} },
	"SLI":                     func() any { return &OpenSLOSLISpec{} },
	"SLO":                     func() any { return &OpenSLOSLOSpec{} },
	"DataSource":              func() any { return &OpenSLODataSource{} },
	"AlertPolicy":             func() any { return &OpenSLOAlertPolicy{} },
	"AlertCondition":          func() any { return &OpenSLOAlertCondition{} },
	"AlertNotificationTarget": func() any { return &OpenSLONotificationTarget{} },
}

// parseOpenSLO decodes one document strictly: the kind decides the shape of spec, and
// unknown fields are errors at their position.
func parseOpenSLO(file string, n *yaml.Node, errs *Errors) OpenSLODocument {
	d := &decoder{file: file, errs: errs}
	doc := OpenSLODocument{Node: Node{Pos: d.pos(n), keys: map[string]Pos{}}}
	if n.Kind != yaml.MappingNode {
		errs.add(doc.Pos, "OpenSLO document: expected a mapping")
		return doc
	}
	var spec *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		doc.keys[k.Value] = d.pos(v)
		switch k.Value {
		case "apiVersion":
			doc.APIVersion = v.Value
		case "kind":
			doc.Kind = v.Value
		case "metadata":
			d.decode(v, reflectValue(&doc.Metadata))
		case "spec":
			spec = v
		default:
			errs.add(d.pos(k), "unknown field %q (known fields: apiVersion, kind, metadata, spec)", k.Value)
		}
	}
	if doc.APIVersion != "openslo/v1" {
		errs.add(doc.At("apiVersion"), "apiVersion %q: nines reads openslo/v1 (convert v1alpha documents with oslo convert)", doc.APIVersion)
		return doc
	}
	mk, ok := openSLOKinds[doc.Kind]
	if !ok {
		errs.add(doc.At("kind"), "OpenSLO kind %q: want one of Service, SLI, SLO, DataSource, AlertPolicy, AlertCondition, AlertNotificationTarget", doc.Kind)
		return doc
	}
	checkOpenSLOName(errs, doc.Kind, doc.Metadata, doc.Pos)
	if spec == nil || isNull(spec) {
		errs.add(doc.Pos, "%s %s: spec is required", doc.Kind, doc.Metadata.Name)
		return doc
	}
	doc.Spec = mk()
	d.decode(spec, reflectValue(doc.Spec))
	return doc
}

// RFC 1123 label, as OpenSLO v1 requires of metadata.name.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// checkOpenSLOName checks metadata.name; doc is where the document starts, for when the
// metadata is missing altogether.
func checkOpenSLOName(errs *Errors, kind string, m OpenSLOMetadata, doc Pos) {
	switch {
	case m.Name == "" && m.Pos.Line == 0:
		errs.add(doc, "%s: metadata.name is required (the document has no metadata)", kind)
	case m.Name == "":
		errs.add(m.Pos, "%s: metadata.name is required", kind)
	case !dnsLabel.MatchString(m.Name):
		errs.add(m.At("name"), "%s metadata.name %q: OpenSLO names are RFC 1123 labels (lowercase letters, digits and '-', at most 63)", kind, m.Name)
	}
}

// openSLOToNative checks references between OpenSLO documents and turns each objective of
// each SLO into a native SLO.
func (c *Config) openSLOToNative(errs *Errors) []SLO {
	byKind := map[string]map[string]*OpenSLODocument{}
	for i := range c.OpenSLO {
		doc := &c.OpenSLO[i]
		if doc.Spec == nil {
			continue
		}
		m := byKind[doc.Kind]
		if m == nil {
			m = map[string]*OpenSLODocument{}
			byKind[doc.Kind] = m
		}
		if first, dup := m[doc.Metadata.Name]; dup {
			errs.add(doc.Metadata.At("name"), "%s %q is declared twice (first at %s)", doc.Kind, doc.Metadata.Name, first.Pos)
			continue
		}
		m[doc.Metadata.Name] = doc
	}
	for _, doc := range byKind["Service"] {
		if c.Service(doc.Metadata.Name) == nil {
			errs.add(doc.Metadata.At("name"), "OpenSLO Service %q is not a nines service; declare it under services: so its SLOs can page", doc.Metadata.Name)
		}
	}
	for _, doc := range byKind["SLI"] {
		checkOpenSLOSLI(errs, doc.Spec.(*OpenSLOSLISpec), byKind)
	}
	resolved := map[*OpenSLOAlertPolicy][]*OpenSLOAlertCondition{}
	conditions := func(p *OpenSLOAlertPolicy) []*OpenSLOAlertCondition {
		if out, ok := resolved[p]; ok {
			return out
		}
		out := []*OpenSLOAlertCondition{}
		defer func() { resolved[p] = out }()
		for i := range p.Conditions {
			cn := p.Conditions[i].Node
			if ref := mapValue(cn, "conditionRef"); ref != "" {
				ac, ok := byKind["AlertCondition"][ref]
				if !ok {
					errs.add(c.posOf(p.Node, cn), "AlertPolicy: conditionRef %q names no AlertCondition", ref)
					continue
				}
				out = append(out, ac.Spec.(*OpenSLOAlertCondition))
				continue
			}
			inline := parseInline(p.Node.Pos.File, cn, "AlertCondition", errs)
			if ac, ok := inline.Spec.(*OpenSLOAlertCondition); ok {
				out = append(out, ac)
			}
		}
		return out
	}
	for _, doc := range byKind["AlertCondition"] {
		checkAlertCondition(errs, doc.Spec.(*OpenSLOAlertCondition))
	}
	for _, doc := range byKind["AlertPolicy"] {
		p := doc.Spec.(*OpenSLOAlertPolicy)
		if len(p.Conditions) == 0 {
			errs.add(p.Pos, "AlertPolicy %s: conditions: at least one is required", doc.Metadata.Name)
		}
		conditions(p)
		for i := range p.NotificationTargets {
			nt := p.NotificationTargets[i].Node
			if ref := mapValue(nt, "targetRef"); ref != "" {
				if _, ok := byKind["AlertNotificationTarget"][ref]; !ok {
					errs.add(c.posOf(p.Node, nt), "AlertPolicy %s: targetRef %q names no AlertNotificationTarget", doc.Metadata.Name, ref)
				}
			} else if nt.Kind != yaml.MappingNode || mapValue(nt, "kind") != "AlertNotificationTarget" {
				errs.add(c.posOf(p.Node, nt), "AlertPolicy %s: a notification target is {targetRef: NAME} or an inline AlertNotificationTarget", doc.Metadata.Name)
			}
		}
	}

	var out []SLO
	for _, doc := range byKind["SLO"] {
		spec := doc.Spec.(*OpenSLOSLOSpec)
		var policies []*OpenSLOAlertPolicy
		for i := range spec.AlertPolicies {
			pn := spec.AlertPolicies[i].Node
			name := pn.Value
			if pn.Kind == yaml.MappingNode {
				if ref := mapValue(pn, "alertPolicyRef"); ref != "" {
					name = ref
				} else {
					inline := parseInline(spec.Pos.File, pn, "AlertPolicy", errs)
					if p, ok := inline.Spec.(*OpenSLOAlertPolicy); ok {
						policies = append(policies, p)
					}
					continue
				}
			}
			ap, ok := byKind["AlertPolicy"][name]
			if !ok {
				errs.add(c.posOf(spec.Node, pn), "SLO %s: alert policy %q is not declared", doc.Metadata.Name, name)
				continue
			}
			policies = append(policies, ap.Spec.(*OpenSLOAlertPolicy))
		}
		var rules []BurnRateRule
		var ticket []BurnRateRule
		for _, p := range policies {
			for _, ac := range conditions(p) {
				r, ok := burnRule(ac)
				if !ok {
					continue
				}
				if isPageSeverity(ac.Severity) {
					rules = append(rules, r)
				} else {
					ticket = append(ticket, r)
				}
			}
		}
		out = append(out, c.openSLOObjectives(doc, spec, byKind, rules, ticket, errs)...)
	}
	return out
}

func (c *Config) posOf(parent Node, n *yaml.Node) Pos {
	return Pos{File: parent.Pos.File, Line: n.Line, Col: n.Column}
}

func parseInline(file string, n *yaml.Node, kind string, errs *Errors) OpenSLODocument {
	if mapValue(n, "kind") != kind {
		errs.add(Pos{file, n.Line, n.Column}, "expected a reference or an inline %s", kind)
		return OpenSLODocument{}
	}
	// Inline documents carry no apiVersion; lend them the one of their parent.
	withAPI := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column,
		Content: append([]*yaml.Node{{Kind: yaml.ScalarNode, Value: "apiVersion"}, {Kind: yaml.ScalarNode, Value: "openslo/v1"}}, n.Content...)}
	doc := parseOpenSLO(file, withAPI, errs)
	if ac, ok := doc.Spec.(*OpenSLOAlertCondition); ok {
		checkAlertCondition(errs, ac)
	}
	return doc
}

func mapValue(n *yaml.Node, key string) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1].Value
		}
	}
	return ""
}

func checkAlertCondition(errs *Errors, ac *OpenSLOAlertCondition) {
	cd := &ac.Condition
	if ac.Severity == "" {
		errs.add(ac.Pos, "AlertCondition: severity is required")
	}
	if cd.Kind != "burnrate" {
		errs.add(cd.At("kind"), "AlertCondition: condition kind %q: want burnrate", cd.Kind)
	}
	if cd.Threshold == nil || !(*cd.Threshold > 0) {
		errs.add(cd.At("threshold"), "AlertCondition: condition threshold must be a number above 0")
	}
	if _, err := openSLODuration(cd.LookbackWindow); err != nil {
		errs.add(cd.At("lookbackWindow"), "AlertCondition: lookbackWindow: %v", err)
	}
	if cd.AlertAfter != "" {
		if _, err := openSLODuration(cd.AlertAfter); err != nil {
			errs.add(cd.At("alertAfter"), "AlertCondition: alertAfter: %v", err)
		}
	}
	switch cd.Op {
	case "", "gt", "gte":
	default:
		errs.add(cd.At("op"), "AlertCondition: op %q: a burn-rate alert fires above its threshold (gt or gte)", cd.Op)
	}
}

// burnRule maps an OpenSLO burn-rate condition onto a window pair: the lookback window is the
// long window and, as the SRE workbook does, a twelfth of it is the short one.
func burnRule(ac *OpenSLOAlertCondition) (BurnRateRule, bool) {
	cd := ac.Condition
	if cd.Threshold == nil {
		return BurnRateRule{}, false
	}
	long, err := openSLODuration(cd.LookbackWindow)
	if err != nil || long <= 0 || long > 3*24*time.Hour {
		return BurnRateRule{}, false
	}
	short := (long / 12).Truncate(time.Minute)
	if short < time.Minute {
		short = time.Minute
	}
	if short >= long {
		return BurnRateRule{}, false
	}
	return BurnRateRule{Node: ac.Node, Long: Duration(long.Truncate(time.Minute)), Short: Duration(short), BurnRate: *cd.Threshold}, true
}

func isPageSeverity(s string) bool {
	switch strings.ToLower(s) {
	case "page", "critical", "high", "p1", "sev1", "sev-1":
		return true
	}
	return false
}

func checkOpenSLOSLI(errs *Errors, sli *OpenSLOSLISpec, byKind map[string]map[string]*OpenSLODocument) {
	switch {
	case sli.RatioMetric == nil && sli.ThresholdMetric == nil:
		errs.add(sli.Pos, "SLI: one of ratioMetric or thresholdMetric is required")
	case sli.RatioMetric != nil && sli.ThresholdMetric != nil:
		errs.add(sli.Pos, "SLI: ratioMetric and thresholdMetric exclude each other")
	}
	if r := sli.RatioMetric; r != nil {
		switch {
		case r.Raw != nil:
			if r.Good != nil || r.Bad != nil || r.Total != nil {
				errs.add(r.Pos, "SLI: ratioMetric raw excludes good, bad and total")
			}
			if r.RawType != "success" && r.RawType != "failure" {
				errs.add(r.At("rawType"), "SLI: ratioMetric rawType %q: want success or failure", r.RawType)
			}
		case r.Good != nil && r.Bad != nil:
			errs.add(r.Pos, "SLI: ratioMetric has good and bad; write one of them")
		case r.Good == nil && r.Bad == nil:
			errs.add(r.Pos, "SLI: ratioMetric needs good or bad")
		case r.Total == nil:
			errs.add(r.Pos, "SLI: ratioMetric needs total")
		}
		for _, m := range []*OpenSLOMetric{r.Good, r.Bad, r.Total, r.Raw} {
			if m != nil {
				checkMetricSource(errs, m, byKind)
			}
		}
	}
	if sli.ThresholdMetric != nil {
		checkMetricSource(errs, sli.ThresholdMetric, byKind)
	}
}

func checkMetricSource(errs *Errors, m *OpenSLOMetric, byKind map[string]map[string]*OpenSLODocument) {
	ms := &m.MetricSource
	if ms.Type == "" && ms.MetricSourceRef == "" {
		errs.add(m.Pos, "SLI: metricSource needs a type or a metricSourceRef")
	}
	if ms.MetricSourceRef != "" {
		if _, ok := byKind["DataSource"][ms.MetricSourceRef]; !ok {
			errs.add(ms.At("metricSourceRef"), "SLI: metricSourceRef %q names no DataSource", ms.MetricSourceRef)
		}
	}
}

func (c *Config) openSLOObjectives(doc *OpenSLODocument, spec *OpenSLOSLOSpec, byKind map[string]map[string]*OpenSLODocument,
	page, ticket []BurnRateRule, errs *Errors) []SLO {
	name := doc.Metadata.Name
	base := SLO{Node: doc.Node, Service: spec.Service, Description: spec.Description, Origin: "openslo",
		Name: firstNonEmpty(doc.Metadata.DisplayName, name)}
	base.keys = map[string]Pos{"service": spec.At("service"), "objective": spec.At("objectives"),
		"budgeting_method": spec.At("budgetingMethod"), "window": spec.At("timeWindow"), "calendar": spec.At("timeWindow"),
		"time_zone": spec.At("timeWindow"), "sli": spec.At("indicator"), "timeslice": spec.At("objectives")}
	if spec.Service == "" {
		errs.add(spec.Pos, "SLO %s: spec.service is required", name)
	}
	switch spec.BudgetingMethod {
	case "Occurrences":
		base.BudgetingMethod = Occurrences
	case "Timeslices":
		base.BudgetingMethod = Timeslices
	case "RatioTimeslices":
		base.BudgetingMethod = RatioTimeslices
	default:
		errs.add(spec.At("budgetingMethod"), "SLO %s: budgetingMethod %q: want Occurrences, Timeslices or RatioTimeslices", name, spec.BudgetingMethod)
	}
	if len(spec.TimeWindow) != 1 {
		errs.add(spec.At("timeWindow"), "SLO %s: timeWindow needs exactly one entry", name)
	} else {
		openSLOWindow(&base, &spec.TimeWindow[0], name, errs)
	}
	if len(page)+len(ticket) > 0 {
		base.Alerts = SLOAlerts{Page: page, Ticket: ticket}
	} else if len(spec.AlertPolicies) == 0 {
		// An OpenSLO SLO without alert policies asked for no alerts.
		base.Alerts = SLOAlerts{Disabled: true}
	}
	if len(spec.Objectives) == 0 {
		errs.add(spec.Pos, "SLO %s: objectives: at least one is required", name)
	}
	var out []SLO
	for i := range spec.Objectives {
		o := &spec.Objectives[i]
		s := base
		s.ID = name
		if len(spec.Objectives) > 1 {
			s.ID = fmt.Sprintf("%s.%d", name, i+1)
			if o.DisplayName != "" {
				s.Name = base.Name + ": " + o.DisplayName
			}
		}
		switch {
		case o.Target != nil && o.TargetPercent != nil:
			errs.add(o.Pos, "SLO %s: objective has target and targetPercent; write one", name)
		case o.Target != nil:
			s.Objective = *o.Target * 100
			if *o.Target <= 0 || *o.Target >= 1 {
				errs.add(o.At("target"), "SLO %s: objective target %v: want a fraction above 0 and below 1 (e.g. 0.999)", name, *o.Target)
				continue
			}
		case o.TargetPercent != nil:
			s.Objective = *o.TargetPercent
		default:
			errs.add(o.Pos, "SLO %s: objective needs target (0.999) or targetPercent (99.9)", name)
			continue
		}
		s.keys = cloneKeys(base.keys)
		s.keys["objective"] = o.Pos
		if s.BudgetingMethod != Occurrences {
			if o.TimeSliceWindow == "" {
				errs.add(o.Pos, "SLO %s: %s objectives need timeSliceWindow", name, spec.BudgetingMethod)
			} else if d, err := openSLODuration(o.TimeSliceWindow); err != nil {
				errs.add(o.At("timeSliceWindow"), "SLO %s: timeSliceWindow: %v", name, err)
			} else {
				s.Timeslice = Duration(d)
				s.keys["timeslice"] = o.At("timeSliceWindow")
			}
		}
		if s.BudgetingMethod == Timeslices {
			if o.TimeSliceTarget == nil {
				errs.add(o.Pos, "SLO %s: Timeslices objectives need timeSliceTarget", name)
			} else {
				s.TimesliceTarget = *o.TimeSliceTarget * 100
				s.keys["timeslice_target"] = o.At("timeSliceTarget")
			}
		} else if o.TimeSliceTarget != nil {
			errs.add(o.At("timeSliceTarget"), "SLO %s: timeSliceTarget applies to Timeslices only", name)
		}
		ind := spec.Indicator
		indPos := spec.At("indicator")
		if o.Indicator != nil || o.IndicatorRef != "" {
			ind, indPos = o.Indicator, o.Pos
		}
		ref := spec.IndicatorRef
		if o.IndicatorRef != "" {
			ref = o.IndicatorRef
		}
		var sli *OpenSLOSLISpec
		switch {
		case ind != nil && ref != "":
			errs.add(indPos, "SLO %s: indicator and indicatorRef exclude each other", name)
			continue
		case ind != nil:
			checkOpenSLOName(errs, "SLI", ind.Metadata, indPos)
			checkOpenSLOSLI(errs, &ind.Spec, byKind)
			sli = &ind.Spec
		case ref != "":
			d, ok := byKind["SLI"][ref]
			if !ok {
				errs.add(indPos, "SLO %s: indicatorRef %q names no SLI", name, ref)
				continue
			}
			sli = d.Spec.(*OpenSLOSLISpec)
		default:
			errs.add(spec.Pos, "SLO %s: indicator or indicatorRef is required", name)
			continue
		}
		if sli.ThresholdMetric != nil {
			if o.Op == "" || o.Value == nil {
				errs.add(o.Pos, "SLO %s: an objective on a thresholdMetric needs op and value", name)
				continue
			}
			switch o.Op {
			case "lt", "lte", "gt", "gte":
			default:
				errs.add(o.At("op"), "SLO %s: op %q: want lt, lte, gt or gte", name, o.Op)
				continue
			}
		} else if o.Op != "" || o.Value != nil {
			errs.add(o.At("op"), "SLO %s: op and value apply to a thresholdMetric only; this indicator is a ratioMetric", name)
			continue
		}
		s.SLI = openSLOSource(sli, o, byKind, indPos)
		out = append(out, s)
	}
	return out
}

func reflectValue(p any) reflect.Value { return reflect.ValueOf(p).Elem() }

func cloneKeys(m map[string]Pos) map[string]Pos {
	out := make(map[string]Pos, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// openSLOSource picks how nines reads the indicator: a Prometheus metric source is queried;
// any other source (Datadog, CloudWatch, "Any") is fed by pushing counts to the SLO.
func openSLOSource(sli *OpenSLOSLISpec, o *OpenSLOObjective, byKind map[string]map[string]*OpenSLODocument, at Pos) SLI {
	out := SLI{Node: Node{Pos: at}}
	query := func(m *OpenSLOMetric) (q, url string, prom bool) {
		if m == nil {
			return "", "", false
		}
		ms := m.MetricSource
		typ := ms.Type
		var conn map[string]any
		if ms.MetricSourceRef != "" {
			if ds, ok := byKind["DataSource"][ms.MetricSourceRef]; ok {
				d := ds.Spec.(*OpenSLODataSource)
				if typ == "" {
					typ = d.Type
				}
				conn = d.ConnectionDetails
			}
		}
		if !strings.EqualFold(typ, "prometheus") {
			return "", "", false
		}
		q, _ = ms.Spec["query"].(string)
		url, _ = ms.Spec["url"].(string)
		if url == "" {
			url, _ = conn["url"].(string)
		}
		return q, url, q != "" && url != ""
	}
	if r := sli.RatioMetric; r != nil && r.Raw == nil {
		total, url, ok := query(r.Total)
		good, _, okGood := query(r.Good)
		bad, _, okBad := query(r.Bad)
		if ok && (okGood || okBad) {
			out.Prometheus = &PrometheusSLI{Node: out.Node, URL: url, Good: good, Bad: bad, Total: total}
			return out
		}
	}
	if sli.ThresholdMetric != nil {
		if q, url, ok := query(sli.ThresholdMetric); ok {
			out.Prometheus = &PrometheusSLI{Node: out.Node, URL: url, Good: q, Op: o.Op, Threshold: *o.Value}
			return out
		}
	}
	out.Events = &PushedSLI{Node: out.Node, Source: "push"}
	return out
}

func openSLOWindow(s *SLO, w *OpenSLOTimeWindow, name string, errs *Errors) {
	unit := ""
	if w.Duration != "" {
		unit = w.Duration[len(w.Duration)-1:]
	}
	if w.IsRolling {
		if w.Calendar != nil {
			errs.add(w.At("calendar"), "SLO %s: a rolling timeWindow has no calendar", name)
		}
		// A rolling month, quarter or year is 30, 90 or 365 days, as Sloth and Pyrra count them.
		if d, ok := map[string]time.Duration{"1M": 30 * 24 * time.Hour, "1Q": 90 * 24 * time.Hour, "1Y": 365 * 24 * time.Hour}[w.Duration]; ok {
			s.Window = Duration(d)
			return
		}
		d, err := openSLODuration(w.Duration)
		if err != nil {
			errs.add(w.At("duration"), "SLO %s: timeWindow duration: %v", name, err)
			return
		}
		s.Window = Duration(d)
		return
	}
	if w.Calendar == nil {
		errs.add(w.Pos, "SLO %s: a timeWindow that is not rolling needs calendar: {startTime, timeZone}", name)
		return
	}
	loc, err := time.LoadLocation(w.Calendar.TimeZone)
	if err != nil || w.Calendar.TimeZone == "" {
		errs.add(w.Calendar.At("timeZone"), "SLO %s: calendar timeZone %q: not an IANA time zone such as America/New_York", name, w.Calendar.TimeZone)
		return
	}
	s.loc = loc
	s.TimeZone = w.Calendar.TimeZone
	start, err := time.ParseInLocation("2006-01-02 15:04:05", w.Calendar.StartTime, loc)
	if err != nil {
		errs.add(w.Calendar.At("startTime"), "SLO %s: calendar startTime %q: want 2006-01-02 15:04:05", name, w.Calendar.StartTime)
		return
	}
	switch w.Duration {
	case "1M":
		s.Calendar = CalendarMonth
	case "1Q":
		s.Calendar = CalendarQuarter
	case "1Y":
		s.Calendar = CalendarYear
	default:
		d, err := openSLODuration(w.Duration)
		if err != nil || (unit != "d" && unit != "w") {
			errs.add(w.At("duration"), "SLO %s: calendar duration %q: want 1M, 1Q, 1Y or whole days or weeks (7d, 1w); note that 1m is one minute", name, w.Duration)
			return
		}
		s.Calendar = CalendarFixed
		s.Window = Duration(d)
		s.CalendarAnchor = start
	}
}

// openSLODuration reads an OpenSLO duration shorthand: a whole number and one of m, h, d, w
// (M, Q and Y are calendar lengths and handled by the caller).
func openSLODuration(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("%q: want a whole number and a unit: m, h, d, w (e.g. 28d)", s)
	}
	var n int64
	for _, r := range s[:len(s)-1] {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q: want a whole number and a unit: m, h, d, w (e.g. 28d)", s)
		}
		n = n*10 + int64(r-'0')
		if n > 1e6 {
			return 0, fmt.Errorf("%q is too long", s)
		}
	}
	unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 || n == 0 {
		return 0, fmt.Errorf("%q: want a whole number above 0 and a unit: m, h, d, w (M, Q, Y are calendar windows)", s)
	}
	return time.Duration(n) * unit, nil
}
