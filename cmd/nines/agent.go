package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/probe"
)

// runAgent probes from another location: nines agent --server URL --location eu-west, with
// the token in NINES_AGENT_TOKEN or a file (--token-file), out of the process list. The token
// is an agent token of that location (nines token create --role agent --location eu-west).
func runAgent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("agent", stderr)
	var c client
	c.register(fs, "NINES_AGENT_TOKEN", "NINES_TOKEN")
	location := fs.String("location", envOr("NINES_LOCATION", ""), "name of this location, as monitors list it (env NINES_LOCATION)")
	workers := fs.Int("workers", 256, "checks run at once")
	refresh := fs.String("refresh", "30s", "how often to ask the server for this location's monitors")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := needToken(&c); err != nil {
		return err
	}
	if *location == "" {
		return errors.New("--location is required (e.g. eu-west)")
	}
	every, err := config.ParseDuration(*refresh)
	if err != nil || every <= 0 {
		return fmt.Errorf("--refresh %q: want a duration such as 30s", *refresh)
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	token, _ := c.token.get() // checked by needToken
	a := &probe.Agent{Server: c.server, Token: token, Location: *location, Workers: *workers, Refresh: every, Log: log}
	return a.Run(ctx)
}
