package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nines-dev/nines/internal/readiness"
)

// runReadiness is the production readiness gate for CI: exit 0 when every check of the
// service's scorecard passes, 1 when any fails or is unknown, 2 when no answer could be had.
func runReadiness(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("readiness", stderr)
	var c client
	c.register(fs)
	asJSON := fs.Bool("json", false, "print the scorecard as JSON")
	service, err := serviceArg(fs, args, stderr, "usage: nines readiness SERVICE [--server URL] [--token T] [--json]")
	if err != nil {
		return err
	}
	fail := func(err error) error {
		fmt.Fprintf(stderr, "nines readiness: no answer: %v\n", err)
		return exitError{2}
	}
	var r readiness.Report
	raw, err := getServiceVerdict(ctx, &c, service, "readiness", &r)
	if err != nil {
		return fail(err)
	}
	if r.Service == "" {
		return fail(errors.New("the server gave no scorecard"))
	}
	if *asJSON {
		fmt.Fprintln(stdout, string(raw))
	} else {
		verdict := "ready for production"
		if !r.Ready {
			verdict = "NOT ready for production"
		}
		fmt.Fprintf(stdout, "%s: %s (%d pass, %d fail, %d unknown)\n", r.Service, verdict, r.Pass, r.Fail, r.Unknown)
		for _, ch := range r.Checks {
			fmt.Fprintf(stdout, "  %-7s %s: %s\n", strings.ToUpper(ch.Status), ch.ID, ch.Why)
			if ch.Fix != "" {
				fmt.Fprintf(stdout, "          to pass: %s\n", ch.Fix)
			}
		}
	}
	if !r.Ready {
		return exitError{1}
	}
	return nil
}
