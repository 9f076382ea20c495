package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/nines-dev/nines/internal/maintenance"
)

const maintenanceUsage = `usage:
  nines maintenance list [--past 30d]
  nines maintenance schedule --name N (--services S,... | --monitors M,...) --start T --end T [--description D] [--announce] [--pages P,...]
  nines maintenance schedule --name N --services S,... --cron "0 2 * * 0" --duration 2h [--time-zone Europe/Paris]
  nines maintenance edit [--name N] [--description D] [--start T] [--end T] [--services S,...] [--monitors M,...] [--announce=true|false] ID
  nines maintenance cancel ID`

// runMaintenance lists, schedules, edits and cancels maintenance windows.
func runMaintenance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", maintenanceUsage)
	}
	sub := args[0]
	fs := newFlags("maintenance "+sub, stderr)
	var c client
	c.register(fs)
	past := fs.String("past", "", "list: also windows that ended within this long (e.g. 30d)")
	name := fs.String("name", "", "what the maintenance is")
	desc := fs.String("description", "", "what is done (shown on status pages when announced)")
	services := fs.String("services", "", "services it covers, comma-separated: their alerts page nobody")
	monitors := fs.String("monitors", "", "monitors it mutes, comma-separated")
	start := fs.String("start", "", "start, RFC 3339 (2026-05-01T02:00:00Z)")
	end := fs.String("end", "", "end, RFC 3339")
	cron := fs.String("cron", "", "recurring: cron schedule of the starts")
	duration := fs.String("duration", "", "recurring: how long each lasts (2h)")
	zone := fs.String("time-zone", "", "recurring: zone of the cron (default UTC)")
	announce := fs.Bool("announce", false, "announce it on the status pages that show what it covers")
	pages := fs.String("pages", "", "announce on these status pages only, comma-separated")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := needToken(&c); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	split := func(s string) []string {
		out := []string{}
		for _, v := range strings.Split(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	var w maintenance.Window
	switch sub {
	case "list":
		if fs.NArg() != 0 {
			return fmt.Errorf("%s", maintenanceUsage)
		}
		path := "/api/v1/maintenance"
		if *past != "" {
			path += "?past=" + url.QueryEscape(*past)
		}
		var out struct{ Maintenance []maintenance.Window }
		if err := c.do(ctx, "GET", path, nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tWHEN\tCOVERS\tNAME")
		for _, w := range out.Maintenance {
			when := w.Cron + " for " + w.Duration
			if w.Start != nil {
				when = w.Start.UTC().Format("2006-01-02 15:04") + " to " + w.End.UTC().Format("2006-01-02 15:04") + " UTC"
			}
			covers := append(append([]string{}, w.Services...), w.Monitors...)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", w.ID, w.State, when, strings.Join(covers, ","), w.Name)
		}
		return tw.Flush()
	case "schedule":
		if fs.NArg() != 0 {
			return fmt.Errorf("%s", maintenanceUsage)
		}
		body := map[string]any{"name": *name, "description": *desc, "services": split(*services), "monitors": split(*monitors),
			"start": *start, "end": *end, "cron": *cron, "duration": *duration, "time_zone": *zone, "announce": *announce, "status_pages": split(*pages)}
		if err := c.do(ctx, "POST", "/api/v1/maintenance", body, &w); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "maintenance window %s scheduled (%s): %s\n", w.ID, w.State, w.Name)
		return nil
	case "edit", "cancel":
		if fs.NArg() != 1 {
			return fmt.Errorf("%s", maintenanceUsage)
		}
		path := "/api/v1/maintenance/" + url.PathEscape(fs.Arg(0))
		if sub == "cancel" {
			if err := c.do(ctx, "DELETE", path, nil, &w); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "maintenance window %s cancelled; it is %s\n", w.ID, w.State)
			return nil
		}
		patch := map[string]any{}
		for flagName, field := range map[string]string{"name": "name", "description": "description", "start": "start", "end": "end",
			"cron": "cron", "duration": "duration", "time-zone": "time_zone"} {
			if set[flagName] {
				patch[field] = fs.Lookup(flagName).Value.String()
			}
		}
		if set["services"] {
			patch["services"] = split(*services)
		}
		if set["monitors"] {
			patch["monitors"] = split(*monitors)
		}
		if set["pages"] {
			patch["status_pages"] = split(*pages)
		}
		if set["announce"] {
			patch["announce"] = *announce
		}
		if len(patch) == 0 {
			return fmt.Errorf("nothing to change: give --name, --start, --end... \n%s", maintenanceUsage)
		}
		if err := c.do(ctx, "PATCH", path, patch, &w); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "maintenance window %s updated (%s): %s\n", w.ID, w.State, w.Name)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q\n%s", sub, maintenanceUsage)
}
