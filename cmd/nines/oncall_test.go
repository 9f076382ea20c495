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
		{"a malformed instant is refused before asking", []string{"oncall", "--at", "monday"}, 1, `--at "monday": want an RFC 3339 instant`},
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
