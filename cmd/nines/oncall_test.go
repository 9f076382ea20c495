package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/storetest"
)

func TestOnCallCommands(t *testing.T) {
	cfg, err := config.Load("../../internal/config/testdata/oncall_reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := startNines(t, cfg, time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC))
	tok := srv.token(t, "cli", auth.Responder)
	cli := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		// Client flags go right after the command words (nines oncall override add --server ...).
		n := 0
		for n < len(args) && !strings.HasPrefix(args[n], "-") {
			n++
		}
		full := append(append(append([]string{}, args[:n]...), "--server", srv.url, "--token", tok), args[n:]...)
		code := run(context.Background(), full, &out, &errb)
		return out.String() + errb.String(), code
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"who is on call at an instant", []string{"oncall", "--schedule", "ops", "--at", "2026-03-30T07:30:00Z"}, 0, "ops       alice  primary  2026-03-30T07:00:00Z  2026-04-06T07:00:00Z"},
		{"who is on call as JSON", []string{"oncall", "--schedule", "ops", "--at", "2026-03-30T07:30:00Z", "--json"}, 0, `"user_id": "alice"`},
		{"a malformed instant is refused before asking", []string{"oncall", "--at", "monday"}, 1, `--at: "monday" is not an RFC 3339 instant`},
		{"an unknown schedule names itself", []string{"oncall", "--schedule", "nope"}, 1, `unknown schedule "nope"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, code := cli(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, output:\n%s\nwant exit %d containing %q", code, out, tc.code, tc.want)
			}
		})
	}
	t.Run("overrides are added, listed and deleted", func(t *testing.T) {
		out, code := cli("oncall", "override", "add", "--schedule", "ops", "--user", "bob", "--start", "2026-03-31T12:00:00Z", "--end", "2026-04-01T12:00:00Z")
		if code != 0 || !strings.Contains(out, "override 1: bob covers ops") {
			t.Fatalf("add: %d %s", code, out)
		}
		out, _ = cli("oncall", "--schedule", "ops", "--at", "2026-04-01T00:00:00Z")
		if !strings.Contains(out, "ops       bob   override  2026-03-31T12:00:00Z") {
			t.Fatalf("during the override: %s", out)
		}
		out, _ = cli("oncall", "override", "list", "--schedule", "ops")
		if !strings.Contains(out, "1   bob") {
			t.Fatalf("list: %s", out)
		}
		if out, code := cli("oncall", "override", "delete", "--schedule", "ops", "1"); code != 0 {
			t.Fatalf("delete: %s", out)
		}
		if out, code := cli("oncall", "override", "delete", "--schedule", "ops", "1"); code != 1 || !strings.Contains(out, "404") {
			t.Fatalf("second delete: %d %s", code, out)
		}
	})
	t.Run("the on-call report prints a row per person", func(t *testing.T) {
		out, code := cli("report", "oncall", "--from", "2026-03-01", "--to", "2026-04-01")
		if code != 0 || !strings.Contains(out, "Rule: a day with an off-hours page") || !strings.Contains(out, "carol") {
			t.Fatalf("report: %d %s", code, out)
		}
	})
}

// lieutenantConfig: ops has a primary layer (alice) and a secondary one (bob) above it; the
// policy pages the secondary layer only, as a lieutenant rota does.
const lieutenantConfig = `
users:
  - {id: alice, contact_methods: [{type: email, address: alice@example.com}]}
  - {id: bob, contact_methods: [{type: email, address: bob@example.com}]}
  - {id: carol, contact_methods: [{type: email, address: carol@example.com}]}
  - {id: erin, contact_methods: [{type: email, address: erin@example.com}]}
schedules:
  - id: ops
    time_zone: UTC
    layers:
      - {name: primary, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [alice]}
      - {name: secondary, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [bob]}
escalation_policies:
  - id: lieutenant
    steps:
      - escalate_after: 10m
        targets: [{schedule: ops, layers: [secondary]}]
services:
  - {id: checkout, escalation_policy: lieutenant, integrations: [{type: events_v2, key: 0123456789abcdef0123456789abcdef}]}
notifications:
  email: {smtp: {host: 127.0.0.1, port: SMTP_PORT, from: nines@example.com, tls: none}}
`

func TestOverridesOfALayerAreWhatIsShownAndWhatIsPaged(t *testing.T) {
	smtp := notifytest.StartSMTP(t, "none")
	cfg, err := config.Parse("nines.yaml", []byte(strings.ReplaceAll(lieutenantConfig, "SMTP_PORT", strconv.Itoa(smtp.Port()))))
	if err != nil {
		t.Fatal(err)
	}
	srv := startNines(t, cfg, time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC))
	tok := srv.token(t, "cli", auth.Responder)
	cli := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		n := 0
		for n < len(args) && !strings.HasPrefix(args[n], "-") {
			n++
		}
		full := append(append(append([]string{}, args[:n]...), "--server", srv.url, "--token", tok), args[n:]...)
		if code := run(context.Background(), full, &out, &errb); code != 0 {
			t.Fatalf("nines %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
		}
		return out.String()
	}
	pagedTo := func(n int) []string {
		t.Helper()
		storetest.Eventually(t, 5*time.Second, fmt.Sprintf("%d pages", n), func() bool { return len(smtp.Mails()) >= n })
		var to []string
		for _, m := range smtp.Mails() {
			to = append(to, m.To...)
		}
		return to
	}

	// carol covers the secondary layer for the day: the lieutenant step pages her, and
	// nines oncall says so, for the layer and for the whole schedule (secondary is on top).
	out := cli("oncall", "override", "add", "--schedule", "ops", "--layer", "secondary", "--user", "carol",
		"--start", "2026-03-30T00:00:00Z", "--end", "2026-03-31T00:00:00Z")
	if !strings.Contains(out, "override 1: carol covers ops layer secondary") {
		t.Fatalf("add: %s", out)
	}
	if out := cli("oncall", "--schedule", "ops", "--layer", "secondary"); !strings.Contains(out, "ops       carol  secondary (override 1)") {
		t.Fatalf("nines oncall --layer secondary does not show carol:\n%s", out)
	}
	if out := cli("oncall", "--schedule", "ops"); !strings.Contains(out, "carol") {
		t.Fatalf("nines oncall does not show carol:\n%s", out)
	}
	if out := cli("oncall", "override", "list", "--schedule", "ops"); !strings.Contains(out, "carol  secondary") {
		t.Fatalf("the override list does not name the layer:\n%s", out)
	}
	cli("event", "trigger", "--routing-key", "0123456789abcdef0123456789abcdef", "--dedup-key", "a", "--summary", "Checkout down")
	if got := pagedTo(1); strings.Join(got, " ") != "carol@example.com" {
		t.Fatalf("the lieutenant step paged %v, want carol who covers the secondary layer", got)
	}

	// An override without a layer covers the whole schedule, every layer included.
	cli("oncall", "override", "add", "--schedule", "ops", "--user", "erin", "--start", "2026-03-30T07:00:00Z", "--end", "2026-03-30T09:00:00Z")
	if out := cli("oncall", "--schedule", "ops", "--layer", "secondary"); !strings.Contains(out, "ops       erin  override") {
		t.Fatalf("nines oncall --layer secondary does not show erin's override of the whole schedule:\n%s", out)
	}
	cli("event", "trigger", "--routing-key", "0123456789abcdef0123456789abcdef", "--dedup-key", "b", "--summary", "Payments down")
	if got := pagedTo(2); got[1] != "erin@example.com" {
		t.Fatalf("the lieutenant step paged %v, want erin who covers the whole schedule", got)
	}

	// A layer the schedule does not have is refused, naming the layers it has.
	var out2, errb bytes.Buffer
	code := run(context.Background(), []string{"oncall", "override", "add", "--server", srv.url, "--token", tok, "--schedule", "ops",
		"--layer", "tertiary", "--user", "carol", "--start", "2026-03-30T00:00:00Z", "--end", "2026-03-31T00:00:00Z"}, &out2, &errb)
	if code != 1 || !strings.Contains(errb.String(), `layer: schedule ops has no layer "tertiary" (it has primary, secondary`) {
		t.Fatalf("an unknown layer: exit %d %s%s", code, out2.String(), errb.String())
	}
}
