package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/oncall"
)

func runReportOnCall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report oncall", stderr)
	var c client
	c.register(fs)
	from := fs.String("from", "", "start of the period: YYYY-MM-DD or RFC 3339 (default: 30 days ago)")
	to := fs.String("to", "", "end of the period, exclusive (default: now)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := needToken(&c); err != nil {
		return err
	}
	q := url.Values{}
	for _, f := range []struct{ name, v string }{{"from", *from}, {"to", *to}} {
		if f.v == "" {
			continue
		}
		t, err := clock.ParseIn("--"+f.name, f.v, clock.RFC3339|clock.Date, nil)
		if err != nil {
			return err
		}
		q.Set(f.name, t.UTC().Format(time.RFC3339))
	}
	var rep oncall.Report
	if err := c.do(ctx, "GET", "/api/v1/reports/oncall?"+q.Encode(), nil, &rep); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, rep)
	}
	fmt.Fprintf(stdout, "On-call load from %s to %s\nRule: %s\n\n", rep.From.Format(time.RFC3339), rep.To.Format(time.RFC3339), rep.Rule)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "USER\tON CALL H\tPAGES\tOFF-HOURS PAGES\tDRILL PAGES\tINCIDENTS\tACK→RESOLVE H\tOFF-HOURS H\tDAYS OWED\t")
	for _, u := range rep.Users {
		fmt.Fprintf(tw, "%s\t%.1f\t%d\t%d\t%d\t%d\t%.2f\t%.2f\t%.1f\t\n", u.UserID, u.OnCallHours, u.Pages, u.OffHoursPages, u.DrillPages, u.Incidents, u.WorkHours, u.OffHoursWork, u.DaysOwed)
	}
	return tw.Flush()
}
