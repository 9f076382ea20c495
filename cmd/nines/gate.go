package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

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
	// The service may come before or after the flags: `nines gate checkout --server ...`.
	var service string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		service, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if service == "" && fs.NArg() == 1 {
		service = fs.Arg(0)
	} else if fs.NArg() > 0 || service == "" {
		fmt.Fprintln(stderr, "usage: nines gate SERVICE [--server URL] [--token T] [--json]")
		return exitError{2}
	}
	fail := func(err error) error {
		fmt.Fprintf(stderr, "nines gate: no decision: %v\n", err)
		return exitError{2}
	}
	if err := needToken(&c); err != nil {
		return fail(err)
	}
	var g slo.Gate
	var raw json.RawMessage
	if err := c.do(ctx, "GET", "/api/v1/services/"+url.PathEscape(service)+"/gate", nil, &raw); err != nil {
		return fail(err)
	}
	if err := json.Unmarshal(raw, &g); err != nil {
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
