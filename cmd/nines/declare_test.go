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

func TestDeclareDeployAndPostmortemCommands(t *testing.T) {
	cfg, err := config.Parse("nines.yaml", []byte("services: [{id: checkout, team: payments}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv := startNines(t, cfg, time.Date(2026, 12, 30, 10, 0, 0, 0, time.UTC)) // a Wednesday before the year end
	token := srv.token(t, "ci", auth.Responder)
	nines := func(args ...string) (int, string) {
		t.Helper()
		var out, errs bytes.Buffer
		n := 1
		if args[0] == "postmortem" {
			n = 2 // flags follow the subcommand
		}
		args = append(append(append([]string{}, args[:n]...), "--server", srv.url, "--token", token), args[n:]...)
		code := run(context.Background(), args, &out, &errs)
		return code, out.String() + errs.String()
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a pipeline records a deploy", []string{"deploy", "--service", "checkout", "--version", "v7", "--commit", "abc", "--commit-time", "2026-12-30T09:00:00Z"}, 0, "recorded change 1: Deployed checkout v7"},
		{"a deploy without a version is refused", []string{"deploy", "--service", "checkout"}, 1, "usage: nines deploy"},
		{"a deploy of an unknown service names it", []string{"deploy", "--service", "nope", "--version", "1"}, 1, `unknown service "nope"`},
		{"someone declares an incident", []string{"declare", "--service", "checkout", "--sev", "sev2", "--impact-start", "2026-12-30T09:30:00Z", "--commander", "alice", "Checkout", "is", "down"}, 0, "declared incident 1 (SEV2)"},
		{"a bad severity is refused", []string{"declare", "--service", "checkout", "--sev", "SEV0", "x"}, 1, `sev: "SEV0"`},
		{"the postmortem is drafted", []string{"postmortem", "draft", "1"}, 0, "postmortem of incident 1 drafted"},
		{"an action item is due five business days on, across the year end", []string{"postmortem", "action", "--title", "Add a canary", "--owner", "alice", "--kind", "fix", "1"}, 0, "action item 1 added, due 2027-01-06"},
		{"the postmortem shows as Markdown", []string{"postmortem", "show", "1"}, 0, "| 1 | fix | Add a canary | alice | 2027-01-06 | open |"},
		{"the postmortem shows the deploy", []string{"postmortem", "show", "--format", "markdown", "1"}, 0, "Deploy of checkout v7 (commit abc)"},
		{"the postmortem shows as JSON", []string{"postmortem", "show", "--format", "json", "1"}, 0, `"sev": "SEV2"`},
		{"an action item is done", []string{"postmortem", "done", "1"}, 0, "action item 1 is done"},
		{"an unknown subcommand is named", []string{"postmortem", "publish", "1"}, 1, `unknown subcommand "publish"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := nines(c.args...)
			if code != c.code || !strings.Contains(out, c.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit %d and %q", code, out, c.code, c.want)
			}
		})
	}
}
