package store

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// backupOf makes a real backup of a fresh database with one row in it.
func backupOf(t testing.TB) []byte {
	t.Helper()
	dir := t.TempDir()
	db, err := Open(context.Background(), Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background(), []Schema{OwnSchema, {Component: "things", Migrations: []string{"CREATE TABLE things (name TEXT)"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(context.Background(), "INSERT INTO things VALUES ('kept')"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := Backup(context.Background(), BackupOptions{DataDir: dir, Version: "test", Now: time.Now()}, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rewrite returns the archive with one file's bytes changed by f (nil drops it).
func rewrite(t *testing.T, archive []byte, name string, f func([]byte) []byte) []byte {
	t.Helper()
	zr, _ := gzip.NewReader(bytes.NewReader(archive))
	tr := tar.NewReader(zr)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		var b bytes.Buffer
		b.ReadFrom(tr)
		data := b.Bytes()
		if h.Name == name {
			if f == nil {
				continue
			}
			data = f(data)
		}
		h.Size = int64(len(data))
		tw.WriteHeader(h)
		tw.Write(data)
	}
	tw.Close()
	zw.Close()
	return out.Bytes()
}

func TestRestoreTakesAWholeBackupAndRefusesADamagedOne(t *testing.T) {
	good := backupOf(t)
	flip := func(b []byte) []byte { c := bytes.Clone(b); c[len(c)/2] ^= 0xff; return c }
	for _, tc := range []struct {
		name    string
		archive []byte
		want    string
	}{
		{"a whole backup restores", good, ""},
		{"a flipped byte in the database is refused", rewrite(t, good, "nines.db", flip), "checksum"},
		{"a missing key file is refused", rewrite(t, good, "nines.key", nil), "missing"},
		{"an archive without a manifest is refused", rewrite(t, good, "MANIFEST.json", nil), "not a nines backup"},
		{"a file that is not gzip is refused", []byte("hello"), "not a nines backup"},
		{"a truncated archive is refused", good[:len(good)/2], ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Restore(context.Background(), bytes.NewReader(tc.archive), RestoreOptions{DataDir: dir})
			if tc.name == "a whole backup restores" {
				if err != nil {
					t.Fatal(err)
				}
				db, err := Open(context.Background(), Options{DataDir: dir})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				var name string
				if err := db.QueryRow(context.Background(), "SELECT name FROM things").Scan(&name); err != nil || name != "kept" {
					t.Errorf("restored database: %q %v", name, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Restore: %v; want an error saying %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "nines.db")); err == nil {
				t.Errorf("a refused archive left a database behind")
			}
		})
	}
}

// No archive, however made, crashes restore or leaves a database it did not check.
func FuzzRestore(f *testing.F) {
	f.Add(backupOf(f))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, archive []byte) {
		dir := t.TempDir()
		if _, err := Restore(context.Background(), bytes.NewReader(archive), RestoreOptions{DataDir: dir}); err != nil {
			if _, serr := os.Stat(filepath.Join(dir, "nines.db")); serr == nil {
				t.Fatalf("refused (%v) but left a database", err)
			}
		}
	})
}

// With NoKey the archive holds no key file and says so; restore then leaves none behind.
func TestABackupWithoutItsKeySaysWhereTheKeyIs(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(context.Background(), Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(context.Background(), []Schema{OwnSchema}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	var buf bytes.Buffer
	m, err := Backup(context.Background(), BackupOptions{DataDir: dir, NoKey: true, Now: time.Now()}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if m.Key != "separate" || !strings.Contains(m.String(), "not in the archive") {
		t.Errorf("manifest %+v says %q", m, m)
	}
	to := t.TempDir()
	if _, err := Restore(context.Background(), &buf, RestoreOptions{DataDir: to}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(to, KeyFileName)); err == nil {
		t.Errorf("a backup made without its key restored a key file")
	}
}
