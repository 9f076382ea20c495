// Package store opens the database nines keeps its state in: an embedded SQLite file by default,
// PostgreSQL when one node is not enough. Every package writes its SQL once, with `?`
// placeholders, and the store rewrites it for the dialect in use; the same migrations run on both.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver, registered as "pgx"
	_ "modernc.org/sqlite"             // pure-Go SQLite driver, registered as "sqlite"
)

// Dialect names the SQL flavour of a database.
type Dialect int

const (
	SQLite Dialect = iota
	Postgres
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// DB is an open database. Writes go through one connection on SQLite (it has one writer anyway,
// and a single connection avoids SQLITE_BUSY); reads use a pool.
type DB struct {
	Dialect Dialect
	write   *sql.DB
	read    *sql.DB
	queries sync.Map // query text with ? placeholders -> rewritten for the dialect
	stmts   stmtCache
	ckpt    *checkpointer // SQLite only
	wal     *walSync      // SQLite only

	closeOnce sync.Once
}

// Options says where the database lives.
type Options struct {
	// URL is a postgres:// or postgresql:// URL; empty means the embedded SQLite database.
	URL string
	// DataDir holds nines.db when URL is empty.
	DataDir string
}

// Open opens (and for SQLite, creates) the database. It does not migrate it.
func Open(ctx context.Context, opt Options) (*DB, error) {
	if strings.HasPrefix(opt.URL, "postgres://") || strings.HasPrefix(opt.URL, "postgresql://") {
		return openPostgres(ctx, opt.URL)
	}
	if opt.URL != "" {
		return nil, fmt.Errorf("--db: %q is not a postgres:// URL (leave it empty for the embedded SQLite database)", opt.URL)
	}
	return openSQLite(ctx, opt.DataDir)
}

func openSQLite(ctx context.Context, dir string) (*DB, error) {
	if dir == "" {
		dir = "data"
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	path := filepath.Join(dir, "nines.db")
	// A commit is on disk before the caller hears about it, so a 202 survives power loss as well
	// as kill -9. SQLite's synchronous(FULL) would flush inside the commit, holding the one writer
	// while the disk works; with synchronous(NORMAL) the commit only writes the WAL, and walSync
	// flushes it before Tx returns (see walsync.go), one flush for every commit written meanwhile.
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)&_time_format=sqlite"
	// The writer never checkpoints: copying the WAL into the database (and its fsync) would
	// stall the commit that crossed the threshold. The checkpointer does it beside the writer.
	write, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=wal_autocheckpoint(0)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	read, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	db := &DB{Dialect: SQLite, write: write, read: read, wal: startWALSync(path + "-wal")}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	ckpt, err := sql.Open("sqlite", "file:"+path+"?"+pragmas)
	if err != nil {
		db.Close()
		return nil, err
	}
	db.ckpt = startCheckpointer(ckpt, write)
	return db, nil
}

func openPostgres(ctx context.Context, url string) (*DB, error) {
	pool, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(32)
	pool.SetMaxIdleConns(32)
	db := &DB{Dialect: Postgres, write: pool, read: pool}
	if err := db.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return db, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return err
	}
	var one int
	return db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Close closes every connection.
func (db *DB) Close() error {
	var err error
	db.closeOnce.Do(func() {
		if db.ckpt != nil {
			err = db.ckpt.stop()
		}
		if db.wal != nil {
			db.wal.close()
		}
		db.stmts.close()
	})
	err = errors.Join(err, db.write.Close())
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Q rewrites a query written with ? placeholders for the dialect in use.
func (db *DB) Q(query string) string {
	if db.Dialect != Postgres {
		return query
	}
	if q, ok := db.queries.Load(query); ok {
		return q.(string)
	}
	q := rebind(query)
	db.queries.Store(query, q)
	return q
}

// rebind turns ? into $1, $2, ... outside string literals, quoted identifiers and comments, so
// a question mark in '...', "...", -- ... or /* ... */ is left as written.
func rebind(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); {
		// end is where the quoted or commented stretch starting at i stops (exclusive).
		end := -1
		switch {
		case q[i] == '\'' || q[i] == '"':
			// A doubled quote inside reads as two literals back to back, which skips the same text.
			end = tokenEnd(q, i+1, q[i:i+1])
		case strings.HasPrefix(q[i:], "--"):
			end = tokenEnd(q, i+2, "\n")
		case strings.HasPrefix(q[i:], "/*"):
			end = tokenEnd(q, i+2, "*/")
		case q[i] == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i++
			continue
		}
		if end < 0 {
			b.WriteByte(q[i])
			i++
			continue
		}
		b.WriteString(q[i:end])
		i = end
	}
	return b.String()
}

// tokenEnd returns the index just past the first closer at or after from, or len(q).
func tokenEnd(q string, from int, closer string) int {
	if k := strings.Index(q[from:], closer); k >= 0 {
		return from + k + len(closer)
	}
	return len(q)
}

// Query runs a read on the reader pool.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.read.QueryContext(ctx, db.Q(query), args...)
}

// QueryRow runs a single-row read on the reader pool.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.read.QueryRowContext(ctx, db.Q(query), args...)
}

// Exec runs one statement on the writer, in its own transaction.
func (db *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := db.write.ExecContext(ctx, db.Q(query), args...)
	if err != nil || db.wal == nil {
		return res, err
	}
	db.ckpt.committed()
	return res, db.wal.wait(db.wal.commit(nil))
}

// Tx runs fn in a write transaction and commits it if fn returns nil. It returns once the commit
// is durable. Functions registered with Tx.AfterCommit run after that, in order: that is where
// work is woken up.
func (db *DB) Tx(ctx context.Context, fn func(*Tx) error) error {
	var seq uint64
	tx, err := db.tx(ctx, fn, func(*Tx) {
		if db.wal != nil {
			seq = db.wal.commit(nil)
		}
	})
	if err != nil {
		return err
	}
	if db.wal != nil {
		if err := db.wal.wait(seq); err != nil {
			return err
		}
	}
	for _, f := range tx.after {
		f()
	}
	return nil
}

// TxThen is Tx for callers that commit in batches (group commit): it returns as soon as the
// transaction has committed, which may be before the commit is durable, and calls durable once
// it is, after the AfterCommit functions, or with the error that keeps it from being durable.
// durable may run on another goroutine. Answer waiting callers in durable; meanwhile the next
// batch can run, so the disk flushes one batch while the next one is applied. When TxThen
// returns an error, durable is not called.
func (db *DB) TxThen(ctx context.Context, fn func(*Tx) error, durable func(error)) error {
	whenDurable := func(tx *Tx) func(error) {
		return func(err error) {
			if err == nil {
				for _, f := range tx.after {
					f()
				}
			}
			durable(err)
		}
	}
	tx, err := db.tx(ctx, fn, func(tx *Tx) {
		if db.wal != nil {
			db.wal.commit(whenDurable(tx))
		}
	})
	if err != nil {
		return err
	}
	if db.wal == nil {
		whenDurable(tx)(nil) // PostgreSQL's commit is durable when it returns
	}
	return nil
}

// tx runs fn in a transaction and commits it; committed runs right after the commit, before the
// writer connection is used again.
func (db *DB) tx(ctx context.Context, fn func(*Tx) error, committed func(*Tx)) (*Tx, error) {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	tx := &Tx{db: db, tx: sqlTx}
	defer func() {
		// A panic (a hook's bug, recovered by the HTTP server) must not leave the transaction
		// open: on SQLite it would hold the only writer connection and stop every later write.
		if p := recover(); p != nil {
			sqlTx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		db.stmts.prepareMissed(ctx, db.write, tx.missed)
		return nil, err
	}
	if err := sqlTx.Commit(); err != nil {
		return nil, err
	}
	committed(tx)
	if db.ckpt != nil {
		db.ckpt.committed()
	}
	// The writer connection is free again: prepare what this transaction ran unprepared.
	db.stmts.prepareMissed(ctx, db.write, tx.missed)
	return tx, nil
}

// Tx is a write transaction.
type Tx struct {
	db    *DB
	tx    *sql.Tx
	after []func()
	sp    int // savepoint depth

	bound  map[string]*sql.Stmt // cached statements bound to this transaction, by query
	missed []string             // queries to prepare once the transaction ends
}

// Dialect is the dialect of the database the transaction runs on.
func (tx *Tx) Dialect() Dialect { return tx.db.Dialect }

// Exec runs a statement written with ? placeholders.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := tx.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, tx.db.Q(query), args...)
}

// Query runs a query inside the transaction.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.tx.QueryContext(ctx, tx.db.Q(query), args...)
}

// QueryRow runs a single-row query inside the transaction.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, tx.db.Q(query), args...)
}

// InsertID runs an INSERT (without a trailing RETURNING) and returns the new row's id column.
func (tx *Tx) InsertID(ctx context.Context, query string, args ...any) (int64, error) {
	if tx.db.Dialect == SQLite {
		// {{id}} makes id the rowid on SQLite, which the driver hands back without the cost of
		// a result set.
		res, err := tx.Exec(ctx, query, args...)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	var id int64
	err := tx.QueryRow(ctx, query+" RETURNING id", args...).Scan(&id)
	return id, err
}

// stmt returns the cached prepared statement for query bound to tx, or nil when there is none
// yet (the query then runs unprepared and is prepared after the transaction).
func (tx *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if tx.db.Dialect != SQLite {
		return nil // pgx keeps its own statement cache on every connection
	}
	if st, ok := tx.bound[query]; ok {
		return st
	}
	prepared, ok := tx.db.stmts.get(query)
	if !ok {
		tx.missed = append(tx.missed, query)
		return nil
	}
	st := tx.tx.StmtContext(ctx, prepared)
	if tx.bound == nil {
		tx.bound = make(map[string]*sql.Stmt, 16)
	}
	tx.bound[query] = st
	return st
}

// AfterCommit registers f to run once the transaction has committed.
func (tx *Tx) AfterCommit(f func()) { tx.after = append(tx.after, f) }

// Savepoint runs fn so that its writes are undone on error while the transaction goes on.
// Group commit uses it so one bad event never takes its batch down with it.
func (tx *Tx) Savepoint(ctx context.Context, fn func() error) error {
	// Savepoints are named by depth: a released name is free again, so the statements repeat
	// and stay prepared.
	tx.sp++
	defer func() { tx.sp-- }()
	name := "sp" + strconv.Itoa(tx.sp)
	if _, err := tx.Exec(ctx, "SAVEPOINT "+name); err != nil {
		return err
	}
	after := len(tx.after)
	if err := fn(); err != nil {
		tx.after = tx.after[:after]
		if _, rbErr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+name); rbErr != nil {
			return errors.Join(err, rbErr)
		}
		tx.Exec(ctx, "RELEASE SAVEPOINT "+name)
		return err
	}
	_, err := tx.Exec(ctx, "RELEASE SAVEPOINT "+name)
	return err
}

// IsUniqueViolation reports whether err is a unique-constraint failure on either backend.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505")
}

// NullString maps "" to NULL.
func NullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
