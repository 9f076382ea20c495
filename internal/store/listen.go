package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// Notify tells every node listening on channel, once the transaction commits. Nodes of a
// PostgreSQL cluster wake each other this way; on SQLite there is one node and nothing to do.
func (tx *Tx) Notify(ctx context.Context, channel string) error {
	if tx.db.Dialect != Postgres {
		return nil
	}
	_, err := tx.tx.ExecContext(ctx, "SELECT pg_notify($1, '')", channel)
	return err
}

// Listen calls fn whenever another transaction notifies channel, until ctx ends. On SQLite it
// returns at once. It holds one connection of its own and reconnects after errors.
func (db *DB) Listen(ctx context.Context, channel string, fn func()) {
	if db.Dialect != Postgres {
		return
	}
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, channel, fn)
		if ctx.Err() != nil {
			return
		}
		_ = err
		fn() // something may have been missed while disconnected
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (db *DB) listenOnce(ctx context.Context, channel string, fn func()) error {
	conn, err := db.listen.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return errors.New("listen: not a pgx connection")
		}
		pc := c.Conn()
		if _, err := pc.Exec(ctx, `LISTEN "`+channel+`"`); err != nil {
			return err
		}
		defer pc.Exec(context.Background(), `UNLISTEN "`+channel+`"`)
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				return err
			}
			fn()
		}
	})
}
