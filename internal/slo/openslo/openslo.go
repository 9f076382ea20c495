// Package openslo reads OpenSLO v1 documents (Service, SLI, SLO, DataSource, AlertPolicy,
// AlertCondition, AlertNotificationTarget) found among nines' config files and turns each SLO
// objective into a config.SLO, so the rest of nines knows one shape. Documents are checked where
// they are written, with OpenSLO's words, and reported as file:line:col like the native config.
// The package registers itself with config when imported; a program that loads config imports it.
package openslo

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/internal/config"
)

// Document is one OpenSLO v1 document. Spec holds the kind's spec: *Service,
// *SLISpec, *SLOSpec, *DataSource, *AlertPolicy,
// *AlertCondition or *NotificationTarget.
type Document struct {
	config.Node
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   Metadata `yaml:"metadata"`
	Spec       any      `yaml:"-"`
}

// Metadata names a document.
type Metadata struct {
	config.Node
	Name        string         `yaml:"name"`
	DisplayName string         `yaml:"displayName"`
	Labels      map[string]any `yaml:"labels"`
	Annotations map[string]any `yaml:"annotations"`
}

// Service is the spec of kind Service.
type Service struct {
	config.Node
	Description string `yaml:"description"`
}

// SLISpec is the spec of kind SLI (and of an SLO's inline indicator).
type SLISpec struct {
	config.Node
	Description     string       `yaml:"description"`
	ThresholdMetric *Metric      `yaml:"thresholdMetric"`
	RatioMetric     *RatioMetric `yaml:"ratioMetric"`
}

// RatioMetric is good (or bad) over total.
type RatioMetric struct {
	config.Node
	Counter bool    `yaml:"counter"`
	Good    *Metric `yaml:"good"`
	Bad     *Metric `yaml:"bad"`
	Total   *Metric `yaml:"total"`
	RawType string  `yaml:"rawType"`
	Raw     *Metric `yaml:"raw"`
}

// Metric holds a metric source.
type Metric struct {
	config.Node
	MetricSource MetricSource `yaml:"metricSource"`
}

// MetricSource is where a metric is read: a type (Prometheus, Datadog, ...) with its
// own spec, possibly naming a DataSource.
type MetricSource struct {
	config.Node
	MetricSourceRef string         `yaml:"metricSourceRef"`
	Type            string         `yaml:"type"`
	Spec            map[string]any `yaml:"spec"`
}

// InlineSLI is an SLO's inline indicator.
type InlineSLI struct {
	config.Node
	Metadata Metadata `yaml:"metadata"`
	Spec     SLISpec  `yaml:"spec"`
}

// SLOSpec is the spec of kind SLO.
type SLOSpec struct {
	config.Node
	Description     string            `yaml:"description"`
	Service         string            `yaml:"service"`
	Indicator       *InlineSLI        `yaml:"indicator"`
	IndicatorRef    string            `yaml:"indicatorRef"`
	TimeWindow      []TimeWindow      `yaml:"timeWindow"`
	BudgetingMethod string            `yaml:"budgetingMethod"`
	Objectives      []Objective       `yaml:"objectives"`
	AlertPolicies   []config.YAMLNode `yaml:"alertPolicies"`
}

// TimeWindow is a rolling or calendar window.
type TimeWindow struct {
	config.Node
	Duration  string    `yaml:"duration"`
	IsRolling bool      `yaml:"isRolling"`
	Calendar  *Calendar `yaml:"calendar"`
}

// Calendar anchors a calendar window.
type Calendar struct {
	config.Node
	StartTime string `yaml:"startTime"`
	TimeZone  string `yaml:"timeZone"`
}

// Objective is one target of an SLO.
type Objective struct {
	config.Node
	DisplayName     string     `yaml:"displayName"`
	Op              string     `yaml:"op"`
	Value           *float64   `yaml:"value"`
	Target          *float64   `yaml:"target"`
	TargetPercent   *float64   `yaml:"targetPercent"`
	TimeSliceTarget *float64   `yaml:"timeSliceTarget"`
	TimeSliceWindow string     `yaml:"timeSliceWindow"`
	Indicator       *InlineSLI `yaml:"indicator"`
	IndicatorRef    string     `yaml:"indicatorRef"`
	CompositeWeight *float64   `yaml:"compositeWeight"`
}

// DataSource is the spec of kind DataSource.
type DataSource struct {
	config.Node
	Description       string         `yaml:"description"`
	Type              string         `yaml:"type"`
	ConnectionDetails map[string]any `yaml:"connectionDetails"`
}

// AlertPolicy is the spec of kind AlertPolicy.
type AlertPolicy struct {
	config.Node
	Description         string            `yaml:"description"`
	AlertWhenNoData     bool              `yaml:"alertWhenNoData"`
	AlertWhenResolved   bool              `yaml:"alertWhenResolved"`
	AlertWhenBreaching  bool              `yaml:"alertWhenBreaching"`
	Conditions          []config.YAMLNode `yaml:"conditions"`
	NotificationTargets []config.YAMLNode `yaml:"notificationTargets"`
}

// AlertCondition is the spec of kind AlertCondition.
type AlertCondition struct {
	config.Node
	Description string        `yaml:"description"`
	Severity    string        `yaml:"severity"`
	Condition   BurnCondition `yaml:"condition"`
}

// BurnCondition is a burn-rate condition.
type BurnCondition struct {
	config.Node
	Kind           string   `yaml:"kind"`
	Op             string   `yaml:"op"`
	Threshold      *float64 `yaml:"threshold"`
	LookbackWindow string   `yaml:"lookbackWindow"`
	AlertAfter     string   `yaml:"alertAfter"`
}

// NotificationTarget is the spec of kind AlertNotificationTarget. nines notifies
// through escalation policies, so targets are read and otherwise ignored.
type NotificationTarget struct {
	config.Node
	Description string `yaml:"description"`
	Target      string `yaml:"target"`
}

var openSLOKinds = map[string]func() any{
	"Service":                 func() any { return &Service{} },
	"SLI":                     func() any { return &SLISpec{} },
	"SLO":                     func() any { return &SLOSpec{} },
	"DataSource":              func() any { return &DataSource{} },
	"AlertPolicy":             func() any { return &AlertPolicy{} },
	"AlertCondition":          func() any { return &AlertCondition{} },
	"AlertNotificationTarget": func() any { return &NotificationTarget{} },
}

func init() { config.Register("openslo/", func() config.Format { return &reader{} }) }

// reader holds the OpenSLO documents of one load of the config.
type reader struct{ docs []Document }

var _ config.Format = (*reader)(nil)

func (r *reader) Read(d *config.Decoder, n *yaml.Node) { r.docs = append(r.docs, parse(d, n)) }

func (r *reader) Translate(c *config.Config, errs *config.Errors) {
	c.SLOs = append(c.SLOs, toNative(c, r.docs, errs)...)
}

// Documents returns the OpenSLO documents c was read from, in the order they were written.
func Documents(c *config.Config) []Document {
	if r, ok := c.Format("openslo/").(*reader); ok {
		return r.docs
	}
	return nil
}

// parse decodes one document strictly: the kind decides the shape of spec, and unknown fields
// are errors at their position.
func parse(d *config.Decoder, n *yaml.Node) Document {
	errs := d.Errors()
	doc := Document{Node: config.Node{Pos: d.Pos(n)}}
	if n.Kind != yaml.MappingNode {
		errs.Add(doc.Pos, "OpenSLO document: expected a mapping")
		return doc
	}
	var spec *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		doc.SetAt(k.Value, d.Pos(v))
		switch k.Value {
		case "apiVersion":
			doc.APIVersion = v.Value
		case "kind":
			doc.Kind = v.Value
		case "metadata":
			d.Decode(v, "metadata", &doc.Metadata)
		case "spec":
			spec = v
		default:
			errs.Add(d.Pos(k), "unknown field %q (known fields: apiVersion, kind, metadata, spec)", k.Value)
		}
	}
	if doc.APIVersion != "openslo/v1" {
		errs.Add(doc.At("apiVersion"), "apiVersion %q: nines reads openslo/v1 (convert v1alpha documents with oslo convert)", doc.APIVersion)
		return doc
	}
	mk, ok := openSLOKinds[doc.Kind]
	if !ok {
		errs.Add(doc.At("kind"), "OpenSLO kind %q: want one of Service, SLI, SLO, DataSource, AlertPolicy, AlertCondition, AlertNotificationTarget", doc.Kind)
		return doc
	}
	checkOpenSLOName(errs, doc.Kind, doc.Metadata, doc.Pos)
	if doc.Metadata.Pos.Line == 0 {
		doc.Metadata.Pos = doc.Pos // no metadata: checks of it point at the document
	}
	if spec == nil || config.IsNull(spec) {
		errs.Add(doc.Pos, "%s %s: spec is required", doc.Kind, doc.Metadata.Name)
		return doc
	}
	doc.Spec = mk()
	d.Decode(spec, "spec", doc.Spec)
	checkOpenSLOSpec(errs, &doc)
	return doc
}

// checkOpenSLOSpec checks what OpenSLO v1 requires of a kind's spec on its own (references
// between documents are checked once all are read).
func checkOpenSLOSpec(errs *config.Errors, doc *Document) {
	name := doc.Kind + " " + doc.Metadata.Name
	description := func(n config.Node, d string) {
		if len(d) > 1050 {
			errs.Add(n.At("description"), "%s: description is %d characters; OpenSLO allows at most 1050", name, len(d))
		}
	}
	switch sp := doc.Spec.(type) {
	case *Service:
		description(sp.Node, sp.Description)
	case *SLISpec:
		description(sp.Node, sp.Description)
	case *SLOSpec:
		description(sp.Node, sp.Description)
	case *AlertCondition:
		description(sp.Node, sp.Description)
	case *AlertPolicy:
		description(sp.Node, sp.Description)
	case *DataSource:
		description(sp.Node, sp.Description)
		if sp.Type == "" {
			errs.Add(sp.Pos, "%s: spec.type is required (Prometheus, Datadog, ...)", name)
		}
		if len(sp.ConnectionDetails) == 0 {
			errs.Add(sp.At("connectionDetails"), "%s: spec.connectionDetails is required", name)
		}
	case *NotificationTarget:
		description(sp.Node, sp.Description)
		if sp.Target == "" {
			errs.Add(sp.Pos, "%s: spec.target is required (email, slack, a webhook...)", name)
		}
	}
}

// RFC 1123 label, as OpenSLO v1 requires of metadata.name.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// Keys of labels and annotations, as OpenSLO v1 allows them.
var (
	labelKey      = regexp.MustCompile(`^[a-zA-Z0-9]([-._a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$`)
	annotationKey = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*/)?[a-zA-Z0-9]([-._a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$`)
)

// checkOpenSLOName checks the metadata (name, displayName, label and annotation keys); doc is
// where the document starts, for when the metadata is missing altogether.
func checkOpenSLOName(errs *config.Errors, kind string, m Metadata, doc config.Pos) {
	switch {
	case m.Name == "" && m.Pos.Line == 0:
		errs.Add(doc, "%s: metadata.name is required (the document has no metadata)", kind)
	case m.Name == "":
		errs.Add(m.Pos, "%s: metadata.name is required", kind)
	case !dnsLabel.MatchString(m.Name):
		errs.Add(m.At("name"), "%s metadata.name %q: OpenSLO names are RFC 1123 labels (lowercase letters, digits and '-', at most 63)", kind, m.Name)
	}
	if n := len([]rune(m.DisplayName)); n > 63 {
		errs.Add(m.At("displayName"), "%s %s: metadata.displayName is %d characters; OpenSLO allows at most 63", kind, m.Name, n)
	}
	for _, k := range sortedMapKeys(m.Labels) {
		if !labelKey.MatchString(k) {
			errs.Add(m.At("labels"), "%s %s: label key %q: letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 63", kind, m.Name, k)
		}
	}
	for _, k := range sortedMapKeys(m.Annotations) {
		if len(k) > 317 || !annotationKey.MatchString(k) {
			errs.Add(m.At("annotations"), "%s %s: annotation key %q: an optional DNS prefix and '/', then a name of letters, digits, '-', '_' and '.'", kind, m.Name, k)
		}
	}
}

func sortedMapKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// openSLOToNative checks references between OpenSLO documents and turns each objective of
// each SLO into a native SLO.
func toNative(c *config.Config, docs []Document, errs *config.Errors) []config.SLO {
	byKind := map[string]map[string]*Document{}
	for i := range docs {
		doc := &docs[i]
		if doc.Spec == nil || doc.Metadata.Name == "" {
			continue // refused where it is written
		}
		m := byKind[doc.Kind]
		if m == nil {
			m = map[string]*Document{}
			byKind[doc.Kind] = m
		}
		if first, dup := m[doc.Metadata.Name]; dup {
			errs.Add(doc.Metadata.At("name"), "%s %q is declared twice (first at %s)", doc.Kind, doc.Metadata.Name, first.Pos)
			continue
		}
		m[doc.Metadata.Name] = doc
	}
	for _, doc := range byKind["Service"] {
		if c.Service(doc.Metadata.Name) == nil {
			errs.Add(doc.Metadata.At("name"), "OpenSLO Service %q is not a nines service; declare it under services: so its SLOs can page", doc.Metadata.Name)
		}
	}
	for _, doc := range byKind["SLI"] {
		checkOpenSLOSLI(errs, doc.Spec.(*SLISpec), byKind)
	}
	resolved := map[*AlertPolicy][]*AlertCondition{}
	conditions := func(p *AlertPolicy) []*AlertCondition {
		if out, ok := resolved[p]; ok {
			return out
		}
		out := []*AlertCondition{}
		defer func() { resolved[p] = out }()
		for i := range p.Conditions {
			cn := p.Conditions[i].Node
			ref, inline, problem := refOrInline(cn, "conditionRef", "AlertCondition")
			switch {
			case problem != "":
				errs.Add(posOf(p.Node, cn), "AlertPolicy: conditions: %s", problem)
			case inline:
				doc := parseInline(p.Node.Pos.File, cn, "AlertCondition", errs)
				if ac, ok := doc.Spec.(*AlertCondition); ok {
					out = append(out, ac)
				}
			default:
				ac, ok := byKind["AlertCondition"][ref]
				if !ok {
					errs.Add(posOf(p.Node, cn), "AlertPolicy: conditionRef %q names no AlertCondition", ref)
					continue
				}
				out = append(out, ac.Spec.(*AlertCondition))
			}
		}
		return out
	}
	// checkPolicy checks a policy, declared or inline, once.
	checked := map[*AlertPolicy]bool{}
	checkPolicy := func(name string, p *AlertPolicy) {
		if checked[p] {
			return
		}
		checked[p] = true
		switch n := len(p.Conditions); {
		case n == 0:
			errs.Add(p.At("conditions"), "AlertPolicy %s: conditions: exactly one is required", name)
		case n > 1:
			errs.Add(p.At("conditions"), "AlertPolicy %s: conditions holds %d; OpenSLO v1 allows exactly one (write a policy per condition)", name, n)
		}
		conditions(p)
		if len(p.NotificationTargets) == 0 {
			errs.Add(p.At("notificationTargets"), "AlertPolicy %s: notificationTargets: at least one is required", name)
		}
		for i := range p.NotificationTargets {
			nt := p.NotificationTargets[i].Node
			ref, inline, problem := refOrInline(nt, "targetRef", "AlertNotificationTarget")
			switch {
			case problem != "":
				errs.Add(posOf(p.Node, nt), "AlertPolicy %s: notificationTargets: %s", name, problem)
			case inline:
				parseInline(p.Node.Pos.File, nt, "AlertNotificationTarget", errs)
			default:
				if _, ok := byKind["AlertNotificationTarget"][ref]; !ok {
					errs.Add(posOf(p.Node, nt), "AlertPolicy %s: targetRef %q names no AlertNotificationTarget", name, ref)
				}
			}
		}
	}
	for _, doc := range byKind["AlertCondition"] {
		checkAlertCondition(errs, doc.Metadata.Name, doc.Spec.(*AlertCondition))
	}
	for _, doc := range byKind["AlertPolicy"] {
		checkPolicy(doc.Metadata.Name, doc.Spec.(*AlertPolicy))
	}

	var out []config.SLO
	for _, doc := range byKind["SLO"] {
		spec := doc.Spec.(*SLOSpec)
		c.Checking(doc.Pos)
		var policies []*AlertPolicy
		for i := range spec.AlertPolicies {
			pn := spec.AlertPolicies[i].Node
			ref, inline, problem := refOrInline(pn, "alertPolicyRef", "AlertPolicy")
			switch {
			case problem != "":
				errs.Add(posOf(spec.Node, pn), "SLO %s: alertPolicies: %s", doc.Metadata.Name, problem)
			case inline:
				inl := parseInline(spec.Pos.File, pn, "AlertPolicy", errs)
				if p, ok := inl.Spec.(*AlertPolicy); ok {
					checkPolicy(inl.Metadata.Name, p)
					policies = append(policies, p)
				}
			default:
				ap, ok := byKind["AlertPolicy"][ref]
				if !ok {
					errs.Add(posOf(spec.Node, pn), "SLO %s: alert policy %q is not declared", doc.Metadata.Name, ref)
					continue
				}
				policies = append(policies, ap.Spec.(*AlertPolicy))
			}
		}
		var rules []config.BurnRateRule
		var ticket []config.BurnRateRule
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
		out = append(out, objectives(doc, spec, byKind, rules, ticket, errs)...)
	}
	return out
}

func posOf(parent config.Node, n *yaml.Node) config.Pos {
	return config.Pos{File: parent.Pos.File, Line: n.Line, Col: n.Column}
}

// refOrInline reads an item that is either a reference, {refKey: NAME}, or an inline document of
// kind; problem says what is wrong with anything else.
func refOrInline(n *yaml.Node, refKey, kind string) (ref string, inline bool, problem string) {
	want := fmt.Sprintf("{%s: NAME} or an inline %s", refKey, kind)
	switch {
	case n == nil || config.IsNull(n):
		return "", false, "an empty item; write " + want
	case n.Kind != yaml.MappingNode:
		return "", false, fmt.Sprintf("an item is %s, not %s", want, config.Describe(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != refKey {
			continue
		}
		if len(n.Content) > 2 {
			return "", false, fmt.Sprintf("write %s, not both", want)
		}
		v := n.Content[i+1]
		if v.Kind != yaml.ScalarNode || v.Value == "" {
			return "", false, refKey + " needs the name of a " + kind
		}
		if !dnsLabel.MatchString(v.Value) {
			return "", false, fmt.Sprintf("%s %q: OpenSLO names are RFC 1123 labels (lowercase letters, digits and '-', at most 63)", refKey, v.Value)
		}
		return v.Value, false, ""
	}
	if mapValue(n, "kind") != kind {
		return "", false, "expected " + want
	}
	return "", true, ""
}

func parseInline(file string, n *yaml.Node, kind string, errs *config.Errors) Document {
	if mapValue(n, "kind") != kind {
		errs.Add(config.Pos{File: file, Line: n.Line, Col: n.Column}, "expected a reference or an inline %s", kind)
		return Document{}
	}
	// Inline documents carry no apiVersion; lend them the one of their parent.
	withAPI := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column,
		Content: append([]*yaml.Node{{Kind: yaml.ScalarNode, Value: "apiVersion"}, {Kind: yaml.ScalarNode, Value: "openslo/v1"}}, n.Content...)}
	doc := parse(config.NewDecoder(file, errs), withAPI)
	if ac, ok := doc.Spec.(*AlertCondition); ok {
		checkAlertCondition(errs, doc.Metadata.Name, ac)
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

// checkAlertCondition checks the AlertCondition named name, naming it in every error.
func checkAlertCondition(errs *config.Errors, name string, ac *AlertCondition) {
	cd := &ac.Condition
	this := "AlertCondition " + name
	if name == "" {
		this = "an inline AlertCondition"
	}
	if ac.Severity == "" {
		errs.Add(ac.Pos, "%s: severity is required", this)
	}
	if cd.Kind != "burnrate" {
		errs.Add(cd.At("kind"), "%s: condition kind %q: want burnrate", this, cd.Kind)
	}
	if cd.Threshold == nil || !(*cd.Threshold > 0) {
		errs.Add(cd.At("threshold"), "%s: condition threshold must be a number above 0", this)
	}
	if _, err := openSLODuration(cd.LookbackWindow); err != nil {
		errs.Add(cd.At("lookbackWindow"), "%s: lookbackWindow: %v", this, err)
	}
	if cd.AlertAfter != "" {
		if _, err := openSLODuration(cd.AlertAfter); err != nil {
			errs.Add(cd.At("alertAfter"), "%s: alertAfter: %v", this, err)
		}
	}
	switch cd.Op {
	case "lt", "lte", "gt", "gte":
		// nines pages when the burn rate reaches the threshold whatever the operator: a
		// burn-rate alert that fired while the budget burns slowly would page all the time.
	case "":
		errs.Add(cd.Pos, "%s: condition op is required: lt, lte, gt or gte", this)
	default:
		errs.Add(cd.At("op"), "%s: condition op %q: want lt, lte, gt or gte", this, cd.Op)
	}
}

// burnRule maps an OpenSLO burn-rate condition onto a window pair: the lookback window is the
// long window and, as the SRE workbook does, a twelfth of it is the short one.
func burnRule(ac *AlertCondition) (config.BurnRateRule, bool) {
	cd := ac.Condition
	if cd.Threshold == nil {
		return config.BurnRateRule{}, false
	}
	long, err := openSLODuration(cd.LookbackWindow)
	if err != nil || long <= 0 || long > 3*24*time.Hour {
		return config.BurnRateRule{}, false
	}
	short := (long / 12).Truncate(time.Minute)
	if short < time.Minute {
		short = time.Minute
	}
	if short >= long {
		return config.BurnRateRule{}, false
	}
	return config.BurnRateRule{Node: ac.Node, Long: config.Duration(long.Truncate(time.Minute)), Short: config.Duration(short), BurnRate: *cd.Threshold}, true
}

func isPageSeverity(s string) bool {
	switch strings.ToLower(s) {
	case "page", "critical", "high", "p1", "sev1", "sev-1":
		return true
	}
	return false
}

func checkOpenSLOSLI(errs *config.Errors, sli *SLISpec, byKind map[string]map[string]*Document) {
	switch {
	case sli.RatioMetric == nil && sli.ThresholdMetric == nil:
		errs.Add(sli.Pos, "SLI: one of ratioMetric or thresholdMetric is required")
	case sli.RatioMetric != nil && sli.ThresholdMetric != nil:
		errs.Add(sli.Pos, "SLI: ratioMetric and thresholdMetric exclude each other")
	}
	if r := sli.RatioMetric; r != nil {
		switch {
		case r.Raw != nil:
			if r.Good != nil || r.Bad != nil || r.Total != nil {
				errs.Add(r.Pos, "SLI: ratioMetric raw excludes good, bad and total")
			}
			if r.RawType != "success" && r.RawType != "failure" {
				errs.Add(r.At("rawType"), "SLI: ratioMetric rawType %q: want success or failure", r.RawType)
			}
		case r.Good != nil && r.Bad != nil:
			errs.Add(r.Pos, "SLI: ratioMetric has good and bad; write one of them")
		case r.Good == nil && r.Bad == nil:
			errs.Add(r.Pos, "SLI: ratioMetric needs good or bad")
		case r.Total == nil:
			errs.Add(r.Pos, "SLI: ratioMetric needs total")
		}
		for _, m := range []*Metric{r.Good, r.Bad, r.Total, r.Raw} {
			if m != nil {
				checkMetricSource(errs, m, byKind)
			}
		}
	}
	if sli.ThresholdMetric != nil {
		checkMetricSource(errs, sli.ThresholdMetric, byKind)
	}
}

func checkMetricSource(errs *config.Errors, m *Metric, byKind map[string]map[string]*Document) {
	ms := &m.MetricSource
	if ms.Type == "" && ms.MetricSourceRef == "" {
		errs.Add(m.Pos, "SLI: metricSource needs a type or a metricSourceRef")
	}
	if len(ms.Spec) == 0 {
		errs.Add(ms.At("spec"), "SLI: metricSource.spec is required: the query and whatever else the source needs")
	}
	if ms.MetricSourceRef != "" {
		if _, ok := byKind["DataSource"][ms.MetricSourceRef]; !ok {
			errs.Add(ms.At("metricSourceRef"), "SLI: metricSourceRef %q names no DataSource", ms.MetricSourceRef)
		}
	}
}

func objectives(doc *Document, spec *SLOSpec, byKind map[string]map[string]*Document,
	page, ticket []config.BurnRateRule, errs *config.Errors) []config.SLO {
	name := doc.Metadata.Name
	base := config.SLO{Node: config.Node{Pos: doc.Pos}, Service: spec.Service, Description: spec.Description, Origin: "openslo",
		Name: firstNonEmpty(doc.Metadata.DisplayName, name)}
	// The native checks of the SLO made point at what the document wrote for each field.
	keys := map[string]config.Pos{"service": spec.At("service"), "objective": spec.At("objectives"),
		"budgeting_method": spec.At("budgetingMethod"), "window": spec.At("timeWindow"), "calendar": spec.At("timeWindow"),
		"time_zone": spec.At("timeWindow"), "sli": spec.At("indicator"), "timeslice": spec.At("objectives")}
	// An objective becomes a native SLO only when the document is right: a wrong one is
	// reported once, in OpenSLO's words, never again by the native checks.
	valid := true
	if spec.Service == "" {
		errs.Add(spec.Pos, "SLO %s: spec.service is required", name)
		valid = false
	}
	switch spec.BudgetingMethod {
	case "Occurrences":
		base.BudgetingMethod = config.Occurrences
	case "Timeslices":
		base.BudgetingMethod = config.Timeslices
	case "RatioTimeslices":
		base.BudgetingMethod = config.RatioTimeslices
	default:
		errs.Add(spec.At("budgetingMethod"), "SLO %s: budgetingMethod %q: want Occurrences, Timeslices or RatioTimeslices", name, spec.BudgetingMethod)
		valid = false
	}
	if len(spec.TimeWindow) != 1 {
		errs.Add(spec.At("timeWindow"), "SLO %s: timeWindow needs exactly one entry", name)
		valid = false
	} else if !openSLOWindow(&base, &spec.TimeWindow[0], name, errs) {
		valid = false
	}
	if len(page)+len(ticket) > 0 {
		base.Alerts = config.SLOAlerts{Page: page, Ticket: ticket}
	} else if len(spec.AlertPolicies) == 0 {
		// An OpenSLO SLO without alert policies asked for no alerts.
		base.Alerts = config.SLOAlerts{Disabled: true}
	}
	if len(spec.Objectives) == 0 {
		errs.Add(spec.Pos, "SLO %s: objectives: at least one is required", name)
	}
	// An indicator is written on the spec, or on every objective (a composite SLO), never both.
	composite := 0
	for i := range spec.Objectives {
		if spec.Objectives[i].Indicator != nil || spec.Objectives[i].IndicatorRef != "" {
			composite++
		}
	}
	switch onSpec := spec.Indicator != nil || spec.IndicatorRef != ""; {
	case composite > 0 && onSpec:
		errs.Add(spec.At("indicator"), "SLO %s: write indicator (or indicatorRef) on the spec or on each objective (a composite SLO), not both", name)
	case composite > 0 && composite < len(spec.Objectives):
		errs.Add(spec.At("objectives"), "SLO %s: a composite SLO needs an indicator (or indicatorRef) on each objective; %d of %d have one", name, composite, len(spec.Objectives))
	}
	var out []config.SLO
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
		// Every problem of the objective is reported, as oslo reports them; the objective is
		// dropped once they are.
		ok := valid
		bad := func(at config.Pos, format string, args ...any) {
			errs.Add(at, format, args...)
			ok = false
		}
		switch {
		case o.Target != nil && o.TargetPercent != nil:
			bad(o.Pos, "SLO %s: objective has target and targetPercent; write one", name)
		case o.Target != nil:
			s.Objective = *o.Target * 100
			if *o.Target <= 0 || *o.Target >= 1 {
				bad(o.At("target"), "SLO %s: objective target %v: want a fraction above 0 and below 1 (e.g. 0.999)", name, *o.Target)
			}
		case o.TargetPercent != nil:
			s.Objective = *o.TargetPercent
			if *o.TargetPercent <= 0 || *o.TargetPercent >= 100 {
				bad(o.At("targetPercent"), "SLO %s: objective targetPercent %v: want a percentage above 0 and below 100 (e.g. 99.9)", name, *o.TargetPercent)
			}
		default:
			bad(o.Pos, "SLO %s: objective needs target (0.999) or targetPercent (99.9)", name)
		}
		switch o.Op {
		case "", "lt", "lte", "gt", "gte":
		default:
			bad(o.At("op"), "SLO %s: op %q: want lt, lte, gt or gte", name, o.Op)
		}
		s.Node = config.Node{Pos: doc.Pos}
		for k, p := range keys {
			s.SetAt(k, p)
		}
		s.SetAt("objective", o.Pos)
		if s.BudgetingMethod == config.Timeslices || s.BudgetingMethod == config.RatioTimeslices {
			if o.TimeSliceWindow == "" {
				bad(o.Pos, "SLO %s: %s objectives need timeSliceWindow", name, spec.BudgetingMethod)
			} else if d, err := openSLODuration(o.TimeSliceWindow); err != nil {
				bad(o.At("timeSliceWindow"), "SLO %s: timeSliceWindow: %v", name, err)
			} else if d%time.Minute != 0 || d <= 0 || time.Hour%d != 0 {
				bad(o.At("timeSliceWindow"), "SLO %s: timeSliceWindow %s: nines measures slices of whole minutes that divide an hour (1m, 2m, 5m, 10m, 15m, 30m, 1h)", name, o.TimeSliceWindow)
			} else {
				s.Timeslice = config.Duration(d)
				s.SetAt("timeslice", o.At("timeSliceWindow"))
			}
		}
		if s.BudgetingMethod == config.Timeslices {
			if o.TimeSliceTarget == nil {
				bad(o.Pos, "SLO %s: Timeslices objectives need timeSliceTarget", name)
			} else if *o.TimeSliceTarget <= 0 || *o.TimeSliceTarget > 1 {
				bad(o.At("timeSliceTarget"), "SLO %s: timeSliceTarget %v: want a fraction above 0, at most 1 (e.g. 0.95)", name, *o.TimeSliceTarget)
			} else {
				s.TimesliceTarget = *o.TimeSliceTarget * 100
				s.SetAt("timeslice_target", o.At("timeSliceTarget"))
			}
		} else if o.TimeSliceTarget != nil {
			bad(o.At("timeSliceTarget"), "SLO %s: timeSliceTarget applies to Timeslices only", name)
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
		var sli *SLISpec
		switch {
		case ind != nil && ref != "":
			errs.Add(indPos, "SLO %s: indicator and indicatorRef exclude each other", name)
			continue
		case ind != nil:
			checkOpenSLOName(errs, "SLI", ind.Metadata, indPos)
			checkOpenSLOSLI(errs, &ind.Spec, byKind)
			sli = &ind.Spec
		case ref != "":
			d, ok := byKind["SLI"][ref]
			if !ok {
				errs.Add(indPos, "SLO %s: indicatorRef %q names no SLI", name, ref)
				continue
			}
			sli = d.Spec.(*SLISpec)
		default:
			errs.Add(spec.Pos, "SLO %s: indicator or indicatorRef is required", name)
			continue
		}
		// OpenSLO allows op (and value) on any objective (checked above); a ratio has no use
		// for them, a thresholdMetric needs both.
		if sli.ThresholdMetric != nil && (o.Op == "" || o.Value == nil) {
			bad(o.Pos, "SLO %s: an objective on a thresholdMetric needs op and value", name)
		}
		if !ok {
			continue
		}
		s.SLI = openSLOSource(sli, o, byKind, indPos)
		out = append(out, s)
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
func openSLOSource(sli *SLISpec, o *Objective, byKind map[string]map[string]*Document, at config.Pos) config.SLI {
	out := config.SLI{Node: config.Node{Pos: at}}
	query := func(m *Metric) (q, url string, prom bool) {
		if m == nil {
			return "", "", false
		}
		ms := m.MetricSource
		typ := ms.Type
		var conn map[string]any
		if ms.MetricSourceRef != "" {
			if ds, ok := byKind["DataSource"][ms.MetricSourceRef]; ok {
				d := ds.Spec.(*DataSource)
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
			out.Prometheus = &config.PrometheusSLI{Node: out.Node, URL: url, Good: good, Bad: bad, Total: total}
			return out
		}
	}
	if sli.ThresholdMetric != nil {
		if q, url, ok := query(sli.ThresholdMetric); ok {
			out.Prometheus = &config.PrometheusSLI{Node: out.Node, URL: url, Good: q, Op: o.Op, Threshold: *o.Value}
			return out
		}
	}
	out.Events = &config.PushedSLI{Node: out.Node, Source: "push"}
	return out
}

// openSLOWindow sets s's window from w, reporting false when w is wrong.
func openSLOWindow(s *config.SLO, w *TimeWindow, name string, errs *config.Errors) bool {
	unit := ""
	if w.Duration != "" {
		unit = w.Duration[len(w.Duration)-1:]
	}
	if w.IsRolling {
		if w.Calendar != nil {
			errs.Add(w.At("calendar"), "SLO %s: a rolling timeWindow has no calendar", name)
		}
		// A rolling month, quarter or year is 30, 90 or 365 days, as Sloth and Pyrra count them.
		if d, ok := map[string]time.Duration{"1M": 30 * 24 * time.Hour, "1Q": 90 * 24 * time.Hour, "1Y": 365 * 24 * time.Hour}[w.Duration]; ok {
			s.Window = config.Duration(d)
			return true
		}
		d, err := openSLODuration(w.Duration)
		if err != nil {
			errs.Add(w.At("duration"), "SLO %s: timeWindow duration: %v", name, err)
			return false
		}
		s.Window = config.Duration(d)
		return true
	}
	if w.Calendar == nil {
		errs.Add(w.Pos, "SLO %s: a timeWindow that is not rolling needs calendar: {startTime, timeZone}", name)
		return false
	}
	loc, err := time.LoadLocation(w.Calendar.TimeZone)
	if err != nil || w.Calendar.TimeZone == "" {
		errs.Add(w.Calendar.At("timeZone"), "SLO %s: calendar timeZone %q: not an IANA time zone such as America/New_York", name, w.Calendar.TimeZone)
		return false
	}
	s.TimeZone = w.Calendar.TimeZone
	start, err := time.ParseInLocation("2006-01-02 15:04:05", w.Calendar.StartTime, loc)
	if err != nil {
		errs.Add(w.Calendar.At("startTime"), "SLO %s: calendar startTime %q: want 2006-01-02 15:04:05", name, w.Calendar.StartTime)
		return false
	}
	switch w.Duration {
	case "1M":
		s.Calendar = config.CalendarMonth
	case "1Q":
		s.Calendar = config.CalendarQuarter
	case "1Y":
		s.Calendar = config.CalendarYear
	default:
		d, err := openSLODuration(w.Duration)
		if err != nil || (unit != "d" && unit != "w") {
			errs.Add(w.At("duration"), "SLO %s: calendar duration %q: want 1M, 1Q, 1Y or whole days or weeks (7d, 1w); note that 1m is one minute", name, w.Duration)
			return false
		}
		s.Calendar = config.CalendarFixed
		s.Window = config.Duration(d)
		s.CalendarAnchor = start
	}
	return true
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
