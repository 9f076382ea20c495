package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/nines-dev/nines/internal/store"
)

// runMigrate brings the schema up to date, or with --dry-run lists what that would run.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	var d dbFlags
	d.register(fs)
	dryRun := fs.Bool("dry-run", false, "list the migrations that would run, with their SQL, and change nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, _ := newLogger(stderr, "text", "warn")
	if *dryRun {
		// It changes nothing: not even a database, a directory or a key file where there is none.
		db, err := d.openExisting(ctx)
		dialect, where := store.SQLite, ""
		var pending []store.Migration
		switch {
		case errors.Is(err, store.ErrNoDatabase):
			pending, where = store.Planned(store.SQLite, nil, schemas()), fmt.Sprintf(" (no database in %s yet: the first start creates it)", d.data)
		case err != nil:
			return err
		default:
			defer db.Close()
			if pending, err = db.Pending(ctx, schemas()); err != nil {
				return err
			}
			dialect = db.Dialect
		}
		if len(pending) == 0 {
			fmt.Fprintln(stdout, "the schema is up to date; nothing would run")
			return nil
		}
		fmt.Fprintf(stdout, "%d migrations would run on %s%s:\n", len(pending), dialect, where)
		for _, m := range pending {
			fmt.Fprintf(stdout, "\n%s version %d:\n", m.Component, m.Version)
			for _, st := range m.Statements {
				fmt.Fprintf(stdout, "    %s;\n", strings.ReplaceAll(strings.TrimSpace(st), "\n", "\n    "))
			}
		}
		return nil
	}
	db, err := d.open(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.Versions(ctx)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(v))
	for n := range v {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(stdout, "%-12s version %d\n", n, v[n])
	}
	return nil
}
