package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/nines-dev/nines/internal/incident"
)

func runIncidents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("incidents", stderr)
	var c client
	c.register(fs)
	state := fs.String("state", "", "triggered, acknowledged, resolved or open (comma-separated)")
	service := fs.String("service", "", "only this service")
	limit := fs.Int("limit", 50, "at most this many (1-1000)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := needToken(&c); err != nil {
		return err
	}
	q := url.Values{}
	if *state != "" {
		q.Set("state", *state)
	}
	if *service != "" {
		q.Set("service", *service)
	}
	q.Set("limit", strconv.Itoa(*limit))
	var out struct {
		Incidents  []incident.Incident `json:"incidents"`
		NextCursor string              `json:"next_cursor,omitempty"`
	}
	if err := c.do(ctx, "GET", "/api/v1/incidents?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSEVERITY\tSERVICE\tALERTS\tCREATED\tTITLE")
	for _, i := range out.Incidents {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", i.ID, i.State, i.Severity, i.ServiceID, i.AlertCount,
			i.CreatedAt.Local().Format("2006-01-02 15:04"), i.Title)
	}
	return tw.Flush()
}

func runAck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return incidentAction(ctx, "ack", "acknowledge", args, stdout, stderr)
}

func runResolve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return incidentAction(ctx, "resolve", "resolve", args, stdout, stderr)
}

func incidentAction(ctx context.Context, name, action string, args []string, stdout, stderr io.Writer) error {
	fs := newFlags(name, stderr)
	var c client
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: nines %s [flags] INCIDENT-ID", name)
	}
	id, err := parseID(fs.Arg(0))
	if err != nil {
		return err
	}
	if err := needToken(&c); err != nil {
		return err
	}
	var inc incident.Incident
	if err := c.do(ctx, "POST", fmt.Sprintf("/api/v1/incidents/%d/%s", id, action), nil, &inc); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "incident %d is %s\n", inc.ID, inc.State)
	return nil
}

func runNote(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("note", stderr)
	var c client
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return errors.New("usage: nines note [flags] INCIDENT-ID TEXT...")
	}
	id, err := parseID(fs.Arg(0))
	if err != nil {
		return err
	}
	if err := needToken(&c); err != nil {
		return err
	}
	text := strings.Join(fs.Args()[1:], " ")
	if err := c.do(ctx, "POST", fmt.Sprintf("/api/v1/incidents/%d/notes", id), map[string]string{"text": text}, nil); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "note added to incident %d\n", id)
	return nil
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("incident id %q is not a positive whole number", s)
	}
	return id, nil
}
