package openslo_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/slo/openslo"
)

var update = flag.Bool("update", false, "rewrite the golden .err files of testdata/bad")

const sloServices = "services:\n  - id: checkout\n  - id: web-shop\nmonitors:\n  - {id: checkout-health, service: checkout,\n     type: http, url: 'http://127.0.0.1:8081/healthCheck'}\n"

func TestOpenSLODocumentsLoadAsSLOs(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a-nines.yaml"), []byte(sloServices), 0o644)
	os.WriteFile(filepath.Join(dir, "b-openslo.yaml"), data, 0o644)
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(openslo.Documents(cfg)) != 9 {
		t.Errorf("%d OpenSLO documents, want 9", len(openslo.Documents(cfg)))
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
	if m1.Objective != 99.95 || m1.Timeslice.D() != 5*time.Minute || m1.TimesliceTarget != 99 || m1.Calendar != config.CalendarMonth ||
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
		{"an operator OpenSLO does not have", slo("  service: web-shop\n" + ratio + "  timeWindow: [{duration: 2w, isRolling: true}]\n  budgetingMethod: RatioTimeslices\n  objectives: [{op: ge, target: 0.99, timeSliceWindow: 1m}]\n"), `op "ge": want lt, lte, gt or gte`},
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
			_, err := config.Parse("o.yaml", []byte(sloServices+"---\n"+c.doc))
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
	if data, err := os.ReadFile("testdata/valid.yaml"); err == nil {
		f.Add(string(data))
	}
	f.Add("apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: s}\nspec: {objectives: [{target: 2}]}\n")
	f.Add("apiVersion: openslo/v1\nkind: AlertPolicy\nmetadata: {name: p}\nspec: {conditions: [{kind: AlertCondition}], notificationTargets: [1]}\n")
	f.Add("slos: [{id: x, service: checkout, objective: 99, sli: {events: {source: push}}}]\n")
	f.Fuzz(func(t *testing.T, doc string) {
		cfg, err := config.Parse("f.yaml", []byte(sloServices+"---\n"+doc))
		if err == nil {
			for _, s := range cfg.SLOs {
				if s.Objective <= 0 || s.Objective >= 100 {
					t.Fatalf("accepted objective %v", s.Objective)
				}
			}
			return
		}
		var errs config.Errors
		if !errors.As(err, &errs) {
			t.Fatalf("error %v is a %T, not config.Errors", err, err)
		}
		for _, e := range errs {
			if e.Pos.File != "f.yaml" || e.Pos.Line < 1 || e.Pos.Col < 1 || strings.Contains(e.Msg, "internal error") {
				t.Fatalf("error without its place, or a failure of nines: %q", e.Error())
			}
		}
	})
}

func TestAListOfOpenSLODocumentsLoads(t *testing.T) {
	cfg, err := config.Parse("list.yaml", []byte(sloServices+`---
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
	if s == nil || s.Calendar != config.CalendarFixed || s.Window.D() != 7*24*time.Hour || s.SLI.Events == nil || s.TimesliceTarget != 95 {
		t.Fatalf("web-availability = %+v", s)
	}
	if want := time.Date(2022, 1, 1, 12, 0, 0, 0, s.Location()); !s.CalendarAnchor.Equal(want) {
		t.Errorf("anchor = %s, want %s", s.CalendarAnchor, want)
	}
}

// TestOpenSLOCorpusAsTheReferenceValidatorReadsIt reads every document of testdata/corpus
// (the specification's examples, its README's snippets, oslo's test inputs, and one-rule cases)
// and expects the verdict each file states: what oslo validate says of it, and where nines
// differs, why. Every error expected must be reported in the one run, with file:line:col.
func TestOpenSLOCorpusAsTheReferenceValidatorReadsIt(t *testing.T) {
	files, _ := filepath.Glob("testdata/corpus/*.yaml")
	if len(files) < 15 {
		t.Fatalf("only %d corpus files", len(files))
	}
	const services = "services:\n  - id: web-shop\n  - id: web-availability\n  - id: web\n  - id: checkout\n---\n"
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var oslo, nines string
			var want []string
			for _, line := range strings.Split(string(data), "\n") {
				switch {
				case strings.HasPrefix(line, "# oslo: "):
					oslo = strings.Fields(strings.TrimPrefix(line, "# oslo: "))[0]
				case strings.HasPrefix(line, "# nines: "):
					nines = strings.TrimSuffix(strings.Fields(strings.TrimPrefix(line, "# nines: "))[0], ":")
				case strings.HasPrefix(line, "# want: "):
					want = append(want, strings.TrimPrefix(line, "# want: "))
				}
			}
			if oslo == "" || (nines != "accepts" && nines != "refuses") || (nines == "refuses") != (len(want) > 0) {
				t.Fatalf("the header must say oslo: valid|invalid, nines: accepts|refuses, and want: lines for a refusal")
			}
			if oslo == "invalid" && nines == "accepts" {
				t.Fatal("nines must refuse what oslo refuses")
			}
			// The services the documents name come first, in a file of their own.
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "0-services.yaml"), []byte(services), 0o600)
			path := filepath.Join(dir, filepath.Base(f))
			os.WriteFile(path, data, 0o600)
			cfg, err := config.Load(dir)
			if nines == "accepts" {
				if err != nil {
					t.Fatalf("refused:\n%v", err)
				}
				if len(openslo.Documents(cfg)) == 0 {
					t.Fatal("no OpenSLO document read")
				}
				return
			}
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("accepted, or not config errors: %v", err)
			}
			for _, w := range want {
				found := false
				for _, e := range errs {
					found = found || strings.Contains(e.Msg, w)
				}
				if !found {
					t.Errorf("no error says %q; errors:\n%v", w, err)
				}
			}
			for _, e := range errs {
				if e.Pos.File != path || e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Errorf("error without its place in the file: %s", e.Error())
				}
				// Nothing beyond what the file says is wrong: no error invented by a second
				// check of the same mistake.
				expected := false
				for _, w := range want {
					expected = expected || strings.Contains(e.Msg, w)
				}
				if !expected {
					t.Errorf("an error no want: line expects: %s", e.Error())
				}
			}
		})
	}
}

// TestBadDocumentsReportEveryErrorWithItsPosition loads each testdata/bad/*.yaml (files that
// once crashed the loader among them) and expects the errors of its .err golden file, each with
// file:line:col.
func TestBadDocumentsReportEveryErrorWithItsPosition(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) < 3 {
		t.Fatalf("only %d bad files found", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := config.Load(f)
			var errs config.Errors
			if !errors.As(err, &errs) || c != nil {
				t.Fatalf("Load = %v, %v; want config errors and no config", c, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".err"
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("errors:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}
