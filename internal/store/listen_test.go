package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// Two nodes share one PostgreSQL database: a commit that notifies on one wakes the other, and
// a rolled-back transaction wakes nobody.
func TestNotifyWakesAnotherNodeOnlyAfterCommit(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func() *store.DB {
		db, err := store.Open(ctx, store.Options{URL: url, Key: storetest.Key})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	woken := make(chan struct{}, 10)
	go b.Listen(ctx, "test_channel", func() { woken <- struct{}{} })
	// Listen reports a possible miss after connecting only on reconnects; give LISTEN time to run.
	time.Sleep(300 * time.Millisecond)

	errRollback := context.Canceled
	a.Tx(ctx, func(tx *store.Tx) error {
		if err := tx.Notify(ctx, "test_channel"); err != nil {
			t.Fatal(err)
		}
		return errRollback
	})
	select {
	case <-woken:
		t.Fatal("a rolled-back transaction woke the other node")
	case <-time.After(300 * time.Millisecond):
	}

	if err := a.Tx(ctx, func(tx *store.Tx) error { return tx.Notify(ctx, "test_channel") }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woken:
	case <-time.After(5 * time.Second):
		t.Fatal("the committed notification did not wake the other node")
	}
}

func TestNotifyOnSQLiteIsANoOp(t *testing.T) {
	db := storetest.SQLite(t, nil)
	ctx := context.Background()
	if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.Notify(ctx, "x") }); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { db.Listen(ctx, "x", func() {}); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Listen on SQLite should return at once")
	}
}
