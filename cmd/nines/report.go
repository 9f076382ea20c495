package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
)

// reports are the kinds of `nines report`, each in its own file (report_<kind>.go).
func reports() map[string]command {
	return map[string]command{
		// SLOs
		"sla": {"achieved availability against the SLA for a month, quarter or year", runReportSLA},

		// on-call (schedules, escalation, notifications)
		"oncall": {"pages, incidents, off-hours work and time off owed per person", runReportOnCall},
	}
}

// runReport dispatches on the report's kind: `nines report sla --service S --month 2026-10`.
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	kinds := reports()
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: nines report <kind> [flags]\n\nkinds:")
		for _, n := range names {
			fmt.Fprintf(stderr, "  %-8s %s\n", n, kinds[n].summary)
		}
		return exitError{2}
	}
	k, ok := kinds[args[0]]
	if !ok {
		return fmt.Errorf("unknown report %q (want %s)", args[0], strings.Join(names, " or "))
	}
	return k.run(ctx, args[1:], stdout, stderr)
}
