package e2e

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// holdDatabase keeps every other connection out of the SQLite database in dir (an exclusive
// lock, as a long write would), so that a nines backup started meanwhile waits inside its
// snapshot with its temporary files made. release lets them in.
func holdDatabase(t *testing.T, dir string) (release func()) {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "nines.db")+"?_pragma=locking_mode(EXCLUSIVE)")
	if err != nil {
		t.Fatal(err)
	}
	conn.SetMaxOpenConns(1)
	tx, err := conn.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE schema_migrations SET version = version`); err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if !done {
			done = true
			tx.Rollback()
			conn.Close()
		}
	}
	t.Cleanup(release)
	return release
}

// temps lists the names in dir that match pattern.
func temps(t *testing.T, dir, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range m {
		out = append(out, filepath.Base(p))
	}
	sort.Strings(out)
	return out
}

// startBackup runs nines backup into to and waits until it has made its temporary files: a
// snapshot directory in the data directory, and the archive being written beside to (names
// that were not there before it started).
func startBackup(t *testing.T, data, to string) *exec.Cmd {
	t.Helper()
	seen := map[string]bool{}
	for _, n := range append(temps(t, data, ".backup-*"), temps(t, filepath.Dir(to), ".nines-backup-*")...) {
		seen[n] = true
	}
	cmd := exec.Command(ninesBin, "backup", "--data", data, "--to", to)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	made := func(names []string) bool {
		for _, n := range names {
			if !seen[n] {
				return true
			}
		}
		return false
	}
	eventually(t, 5*time.Second, func() string {
		if !made(temps(t, data, ".backup-*")) {
			return "the backup has not made its snapshot directory: " + out.String()
		}
		if !made(temps(t, filepath.Dir(to), ".nines-backup-*")) {
			return "the backup has not made its archive's temporary file: " + out.String()
		}
		return ""
	})
	return cmd
}

// A backup killed with kill -9 leaves a full-size copy of the database in the data directory
// and a partial archive beside its target. The next backup removes them (and none a backup
// running meanwhile holds), and so does nines serve at start for those in the data directory.
func TestWhatAKilledBackupLeftIsRemovedByTheNextBackupAndAtStart(t *testing.T) {
	s := newServer(t, "")
	s.start()
	if status := newLoad(s.url(""), 1).send("before-backup"); status != 202 {
		t.Fatalf("event answered %d", status)
	}
	s.stop(20 * time.Second)
	data, backups := filepath.Join(s.dir, "data"), t.TempDir()

	release := holdDatabase(t, data)
	killed := startBackup(t, data, filepath.Join(backups, "killed.tar.gz"))
	killed.Process.Kill()
	killed.Wait()
	staleSnap, staleArchive := temps(t, data, ".backup-*"), temps(t, backups, ".nines-backup-*")
	if len(staleSnap) != 1 || len(staleArchive) != 1 {
		t.Fatalf("after kill -9: %v in the data directory, %v beside the target; want one of each", staleSnap, staleArchive)
	}

	// The next backup removes them before it makes its own.
	next := startBackup(t, data, filepath.Join(backups, "next.tar.gz"))
	if got := temps(t, data, ".backup-*"); len(got) != 1 || got[0] == staleSnap[0] {
		t.Errorf("snapshot directories while the next backup runs: %v; want only its own, not %v", got, staleSnap)
	}
	if got := temps(t, backups, ".nines-backup-*"); len(got) != 1 || got[0] == staleArchive[0] {
		t.Errorf("archives being written while the next backup runs: %v; want only its own, not %v", got, staleArchive)
	}
	// A third backup started meanwhile leaves the running one's files alone.
	third := startBackup(t, data, filepath.Join(backups, "third.tar.gz"))
	if got := temps(t, data, ".backup-*"); len(got) != 2 {
		t.Errorf("snapshot directories while two backups run: %v; want both", got)
	}
	if got := temps(t, backups, ".nines-backup-*"); len(got) != 2 {
		t.Errorf("archives being written while two backups run: %v; want both", got)
	}
	release()
	for name, cmd := range map[string]*exec.Cmd{"next": next, "third": third} {
		if err := cmd.Wait(); err != nil {
			t.Errorf("the %s backup failed: %v", name, err)
		}
		if _, err := os.Stat(filepath.Join(backups, name+".tar.gz")); err != nil {
			t.Errorf("the %s backup: %v", name, err)
		}
	}
	if got := append(temps(t, data, ".backup-*"), temps(t, backups, ".nines-backup-*")...); len(got) != 0 {
		t.Errorf("after the backups finished, left behind: %v", got)
	}

	// Killed again; this time nines serve starts before any backup runs.
	release = holdDatabase(t, data)
	killed = startBackup(t, data, filepath.Join(backups, "killed-again.tar.gz"))
	killed.Process.Kill()
	killed.Wait()
	release()
	s.start()
	if got := temps(t, data, ".backup-*"); len(got) != 0 {
		t.Errorf("nines serve started and left %v in the data directory", got)
	}
	r := newServer(t, "")
	if msg := r.run("restore", "--from", filepath.Join(backups, "next.tar.gz"), "--data", filepath.Join(r.dir, "data")); !strings.Contains(msg, "restored into") {
		t.Errorf("the backup taken after the kill does not restore: %s", msg)
	}
}
