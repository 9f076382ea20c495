package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// backupOf makes a real backup of a fresh nines with nines migrate and nines backup, and
// returns the archive.
func backupOf(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	if code, _, errOut := ninesAs(t, "v1", "migrate", "--data", src); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	archive := filepath.Join(t.TempDir(), "nines.tar.gz")
	if code, _, errOut := ninesAs(t, "v1", "backup", "--data", src, "--to", archive); code != 0 {
		t.Fatalf("backup: %s", errOut)
	}
	return archive
}

// damaged rewrites a backup archive with pages of its database overwritten, as a failing
// disk would have left them before the backup read it, and the manifest's checksum to match:
// only the integrity check can tell.
func damaged(t *testing.T, archive string) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name], _ = io.ReadAll(tr)
	}
	db := files["nines.db"]
	for i := 5 * 4096; i < 5*4096+3000; i++ {
		db[i] = 0x5a
	}
	var m map[string]any
	json.Unmarshal(files["MANIFEST.json"], &m)
	sum := sha256.Sum256(db)
	m["files"].(map[string]any)["nines.db"] = hex.EncodeToString(sum[:])
	files["MANIFEST.json"], _ = json.Marshal(m)

	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range []string{"MANIFEST.json", "nines.db", "nines.key"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(files[name]))})
		tw.Write(files[name])
	}
	tw.Close()
	zw.Close()
	out := filepath.Join(t.TempDir(), "damaged.tar.gz")
	os.WriteFile(out, buf.Bytes(), 0o600)
	return out
}

// A restore that fails leaves the target as it found it: a directory it had to make is gone
// again, and nothing (not even nines.lock) is left in one that existed; the error says what
// was wrong, for a damaged database what SQLite's integrity check found.
func TestARestoreThatFailsLeavesTheTargetAsItWas(t *testing.T) {
	good := backupOf(t)
	notABackup := filepath.Join(t.TempDir(), "notes.tar.gz")
	os.WriteFile(notABackup, []byte("not an archive"), 0o600)
	bad := damaged(t, good)
	for _, tc := range []struct {
		name, archive string
		exists        bool
		want          string
	}{
		{"a file that is no backup, into a directory that did not exist", notABackup, false, "not a nines backup"},
		{"a damaged database, into a directory that did not exist", bad, false, "btreeInitPage() returns error code 11"},
		{"a damaged database, into an empty directory", bad, true, "btreeInitPage() returns error code 11"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			if tc.exists {
				os.Mkdir(data, 0o700)
			}
			code, _, errOut := ninesAs(t, "v1", "restore", "--from", tc.archive, "--data", data)
			if code == 0 {
				t.Fatal("the restore succeeded")
			}
			if !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "<nil>") {
				t.Errorf("the restore said %q; want it to say %q", errOut, tc.want)
			}
			entries, err := os.ReadDir(data)
			switch {
			case !tc.exists && err == nil:
				t.Errorf("the restore left %s, which it made, behind (holding %d entries)", data, len(entries))
			case tc.exists && len(entries) != 0:
				t.Errorf("the restore left %d entries in %s, which was empty: %v", len(entries), data, entries)
			}
		})
	}
	// And the good archive restores, into a directory it makes.
	data := filepath.Join(t.TempDir(), "data")
	if code, out, errOut := ninesAs(t, "v1", "restore", "--from", good, "--data", data); code != 0 || !strings.Contains(out, "restored into") {
		t.Fatalf("restore: %s%s", out, errOut)
	}
}

// nines migrate --dry-run changes nothing, even where there is no database yet: it lists every
// migration a first start would run and creates no directory, database, WAL or key file.
func TestMigrateDryRunOnAnEmptyDirectoryCreatesNothing(t *testing.T) {
	for _, exists := range []bool{true, false} {
		data := filepath.Join(t.TempDir(), "data")
		if exists {
			os.Mkdir(data, 0o700)
		}
		code, out, errOut := ninesAs(t, "v1", "migrate", "--dry-run", "--data", data)
		if code != 0 {
			t.Fatalf("migrate --dry-run: %s", errOut)
		}
		for _, want := range []string{"no database in " + data, "store version 1:", "CREATE TABLE secrets", "alert version 1:"} {
			if !strings.Contains(out, want) {
				t.Errorf("the dry run does not say %q:\n%s", want, out)
			}
		}
		entries, err := os.ReadDir(data)
		switch {
		case !exists && err == nil:
			t.Errorf("the dry run made %s", data)
		case exists && len(entries) != 0:
			t.Errorf("the dry run made %v in %s", entries, data)
		}
	}
}

// The database holds what the key signs, and more: like the key file, it and its WAL are
// readable by their owner only, whatever the umask (systemd's unit sets one; a shell's is
// usually 022).
func TestTheDatabaseAndItsWALAreTheOwnersOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	data, cfg := filepath.Join(dir, "data"), filepath.Join(dir, "nines.yaml")
	os.WriteFile(cfg, []byte("services:\n  - id: api\n"), 0o600)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan int)
	var out, errOut syncBuffer
	go func() {
		done <- run(ctx, []string{"serve", "--config", cfg, "--data", data, "--listen", "127.0.0.1:0"}, &out, &errOut)
	}()
	defer func() {
		stop()
		if code := <-done; code != 0 {
			t.Errorf("nines serve exited %d: %s", code, errOut.String())
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if strings.Contains(out.String(), "nines listening on") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nines serve did not start within 10s: %s", errOut.String())
		}
	}
	for _, name := range []string{"nines.db", "nines.db-wal", "nines.db-shm", "nines.key"} {
		fi, err := os.Stat(filepath.Join(data, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v; want 0600", name, fi.Mode().Perm())
		}
	}
}

// syncBuffer is a buffer a command writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
