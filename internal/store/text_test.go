package store_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// TestTextWithNULOrBrokenUTF8IsStoredAlikeOnBothBackends: PostgreSQL refuses a NUL byte and
// invalid UTF-8 in text (SQLite stores them), so a string from outside with either failed
// every write there. Both backends store such text with U+FFFD in place of each, through every
// way a statement runs, and a lookup by it finds the row.
func TestTextWithNULOrBrokenUTF8IsStoredAlikeOnBothBackends(t *testing.T) {
	t.Parallel()
	type label string // a named string type, as packages pass their own
	storetest.Each(t, []store.Schema{store.OwnSchema, things}, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cases := []struct {
			name      string
			write     func(name string) error
			in, saved string
		}{
			{"a NUL byte through Exec", func(n string) error {
				_, err := db.Exec(ctx, `INSERT INTO things (name, doc) VALUES (?, '{}')`, n)
				return err
			}, "nul\x00byte", "nul\ufffdbyte"},
			{"invalid UTF-8 through a transaction", func(n string) error {
				return db.Tx(ctx, func(tx *store.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO things (name, doc) VALUES (?, '{}')`, n)
					return err
				})
			}, "bad\xff\xfeutf8", "bad\ufffdutf8"},
			{"a NUL byte in a row queued for later", func(n string) error {
				return db.Tx(ctx, func(tx *store.Tx) error {
					tx.InsertLater(`INSERT INTO things (name, doc)`, n, "{}")
					return nil
				})
			}, "later\x00", "later\ufffd"},
			{"a NUL byte through InsertID", func(n string) error {
				return db.Tx(ctx, func(tx *store.Tx) error {
					_, err := tx.InsertID(ctx, `INSERT INTO things (name, doc) VALUES (?, '{}')`, n)
					return err
				})
			}, "\x00id", "\ufffdid"},
			{"a NUL byte in a named string type", func(n string) error {
				_, err := db.Exec(ctx, `INSERT INTO things (name, doc) VALUES (?, '{}')`, label(n))
				return err
			}, "named\x00", "named\ufffd"},
			{"a NUL byte in a NullString", func(n string) error {
				_, err := db.Exec(ctx, `INSERT INTO things (name, doc) VALUES (?, '{}')`, sql.NullString{String: n, Valid: true})
				return err
			}, "null\x00string", "null\ufffdstring"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if err := c.write(c.in); err != nil {
					t.Fatalf("writing %q: %v", c.in, err)
				}
				var got string
				if err := db.QueryRow(ctx, `SELECT name FROM things WHERE name = ?`, c.in).Scan(&got); err != nil {
					t.Fatalf("looking %q up: %v", c.in, err)
				}
				if got != c.saved {
					t.Errorf("stored %q, want %q", got, c.saved)
				}
			})
		}
		// Bytes are bytes: a blob keeps its NUL.
		if _, err := db.Exec(ctx, `INSERT INTO things (name, body, doc) VALUES ('blob', ?, '{}')`, []byte("a\x00b")); err != nil {
			t.Fatal(err)
		}
		var body []byte
		if err := db.QueryRow(ctx, `SELECT body FROM things WHERE name = 'blob'`).Scan(&body); err != nil || string(body) != "a\x00b" {
			t.Errorf("a blob read back as %q (%v), want its NUL kept", body, err)
		}
		if got := store.ValidText("ok\x00\xff"); got != "ok\ufffd\ufffd" {
			t.Errorf("ValidText = %q", got)
		}
	})
}
