package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/app"
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
	d.registerInit(fs)
	cfgPath := fs.String("config", envOr("NINES_CONFIG", ""), "config file or directory; checked before the database is touched")
	name := fs.String("name", "", "token name (who or what uses it)")
	role := fs.String("role", "viewer", "role: viewer, responder, manager, admin, or agent (a probe agent's)")
	location := fs.String("location", "", "for --role agent: the location the agent probes from, as monitors list it (e.g. eu-west)")
	ttl := fs.String("ttl", "7d", "lifetime, e.g. 12h, 30d; 'never' for a token that does not expire")
	user := fs.String("user", "", "create: the person (a user id of the config) the token belongs to; what it does is credited to them")
	teams := fs.String("teams", "", "comma-separated teams the token acts for (default: all); checked against --config when given")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, _ := newLogger(stderr, "text", "warn")
	var cfg *config.Config
	if *cfgPath != "" {
		var err error
		cfg, err = config.Load(*cfgPath)
		if sub == "create" && (err != nil || *user != "" && cfg.User(*user) == nil) {
			// The files may name, or the token be for, what was made in nines: check them as
			// nines serve loads them, with the database's objects, when there is a database.
			if merged, ok := configWithDB(ctx, d, *cfgPath, log); ok {
				cfg, err = merged, nil
			}
		}
		if err != nil {
			return fmt.Errorf("config is invalid:\n%w", err)
		}
	}
	if *user != "" {
		if cfg == nil {
			return errors.New("--user needs --config (or NINES_CONFIG) to check the user exists")
		}
		if cfg.User(*user) == nil {
			return fmt.Errorf("--user %q is not a user of the config", *user)
		}
	}
	switch sub {
	case "create":
		// The same rules as the API's and the admin page's.
		scope, err := teamsFlag(fs, *teams)
		if err != nil {
			return err
		}
		spec, err := auth.TokenRequest{Name: *name, Role: *role, TTL: *ttl, Teams: scope, Location: *location, User: *user}.Check(cfg)
		if err != nil {
			return err
		}
		db, err := d.openOffline(ctx, log, stderr)
		if err != nil {
			return err
		}
		defer db.Close()
		secret, tok, err := auth.NewTokens(db, clock.Real{}).Make(ctx, spec)
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
		if tok.Location != "" {
			exp += " (agent at " + tok.Location + ")"
		}
		owner := ""
		if tok.User != "" {
			owner = " of user " + tok.User
		}
		scoped := "every team"
		if len(tok.Teams) > 0 {
			scoped = "teams " + strings.Join(tok.Teams, ",")
		}
		fmt.Fprintf(stderr, "token %d %q%s role %s for %s expires %s; it is shown once, keep it safe:\n", tok.ID, tok.Name, owner, tok.Role, scoped, exp)
		fmt.Fprintln(stdout, secret)
		return nil
	case "list":
		db, err := d.openOffline(ctx, log, stderr)
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
			role := t.Role
			if t.Location != "" {
				role += "@" + t.Location
			}
			fmt.Fprintf(stdout, "%d\t%s\t%s\t%s\texpires %s\n", t.ID, t.Name, role, strings.Join(t.Teams, ","), exp)
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
		db, err := d.openOffline(ctx, log, stderr)
		if err != nil {
			return err
		}
		defer db.Close()
		return auth.NewTokens(db, clock.Real{}).Revoke(ctx, id)
	}
	return fmt.Errorf("unknown token command %q (want create, list or revoke)", sub)
}

// teamsFlag reads --teams: absent means every team; given, it names each team, and an empty
// name (--teams "", ",", "a,,b") is refused, since a list of no team would act for every team.
func teamsFlag(fs *flag.FlagSet, list string) ([]string, error) {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "teams" })
	if !given {
		return nil, nil
	}
	teams, err := auth.ParseTeams(list)
	if err != nil {
		return nil, fmt.Errorf("--teams %q: %s (leave --teams out for every team)", list, strings.TrimPrefix(err.Error(), "teams: "))
	}
	return teams, nil
}

// configWithDB is the config as nines serve loads it, the files with the database's objects,
// when the database exists and the two make a valid config; false otherwise (nothing is made).
func configWithDB(ctx context.Context, d dbFlags, path string, log *slog.Logger) (*config.Config, bool) {
	d.settle()
	if d.db == "" {
		if _, err := os.Stat(filepath.Join(d.data, "nines.db")); err != nil {
			return nil, false
		}
	}
	db, err := d.open(ctx, log)
	if err != nil {
		return nil, false
	}
	defer db.Close()
	live, err := app.LoadConfig(ctx, path, db, log)
	if err != nil {
		return nil, false
	}
	return live.Get(), true
}
