package store_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/store"
)

// TestTheWALShrinksOnceTheWriterIsIdle: a burst the checkpointer cannot keep up with (a long
// read holds an old snapshot, as a report or a backup does) grows the SQLite WAL far past its
// usual size; the file kept that size for good (1.2 GB after an Alertmanager storm of 16,000
// incidents). Once the writer is idle and nothing holds the old snapshot, the WAL is copied
// into the database and truncated, and a new burst is bounded by store.WALSizeLimit at its
// next reset.
func TestTheWALShrinksOnceTheWriterIsIdle(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(context.Background(), store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.Migrate(ctx, []store.Schema{store.OwnSchema, things}); err != nil {
		t.Fatal(err)
	}
	wal := filepath.Join(dir, "nines.db-wal")
	size := func() int64 {
		fi, err := os.Stat(wal)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	// A reader holds its snapshot (a statement stepped once, not done) while 96 MiB are written.
	for _, name := range []string{"first", "second"} {
		if _, err := db.Exec(ctx, `INSERT INTO things (name, doc) VALUES (?, '{}')`, name); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.Query(ctx, `SELECT name FROM things`)
	if err != nil || !rows.Next() {
		t.Fatal(err)
	}
	blob := make([]byte, 1<<20)
	for i := range 96 {
		rand.Read(blob)
		if _, err := db.Exec(ctx, `INSERT INTO things (name, body, doc) VALUES (?, ?, '{}')`, "t"+string(rune('a'+i%26))+string(rune('a'+i/26)), blob); err != nil {
			t.Fatal(err)
		}
	}
	grown := size()
	rows.Close()
	if grown < store.WALSizeLimit {
		t.Fatalf("the WAL grew to %d MiB only; the test wants it past %d MiB", grown>>20, store.WALSizeLimit>>20)
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() > store.WALSizeLimit {
		if time.Now().After(deadline) {
			t.Fatalf("the WAL is %d MiB 10 s after the writes stopped (it grew to %d MiB); want at most %d MiB", size()>>20, grown>>20, store.WALSizeLimit>>20)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the WAL grew to %d MiB and is %d MiB once idle", grown>>20, size()>>20)
	var n int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM things`).Scan(&n); err != nil || n != 98 {
		t.Errorf("%d rows (%v) after the WAL was truncated, want 98", n, err)
	}
}
