package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/nines-dev/nines/internal/web/api"
)

// runMonitors lists monitors, or shows one with its figures over a range.
func runMonitors(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("monitors", stderr)
	var c client
	c.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	status := fs.String("status", "", "only monitors in this status: up, down, pending or paused")
	from := fs.String("from", "", "with a monitor id: start of the range (RFC 3339; default 24h ago)")
	to := fs.String("to", "", "with a monitor id: end of the range (RFC 3339; default now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := needToken(&c); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("usage: nines monitors [flags] [MONITOR-ID]")
	}
	if fs.NArg() == 1 {
		q := url.Values{}
		if *from != "" {
			q.Set("from", *from)
		}
		if *to != "" {
			q.Set("to", *to)
		}
		var out map[string]any
		if err := c.do(ctx, "GET", "/api/v1/monitors/"+url.PathEscape(fs.Arg(0))+"?"+q.Encode(), nil, &out); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, out)
		}
		return printMonitor(stdout, out)
	}
	q := url.Values{}
	if *status != "" {
		q.Set("status", *status)
	}
	var out struct {
		Monitors []api.Monitor `json:"monitors"`
	}
	if err := c.do(ctx, "GET", "/api/v1/monitors?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tSERVICE\tTYPE\tUPTIME 24H\tP95 24H\tLAST CHECK\tCAUSE")
	for _, m := range out.Monitors {
		up, p95, last := "-", "-", "never"
		if m.Uptime24h != nil {
			up = fmt.Sprintf("%.3f%%", *m.Uptime24h*100)
		}
		if m.LatencyP95MS != nil {
			p95 = fmt.Sprintf("%.1fms", *m.LatencyP95MS)
		}
		if m.LastCheckedAt != nil {
			last = m.LastCheckedAt.Local().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Status, m.ServiceID, m.Type, up, p95, last, m.Cause)
	}
	return tw.Flush()
}

func printMonitor(w io.Writer, m map[string]any) error {
	fmt.Fprintf(w, "%v (%v monitor of %v): %v\n", m["id"], m["type"], m["service_id"], m["status"])
	if msg := str(m["message"]); msg != "" {
		fmt.Fprintf(w, "  %s: %s\n", str(m["cause"]), msg)
	}
	if r, ok := m["range"].(map[string]any); ok {
		fmt.Fprintf(w, "  %v to %v: %v checks, %v failed, uptime %.3f%%, latency p50 %.1fms p95 %.1fms p99 %.1fms\n",
			r["from"], r["to"], r["checks"], r["failures"], num(r["uptime"])*100, num(r["latency_p50_ms"]), num(r["latency_p95_ms"]), num(r["latency_p99_ms"]))
	}
	if locs, ok := m["locations"].(map[string]any); ok && len(locs) > 0 {
		names := make([]string, 0, len(locs))
		for n := range locs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			l, _ := locs[n].(map[string]any)
			fmt.Fprintf(w, "  location %s: %s %s\n", n, str(l["status"]), strings.TrimSpace(str(l["cause"])+" "+str(l["message"])))
		}
	}
	if fails, ok := m["recent_failures"].([]any); ok && len(fails) > 0 {
		fmt.Fprintln(w, "  recent failures:")
		for _, f := range fails {
			ff, _ := f.(map[string]any)
			fmt.Fprintf(w, "    %v %v %v: %v\n", ff["at"], ff["location"], ff["cause"], ff["message"])
		}
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}
