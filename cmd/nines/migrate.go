package main

import (
	"context"
	"fmt"
	"io"
	"sort"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	var d dbFlags
	d.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, _ := newLogger(stderr, "text", "warn")
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
