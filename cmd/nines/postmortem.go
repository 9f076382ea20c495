package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/nines-dev/nines/internal/postmortem"
)

const postmortemUsage = `usage:
  nines postmortem draft INCIDENT-ID
  nines postmortem show [--format markdown|html|json] INCIDENT-ID
  nines postmortem action --title T --owner U --kind fix|test|alert|docs|visibility [--due YYYY-MM-DD] INCIDENT-ID
  nines postmortem done ACTION-ID`

// runPostmortem drafts and shows postmortems and manages their action items.
func runPostmortem(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", postmortemUsage)
	}
	sub := args[0]
	fs := newFlags("postmortem "+sub, stderr)
	var c client
	c.register(fs)
	format := fs.String("format", "markdown", "show: markdown, html or json")
	title := fs.String("title", "", "action: what should be done")
	owner := fs.String("owner", "", "action: who does it (a user id)")
	kind := fs.String("kind", "fix", "action: fix, test, alert, docs or visibility")
	due := fs.String("due", "", "action: due date, YYYY-MM-DD (default: 5 business days from today)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%s", postmortemUsage)
	}
	id, err := parseID(fs.Arg(0))
	if err != nil {
		return err
	}
	if err := needToken(&c); err != nil {
		return err
	}
	path := fmt.Sprintf("/api/v1/incidents/%d/postmortem", id)
	switch sub {
	case "draft":
		if err := c.do(ctx, "POST", path, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "postmortem of incident %d drafted: %s/incidents/%d/postmortem\n", id, strings.TrimRight(c.server, "/"), id)
		return nil
	case "show":
		var raw json.RawMessage
		if *format == "json" {
			if err := c.do(ctx, "GET", path, nil, &raw); err != nil {
				return err
			}
			_, err := stdout.Write(append(raw, '\n'))
			return err
		}
		var doc []byte
		if err := c.do(ctx, "GET", path+"?format="+url.QueryEscape(*format), nil, &doc); err != nil {
			return err
		}
		_, err := stdout.Write(doc)
		return err
	case "action":
		var item postmortem.ActionItem
		body := map[string]string{"title": *title, "owner": *owner, "kind": *kind, "due": *due}
		if err := c.do(ctx, "POST", path+"/actions", body, &item); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "action item %d added, due %s\n", item.ID, item.Due)
		return nil
	case "done":
		var item postmortem.ActionItem
		if err := c.do(ctx, "PATCH", fmt.Sprintf("/api/v1/actions/%d", id), map[string]string{"state": "done"}, &item); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "action item %d is %s\n", item.ID, item.State)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q\n%s", sub, postmortemUsage)
}
