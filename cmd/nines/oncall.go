package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/oncall"
)

func runOnCall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "override" {
		return runOverride(ctx, args[1:], stdout, stderr)
	}
	fs := newFlags("oncall", stderr)
	var c client
	c.register(fs)
	schedule := fs.String("schedule", "", "only this schedule (default: every schedule)")
	layer := fs.String("layer", "", "only these layers of the schedule, comma-separated: whom a step targeting them pages")
	at := fs.String("at", "", "the instant to ask about, RFC 3339 (default: now)")
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nines oncall [--schedule ID [--layer NAME,...]] [--at TIME] [--json]\n       nines oncall override add|list|delete ...")
		printDefaults(fs)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := needToken(&c); err != nil {
		return err
	}
	q := url.Values{}
	if *schedule != "" {
		q.Set("schedule", *schedule)
	}
	if *layer != "" {
		if *schedule == "" {
			return fmt.Errorf("--layer needs --schedule")
		}
		q.Set("layer", *layer)
	}
	if *at != "" {
		t, err := clock.ParseInstant("--at", *at)
		if err != nil {
			return err
		}
		q.Set("at", t.Format(time.RFC3339))
	}
	var out struct {
		OnCall []oncall.Shift `json:"oncall"`
		At     time.Time      `json:"at"`
	}
	if err := c.do(ctx, "GET", "/api/v1/oncall?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, out)
	}
	if len(out.OnCall) == 0 {
		fmt.Fprintf(stdout, "nobody is on call at %s\n", out.At.Format(time.RFC3339))
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEDULE\tUSER\tLAYER\tFROM\tUNTIL")
	for _, s := range out.OnCall {
		layer := s.Layer
		if s.OverrideID != 0 && layer != oncall.OverrideLayer {
			layer = fmt.Sprintf("%s (override %d)", layer, s.OverrideID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ScheduleID, s.UserID, layer, s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339))
	}
	return tw.Flush()
}

func runOverride(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: nines oncall override add|list|delete --schedule ID ...")
	}
	verb := args[0]
	fs := newFlags("oncall override "+verb, stderr)
	var c client
	c.register(fs)
	schedule := fs.String("schedule", "", "the schedule (required)")
	user := fs.String("user", "", "add: who covers")
	layer := fs.String("layer", "", "add: the layer covered (default: the whole schedule)")
	start := fs.String("start", "", "add: when the cover starts, RFC 3339")
	end := fs.String("end", "", "add: when the cover ends, RFC 3339")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *schedule == "" {
		return fmt.Errorf("--schedule is required")
	}
	if err := needToken(&c); err != nil {
		return err
	}
	base := "/api/v1/schedules/" + url.PathEscape(*schedule) + "/overrides"
	switch verb {
	case "add":
		s, err := clock.ParseInstant("--start", *start)
		if err != nil {
			return err
		}
		e, err := clock.ParseInstant("--end", *end)
		if err != nil {
			return err
		}
		var o oncall.Override
		if err := c.do(ctx, "POST", base, map[string]any{"user_id": *user, "layer": *layer, "start": s, "end": e}, &o); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, o)
		}
		what := o.ScheduleID
		if o.Layer != "" {
			what += " layer " + o.Layer
		}
		fmt.Fprintf(stdout, "override %d: %s covers %s from %s to %s\n", o.ID, o.UserID, what, o.Start.Format(time.RFC3339), o.End.Format(time.RFC3339))
	case "list":
		var out struct {
			Overrides []oncall.Override `json:"overrides"`
		}
		if err := c.do(ctx, "GET", base, nil, &out); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tLAYER\tFROM\tUNTIL\tBY")
		for _, o := range out.Overrides {
			layer := o.Layer
			if layer == "" {
				layer = "(all)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", o.ID, o.UserID, layer, o.Start.Format(time.RFC3339), o.End.Format(time.RFC3339), o.CreatedBy)
		}
		return tw.Flush()
	case "delete":
		if fs.NArg() != 1 {
			return fmt.Errorf("usage: nines oncall override delete --schedule ID OVERRIDE-ID")
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("override id %q is not a positive whole number", fs.Arg(0))
		}
		if err := c.do(ctx, "DELETE", fmt.Sprintf("%s/%d", base, id), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "override %d deleted\n", id)
	default:
		return fmt.Errorf("unknown override command %q: want add, list or delete", verb)
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
