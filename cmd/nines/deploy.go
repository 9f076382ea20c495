package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/nines-dev/nines/internal/change"
)

// runDeploy records a deploy, as the last step of a pipeline: it shows on the incidents that
// follow and feeds DORA's deployment frequency, lead time and change failure rate.
func runDeploy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("deploy", stderr)
	var c client
	c.register(fs)
	service := fs.String("service", "", "service id (required)")
	version := fs.String("version", "", "version deployed (required)")
	commit := fs.String("commit", os.Getenv("GIT_COMMIT"), "commit SHA deployed (env GIT_COMMIT)")
	commitTime := fs.String("commit-time", "", "when that commit was made, RFC 3339 (gives DORA its lead time; e.g. $(git show -s --format=%cI))")
	summary := fs.String("summary", "", "what changed (default: \"Deployed SERVICE VERSION\")")
	source := fs.String("source", hostname(), "where the deploy ran")
	link := fs.String("link", "", "a link to the build or release")
	at := fs.String("at", "", "when the deploy happened, RFC 3339 (default: now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *service == "" || *version == "" {
		return fmt.Errorf("usage: nines deploy --service S --version V [--commit SHA --commit-time T]")
	}
	if err := needToken(&c); err != nil {
		return err
	}
	body := map[string]any{"service": *service, "version": *version, "commit": *commit, "commit_time": *commitTime,
		"summary": *summary, "source": *source, "timestamp": *at}
	if *link != "" {
		body["links"] = []map[string]string{{"href": *link}}
	}
	var out change.Change
	if err := c.do(ctx, "POST", "/api/v1/changes", body, &out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "recorded change %d: %s\n", out.ID, out.Summary)
	return nil
}
