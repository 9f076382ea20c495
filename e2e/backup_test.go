package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/storetest"
)

// acknowledged copies what the load has had answered 202 so far: every one of these events
// was committed before this moment.
func (l *load) acknowledged() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.got202))
	for k, n := range l.got202 {
		out[k] = n
	}
	return out
}

// checkHolds fails unless the database of s holds every event of acked: one alert per dedup
// key, counted at least as many times as it was answered 202 before the backup.
func checkHolds(t *testing.T, s *server, acked map[string]int) {
	t.Helper()
	db := s.openDB()
	counts := map[string]int{}
	rows, err := db.Query(context.Background(), `SELECT dedup_key, count FROM alerts WHERE service_id = 'payments'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		counts[k] += n
	}
	var events int
	for k, n := range acked {
		events += n
		if counts[k] < n {
			t.Errorf("%s: answered 202 %d times before the backup began; the restored database counts %d", k, n, counts[k])
		}
	}
	t.Logf("the restored nines holds all %d events (%d alerts) acknowledged before the backup began; %d alerts in all", events, len(acked), len(counts))
}

// nines backup runs beside a nines taking events; nines restore puts it into a fresh
// directory (and refuses the live one); a nines started on the restored directory holds
// every event acknowledged before the backup began, and the key that signed its links.
func TestABackupTakenUnderLoadRestoresEveryAcknowledgedEvent(t *testing.T) {
	s := newServer(t, "")
	s.start()
	l := newLoad(s.url(""), 8)
	l.run()
	defer l.finish()
	l.waitAccepted(t, 500)

	acked := l.acknowledged()
	archive := filepath.Join(t.TempDir(), "nines-backup.tar.gz")
	out := s.run("backup", "--data", filepath.Join(s.dir, "data"), "--to", archive)
	if !strings.Contains(out, "the key file is in the archive") {
		t.Errorf("nines backup said %q", out)
	}
	during := l.accepted.Load()
	l.waitAccepted(t, during+200) // the server went on taking events meanwhile
	l.finish()
	t.Logf("%d alerts acknowledged before the backup began; %d events by its end", len(acked), during)

	// The live directory is refused, whatever --force says.
	cmd := exec.Command(ninesBin, "restore", "--from", archive, "--data", filepath.Join(s.dir, "data"), "--force")
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "in use by a running nines") {
		t.Errorf("restore over the live database: %v %s; want it refused as in use", err, b)
	}
	s.stop(20 * time.Second)

	r := newServer(t, "")
	if msg := r.run("restore", "--from", archive, "--data", filepath.Join(r.dir, "data")); !strings.Contains(msg, "restored into") {
		t.Errorf("nines restore said %q", msg)
	}
	oldKey, _ := os.ReadFile(filepath.Join(s.dir, "data", "nines.key"))
	newKey, _ := os.ReadFile(filepath.Join(r.dir, "data", "nines.key"))
	if len(oldKey) == 0 || !bytes.Equal(oldKey, newKey) {
		t.Errorf("the restored key file differs from the one nines ran with: links signed before would stop working")
	}
	if fi, err := os.Stat(filepath.Join(r.dir, "data", "nines.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("restored key file: %v %v; want mode 0600", err, fi)
	}
	r.start()
	checkHolds(t, r, acked)
	if status := newLoad(r.url(""), 1).send("after-restore"); status != 202 {
		t.Errorf("the restored nines answered %d to a new event", status)
	}
}

// For PostgreSQL, docs/deploy.md gives pg_dump and pg_restore: the same check, with them.
func TestAPostgreSQLDumpTakenUnderLoadRestoresEveryAcknowledgedEvent(t *testing.T) {
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (Debian package postgresql-client; ./scripts/test installs it)", tool)
		}
	}
	s := newServer(t, storetest.PostgresURL(t))
	s.start()
	l := newLoad(s.url(""), 8)
	l.run()
	defer l.finish()
	l.waitAccepted(t, 500)

	acked := l.acknowledged()
	dump := filepath.Join(t.TempDir(), "nines.dump")
	// As docs/deploy.md says: one consistent snapshot, in the custom format.
	if b, err := exec.Command("pg_dump", "--format=custom", "--no-owner", "--file", dump, s.dbURL).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, b)
	}
	during := l.accepted.Load()
	l.waitAccepted(t, during+200)
	l.finish()
	s.stop(20 * time.Second)

	r := newServer(t, storetest.PostgresURL(t)) // a fresh, empty database
	if b, err := exec.Command("pg_restore", "--no-owner", "--exit-on-error", "--dbname", r.dbURL, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, b)
	}
	r.start() // with the same NINES_KEY
	checkHolds(t, r, acked)
	if status := newLoad(r.url(""), 1).send("after-restore"); status != 202 {
		t.Errorf("the restored nines answered %d to a new event", status)
	}
}
