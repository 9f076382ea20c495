package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sloServices = "services:\n  - id: checkout\n  - id: web-shop\nmonitors:\n  - {id: checkout-health, service: checkout,\n     type: http, url: 'http://127.0.0.1:8081/healthCheck'}\n"

func TestNativeSLOFromTheIssueValidates(t *testing.T) {
	cfg, err := Parse("nines.yaml", []byte(sloServices+`
slos:
  - id: checkout-availability
    service: checkout
    objective: 99.9          # percent
    window: 30d              # rolling; or calendar: month | quarter, with time_zone
    sli:
      events: {source: push} # or: probe: checkout-health; or prometheus: {url, good, total}
  - id: checkout-latency
    service: checkout
    objective: 99
    calendar: month
    time_zone: Europe/Berlin
    budgeting_method: timeslices
    sli:
      probe: checkout-health
      latency: {percentile: 95, below: 100ms}
`))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.SLO("checkout-availability")
	if a == nil || a.Objective != 99.9 || a.Window.D() != 30*24*time.Hour || a.SLI.Events == nil || a.BudgetingMethod != Occurrences {
		t.Errorf("checkout-availability = %+v", a)
	}
	l := cfg.SLO("checkout-latency")
	if l.Location().String() != "Europe/Berlin" || l.Timeslice.D() != time.Minute || l.TimesliceTarget != 99 || l.SLI.Latency.Below.D() != 100*time.Millisecond {
		t.Errorf("checkout-latency = %+v", l)
	}
}

func TestInvalidSLOsAreReportedWhereTheyAre(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"an objective of 100 leaves no budget", "objective: 100\n    sli: {events: {source: push}}", "nines.yaml:10:16: slo s: objective 100: want a percentage above 0 and below 100"},
		{"an objective is required", "sli: {events: {source: push}}", "objective is required"},
		{"an unknown service", "objective: 99\n    sli: {events: {source: push}}\n    sla: 99", ""},
		{"two sources", "objective: 99\n    sli: {events: {source: push}, probe: checkout-health}", "sli has 2 sources"},
		{"a probe that is no monitor", "objective: 99\n    sli: {probe: nope}", `sli.probe "nope" names no monitor`},
		{"no source", "objective: 99\n    sli: {}", "sli needs one source"},
		{"a pushed source other than push", "objective: 99\n    sli: {events: {source: pull}}", `sli.events.source "pull": want push`},
		{"window and calendar together", "objective: 99\n    window: 7d\n    calendar: month\n    sli: {events: {source: push}}", "not both"},
		{"an unknown calendar", "objective: 99\n    calendar: fortnight\n    sli: {events: {source: push}}", `calendar "fortnight": want month or quarter`},
		{"a bad time zone", "objective: 99\n    calendar: month\n    time_zone: Mars/Olympus\n    sli: {events: {source: push}}", "not an IANA time zone"},
		{"a window too short", "objective: 99\n    window: 30m\n    sli: {events: {source: push}}", "at least 1h"},
		{"a timeslice that does not divide an hour", "objective: 99\n    budgeting_method: timeslices\n    timeslice: 7m\n    sli: {events: {source: push}}", "divide an hour"},
		{"an SLA tighter than its SLO", "objective: 99\n    sla: 99.5\n    sli: {events: {source: push}}", "an SLA is looser than its SLO"},
		{"prometheus without total", "objective: 99\n    sli: {prometheus: {url: 'http://p:9090', good: x}}", "total is required"},
		{"prometheus with good and bad", "objective: 99\n    sli: {prometheus: {url: 'http://p:9090', good: x, bad: y, total: z}}", "exactly one of good or bad"},
		{"latency without a probe", "objective: 99\n    sli: {events: {source: push}, latency: {percentile: 95, below: 1s}}", "needs sli.probe"},
		{"a burn-rate pair upside down", "objective: 99\n    sli: {events: {source: push}}\n    alerts: {page: [{long: 5m, short: 1h, burn_rate: 14.4}]}", "must be shorter than long window"},
		{"an unknown field", "objective: 99\n    target: 99\n    sli: {events: {source: push}}", `unknown field "target"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc := "checkout"
			if c.want == "" {
				svc, c.want = "nope", `unknown service "nope"`
			}
			_, err := Parse("nines.yaml", []byte(sloServices+"slos:\n  - id: s\n    service: "+svc+"\n    "+c.yaml+"\n"))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want config errors", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("errors:\n%v\nwant one containing %q", err, c.want)
			}
		})
	}
}

func TestOpenSLODocumentsLoadAsSLOs(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("testdata/openslo/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a-nines.yaml"), []byte(sloServices), 0o644)
	os.WriteFile(filepath.Join(dir, "b-openslo.yaml"), data, 0o644)
	cfg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.OpenSLO) != 8 {
		t.Errorf("%d OpenSLO documents, want 8", len(cfg.OpenSLO))
	}
	a := cfg.SLO("checkout-availability")
	if a == nil {
		t.Fatalf("checkout-availability not loaded; SLOs: %+v", cfg.SLOs)
	}
	p := a.SLI.Prometheus
	if p == nil || p.URL != "http://127.0.0.1:9090" || !strings.Contains(p.Good, `code!~"5.."`) || a.Objective != 99.9 || a.Window.D() != 28*24*time.Hour {
		t.Errorf("checkout-availability = %+v, prometheus %+v", a, p)
	}
	var rules []string
	for _, r := range a.Alerts.Page {
		rules = append(rules, "page "+r.Long.D().String()+"/"+r.Short.D().String())
	}
	for _, r := range a.Alerts.Ticket {
		rules = append(rules, "ticket "+r.Long.D().String()+"/"+r.Short.D().String())
	}
	if strings.Join(rules, ", ") != "page 1h0m0s/5m0s, ticket 24h0m0s/2h0m0s" {
		t.Errorf("alert rules = %v", rules)
	}
	// Two objectives make two SLOs; a Datadog source is fed by pushes.
	m1, m2 := cfg.SLO("checkout-minutes.1"), cfg.SLO("checkout-minutes.2")
	if m1 == nil || m2 == nil {
		t.Fatalf("objectives of checkout-minutes not loaded: %+v", cfg.SLOs)
	}
	if m1.Objective != 99.95 || m1.Timeslice.D() != 5*time.Minute || m1.TimesliceTarget != 99 || m1.Calendar != CalendarMonth ||
		m1.Location().String() != "Europe/Berlin" || m1.SLI.Events == nil || !m1.Alerts.Disabled {
		t.Errorf("checkout-minutes.1 = %+v", m1)
	}
	if m2.TimesliceTarget != 95 || m2.Objective != 99.9 {
		t.Errorf("checkout-minutes.2 = %+v", m2)
	}
}

func TestInvalidOpenSLODocumentsAreRefused(t *testing.T) {
	head := "apiVersion: openslo/v1\n"
	slo := func(spec string) string {
		return head + "kind: SLO\nmetadata: {name: s}\nspec:\n" + spec
	}
	ratio := "  indicator:\n    metadata: {name: i}\n    spec:\n      ratioMetric:\n        good: {metricSource: {type: Any, spec: {query: a}}}\n        total: {metricSource: {type: Any, spec: {query: b}}}\n"
	cases := []struct {
		name, doc, want string
	}{
		// As in some upstream examples: a name with capitals, which RFC 1123 forbids.
		{"a name with capitals", head + "kind: DataSource\nmetadata: {name: TestDataSource}\nspec: {type: CloudWatch}\n", "RFC 1123"},
		// As in upstream examples: "1m" meant as a month on a calendar window.
		{"a calendar of one minute", slo("  service: web-shop\n" + ratio + "  timeWindow: [{duration: 1m, isRolling: false, calendar: {startTime: '2022-01-01 12:00:00', timeZone: America/New_York}}]\n  budgetingMethod: Timeslices\n  objectives: [{target: 0.99, timeSliceTarget: 0.99, timeSliceWindow: 1m}]\n"), "note that 1m is one minute"},
		// As in upstream examples: op on an objective whose indicator is a ratio.
		{"op on a ratio metric", slo("  service: web-shop\n" + ratio + "  timeWindow: [{duration: 2w, isRolling: true}]\n  budgetingMethod: RatioTimeslices\n  objectives: [{op: gt, target: 0.99, timeSliceWindow: 1m}]\n"), "apply to a thresholdMetric only"},
		{"a v1alpha document", "apiVersion: openslo/v1alpha\nkind: SLO\nmetadata: {name: s}\nspec: {}\n", "nines reads openslo/v1"},
		{"an unknown kind", head + "kind: Dashboard\nmetadata: {name: d}\nspec: {}\n", `OpenSLO kind "Dashboard"`},
		{"an unknown spec field", head + "kind: Service\nmetadata: {name: web-shop}\nspec: {owner: me}\n", `unknown field "owner"`},
		{"an SLO for a service nines does not know", slo("  service: elsewhere\n" + ratio + "  timeWindow: [{duration: 2w, isRolling: true}]\n  budgetingMethod: Occurrences\n  objectives: [{target: 0.99}]\n"), `unknown service "elsewhere"`},
		{"an indicatorRef to nothing", slo("  service: web-shop\n  indicatorRef: ghost\n  timeWindow: [{duration: 2w, isRolling: true}]\n  budgetingMethod: Occurrences\n  objectives: [{target: 0.99}]\n"), `indicatorRef "ghost" names no SLI`},
		{"a target as a percentage", slo("  service: web-shop\n" + ratio + "  timeWindow: [{duration: 2w, isRolling: true}]\n  budgetingMethod: Occurrences\n  objectives: [{target: 99.9}]\n"), "want a fraction above 0 and below 1"},
		{"good and bad together", head + "kind: SLI\nmetadata: {name: x}\nspec:\n  ratioMetric:\n    good: {metricSource: {type: Any}}\n    bad: {metricSource: {type: Any}}\n    total: {metricSource: {type: Any}}\n", "has good and bad"},
		{"an alert policy naming a missing condition", head + "kind: AlertPolicy\nmetadata: {name: p}\nspec:\n  conditions: [{conditionRef: nope}]\n", `conditionRef "nope" names no AlertCondition`},
		{"a condition that is not a burn rate", head + "kind: AlertCondition\nmetadata: {name: c}\nspec: {severity: page, condition: {kind: errors, threshold: 2, lookbackWindow: 1h}}\n", `condition kind "errors": want burnrate`},
		{"no time zone on a calendar", slo("  service: web-shop\n" + ratio + "  timeWindow: [{duration: 1M, isRolling: false, calendar: {startTime: '2022-01-01 00:00:00'}}]\n  budgetingMethod: Occurrences\n  objectives: [{target: 0.99}]\n"), "not an IANA time zone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("o.yaml", []byte(sloServices+"---\n"+c.doc))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v\nwant one containing %q", err, c.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "o.yaml:") {
				t.Errorf("errors should carry file:line:col: %v", err)
			}
		})
	}
}

func FuzzParseOpenSLO(f *testing.F) {
	if data, err := os.ReadFile("testdata/openslo/valid.yaml"); err == nil {
		f.Add(string(data))
	}
	f.Add("apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: s}\nspec: {objectives: [{target: 2}]}\n")
	f.Add("apiVersion: openslo/v1\nkind: AlertPolicy\nmetadata: {name: p}\nspec: {conditions: [{kind: AlertCondition}], notificationTargets: [1]}\n")
	f.Add("slos: [{id: x, service: checkout, objective: 99, sli: {events: {source: push}}}]\n")
	f.Fuzz(func(t *testing.T, doc string) {
		cfg, err := Parse("f.yaml", []byte(sloServices+"---\n"+doc))
		if err == nil {
			for _, s := range cfg.SLOs {
				if s.Objective <= 0 || s.Objective >= 100 {
					t.Fatalf("accepted objective %v", s.Objective)
				}
			}
		}
	})
}

func TestAListOfOpenSLODocumentsLoads(t *testing.T) {
	cfg, err := Parse("list.yaml", []byte(sloServices+`---
- apiVersion: openslo/v1
  kind: Service
  metadata: {name: web-shop}
  spec: {description: The shop.}
- apiVersion: openslo/v1
  kind: SLO
  metadata:
    name: web-availability
    labels: {env: [prod], team: [team-a, team-b]}
  spec:
    service: web-shop
    indicator:
      metadata: {name: web-ok}
      spec:
        ratioMetric:
          counter: true
          good: {metricSource: {type: Prometheus, spec: {query: 'sum(http_requests{code=~"2xx"})'}}}
          total: {metricSource: {type: Prometheus, spec: {query: 'sum(http_requests)'}}}
    timeWindow: [{duration: 1w, isRolling: false, calendar: {startTime: '2022-01-01 12:00:00', timeZone: America/New_York}}]
    budgetingMethod: Timeslices
    objectives: [{displayName: Good, target: 0.995, timeSliceTarget: 0.95, timeSliceWindow: 1m}]
`))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.SLO("web-availability")
	// No URL for Prometheus anywhere: nines cannot query it, so the SLO takes pushed counts.
	if s == nil || s.Calendar != CalendarFixed || s.Window.D() != 7*24*time.Hour || s.SLI.Events == nil || s.TimesliceTarget != 95 {
		t.Fatalf("web-availability = %+v", s)
	}
	if want := time.Date(2022, 1, 1, 12, 0, 0, 0, s.Location()); !s.CalendarAnchor.Equal(want) {
		t.Errorf("anchor = %s, want %s", s.CalendarAnchor, want)
	}
}
