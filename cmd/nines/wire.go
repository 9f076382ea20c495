package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/store"
)

// schemas lists every package's tables, in the order they must be created.
func schemas() []store.Schema { return app.Schemas() }

// dbFlags are the flags that say where the database is.
type dbFlags struct {
	data string
	db   string
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.data, "data", envOr("NINES_DATA", "data"), "directory of the embedded SQLite database (env NINES_DATA)")
	fs.StringVar(&d.db, "db", os.Getenv("NINES_DB"), "PostgreSQL URL, postgres://...; empty for embedded SQLite (env NINES_DB)")
}

// open opens and migrates the database.
func (d *dbFlags) open(ctx context.Context, log *slog.Logger) (*store.DB, error) {
	db, err := store.Open(ctx, store.Options{URL: d.db, DataDir: d.data})
	if err != nil {
		return nil, err
	}
	n, err := db.Migrate(ctx, schemas())
	if err != nil {
		db.Close()
		return nil, err
	}
	if n > 0 {
		log.Info("database migrated", "migrations", n, "dialect", db.Dialect.String())
	}
	return db, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// newLogger logs as text or JSON.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
