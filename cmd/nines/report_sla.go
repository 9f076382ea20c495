package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"

	"github.com/nines-dev/nines/internal/slo"
)

// runReportSLA prints a service's SLA report for a calendar month, quarter or year.
func runReportSLA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report sla", stderr)
	var c client
	c.register(fs)
	service := fs.String("service", "", "service id (required)")
	month := fs.String("month", "", "calendar month, e.g. 2026-10")
	quarter := fs.String("quarter", "", "calendar quarter, e.g. 2026-Q4")
	year := fs.String("year", "", "calendar year, e.g. 2026")
	tz := fs.String("tz", "UTC", "time zone the period is counted in")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *service == "" {
		return errors.New("--service is required")
	}
	var period string
	given := 0
	for _, p := range []string{*month, *quarter, *year} {
		if p != "" {
			period = p
			given++
		}
	}
	if given != 1 {
		return errors.New("give one of --month 2026-10, --quarter 2026-Q4 or --year 2026")
	}
	if err := needToken(&c); err != nil {
		return err
	}
	q := url.Values{"period": {period}, "tz": {*tz}}
	var rep slo.SLAReport
	var raw json.RawMessage
	if err := c.do(ctx, "GET", "/api/v1/services/"+url.PathEscape(*service)+"/sla?"+q.Encode(), nil, &raw); err != nil {
		return err
	}
	if *asJSON {
		_, err := fmt.Fprintln(stdout, string(raw))
		return err
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return err
	}
	verdict := "met"
	if !rep.Met {
		verdict = "BREACHED"
	}
	fmt.Fprintf(stdout, "SLA report: %s, %s (%s): %s\n\n", rep.ServiceID, rep.Period, rep.TimeZone, verdict)
	if len(rep.SLOs) == 0 {
		fmt.Fprintln(stdout, "The service has no SLOs.")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLO\tSLA\tACHIEVED\tDOWNTIME\tALLOWED\tPER MONTH\tPER YEAR\tRESULT")
	for _, s := range rep.SLOs {
		res := "met"
		if !s.Met {
			res = "breached"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.SLOID, pctString(s.Target), pctString(s.Achieved), s.Downtime,
			s.AllowedDowntime, s.AllowedDowntimeMonth, s.AllowedDowntimeYear, res)
	}
	tw.Flush()
	fmt.Fprintln(stdout, "\nALLOWED is the downtime the SLA allows in this period; PER MONTH and PER YEAR in an average month\n"+
		"and year (365.2425 days, a month a twelfth of it).")
	for _, s := range rep.SLOs {
		if len(s.Incidents) == 0 {
			continue
		}
		fmt.Fprintf(stdout, "\nIncidents behind %s:\n", s.SLOID)
		for _, inc := range s.Incidents {
			fmt.Fprintf(stdout, "  #%d %s (%s): %.6g bad, %s of the allowance\n", inc.ID, inc.Title,
				inc.CreatedAt.Format("2006-01-02 15:04Z"), inc.BadEvents, pctString(inc.BudgetSpent))
		}
	}
	return nil
}

func pctString(f float64) string {
	s := fmt.Sprintf("%.4f", f*100)
	for len(s) > 1 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s + "%"
}
