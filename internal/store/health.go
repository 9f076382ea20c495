package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// healthMigration adds the row each node writes to show the database takes writes.
const healthMigration = `
CREATE TABLE store_health (
	node TEXT PRIMARY KEY,
	checked_at BIGINT NOT NULL
);
`

// MinFreeDisk is the free space the file system of the SQLite database must keep. Below it,
// writes are about to fail: a commit can still land in WAL space written before, but the
// checkpoint that copies it into the database file, and the WAL growing under load, need room.
const MinFreeDisk = 64 << 20

// CheckWrites commits a small write and returns once it is durable, or the error that kept it
// from being. A database that answers reads but cannot take writes (a full disk, a read-only
// file system or server, a failed flush, a disk failing) fails here, as the changes clients
// send do or soon will.
func (db *DB) CheckWrites(ctx context.Context, now int64) error {
	if db.dir != "" {
		if free, ok := freeDisk(db.dir); ok && free < MinFreeDisk {
			return fmt.Errorf("the file system of %s has %d MiB free; nines needs %d MiB to go on taking writes: %w",
				db.dir, free>>20, MinFreeDisk>>20, syscall.ENOSPC)
		}
	}
	node, _ := os.Hostname()
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO store_health (node, checked_at) VALUES (?, ?)
			ON CONFLICT (node) DO UPDATE SET checked_at = excluded.checked_at`, node, now)
		return err
	})
}

// Transient reports whether err is PostgreSQL failing a transaction to break a deadlock
// (SQLSTATE 40P01) or a serialization conflict (40001) with another one: nothing was wrong with
// the transaction, and run again it commits. SQLite has one writer and never fails so.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40P01" || pe.Code == "40001"
	}
	// Errors wrapped with %v lose their type but not their text.
	s := err.Error()
	return strings.Contains(s, "SQLSTATE 40P01") || strings.Contains(s, "SQLSTATE 40001")
}

// Unavailable reports whether err says the database cannot be reached or cannot take writes
// right now (a server down or restarting, a connection lost, a full disk, a read-only file
// system) rather than that a request was wrong. Callers answer such errors with 503 and
// Retry-After: the same request will work once the database is back.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, errWALFlush) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:2] {
		case "08", // connection exception
			"53", // insufficient resources: disk full, out of memory, too many connections
			"57", // operator intervention: shutdown, crash, cannot connect now
			"58": // system error: I/O
			return true
		}
		return pe.Code == "25006" // read-only transaction: a standby, or a read-only server
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.Timeout(err) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 5, // SQLITE_BUSY: the writer is held longer than busy_timeout
			8,  // SQLITE_READONLY
			10, // SQLITE_IOERR
			11, // SQLITE_CORRUPT: what a failing disk's reads look like
			13, // SQLITE_FULL
			14: // SQLITE_CANTOPEN
			return true
		}
		return false
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return false // an HTTP client's error: another service than the database
	}
	var opErr *net.OpError
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EROFS) ||
		errors.As(err, &opErr) || isClosedConn(err)
}

// isClosedConn matches what pgx says of a connection the server closed under it.
func isClosedConn(err error) bool {
	s := strings.ToLower(err.Error())
	for _, m := range []string{"conn closed", "unexpected eof", "connection reset by peer", "broken pipe"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// errWALFlush marks the sticky error of a failed WAL flush.
var errWALFlush = errors.New("flushing the SQLite WAL to disk failed")
