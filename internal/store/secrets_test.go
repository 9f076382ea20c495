package store_test

import (
	"bytes"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// The signing keys nines derives from the database are not usable from a copy of the database
// alone: the same database opened with another key gives other secrets.
func TestSecretsNeedTheKeyHeldOutsideTheDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("sqlite makes a key file of mode 0600 beside the database and keeps it", func(t *testing.T) {
		dir := t.TempDir()
		db, err := store.Open(ctx, store.Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if !db.KeyCreated() || db.KeyPath() != filepath.Join(dir, store.KeyFileName) {
			t.Errorf("KeyCreated %v, KeyPath %q", db.KeyCreated(), db.KeyPath())
		}
		fi, err := os.Stat(filepath.Join(dir, store.KeyFileName))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file: %v %v, want mode 0600", fi, err)
		}
		if _, err := db.Migrate(ctx, schemas); err != nil {
			t.Fatal(err)
		}
		first, err := db.Secret(ctx, "csrf")
		if err != nil {
			t.Fatal(err)
		}
		db.Close()

		again, err := store.Open(ctx, store.Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		if again.KeyCreated() {
			t.Error("a second open made a new key")
		}
		if s, _ := again.Secret(ctx, "csrf"); !bytes.Equal(s, first) {
			t.Error("the secret changed across a reopen with the same key file")
		}

		// A copy of the database, without the key file: another key, other secrets.
		copyDir := t.TempDir()
		data, _ := os.ReadFile(filepath.Join(dir, "nines.db"))
		os.WriteFile(filepath.Join(copyDir, "nines.db"), data, 0o600)
		stolen, err := store.Open(ctx, store.Options{DataDir: copyDir})
		if err != nil {
			t.Fatal(err)
		}
		defer stolen.Close()
		if s, _ := stolen.Secret(ctx, "csrf"); bytes.Equal(s, first) {
			t.Error("a copy of the database without its key file gives the same secret")
		}
	})
	t.Run("postgres takes the key from the environment or a key file, and needs one", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		keyless, err := store.Open(ctx, store.Options{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		defer keyless.Close()
		if _, err := keyless.Migrate(ctx, schemas); err != nil {
			t.Fatal(err)
		}
		if err := keyless.CheckKey(); !errors.Is(err, store.ErrNoKey) {
			t.Errorf("CheckKey without a key: %v, want ErrNoKey", err)
		}
		if _, err := keyless.Secret(ctx, "csrf"); !errors.Is(err, store.ErrNoKey) {
			t.Errorf("Secret without a key: %v, want ErrNoKey", err)
		}
		keyFile := filepath.Join(t.TempDir(), "nines.key")
		os.WriteFile(keyFile, []byte("0123456789abcdef0123456789abcdef0123456789abcdef\n"), 0o600)
		viaFile, err := store.Open(ctx, store.Options{URL: url, KeyFile: keyFile})
		if err != nil {
			t.Fatal(err)
		}
		defer viaFile.Close()
		viaEnv, err := store.Open(ctx, store.Options{URL: url, Key: []byte("0123456789abcdef0123456789abcdef0123456789abcdef")})
		if err != nil {
			t.Fatal(err)
		}
		defer viaEnv.Close()
		other, err := store.Open(ctx, store.Options{URL: url, Key: []byte("another key, as long as it has to be: 32+ bytes")})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		a, err1 := viaFile.Secret(ctx, "links")
		b, err2 := viaEnv.Secret(ctx, "links")
		c, err3 := other.Secret(ctx, "links")
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Error("the same key from a file and from the environment gives different secrets")
		}
		if bytes.Equal(a, c) {
			t.Error("another key gives the same secret")
		}
	})
	t.Run("bad keys are refused with what is wrong", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			opt  store.Options
			want string
		}{
			{"a short key", store.Options{DataDir: t.TempDir(), Key: []byte("short")}, "want at least 32"},
			{"a missing key file", store.Options{DataDir: t.TempDir(), KeyFile: filepath.Join(t.TempDir(), "none")}, "key file"},
			{"a key file of spaces", store.Options{DataDir: t.TempDir(), KeyFile: writeFile(t, strings.Repeat(" ", 40))}, "0 bytes"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				db, err := store.Open(ctx, tc.opt)
				if err == nil {
					db.Close()
				}
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Open: %v, want an error containing %q", err, tc.want)
				}
			})
		}
	})
}

func writeFile(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte(content), 0o600)
	return p
}

func TestCheckWritesCommitsOnBothBackends(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		for i := range 3 {
			if err := db.CheckWrites(context.Background(), int64(i)); err != nil {
				t.Fatalf("CheckWrites %d: %v", i, err)
			}
		}
	})
}

func TestUnavailableTellsAnOutageFromABadRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"no error", nil, false},
		{"a PostgreSQL server shutting down", &pgconn.PgError{Code: "57P01"}, true},
		{"a PostgreSQL server out of disk", &pgconn.PgError{Code: "53100"}, true},
		{"a read-only PostgreSQL", &pgconn.PgError{Code: "25006"}, true},
		{"a unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"a syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"a dropped connection", fmt.Errorf("query: %w", driver.ErrBadConn), true},
		{"an error of the request", errors.New("title is required"), false},
		{"a deadline of the request", context.DeadlineExceeded, false},
		{"another service than the database down", &url.Error{Op: "Get", URL: "http://prometheus:9090", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, false},
		{"the database's connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := store.Unavailable(tc.err); got != tc.want {
				t.Errorf("Unavailable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// The installation id is made once and kept: every node, every reopen and every backup of
// the database reads the same; another database has another.
func TestTheInstallationIDIsMadeOnceAndDiffersBetweenDatabases(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, []store.Schema{store.OwnSchema}, func(t *testing.T, db *store.DB) {
		id, err := db.InstallID(ctx)
		if err != nil || len(id) != 16 {
			t.Fatalf("InstallID = %q, %v; want 16 hex digits", id, err)
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM secrets WHERE value LIKE ?`, id+"%").Scan(&n); err != nil || n != 1 {
			t.Fatalf("the id is not stored in the database: %d rows, %v", n, err)
		}
		other := storetest.SQLite(t, []store.Schema{store.OwnSchema})
		if o, err := other.InstallID(ctx); err != nil || o == id {
			t.Errorf("another database's installation id: %q, %v; want another than %q", o, err, id)
		}
	})
	dir := t.TempDir()
	var ids []string
	for range 2 {
		db, err := store.Open(ctx, store.Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(ctx, []store.Schema{store.OwnSchema}); err != nil {
			t.Fatal(err)
		}
		id, err := db.InstallID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		db.Close()
	}
	if ids[0] != ids[1] {
		t.Errorf("reopened, the database has installation id %s; it had %s", ids[1], ids[0])
	}
}
