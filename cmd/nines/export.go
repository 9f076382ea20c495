package main

import (
	"context"
	"io"

	"github.com/nines-dev/nines/internal/configdb"
)

// runExport prints the config objects made in the web app or the API as YAML of the config's
// own format, read from the database: put in a file of the config, they are declared there,
// and the database's copies give way at the next reload (see docs/config.md).
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	var d dbFlags
	d.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, _ := newLogger(stderr, "text", "warn")
	db, err := d.openOffline(ctx, log, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	out, err := configdb.Export(ctx, db)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}
