package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/config"
)

// runValidate checks the config's files. Given a database (--data, --db or their environment
// variables), it checks them as nines serve loads them: with the objects made in nines and the
// contact methods each person verified on their profile.
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", stderr)
	cfgPath := fs.String("config", envOr("NINES_CONFIG", "nines.yaml"), "config file or directory")
	var d dbFlags
	d.register(fs)
	// Here the database is read only when named: its flags have no default of their own.
	fs.Lookup("data").DefValue = ""
	fs.Lookup("data").Usage = "data directory of the embedded SQLite database to check the files with, as nines serve loads them (env NINES_DATA); without it or --db, the files alone"
	if err := fs.Parse(args); err != nil {
		return err
	}
	withDB := os.Getenv("NINES_DB") != "" || os.Getenv("NINES_DATA") != ""
	fs.Visit(func(f *flag.Flag) { withDB = withDB || f.Name == "data" || f.Name == "db" })

	var cfg *config.Config
	var err error
	if withDB {
		log, _ := newLogger(stderr, "text", "warn")
		db, oerr := d.openOffline(ctx, log, stderr)
		if oerr != nil {
			return oerr
		}
		defer db.Close()
		var live *config.Live
		if live, err = app.LoadConfig(ctx, *cfgPath, db, log); err == nil {
			cfg = live.Get()
		}
	} else {
		cfg, err = config.Load(*cfgPath)
	}
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(stderr, e.Error())
		}
		fmt.Fprintf(stderr, "%d error(s)\n", len(errs))
		if !withDB && mayBeInTheDatabase(errs) {
			fmt.Fprintln(stderr, "(the files alone: with --data or --db they are checked as nines serve loads them, with the objects made in nines and the contact methods people verified on their profile)")
		}
		return exitError{1}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d services, %d files)\n", *cfgPath, len(cfg.Services), len(cfg.Files))
	return nil
}

// namesTheDatabase matches the errors the database's objects and people's own contact methods
// could answer: a name nothing in the files declares, a person reachable only from their profile.
var namesTheDatabase = regexp.MustCompile(`unknown (user|team|schedule|escalation policy|service|monitor) "|has no contact method`)

func mayBeInTheDatabase(errs config.Errors) bool {
	for _, e := range errs {
		if namesTheDatabase.MatchString(e.Error()) {
			return true
		}
	}
	return false
}
