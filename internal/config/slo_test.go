package config

import (
	"errors"
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
		{"a rate where a counter is counted", "objective: 99\n    sli: {prometheus: {url: 'http://p:9090', bad: 'sum(rate(x{code=~\"5..\"}[5m]))', total: 'sum(x)'}}",
			`nines.yaml:11:51: slo s: sli.prometheus.bad "sum(rate(x{code=~\"5..\"}[5m]))": nines counts counters exactly from a selector`},
		{"an aggregation other than a sum", "objective: 99\n    sli: {prometheus: {url: 'http://p:9090', good: 'x', total: 'max(x)'}}", `sli.prometheus.total "max(x)": nines counts counters exactly`},
		{"a window in one query only", "objective: 99\n    sli: {prometheus: {url: 'http://p:9090', good: 'sum(increase(x[{{.window}}]))', total: 'x'}}", "write {{.window}} in both queries or in neither"},
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

func TestCounterSelectorsAreReadFromSumsOfSelectors(t *testing.T) {
	cases := []struct {
		name, query string
		want        []string
	}{
		{"a selector", `http_requests_total{code=~"5.."}`, []string{`http_requests_total{code=~"5.."}`}},
		{"matchers alone", `{__name__="x", job="a"}`, []string{`{__name__="x", job="a"}`}},
		{"a sum", `sum(x{a="1"})`, []string{`x{a="1"}`}},
		{"a sum by", `sum by (code, job) (x)`, []string{`x`}},
		{"a sum with the grouping after", `sum(x) without (instance)`, []string{`x`}},
		{"a sum of sums", ` sum(a) + b{c="}+("} + sum by(d)(e) `, []string{`a`, `b{c="}+("}`, `e`}},
		{"a rate", `sum(rate(x[5m]))`, nil},
		{"a range", `x[5m]`, nil},
		{"an offset", `x offset 5m`, nil},
		{"a product", `sum(x) * 60`, nil},
		{"another aggregation", `max(x)`, nil},
		{"an unclosed string", `x{a="1}`, nil},
		{"nothing", ``, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := CounterSelectors(c.query)
			if ok != (c.want != nil) || strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("CounterSelectors(%q) = %q, %v; want %q", c.query, got, ok, c.want)
			}
		})
	}
}

func FuzzCounterSelectors(f *testing.F) {
	for _, s := range []string{`sum(x{a="1"}) + y`, `sum by (a) (x)`, "x{a=`b`}", `sum(`, `{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		sels, ok := CounterSelectors(q)
		if ok && len(sels) == 0 {
			t.Fatalf("%q: accepted with no selector", q)
		}
		for _, s := range sels {
			if again, ok := CounterSelectors(s); !ok || len(again) != 1 || again[0] != s {
				t.Fatalf("%q: selector %q does not read back as itself", q, s)
			}
		}
	})
}

// Nothing in config's tests imports internal/slo/openslo, so OpenSLO documents have no reader
// here: a program that forgot the import must refuse them, never load a config without its SLOs.
func TestOpenSLODocumentsWithoutTheirReaderAreRefused(t *testing.T) {
	for _, doc := range []string{
		"apiVersion: openslo/v1\nkind: Service\nmetadata: {name: checkout}\nspec: {}\n",
		"- apiVersion: openslo/v1\n  kind: Service\n  metadata: {name: checkout}\n  spec: {}\n",
	} {
		_, err := Parse("o.yaml", []byte(sloServices+"---\n"+doc))
		want := "o.yaml:8:1: OpenSLO documents are read by github.com/nines-dev/nines/internal/slo/openslo, which this program does not import"
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("err = %v\nwant one starting %q", err, want)
		}
	}
}
