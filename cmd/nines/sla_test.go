package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/slo"
)

// TestTimesliceSLOsCountSlicesWithoutDataByOneRule checks the SLA report, the budget and the
// gate of timeslice SLOs against testdata/sla/timeslices.json, which timeslices.py works out
// from the same data outside nines.
func TestTimesliceSLOsCountSlicesWithoutDataByOneRule(t *testing.T) {
	raw, err := os.ReadFile("testdata/sla/timeslices.json")
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Achieved        float64
		Met             bool
		Downtime        string
		AllowedDowntime string `json:"allowed_downtime"`
		AllowedMonth    string `json:"allowed_downtime_month"`
		AllowedYear     string `json:"allowed_downtime_year"`
		SLI, Remaining  float64
	}
	var want map[string]map[string]entry
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	var yaml strings.Builder
	yaml.WriteString("services:\n  - id: checkout\nslos:\n")
	for _, rule := range []string{"good", "bad", "skip"} {
		fmt.Fprintf(&yaml, "  - id: minutes-%s\n    service: checkout\n    objective: 99.9\n    sla: 99.5\n    calendar: month\n"+
			"    budgeting_method: timeslices\n    timeslice_target: 99\n    sli: {events: {source: push}}\n", rule)
		if rule != "good" { // good is the default
			fmt.Fprintf(&yaml, "    timeslice_no_data: %s\n", rule)
		}
	}
	cfg, err := config.Parse("nines.yaml", []byte(yaml.String()))
	if err != nil {
		t.Fatal(err)
	}
	n := startNines(t, cfg, time.Date(2026, 11, 30, 11, 59, 30, 0, time.UTC))
	s := &sloServer{url: n.url, clock: n.clock, admin: n.token(t, "responder", auth.Responder), viewer: n.token(t, "viewer", auth.Viewer)}
	var events []string
	for i := 0; i < 10; i++ {
		events = append(events, fmt.Sprintf(`{"timestamp":"2026-11-03T10:%02d:00Z","good":1000,"total":1000}`, i),
			fmt.Sprintf(`{"timestamp":"2026-11-03T11:%02d:00Z","good":900,"total":1000}`, i))
	}
	for _, rule := range []string{"good", "bad", "skip"} {
		if code, body := s.call(t, "POST", "/api/v1/slis/minutes-"+rule+"/events", s.admin, `{"events":[`+strings.Join(events, ",")+`]}`); code != 202 {
			t.Fatalf("push: %d %s", code, body)
		}
	}

	// The budget and the gate, on 30 November at 11:59:30.
	var gate slo.Gate
	code, body := s.call(t, "GET", "/api/v1/services/checkout/gate", s.viewer, "")
	if err := json.Unmarshal([]byte(body), &gate); code != 200 || err != nil {
		t.Fatalf("gate: %d %s", code, body)
	}
	for _, g := range gate.SLOs {
		rule := strings.TrimPrefix(g.ID, "minutes-")
		w := want["budget"][rule]
		code, body := s.call(t, "GET", "/api/v1/slos/"+g.ID, s.viewer, "")
		var st slo.Status
		if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil {
			t.Fatalf("status: %d %s", code, body)
		}
		for what, got := range map[string]float64{"sli_value": st.SLIValue, "error_budget_remaining": st.ErrorBudgetRemaining,
			"gate sli_value": g.SLIValue, "gate error_budget_remaining": g.ErrorBudgetRemaining} {
			want := w.SLI
			if strings.HasSuffix(what, "remaining") {
				want = w.Remaining
			}
			if diff := got - want; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("%s %s = %.12g, want %.12g", g.ID, what, got, want)
			}
		}
		if g.Ship != (w.Remaining > 0) {
			t.Errorf("%s: gate ship = %v with %v of the budget left", g.ID, g.Ship, w.Remaining)
		}
	}

	// Every row of a report agrees with itself and with the gate: met exactly when the downtime
	// fits the allowed downtime, and never breached against the 99.5% SLA while the gate ships
	// on budget left at the stricter 99.9%.
	consistent := func(when string, rep slo.SLAReport) {
		t.Helper()
		for _, e := range rep.SLOs {
			if e.Met != (e.DowntimeSeconds <= e.AllowedDowntimeSeconds) {
				t.Errorf("%s: %s says met = %v with downtime %s against %s allowed", when, e.SLOID, e.Met, e.Downtime, e.AllowedDowntime)
			}
		}
	}
	running := sla(t, s, "--month", "2026-11")
	consistent("November so far", running)
	for _, e := range running.SLOs {
		for _, g := range gate.SLOs {
			if g.ID == e.SLOID && !e.Met && g.Ship {
				t.Errorf("%s: the report says the 99.5%% SLA is breached while the gate ships with %v of the 99.9%% budget left", e.SLOID, g.ErrorBudgetRemaining)
			}
		}
	}

	// The reports, once November is over.
	n.clock.Set(time.Date(2026, 12, 1, 0, 59, 30, 0, time.UTC))
	for period, flag := range map[string][]string{"month": {"--month", "2026-11"}, "year": {"--year", "2026"}} {
		var out, errOut bytes.Buffer
		args := append([]string{"report", "sla", "--service", "checkout", "--json", "--server", s.url, "--token", s.viewer}, flag...)
		if code := run(context.Background(), args, &out, &errOut); code != 0 {
			t.Fatalf("report sla %v: exit %d: %s", flag, code, errOut.String())
		}
		var rep slo.SLAReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		consistent(period, rep)
		if len(rep.SLOs) != 3 {
			t.Fatalf("%s report: %d SLOs", period, len(rep.SLOs))
		}
		for _, e := range rep.SLOs {
			rule := strings.TrimPrefix(e.SLOID, "minutes-")
			w := want[period][rule]
			if d := e.Achieved - w.Achieved; d > 1e-9 || d < -1e-9 || e.Met != w.Met || e.Downtime != w.Downtime ||
				e.AllowedDowntime != w.AllowedDowntime || e.AllowedDowntimeMonth != w.AllowedMonth || e.AllowedDowntimeYear != w.AllowedYear {
				t.Errorf("%s report of %s:\n got achieved %.12g met %v downtime %s allowed %s / month %s / year %s\nwant achieved %.12g met %v downtime %s allowed %s / month %s / year %s",
					period, e.SLOID, e.Achieved, e.Met, e.Downtime, e.AllowedDowntime, e.AllowedDowntimeMonth, e.AllowedDowntimeYear,
					w.Achieved, w.Met, w.Downtime, w.AllowedDowntime, w.AllowedMonth, w.AllowedYear)
			}
		}
	}
	// The text report shows the period's allowance beside the average month's and year's.
	var out, errOut bytes.Buffer
	run(context.Background(), []string{"report", "sla", "--service", "checkout", "--month", "2026-11", "--server", s.url, "--token", s.viewer}, &out, &errOut)
	for _, want := range []string{"PER MONTH", "PER YEAR", "minutes-good  99.5%  99.9769%  10m0s", "3h36m0s", "3h39m9s", "43h49m45s", "met"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, out.String())
		}
	}
}

// sla runs `nines report sla --json` for checkout over a period.
func sla(t *testing.T, s *sloServer, period ...string) slo.SLAReport {
	t.Helper()
	var out, errOut bytes.Buffer
	args := append([]string{"report", "sla", "--service", "checkout", "--json", "--server", s.url, "--token", s.viewer}, period...)
	if code := run(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("report sla %v: exit %d: %s", period, code, errOut.String())
	}
	var rep slo.SLAReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}
