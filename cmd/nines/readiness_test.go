package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
)

// readinessConfig keeps only the checks of the checklist read from the config (the rest are
// dropped, as a team may), so the gate's answer turns on the config alone.
const readinessConfig = `
teams:
  - {id: payments, members: [alice]}
users:
  - {id: alice, name: Alice}
services:
  - id: checkout
    team: payments
    urgency: high
    RUNBOOK
    readiness: {tier: 1, dashboards: ["https://grafana.example.com/d/checkout"]}
readiness:
  drop: [escalation, coverage, health_check, slis, backup, deploys, action_items, drill, logs, exceptions, restore_tested, environments, tests, threat_model]
`

// TestReadinessGateExitsOneUntilEveryCheckPasses runs `nines readiness` against a running
// server: exit 1 naming the failing check and how to fix it while the service has no runbook;
// exit 0 once it has one; 2 for a service that does not exist.
func TestReadinessGateExitsOneUntilEveryCheckPasses(t *testing.T) {
	gate := func(cfgText, service string) (int, string, string) {
		cfg, err := config.Parse("nines.yaml", []byte(cfgText))
		if err != nil {
			t.Fatal(err)
		}
		n := startNines(t, cfg, time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC))
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"readiness", service, "--server", n.url, "--token", n.token(t, "ci", auth.Viewer)}, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, _ := gate(strings.Replace(readinessConfig, "RUNBOOK", "", 1), "checkout")
	if code != 1 || !strings.Contains(out, "checkout: NOT ready for production (3 pass, 1 fail, 0 unknown)") ||
		!strings.Contains(out, "FAIL    runbook: the service has no runbook") || !strings.Contains(out, "to pass: set runbook on the service") {
		t.Errorf("without a runbook: exit %d\n%s", code, out)
	}
	code, out, _ = gate(strings.Replace(readinessConfig, "RUNBOOK", "runbook: https://runbooks.example.com/checkout", 1), "checkout")
	if code != 0 || !strings.Contains(out, "checkout: ready for production (4 pass, 0 fail, 0 unknown)") {
		t.Errorf("with a runbook: exit %d\n%s", code, out)
	}
	code, _, errOut := gate(strings.Replace(readinessConfig, "RUNBOOK", "", 1), "nowhere")
	if code != 2 || !strings.Contains(errOut, "no such service") {
		t.Errorf("an unknown service: exit %d, %q", code, errOut)
	}
}
