package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/store"
)

// schemas lists every package's tables, in the order they must be created.
func schemas() []store.Schema { return app.Schemas() }

// dbFlags are the flags that say where the database is, and the key used with it.
type dbFlags struct {
	init    bool
	data    string
	db      string
	keyFile string
	fs      *flag.FlagSet
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	d.fs = fs
	fs.StringVar(&d.data, "data", envOr("NINES_DATA", "data"), "directory of the embedded SQLite database (env NINES_DATA)")
	fs.StringVar(&d.db, "db", os.Getenv("NINES_DB"), "PostgreSQL URL, postgres://...; empty for embedded SQLite (env NINES_DB)")
	fs.StringVar(&d.keyFile, "key-file", os.Getenv("NINES_KEY_FILE"),
		"file holding the key links and forms are signed with (env NINES_KEY_FILE, or the key itself in NINES_KEY); default with SQLite: nines.key in the data directory")
}

// registerInit adds --init, for offline commands that must not make a new database unasked.
func (d *dbFlags) registerInit(fs *flag.FlagSet) {
	fs.BoolVar(&d.init, "init", false, "create a new, empty database when the data directory holds none (by default the command refuses, so a wrong --data or working directory is noticed)")
}

// openOffline opens and migrates the database for a command run beside the server (nines user,
// nines token): it says on stderr which database it used, and refuses to make a new, empty
// SQLite database unless --init was given, so an account made from the wrong directory is not
// silently kept in a database nines serve never reads.
func (d *dbFlags) openOffline(ctx context.Context, log *slog.Logger, stderr io.Writer) (*store.DB, error) {
	d.settle()
	where := "PostgreSQL database " + redactURL(d.db)
	if d.db == "" {
		abs, err := filepath.Abs(d.data)
		if err != nil {
			abs = d.data
		}
		where = "data directory " + abs
		if _, err := os.Stat(filepath.Join(d.data, "nines.db")); errors.Is(err, fs.ErrNotExist) && !d.init {
			return nil, fmt.Errorf("no database in %s: run this where nines serve keeps its data (--data, or NINES_DATA), or pass --init to create a new, empty one there", abs)
		}
	}
	fmt.Fprintf(stderr, "using the %s\n", where)
	return d.open(ctx, log)
}

// redactURL hides the password of a database URL.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unreadable URL)"
}

// open opens and migrates the database.
func (d *dbFlags) open(ctx context.Context, log *slog.Logger) (*store.DB, error) {
	db, err := d.openOnly(ctx, log)
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

// openOnly opens the database without migrating it.
// settle applies the rule that a flag given beats the environment: --data given without --db
// names the embedded database even when NINES_DB is set.
func (d *dbFlags) settle() {
	if d.fs != nil && d.given("data") && !d.given("db") {
		d.db = ""
	}
}

func (d *dbFlags) openOnly(ctx context.Context, log *slog.Logger) (*store.DB, error) {
	d.settle()
	if u, err := url.Parse(d.db); err == nil && u.User != nil && d.given("db") {
		if _, ok := u.User.Password(); ok {
			log.Warn("--db holds a password, which the process list shows to every user of this machine; set NINES_DB, or leave the password out and use PGPASSWORD or ~/.pgpass")
		}
	}
	opt := store.Options{URL: d.db, DataDir: d.data, KeyFile: d.keyFile, Version: version}
	if k := os.Getenv("NINES_KEY"); k != "" {
		opt.Key = []byte(k)
	}
	db, err := store.Open(ctx, opt)
	if err != nil {
		return nil, err
	}
	if p := db.KeyPath(); p != "" {
		if db.KeyCreated() {
			log.Info("created the key file; back it up with the database: links, calendar feeds and forms signed with it stop working without it", "path", p)
		} else if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("the key file can be read by other users; chmod 600 it", "path", p, "mode", fi.Mode().Perm().String())
		}
	}
	if db.Dialect == store.SQLite {
		// nines makes it 0600; one made by an older nines may not be.
		p := filepath.Join(d.data, "nines.db")
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("the database can be read by other users; chmod 600 it (and its -wal and -shm files)", "path", p, "mode", fi.Mode().Perm().String())
		}
	}
	return db, nil
}

// given says whether the flag was set on the command line.
func (d *dbFlags) given(name string) bool {
	set := false
	if d.fs != nil {
		d.fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	}
	return set
}

// openExisting opens the database as it is, making nothing (nines migrate --dry-run): no
// data directory, database or key file; store.ErrNoDatabase where there is none.
func (d *dbFlags) openExisting(ctx context.Context) (*store.DB, error) {
	opt := store.Options{URL: d.db, DataDir: d.data, KeyFile: d.keyFile, Version: version, NoCreate: true}
	if k := os.Getenv("NINES_KEY"); k != "" {
		opt.Key = []byte(k)
	}
	return store.Open(ctx, opt)
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
