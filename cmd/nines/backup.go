package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/store"
)

// runBackup writes a consistent snapshot of the embedded database and its key file to an
// archive, while nines serves.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", stderr)
	var d dbFlags
	d.register(fs)
	to := fs.String("to", "", "archive to write (a .tar.gz; - for standard output)")
	noKey := fs.Bool("no-key", false, "leave the key file out of the archive (back it up apart: the two together forge links)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" {
		return errors.New("--to: say where to write the backup, e.g. --to nines-$(date +%F).tar.gz")
	}
	if d.db != "" {
		return errors.New("--db: nines backup copies the embedded SQLite database; back PostgreSQL up with pg_dump (docs/deploy.md, \"Backups\")")
	}
	opt := store.BackupOptions{DataDir: d.data, KeyFile: d.keyFile, KeyFromEnv: os.Getenv("NINES_KEY") != "", NoKey: *noKey,
		Version: version, Now: time.Now()}
	if *to == "-" {
		m, err := store.Backup(ctx, opt, stdout)
		if err == nil {
			fmt.Fprintln(stderr, m)
		}
		return err
	}
	// Written beside its final name and renamed once complete and on disk: a backup cut short
	// never passes for a whole one. What one killed midway left there goes first; the file is
	// held (flock) until renamed, so another backup writing beside it leaves it alone.
	dir := filepath.Dir(*to)
	if removed, err := store.RemoveStale(dir, archiveTemp); err != nil {
		return fmt.Errorf("--to: removing what an interrupted backup left: %w", err)
	} else if len(removed) > 0 {
		fmt.Fprintf(stderr, "removed what an interrupted backup left: %s\n", strings.Join(removed, ", "))
	}
	tmp, err := store.CreateHeldTemp(dir, archiveTemp)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	defer tmp.Close()
	defer os.Remove(tmp.Name())
	m, err := store.Backup(ctx, opt, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), *to)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s\n", *to, m)
	return nil
}

// archiveTemp names an archive being written beside its target.
const archiveTemp = ".nines-backup-*"

// runRestore unpacks a backup into a data directory no nines is using.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("restore", stderr)
	from := fs.String("from", "", "backup archive made by nines backup (- for standard input)")
	data := fs.String("data", "", "data directory to restore into (env NINES_DATA)")
	force := fs.Bool("force", false, "replace a database already in the directory (never one a running nines uses)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" {
		*data = os.Getenv("NINES_DATA")
	}
	if *from == "" || *data == "" {
		return errors.New("want --from ARCHIVE and --data DIR")
	}
	var r io.Reader = os.Stdin
	if *from != "-" {
		f, err := os.Open(*from)
		if err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		defer f.Close()
		r = f
	}
	m, err := store.Restore(ctx, r, store.RestoreOptions{DataDir: *data, Force: *force})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored into %s: %s\n", *data, m)
	switch m.Key {
	case "environment":
		fmt.Fprintln(stdout, "start nines with the NINES_KEY it ran with: the archive holds no key")
	case "separate":
		fmt.Fprintf(stdout, "put the key file back as %s before starting nines: the archive holds none\n", filepath.Join(*data, store.KeyFileName))
	}
	return nil
}
