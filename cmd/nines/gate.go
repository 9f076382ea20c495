package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/nines-dev/nines/internal/slo"
)

// runGate is the release gate for CI/CD: exit 0 to ship (every SLO of the service has error
// budget left), 1 to slow down, 2 when no decision could be made (a pipeline should stop then
// too, which any non-zero exit does).
func runGate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gate", stderr)
	var c client
	c.register(fs)
	asJSON := fs.Bool("json", false, "print the decision as JSON")
	service, err := serviceArg(fs, args, stderr, "usage: nines gate SERVICE [--server URL] [--token T] [--json]")
	if err != nil {
		return err
	}
	fail := func(err error) error {
		fmt.Fprintf(stderr, "nines gate: no decision: %v\n", err)
		return exitError{2}
	}
	var g slo.Gate
	raw, err := getServiceVerdict(ctx, &c, service, "gate", &g)
	if err != nil {
		return fail(err)
	}
	if g.Decision != "ship" && g.Decision != "slow_down" {
		return fail(errors.New("the server gave no decision"))
	}
	if *asJSON {
		fmt.Fprintln(stdout, string(raw))
	} else {
		fmt.Fprintln(stdout, g.Reason)
		for _, s := range g.SLOs {
			mark := "ok"
			if !s.Ship {
				mark = "SPENT"
			}
			fmt.Fprintf(stdout, "  %-5s %s: budget left %s, SLI %s against %s over %s\n", mark, s.ID,
				pctString(s.ErrorBudgetRemaining), pctString(s.SLIValue), pctString(s.Objective), s.Window)
		}
	}
	if !g.Ship {
		return exitError{1}
	}
	return nil
}

// getServiceVerdict reads what the server says of one service for a CI gate
// (/api/v1/services/{id}/what) into out, and returns the answer as sent, for --json.
func getServiceVerdict(ctx context.Context, c *client, service, what string, out any) (json.RawMessage, error) {
	if err := needToken(c); err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := c.do(ctx, "GET", "/api/v1/services/"+url.PathEscape(service)+"/"+what, nil, &raw); err != nil {
		return nil, err
	}
	return raw, json.Unmarshal(raw, out)
}
