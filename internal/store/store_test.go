package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// things is a small schema the store tests write to.
var things = store.Schema{Component: "things", Migrations: []string{`
CREATE TABLE things (
	id {{id}},
	name TEXT NOT NULL UNIQUE,
	body {{blob}},
	doc {{json}}
);
`}}

var schemas = []store.Schema{store.OwnSchema, things}

// backend opens two handles on one fresh, unmigrated database: two nodes of a cluster, or two
// processes on one SQLite file.
type backend struct {
	name string
	open func(t *testing.T) (a, b *store.DB)
}

func backends() []backend {
	openPair := func(t *testing.T, opt store.Options) (*store.DB, *store.DB) {
		t.Helper()
		var dbs [2]*store.DB
		for i := range dbs {
			db, err := store.Open(context.Background(), opt)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs[i] = db
		}
		return dbs[0], dbs[1]
	}
	return []backend{
		{"sqlite", func(t *testing.T) (*store.DB, *store.DB) {
			return openPair(t, store.Options{DataDir: t.TempDir()})
		}},
		{"postgres", func(t *testing.T) (*store.DB, *store.DB) {
			return openPair(t, store.Options{URL: storetest.PostgresURL(t), Key: storetest.Key})
		}},
	}
}

func eachFresh(t *testing.T, fn func(t *testing.T, a, b *store.DB)) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			a, b := be.open(t)
			fn(t, a, b)
		})
	}
}

func count(t *testing.T, db *store.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestMigrateAppliesEveryMigrationOnceAndRecordsVersions(t *testing.T) {
	t.Parallel()
	eachFresh(t, func(t *testing.T, db, _ *store.DB) {
		ctx := context.Background()
		n, err := db.Migrate(ctx, schemas)
		if err != nil {
			t.Fatal(err)
		}
		if want := len(store.OwnSchema.Migrations) + 1; n != want {
			t.Errorf("first migrate applied %d migrations, want %d", n, want)
		}
		v, err := db.Versions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v["store"] != len(store.OwnSchema.Migrations) || v["things"] != 1 {
			t.Errorf("versions = %v, want store %d and things 1", v, len(store.OwnSchema.Migrations))
		}
		if _, err := db.Exec(ctx, `INSERT INTO things (name, body, doc) VALUES (?, ?, ?)`, "a", []byte{0, 1, 2}, `{"k":1}`); err != nil {
			t.Fatalf("the migrated table does not take a row: %v", err)
		}

		n, err = db.Migrate(ctx, schemas)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("re-running migrate applied %d migrations, want 0", n)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM things`); got != 1 {
			t.Errorf("re-running migrate touched the data: %d rows, want 1", got)
		}

		// A new release adds a migration: only it runs.
		grown := store.Schema{Component: "things", Migrations: append(append([]string{}, things.Migrations...),
			`ALTER TABLE things ADD COLUMN colour TEXT NOT NULL DEFAULT 'red'`)}
		n, err = db.Migrate(ctx, []store.Schema{store.OwnSchema, grown})
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("migrating to a release with one more migration applied %d, want 1", n)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM things WHERE colour = 'red'`); got != 1 {
			t.Errorf("the new column is missing its default on the old row")
		}
	})
}

func TestMigrateRefusesADatabaseNewerThanTheBinary(t *testing.T) {
	t.Parallel()
	eachFresh(t, func(t *testing.T, db, _ *store.DB) {
		ctx := context.Background()
		newer := store.Schema{Component: "things", Migrations: append(append([]string{}, things.Migrations...),
			`CREATE TABLE gadgets (id {{id}})`)}
		if _, err := db.Migrate(ctx, []store.Schema{store.OwnSchema, newer}); err != nil {
			t.Fatal(err)
		}
		// The older binary knows only things version 1 and also brings a component the newer one lacks.
		extra := store.Schema{Component: "extra", Migrations: []string{`CREATE TABLE extra (id {{id}})`}}
		_, err := db.Migrate(ctx, []store.Schema{store.OwnSchema, things, extra})
		var newerErr *store.ErrNewerSchema
		if !errors.As(err, &newerErr) {
			t.Fatalf("migrating a newer database: err = %v, want *store.ErrNewerSchema", err)
		}
		if newerErr.Component != "things" || newerErr.Have != 2 || newerErr.Support != 1 {
			t.Errorf("ErrNewerSchema = %+v, want component things, have 2, support 1", *newerErr)
		}
		for _, want := range []string{`"things"`, "version 2", "only up to 1", "run the newer nines"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		v, _ := db.Versions(ctx)
		if _, ok := v["extra"]; ok || v["things"] != 2 {
			t.Errorf("a refused migration changed the versions: %v", v)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM schema_migrations WHERE component = 'extra'`); got != 0 {
			t.Errorf("a refused migration recorded a component")
		}
	})
}

func TestAFailedMigrationChangesNothing(t *testing.T) {
	t.Parallel()
	eachFresh(t, func(t *testing.T, db, _ *store.DB) {
		ctx := context.Background()
		broken := store.Schema{Component: "broken", Migrations: []string{
			`CREATE TABLE first_table (id {{id}})`,
			`CREATE TABLE second_table (id {{id}}, nope NOT_A_TYPE_AT_ALL(`,
		}}
		_, err := db.Migrate(ctx, []store.Schema{store.OwnSchema, broken})
		if err == nil || !strings.Contains(err.Error(), "migrate broken to version 2") {
			t.Fatalf("err = %v, want one naming broken version 2", err)
		}
		// Nothing of the run is left: not the store's own table, not broken's first migration.
		if _, err := db.Exec(ctx, `INSERT INTO first_table DEFAULT VALUES`); err == nil {
			t.Error("first_table exists although its run failed")
		}
		if _, err := db.Exec(ctx, `SELECT COUNT(*) FROM secrets`); err == nil {
			t.Error("secrets exists although the run that made it failed")
		}
	})
}

func TestTwoNodesMigratingAtOnceApplyEachMigrationOnce(t *testing.T) {
	t.Parallel()
	eachFresh(t, func(t *testing.T, a, b *store.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		var applied [2]int
		var errs [2]error
		for i, db := range []*store.DB{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				applied[i], errs[i] = db.Migrate(ctx, schemas)
			}()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("concurrent migrations failed: %v, %v", errs[0], errs[1])
		}
		if want := len(store.OwnSchema.Migrations) + 1; applied[0]+applied[1] != want {
			t.Errorf("the two nodes applied %d and %d migrations; want %d in all", applied[0], applied[1], want)
		}
	})
}

func TestQuestionMarksAreRewrittenOnlyOutsideStringLiterals(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cases := []struct {
			name  string
			query string
			args  []any
			want  string
		}{
			{"a lone placeholder is bound", `SELECT ?`, []any{"x"}, "x"},
			{"placeholders are bound in order", `SELECT ? || '-' || ?`, []any{"a", "b"}, "a-b"},
			{"a question mark in a string stays literal", `SELECT 'why?' || ?`, []any{"!"}, "why?!"},
			{"a doubled quote does not end the string", `SELECT 'it''s ?' || ?`, []any{"x"}, "it's ?x"},
			{"strings on both sides of a placeholder", `SELECT '?' || ? || '?'`, []any{"y"}, "?y?"},
			{"a question mark in a quoted identifier stays literal", `SELECT ? AS "what?"`, []any{"z"}, "z"},
			{"a question mark in a line comment is not a placeholder", "SELECT -- why not? because\n ?", []any{"c"}, "c"},
			{"a question mark in a block comment is not a placeholder", "SELECT /* huh? */ ?", []any{"d"}, "d"},
		}
		for _, c := range cases {
			var got string
			if err := db.QueryRow(ctx, c.query, c.args...).Scan(&got); err != nil {
				t.Errorf("%s: %s: %v (rewritten %q)", c.name, c.query, err, db.Q(c.query))
				continue
			}
			if got != c.want {
				t.Errorf("%s: %s = %q, want %q", c.name, c.query, got, c.want)
			}
		}
		if db.Dialect == store.Postgres {
			if got, want := db.Q(`SELECT 'a?' || ? || ?`), `SELECT 'a?' || $1 || $2`; got != want {
				t.Errorf("Q = %q, want %q", got, want)
			}
		} else if got := db.Q(`SELECT ?`); got != `SELECT ?` {
			t.Errorf("SQLite query was rewritten to %q", got)
		}
	})
}

func TestSavepointUndoesOnlyTheFailingUnit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ran []string
		errBoom := errors.New("boom")
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO things (name) VALUES (?)`, "before"); err != nil {
				return err
			}
			// A unit that fails in Go after writing.
			err := tx.Savepoint(ctx, func() error {
				if _, err := tx.Exec(ctx, `INSERT INTO things (name) VALUES (?)`, "undone"); err != nil {
					return err
				}
				tx.AfterCommit(func() { ran = append(ran, "undone") })
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Errorf("Savepoint returned %v, want the unit's error", err)
			}
			// A unit that fails in SQL: PostgreSQL aborts the transaction until the rollback.
			err = tx.Savepoint(ctx, func() error {
				_, err := tx.Exec(ctx, `INSERT INTO things (name) VALUES (?)`, "before")
				return err
			})
			if !store.IsUniqueViolation(err) {
				t.Errorf("duplicate insert in a savepoint: err = %v, want a unique violation", err)
			}
			// A nested unit that succeeds inside one that succeeds.
			err = tx.Savepoint(ctx, func() error {
				return tx.Savepoint(ctx, func() error {
					_, err := tx.Exec(ctx, `INSERT INTO things (name) VALUES (?)`, "nested")
					tx.AfterCommit(func() { ran = append(ran, "nested") })
					return err
				})
			})
			if err != nil {
				t.Errorf("nested savepoint: %v", err)
			}
			_, err = tx.Exec(ctx, `INSERT INTO things (name) VALUES (?)`, "after")
			return err
		})
		if err != nil {
			t.Fatalf("the transaction did not go on after its failed units: %v", err)
		}
		rows, err := db.Query(ctx, `SELECT name FROM things ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var names []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			names = append(names, n)
		}
		if got := strings.Join(names, ","); got != "before,nested,after" {
			t.Errorf("rows = %s, want before,nested,after", got)
		}
		if got := strings.Join(ran, ","); got != "nested" {
			t.Errorf("after-commit functions run = %q; the failed unit's must be dropped", got)
		}
	})
}

func TestAfterCommitRunsOnlyOnceTheCommitIsVisible(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var order []string
		seen := -1
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO things (name) VALUES (?)`, "a"); err != nil {
				return err
			}
			tx.AfterCommit(func() {
				// A reader outside the transaction already sees the row.
				seen = count(t, db, `SELECT COUNT(*) FROM things WHERE name = ?`, "a")
				order = append(order, "first")
			})
			tx.AfterCommit(func() { order = append(order, "second") })
			if len(order) != 0 {
				t.Error("AfterCommit ran before the commit")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if seen != 1 {
			t.Errorf("inside AfterCommit a reader saw %d rows, want the committed 1", seen)
		}
		if got := strings.Join(order, ","); got != "first,second" {
			t.Errorf("AfterCommit order = %s, want first,second", got)
		}

		ran := false
		errNo := errors.New("changed my mind")
		err = db.Tx(ctx, func(tx *store.Tx) error {
			tx.Exec(ctx, `INSERT INTO things (name) VALUES (?)`, "b")
			tx.AfterCommit(func() { ran = true })
			return errNo
		})
		if !errors.Is(err, errNo) {
			t.Errorf("Tx returned %v, want the function's error", err)
		}
		if ran {
			t.Error("AfterCommit ran for a rolled-back transaction")
		}
		if got := count(t, db, `SELECT COUNT(*) FROM things WHERE name = ?`, "b"); got != 0 {
			t.Error("a rolled-back transaction left its row")
		}
	})
}

func TestInsertIDReturnsTheNewRowsID(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ids []int64
		err := db.Tx(ctx, func(tx *store.Tx) error {
			for _, n := range []string{"x", "y", "z"} {
				id, err := tx.InsertID(ctx, `INSERT INTO things (name) VALUES (?)`, n)
				if err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range []string{"x", "y", "z"} {
			var name string
			if err := db.QueryRow(ctx, `SELECT name FROM things WHERE id = ?`, ids[i]).Scan(&name); err != nil || name != n {
				t.Errorf("id %d names %q (%v), want %q", ids[i], name, err, n)
			}
		}
		if !(ids[0] < ids[1] && ids[1] < ids[2]) {
			t.Errorf("ids %v are not increasing", ids)
		}
	})
}

func TestIsUniqueViolationRecognisesBothBackends(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Exec(ctx, `INSERT INTO things (name) VALUES (?)`, "same"); err != nil {
			t.Fatal(err)
		}
		_, err := db.Exec(ctx, `INSERT INTO things (name) VALUES (?)`, "same")
		if !store.IsUniqueViolation(err) {
			t.Errorf("IsUniqueViolation(%v) = false", err)
		}
		_, err = db.Exec(ctx, `INSERT INTO no_such_table (name) VALUES (?)`, "x")
		if err == nil || store.IsUniqueViolation(err) {
			t.Errorf("IsUniqueViolation(%v) = true for an error that is not one", err)
		}
		if store.IsUniqueViolation(nil) {
			t.Error("IsUniqueViolation(nil) = true")
		}
	})
}

func TestSecretIsStableAndSharedByEveryNode(t *testing.T) {
	t.Parallel()
	eachFresh(t, func(t *testing.T, a, b *store.DB) {
		ctx := context.Background()
		if _, err := a.Migrate(ctx, schemas); err != nil {
			t.Fatal(err)
		}
		// Two nodes asking for a secret for the first time at once still agree.
		var wg sync.WaitGroup
		got := make([][]byte, 8)
		errs := make([]error, 8)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db := a
				if i%2 == 1 {
					db = b
				}
				got[i], errs[i] = db.Secret(ctx, "csrf")
			}()
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil {
				t.Fatalf("Secret: %v", errs[i])
			}
			if len(got[i]) != 32 {
				t.Fatalf("secret is %d bytes, want 32", len(got[i]))
			}
			if !bytes.Equal(got[i], got[0]) {
				t.Fatalf("nodes disagree on the secret: %x vs %x", got[i], got[0])
			}
		}
		again, err := a.Secret(ctx, "csrf")
		if err != nil || !bytes.Equal(again, got[0]) {
			t.Errorf("the secret changed on a later read: %x, %v", again, err)
		}
		other, err := b.Secret(ctx, "links")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(other, got[0]) {
			t.Error("two names share one secret")
		}
		if bytes.Equal(got[0], make([]byte, 32)) {
			t.Error("the secret is all zeros")
		}
	})
}

func TestOpenRefusesAURLThatIsNotPostgres(t *testing.T) {
	t.Parallel()
	_, err := store.Open(context.Background(), store.Options{URL: "mysql://localhost/x"})
	if err == nil || !strings.Contains(err.Error(), "not a postgres:// URL") {
		t.Errorf("err = %v, want it to say the URL is not postgres://", err)
	}
}

func TestSQLiteReadersSeeCommittedWrites(t *testing.T) {
	t.Parallel()
	db := storetest.SQLite(t, schemas)
	ctx := context.Background()
	for i := range 20 {
		if _, err := db.Exec(ctx, `INSERT INTO things (name) VALUES (?)`, fmt.Sprint("n", i)); err != nil {
			t.Fatal(err)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM things`); got != i+1 {
			t.Fatalf("after %d commits the reader pool sees %d rows", i+1, got)
		}
	}
	// The reader pool is read-only: a write through it would bypass the single writer.
	_, err := db.Query(ctx, `INSERT INTO things (name) VALUES ('sneaky')`)
	if err == nil {
		t.Error("a write through the reader pool succeeded")
	}
}

func TestAPanicInsideATransactionRollsItBack(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		func() {
			defer func() {
				if p := recover(); p != "hook bug" {
					t.Errorf("recovered %v, want the panic to go on to the caller", p)
				}
			}()
			db.Tx(ctx, func(tx *store.Tx) error {
				tx.Exec(ctx, `INSERT INTO things (name) VALUES (?)`, "half-done")
				panic("hook bug")
			})
		}()
		// The writer must be free again: on SQLite there is only one.
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := db.Exec(ctx, `INSERT INTO things (name) VALUES (?)`, "after"); err != nil {
			t.Fatalf("a write after a panicking transaction: %v", err)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM things WHERE name = ?`, "half-done"); got != 0 {
			t.Error("the panicking transaction's write was committed")
		}
	})
}

func TestClosingTwiceIsHarmless(t *testing.T) {
	t.Parallel()
	for _, opt := range []store.Options{{DataDir: t.TempDir()}, {URL: storetest.PostgresURL(t)}} {
		db, err := store.Open(context.Background(), opt)
		if err != nil {
			t.Fatal(err)
		}
		// Shutdown paths and test cleanups both close; the second must not panic or hang.
		for i := range 2 {
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%s: Close number %d panicked: %v", db.Dialect, i+1, p)
					}
				}()
				db.Close()
			}()
		}
		if err := db.Ping(context.Background()); err == nil {
			t.Errorf("%s: a closed database answers", db.Dialect)
		}
	}
}

// On PostgreSQL transactions wait for each other (row locks) while each holds a connection. A
// transaction that reads outside itself (on the reader pool) while the others wait for a row it
// holds must still get its read: were reads and transactions one pool, the waiting transactions
// would hold every connection and the holder would wait for one forever, out of the database's
// sight (no deadlock it could break), and every page behind it with it.
func TestATransactionsReadIsNeverStarvedByTransactionsWaitingForIt(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresURL(t)
	const pool = 4
	db, err := store.Open(context.Background(), store.Options{URL: url, Key: storetest.Key, PoolSize: pool})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := db.Migrate(ctx, schemas); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO things (name) VALUES ('hot')`); err != nil {
		t.Fatal(err)
	}
	// Sessions seen from outside the pools, to know when the waiters wait.
	admin, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	waiting := func() (n int) {
		admin.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		return n
	}

	const waiters = 2 * pool
	errs := make(chan error, waiters+1)
	err = db.Tx(ctx, func(tx *store.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM things WHERE name = 'hot' FOR UPDATE`).Scan(&id); err != nil {
			return err
		}
		for range waiters {
			go func() {
				errs <- db.Tx(ctx, func(tx *store.Tx) error {
					_, err := tx.Exec(ctx, `UPDATE things SET body = ? WHERE id = ?`, []byte("after"), id)
					return err
				})
			}()
		}
		// Every transaction the pool lets start is waiting for the row before the holder reads.
		storetest.Eventually(t, 10*time.Second, "the waiters waiting for the row", func() bool { return waiting() >= pool-1 })
		var n int
		return db.QueryRow(ctx, `SELECT COUNT(*) FROM things`).Scan(&n)
	})
	if err != nil {
		t.Fatalf("the holder's read outside its transaction: %v", err)
	}
	for range waiters {
		if err := <-errs; err != nil {
			t.Fatalf("a waiting transaction: %v", err)
		}
	}
}

// A write racing Close returns, with or without an error: the flusher that makes commits durable
// stops with Close, and a commit written after it stopped must not wait for it forever (a
// component still writing while nines shuts down would hang the shutdown).
func TestAWriteRacingCloseReturns(t *testing.T) {
	t.Parallel()
	for round := range 20 {
		db := storetest.SQLite(t, schemas)
		ctx := context.Background()
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					if _, err := db.Exec(ctx, `INSERT INTO things (name) VALUES (?)`, fmt.Sprint(round, "-", w, "-", i)); err != nil {
						return
					}
				}
			}()
		}
		time.Sleep(20 * time.Millisecond)
		db.Close()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: a write racing Close never returned", round)
		}
	}
}

// Two transactions that take two rows in opposite orders deadlock on PostgreSQL, which fails one
// of them to break it. Nothing was wrong with that one: Tx runs it again, and both commit.
func TestATransactionFailedToBreakADeadlockIsRunAgain(t *testing.T) {
	t.Parallel()
	db := storetest.Postgres(t, schemas)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range []string{"a", "b"} {
		if _, err := db.Exec(ctx, `INSERT INTO things (name) VALUES (?)`, n); err != nil {
			t.Fatal(err)
		}
	}
	var first sync.WaitGroup // both hold their first row before either asks for its second
	first.Add(2)
	var runs [2]int
	errs := make(chan error, 2)
	for i, order := range [][2]string{{"a", "b"}, {"b", "a"}} {
		go func() {
			errs <- db.Tx(ctx, func(tx *store.Tx) error {
				runs[i]++
				if _, err := tx.Exec(ctx, `UPDATE things SET body = ? WHERE name = ?`, []byte("x"), order[0]); err != nil {
					return err
				}
				if runs[i] == 1 {
					first.Done()
					first.Wait()
				}
				_, err := tx.Exec(ctx, `UPDATE things SET body = ? WHERE name = ?`, []byte("y"), order[1])
				return err
			})
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("a transaction of the two: %v", err)
		}
	}
	if runs[0]+runs[1] < 3 {
		t.Fatalf("runs %v: the deadlock did not happen, so the test tested nothing", runs)
	}
}
