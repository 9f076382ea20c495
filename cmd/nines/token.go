package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
)

// runToken manages API tokens directly in the database, so the first admin token can be made
// before anyone can sign in.
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: nines token create|list|revoke [flags]")
		return exitError{2}
	}
	sub, args := args[0], args[1:]
	fs := newFlags("token "+sub, stderr)
	var d dbFlags
	d.register(fs)
	cfgPath := fs.String("config", envOr("NINES_CONFIG", ""), "config file or directory; checked before the database is touched")
	name := fs.String("name", "", "token name (who or what uses it)")
	role := fs.String("role", "viewer", "role: viewer, responder, manager or admin")
	ttl := fs.String("ttl", "7d", "lifetime, e.g. 12h, 30d; 'never' for a token that does not expire")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cfgPath != "" {
		if _, err := config.Load(*cfgPath); err != nil {
			return fmt.Errorf("config is invalid:\n%w", err)
		}
	}
	log, _ := newLogger(stderr, "text", "warn")
	switch sub {
	case "create":
		r, err := auth.ParseRole(*role)
		if err != nil {
			return err
		}
		if *name == "" {
			return errors.New("--name is required")
		}
		var life time.Duration
		if *ttl != "never" {
			life, err = config.ParseDuration(*ttl)
			if err != nil || life <= 0 {
				return fmt.Errorf("--ttl %q: want a duration such as 12h or 30d, or 'never'", *ttl)
			}
		}
		db, err := d.open(ctx, log)
		if err != nil {
			return err
		}
		defer db.Close()
		secret, tok, err := auth.NewTokens(db, clock.Real{}).Create(ctx, *name, r, life)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"token": tok, "secret": secret})
		}
		exp := "never"
		if tok.ExpiresAt != nil {
			exp = tok.ExpiresAt.Format(time.RFC3339)
		}
		fmt.Fprintf(stderr, "token %d %q role %s expires %s; it is shown once, keep it safe:\n", tok.ID, tok.Name, tok.Role, exp)
		fmt.Fprintln(stdout, secret)
		return nil
	case "list":
		db, err := d.open(ctx, log)
		if err != nil {
			return err
		}
		defer db.Close()
		toks, err := auth.NewTokens(db, clock.Real{}).List(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"tokens": toks})
		}
		for _, t := range toks {
			exp := "never"
			if t.ExpiresAt != nil {
				exp = t.ExpiresAt.Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%d\t%s\t%s\texpires %s\n", t.ID, t.Name, t.Role, exp)
		}
		return nil
	case "revoke":
		if fs.NArg() != 1 {
			return errors.New("usage: nines token revoke ID")
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return fmt.Errorf("token id %q is not a number", fs.Arg(0))
		}
		db, err := d.open(ctx, log)
		if err != nil {
			return err
		}
		defer db.Close()
		return auth.NewTokens(db, clock.Real{}).Revoke(ctx, id)
	}
	return fmt.Errorf("unknown token command %q (want create, list or revoke)", sub)
}
