package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/nines-dev/nines/internal/incident"
)

// runDeclare opens an incident by hand, for a problem a person saw before any alert did.
func runDeclare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("declare", stderr)
	var c client
	c.register(fs)
	service := fs.String("service", "", "service id (required)")
	title := fs.String("title", "", "what is wrong, in a few words (required; or give it as arguments)")
	sev := fs.String("sev", "SEV3", "severity: SEV1 (worst) to SEV5")
	summary := fs.String("summary", "", "what is known so far")
	impact := fs.String("impact-start", "", "when customers were first affected, RFC 3339 (back-dates the impact)")
	commander := fs.String("commander", "", "incident commander (a user id; default: whoever the service's escalation policy pages first)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *title == "" {
		*title = strings.Join(fs.Args(), " ")
	}
	if *service == "" || *title == "" {
		return fmt.Errorf("usage: nines declare --service S [--sev SEV2] [--impact-start T] [--commander U] TITLE...")
	}
	if err := needToken(&c); err != nil {
		return err
	}
	body := map[string]any{"service": *service, "title": *title, "sev": strings.ToUpper(*sev), "summary": *summary}
	if *impact != "" {
		body["impact_started_at"] = *impact
	}
	if *commander != "" {
		body["roles"] = map[string]string{"commander": *commander}
	}
	var inc incident.Incident
	if err := c.do(ctx, "POST", "/api/v1/incidents", body, &inc); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "declared incident %d (%s): %s/incidents/%d/respond\n", inc.ID, inc.SEV, strings.TrimRight(c.server, "/"), inc.ID)
	return nil
}
