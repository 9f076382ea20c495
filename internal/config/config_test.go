package config_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the golden .err files of testdata/bad")

func TestGoodConfigsAreAccepted(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/good/*.yaml")
	files = append(files, "../../examples/nines.yaml")
	if len(files) < 5 {
		t.Fatalf("only %d good configs found", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := config.Load(f); err != nil {
				t.Errorf("%s is refused:\n%v", f, err)
			}
		})
	}
}

func TestTheReferenceConfigReadsAsWritten(t *testing.T) {
	t.Parallel()
	c, err := config.Load("testdata/good/reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Services) != 1 {
		t.Fatalf("%d services", len(c.Services))
	}
	s := c.Service("checkout")
	if s == nil || s.Name != "Checkout API" || s.Description != "optional" || len(s.Integrations) != 3 {
		t.Fatalf("service = %+v", s)
	}
	for key, typ := range map[string]string{
		"0123456789abcdef0123456789abcdef": config.IntegrationEventsV2,
		"am-checkout-key":                  config.IntegrationAlertmanager,
		"gen-checkout-key":                 config.IntegrationGeneric,
	} {
		svc, in := c.IntegrationByKey(key)
		if svc == nil || svc.ID != "checkout" || in.Type != typ {
			t.Errorf("IntegrationByKey(%q) = %v, %v", key, svc, in)
		}
	}
	if svc, in := c.IntegrationByKey("nope-nope-nope"); svc != nil || in != nil {
		t.Error("an unknown key found a service")
	}
	if c.Service("search") != nil {
		t.Error("Service found an id that is not configured")
	}
	// Positions point into the file, for later validation messages.
	if p := s.At("description"); p.String() != "testdata/good/reference.yaml:4:18" {
		t.Errorf("description is at %s", p)
	}
}

func TestTheFullConfigKeepsEveryField(t *testing.T) {
	t.Parallel()
	c, err := config.Load("testdata/good/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != "0.0.0.0:8080" || c.Server.BaseURL != "https://nines.example.com" {
		t.Errorf("server = %+v", c.Server)
	}
	s := c.Service("checkout")
	if s.Team != "payments" || s.EscalationPolicy != "payments-primary" || s.Urgency != "high" || s.IncidentGrouping != config.GroupByAlert ||
		s.Runbook != "https://runbooks.example.com/checkout" || s.Runbooks["checkout/db-connections"] != "https://runbooks.example.com/checkout/db" ||
		s.Integrations[0].Name != "Datadog" {
		t.Errorf("checkout = %+v", s)
	}
	// An alias and a merge key bring the anchored service's fields along.
	v3 := c.Service("search.v3")
	if v3 == nil || v3.Urgency != "low" || v3.IncidentGrouping != config.GroupByService || len(v3.Integrations) != 0 || v3.Name != "search.v3" {
		t.Errorf("search.v3 = %+v", v3)
	}
	// Keys written beside a merge key win, whichever comes first.
	v4 := c.Service("search.v4")
	if v4 == nil || v4.Urgency != "low" || c.Service("search.v2") == nil || len(c.Services) != 4 {
		t.Errorf("search.v4 = %+v among %d services", v4, len(c.Services))
	}
}

func TestBadConfigsReportEveryErrorWithItsPosition(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) < 8 {
		t.Fatalf("only %d bad configs found", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := config.Load(f)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if c != nil {
				t.Error("Load returned a config with its errors")
			}
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err is a %T, not config.Errors: %v", err, err)
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
			for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
				if !strings.HasPrefix(line, f+":") {
					t.Errorf("%q does not start with file:line:col", line)
				}
			}
		})
	}
}

func TestADirectoryOfFilesMerges(t *testing.T) {
	t.Parallel()
	c, err := config.Load("testdata/dir")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Files, " "); got != "testdata/dir/10-server.yaml testdata/dir/20-checkout.yaml testdata/dir/30-search.yml" {
		t.Errorf("files read = %s; want the .yaml and .yml files in name order, not hidden ones", got)
	}
	if c.Server.Listen != "127.0.0.1:9090" || c.Service("checkout") == nil || c.Service("search") == nil {
		t.Errorf("merged config = %+v", c)
	}
	if svc, _ := c.IntegrationByKey("am-checkout-key"); svc == nil || svc.ID != "checkout" {
		t.Error("an integration from the second file is not found by key")
	}
}

func TestASectionSetInTwoFilesIsAnError(t *testing.T) {
	t.Parallel()
	_, err := config.Load("testdata/dir-conflict")
	want := "testdata/dir-conflict/b.yaml:4:3: server is already set at testdata/dir-conflict/a.yaml:2:3; write it in one file only"
	if err == nil || err.Error() != want {
		t.Errorf("err =\n%v\nwant\n%s", err, want)
	}
}

func TestLoadNamesWhatIsMissing(t *testing.T) {
	t.Parallel()
	if _, err := config.Load("testdata/no-such.yaml"); err == nil || !strings.Contains(err.Error(), "no-such.yaml") {
		t.Errorf("a missing file: %v", err)
	}
	empty := t.TempDir()
	if _, err := config.Load(empty); err == nil || !strings.Contains(err.Error(), "no .yaml or .yml files") {
		t.Errorf("an empty directory: %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	good := map[string]time.Duration{
		"30s": 30 * time.Second, "10m": 10 * time.Minute, "1h30m": 90 * time.Minute, "500ms": 500 * time.Millisecond,
		"7d": 7 * day, "1w": 7 * day, "1w2d": 9 * day, "2w3d12h": 17*day + 12*time.Hour, "1.5h": 90 * time.Minute,
		"0.5d": 12 * time.Hour, "0s": 0, "1d1m": day + time.Minute,
	}
	for in, want := range good {
		got, err := config.ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":      "empty duration",
		"10":    "want a number and a unit",
		"s":     "want a number and a unit",
		"-5m":   "want a number and a unit",
		"5y":    `unknown unit "y"`,
		"1d x":  `unknown unit "d x"`,
		"1..2d": `duration "1..2d"`,
	}
	for in, want := range bad {
		if _, err := config.ParseDuration(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDuration(%q) err = %v, want one saying %q", in, err, want)
		}
	}
}

func TestDurationReadsFromYAML(t *testing.T) {
	t.Parallel()
	var d config.Duration
	if err := d.UnmarshalYAML(&yaml.Node{Kind: yaml.ScalarNode, Value: "1w2d"}); err != nil || d.D() != 9*24*time.Hour {
		t.Errorf("1w2d = %v, %v", d.D(), err)
	}
	if err := d.UnmarshalYAML(&yaml.Node{Kind: yaml.ScalarNode, Value: "soon"}); err == nil {
		t.Error("soon was read as a duration")
	}
}

func TestReloadWithABadFileKeepsTheConfigInForce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "nines.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("services:\n  - id: checkout\n")
	first, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	live := config.NewLive(first)
	var swaps []string
	live.Subscribe(func(old, new *config.Config) {
		swaps = append(swaps, old.Services[0].ID+"->"+new.Services[0].ID)
	})

	write("services:\n  - id: checkout\n    urgency: sometimes\n")
	err = live.Reload(path)
	if err == nil || !strings.Contains(err.Error(), "nines.yaml:3:14: service checkout: urgency \"sometimes\"") {
		t.Errorf("reloading a bad file: %v", err)
	}
	if live.Get() != first || len(swaps) != 0 {
		t.Errorf("a bad reload replaced the config in force (swaps %v)", swaps)
	}

	write("services:\n  - id: search\n")
	if err := live.Reload(path); err != nil {
		t.Fatal(err)
	}
	if live.Get() == first || live.Get().Service("search") == nil || live.Get().Service("checkout") != nil {
		t.Error("a good reload did not put the new config in force")
	}
	if !slices.Equal(swaps, []string{"checkout->search"}) {
		t.Errorf("subscribers saw %v", swaps)
	}
}

func TestParseReadsBytesAsIfFromAFile(t *testing.T) {
	t.Parallel()
	_, err := config.Parse("inline.yaml", []byte("services:\n  - id: x\n    color: red\n"))
	if err == nil || !strings.HasPrefix(err.Error(), `inline.yaml:3:5: unknown field "color"`) {
		t.Errorf("err = %v", err)
	}
	c, err := config.Parse("inline.yaml", []byte("services:\n  - id: x\n"))
	if err != nil || c.Service("x") == nil || !slices.Equal(c.Files, []string{"inline.yaml"}) {
		t.Errorf("Parse = %+v, %v", c, err)
	}
}

func TestASubscriberThatFailsPutsTheOldConfigBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "nines.yaml")
	os.WriteFile(path, []byte("services:\n  - id: checkout\n"), 0o600)
	first, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	live := config.NewLive(first)
	var seen []string
	live.Subscribe(func(_, c *config.Config) { seen = append(seen, c.Services[0].ID) })
	live.Subscribe(func(_, c *config.Config) {
		if c.Service("search") != nil {
			panic("cannot apply search")
		}
	})
	os.WriteFile(path, []byte("services:\n  - id: search\n"), 0o600)
	err = live.Reload(path)
	if err == nil || !strings.Contains(err.Error(), "cannot apply search") {
		t.Errorf("reload = %v, want the subscriber's failure", err)
	}
	if live.Get() != first || !slices.Equal(seen, []string{"search", "checkout"}) {
		t.Errorf("config in force %v, subscribers saw %v; want checkout back in force and told so", live.Get().Services, seen)
	}
}
