package config

import (
	"fmt"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/internal/labels"
)

// InhibitRule keeps an alert (a target) from paging anyone while another alert (a source) is
// open, as Alertmanager's inhibit_rules do: the target matches TargetMatchers, the source
// matches SourceMatchers, and both have the same value (or both none) for every label named in
// Equal. Labels are an alert's Alertmanager labels, or the custom_details, component, group,
// class, severity and source of an Events v2 event; nines adds nines_service, the service id.
type InhibitRule struct {
	Node
	// Name is shown on the timeline of the alerts the rule inhibits; optional.
	Name           string        `yaml:"name"`
	SourceMatchers []MatcherList `yaml:"source_matchers"`
	TargetMatchers []MatcherList `yaml:"target_matchers"`
	Equal          []string      `yaml:"equal"`
	// The forms Alertmanager deprecated, read so an old alertmanager.yml rule still works:
	// label -> value (equality) and label -> regular expression.
	SourceMatch   map[string]string `yaml:"source_match"`
	SourceMatchRE map[string]string `yaml:"source_match_re"`
	TargetMatch   map[string]string `yaml:"target_match"`
	TargetMatchRE map[string]string `yaml:"target_match_re"`

	sources, targets labels.Matchers
}

// Sources are every matcher a source alert must satisfy.
func (r *InhibitRule) Sources() labels.Matchers { return r.sources }

// Targets are every matcher an inhibited alert must satisfy.
func (r *InhibitRule) Targets() labels.Matchers { return r.targets }

// Label is how the timeline names the rule: its name, else where it is written.
func (r *InhibitRule) Label() string {
	if r.Name != "" {
		return r.Name
	}
	return "the inhibit rule at " + r.Pos.String()
}

// MatcherList is one item of a list of matchers: one matcher (`severity="critical"`) or
// several separated by commas, in braces or not, in Alertmanager's syntax.
type MatcherList struct {
	Text     string
	Matchers labels.Matchers
}

// UnmarshalYAML reads and checks the matchers, so a bad one is reported at its line and column.
func (m *MatcherList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a matcher such as 'severity=\"critical\"', found %s", describe(n))
	}
	ms, err := labels.Parse(n.Value)
	if err != nil {
		return err
	}
	m.Text, m.Matchers = n.Value, ms
	return nil
}

func (c *Config) validateInhibitRules(errs *Errors) {
	for i := range c.InhibitRules {
		r := &c.InhibitRules[i]
		before := len(*errs)
		r.sources = matchersOf(errs, r, "source", r.SourceMatchers, r.SourceMatch, r.SourceMatchRE)
		if len(r.sources) == 0 && len(*errs) == before {
			errs.add(r.At("source_matchers"), "inhibit rule: source_matchers is required: which alerts inhibit others (e.g. ['severity=\"critical\"'])")
		}
		before = len(*errs)
		r.targets = matchersOf(errs, r, "target", r.TargetMatchers, r.TargetMatch, r.TargetMatchRE)
		if len(r.targets) == 0 && len(*errs) == before {
			errs.add(r.At("target_matchers"), "inhibit rule: target_matchers is required: without them the rule would keep every alert from paging")
		}
		for j, name := range r.Equal {
			if name == "" {
				errs.add(r.At("equal"), "inhibit rule: equal[%d] is empty; name a label", j)
			}
		}
	}
}

// matchersOf gathers one side of a rule from its matchers and the deprecated maps.
func matchersOf(errs *Errors, r *InhibitRule, side string, lists []MatcherList, eq, re map[string]string) labels.Matchers {
	var out labels.Matchers
	for _, l := range lists {
		out = append(out, l.Matchers...)
	}
	add := func(m map[string]string, op labels.Op, key string) {
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, name := range names {
			ms, err := labels.Parse((&labels.Matcher{Name: name, Op: op, Value: m[name]}).String())
			if err != nil {
				errs.add(r.At(key), "inhibit rule: %s %s: %v", key, name, err)
				continue
			}
			out = append(out, ms...)
		}
	}
	add(eq, labels.Equal, side+"_match")
	add(re, labels.Regexp, side+"_match_re")
	return out
}
