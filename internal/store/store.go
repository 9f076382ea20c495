// Package store opens the database nines keeps its state in: an embedded SQLite file by default,
// PostgreSQL when one node is not enough. Every package writes its SQL once, with `?`
// placeholders, and the store rewrites it for the dialect in use; the same migrations run on both.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver, registered as "pgx"
	_ "modernc.org/sqlite"           // pure-Go SQLite driver, registered as "sqlite"
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
	listen  *sql.DB  // PostgreSQL only: the connections Listen holds, outside both pools
	queries sync.Map // query text with ? placeholders -> rewritten for the dialect
	stmts   stmtCache
	ckpt    *checkpointer // SQLite only
	wal     *walSync      // SQLite only
	dir     string        // SQLite only: the data directory
	lock    *os.File      // SQLite only: the shared lock that says the database is in use

	version string // the nines using the database, recorded by Migrate
	metrics *dbMetrics

	key        []byte // held outside the database; see Secret
	keyPath    string
	keyCreated bool

	installMu sync.Mutex
	installID string // see InstallID

	closeOnce sync.Once
}

// txAttempts is how many times Tx runs a transaction PostgreSQL failed to break a deadlock.
const txAttempts = 4

// DefaultPoolSize is how many connections each pool opens at most on PostgreSQL.
const DefaultPoolSize = 16

// Options says where the database lives and where the key it is used with is.
type Options struct {
	// URL is a postgres:// or postgresql:// URL; empty means the embedded SQLite database.
	URL string
	// DataDir holds nines.db when URL is empty.
	DataDir string
	// Key is the key secrets are derived with (see Secret), when it comes from the
	// environment (NINES_KEY).
	Key []byte
	// KeyFile holds the key otherwise. With SQLite it defaults to nines.key in DataDir, made
	// on first use; with PostgreSQL there is no default: every node must have the same key.
	KeyFile string
	// Version is the nines opening the database: Migrate records it, and names it when it
	// refuses a newer database.
	Version string
	// NoCreate opens only what exists (nines migrate --dry-run): no data directory, SQLite
	// database or key file is made; without a database Open returns ErrNoDatabase.
	NoCreate bool
	// PoolSize is, on PostgreSQL, how many connections each of the two pools opens at most:
	// one for transactions and writes, one for reads (DefaultPoolSize each). The listener for
	// wake-ups holds one more.
	PoolSize int
}

// ErrNoDatabase is returned by Open with NoCreate when the data directory holds no database.
var ErrNoDatabase = errors.New("no database")

// Open opens (and for SQLite, creates) the database. It does not migrate it.
func Open(ctx context.Context, opt Options) (*DB, error) {
	var db *DB
	var err error
	switch {
	case strings.HasPrefix(opt.URL, "postgres://") || strings.HasPrefix(opt.URL, "postgresql://"):
		db, err = openPostgres(ctx, opt.URL, opt.PoolSize)
	case opt.URL != "":
		return nil, fmt.Errorf("--db: %q is not a postgres:// URL (leave it empty for the embedded SQLite database)", opt.URL)
	default:
		db, err = openSQLite(ctx, opt.DataDir, opt.NoCreate)
	}
	if err != nil {
		return nil, err
	}
	db.version, db.metrics = opt.Version, newDBMetrics()
	if err := db.useKey(opt); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// useKey finds the key of opt: given, in the key file, or (SQLite) in a key file it makes.
func (db *DB) useKey(opt Options) error {
	var err error
	switch {
	case opt.Key != nil:
		db.key, err = ParseKey("NINES_KEY", opt.Key)
	case opt.KeyFile != "":
		db.keyPath = opt.KeyFile
		db.key, err = ReadKey(opt.KeyFile)
	case db.Dialect == SQLite && opt.NoCreate:
		db.keyPath = filepath.Join(db.dir, KeyFileName)
		if db.key, err = ReadKey(db.keyPath); errors.Is(err, fs.ErrNotExist) {
			db.key, db.keyPath, err = nil, "", nil // CheckKey says so to whoever needs it
		}
	case db.Dialect == SQLite:
		db.keyPath = filepath.Join(db.dir, KeyFileName)
		db.key, db.keyCreated, err = loadOrCreateKey(db.keyPath)
	}
	return err
}

func openSQLite(ctx context.Context, dir string, noCreate bool) (*DB, error) {
	if dir == "" {
		dir = "data"
	}
	path := filepath.Join(dir, "nines.db")
	if noCreate {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w in %s", ErrNoDatabase, dir)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	lock, err := lockDir(dir, false)
	if err != nil {
		return nil, err
	}
	// The database holds what the key signs and more: like the key file, it is its owner's
	// only, whatever the umask. SQLite gives its WAL and index the database file's mode.
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		lock.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// No restore runs (it would hold the lock): what an interrupted one, or a backup killed
	// midway, left (full-size copies of the database) can go, unless nothing may change. One
	// that fails to go is no reason not to start.
	if !noCreate {
		removeStaleTemps(dir)
	}
	// A commit is on disk before the caller hears about it, so a 202 survives power loss as well
	// as kill -9. SQLite's synchronous(FULL) would flush inside the commit, holding the one writer
	// while the disk works; with synchronous(NORMAL) the commit only writes the WAL, and walSync
	// flushes it before Tx returns (see walsync.go), one flush for every commit written meanwhile.
	pragmas := "_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)&_time_format=sqlite&_pragma=journal_size_limit(" + strconv.Itoa(WALSizeLimit) + ")"
	busy := "&_pragma=busy_timeout(10000)"
	// The writer never checkpoints: copying the WAL into the database (and its fsync) would
	// stall the commit that crossed the threshold. The checkpointer does it beside the writer.
	write, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+busy+"&_pragma=wal_autocheckpoint(0)&_txlock=immediate")
	if err != nil {
		lock.Close()
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	read, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+busy+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		lock.Close()
		return nil, err
	}
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	db := &DB{Dialect: SQLite, write: write, read: read, wal: startWALSync(path + "-wal"), dir: dir, lock: lock}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// The checkpointer waits for nobody: a checkpoint something is in the way of is tried again.
	ckpt, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=busy_timeout(100)")
	if err != nil {
		db.Close()
		return nil, err
	}
	db.ckpt = startCheckpointer(ckpt, write, path+"-wal")
	return db, nil
}

func openPostgres(ctx context.Context, url string, size int) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres URL: %w", err)
	}
	if size <= 0 {
		size = DefaultPoolSize
	}
	// Transactions and reads have a pool each, as on SQLite. On PostgreSQL transactions wait for
	// each other's rows while each holds a connection; sharing one pool with reads, the waiting
	// ones could hold every connection while the one they wait for asks for a read, and all would
	// wait forever where the database cannot see it. Reads never wait for a transaction, so a
	// pool of their own always frees up. The reader pool is read-only, as SQLite's is.
	ro := cfg.Copy()
	if ro.RuntimeParams == nil {
		ro.RuntimeParams = map[string]string{}
	}
	ro.RuntimeParams["default_transaction_read_only"] = "on"
	write, read := stdlib.OpenDB(*cfg), stdlib.OpenDB(*ro)
	for _, pool := range []*sql.DB{write, read} {
		pool.SetMaxOpenConns(size)
		pool.SetMaxIdleConns(size)
	}
	db := &DB{Dialect: Postgres, write: write, read: read, listen: stdlib.OpenDB(*cfg)}
	db.listen.SetMaxIdleConns(0)
	if err := db.Ping(ctx); err != nil {
		db.closePools()
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

// closePools closes the connection pools.
func (db *DB) closePools() error {
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if db.listen != nil {
		err = errors.Join(err, db.listen.Close())
	}
	return err
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
	err = errors.Join(err, db.closePools())
	if db.lock != nil {
		db.lock.Close() // after the connections: the database is no longer in use
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
	rows, err := db.read.QueryContext(ctx, db.Q(query), validArgs(args)...)
	return rows, db.failed("read", err)
}

// QueryRow runs a single-row read on the reader pool.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.read.QueryRowContext(ctx, db.Q(query), validArgs(args)...)
}

// Exec runs one statement on the writer, in its own transaction.
func (db *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := db.write.ExecContext(ctx, db.Q(query), validArgs(args)...)
	if err != nil || db.wal == nil {
		return res, err
	}
	db.ckpt.committed()
	return res, db.wal.wait(db.wal.commit(nil))
}

// Tx runs fn in a write transaction and commits it if fn returns nil. It returns once the commit
// is durable. Functions registered with Tx.AfterCommit run after that, in order: that is where
// work is woken up.
//
// PostgreSQL fails a transaction to break a deadlock, or for a serialization conflict, though
// nothing was wrong with it: Tx runs fn again, in a new transaction, up to txAttempts times in
// all. fn must therefore change nothing but through tx, and leave what it wakes to AfterCommit,
// as every transaction of nines does.
func (db *DB) Tx(ctx context.Context, fn func(*Tx) error) error {
	var seq uint64
	var tx *Tx
	var err error
	for attempt := 1; ; attempt++ {
		tx, err = db.tx(ctx, fn, func(*Tx) {
			if db.wal != nil {
				seq = db.wal.commit(nil)
			}
		})
		if err == nil || attempt == txAttempts || !Transient(err) || ctx.Err() != nil {
			break
		}
		select { // the other transaction goes on meanwhile
		case <-time.After(time.Duration(attempt*(5+mathrand.IntN(20))) * time.Millisecond):
		case <-ctx.Done():
		}
	}
	if err != nil {
		return db.failed("write", err)
	}
	if db.wal != nil {
		if err := db.wal.wait(seq); err != nil {
			return db.failed("write", err)
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
			durable(db.failed("write", err))
		}
	}
	tx, err := db.tx(ctx, fn, func(tx *Tx) {
		if db.wal != nil {
			db.wal.commit(whenDurable(tx))
		}
	})
	if err != nil {
		return db.failed("write", err)
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
	err = fn(tx)
	if err == nil {
		err = tx.FlushInserts(ctx)
	}
	if err != nil {
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

	later []laterInsert // rows queued by InsertLater, in order
}

// laterInsert is one row queued for a multi-row INSERT.
type laterInsert struct {
	insert string // INSERT INTO table (columns)
	args   []any
}

// maxRowsPerInsert bounds the rows of one multi-row INSERT, and so the statements of each
// size kept prepared.
const maxRowsPerInsert = 32

// InsertLater queues one row for insert, written as `INSERT INTO table (columns)` followed by
// one VALUES tuple of len(args) placeholders. Rows queued for the same insert, one after
// another, are written together in one statement (one round trip on PostgreSQL) when the
// transaction commits, when a savepoint begins or ends, or when FlushInserts is called. For
// rows nobody reads back in the transaction and whose ids nobody needs: a caller that reads
// the table or inserts into it directly calls FlushInserts first, so rows keep their order.
func (tx *Tx) InsertLater(insert string, args ...any) {
	tx.later = append(tx.later, laterInsert{insert, args})
}

// FlushInserts writes the rows queued by InsertLater.
func (tx *Tx) FlushInserts(ctx context.Context) error {
	for len(tx.later) > 0 {
		first := tx.later[0]
		n := 1
		for n < len(tx.later) && n < maxRowsPerInsert && tx.later[n].insert == first.insert && len(tx.later[n].args) == len(first.args) {
			n++
		}
		tuple := "(?" + strings.Repeat(", ?", len(first.args)-1) + ")"
		var q strings.Builder
		q.Grow(len(first.insert) + 8 + n*(len(tuple)+2))
		q.WriteString(first.insert)
		q.WriteString(" VALUES ")
		args := make([]any, 0, n*len(first.args))
		for i := 0; i < n; i++ {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(tuple)
			args = append(args, tx.later[i].args...)
		}
		tx.later = tx.later[n:]
		if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
			tx.later = nil
			return err
		}
	}
	tx.later = nil
	return nil
}

// Dialect is the dialect of the database the transaction runs on.
func (tx *Tx) Dialect() Dialect { return tx.db.Dialect }

// Exec runs a statement written with ? placeholders.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	args = validArgs(args)
	if st := tx.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, tx.db.Q(query), args...)
}

// Query runs a query inside the transaction.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	args = validArgs(args)
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.tx.QueryContext(ctx, tx.db.Q(query), args...)
}

// QueryRow runs a single-row query inside the transaction.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	args = validArgs(args)
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
	if err := tx.FlushInserts(ctx); err != nil {
		return err
	}
	tx.sp++
	defer func() { tx.sp-- }()
	name := "sp" + strconv.Itoa(tx.sp)
	if _, err := tx.Exec(ctx, "SAVEPOINT "+name); err != nil {
		return err
	}
	after := len(tx.after)
	err := fn()
	if err == nil {
		err = tx.FlushInserts(ctx)
	}
	if err != nil {
		tx.later = nil
		tx.after = tx.after[:after]
		if _, rbErr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+name); rbErr != nil {
			return errors.Join(err, rbErr)
		}
		tx.Exec(ctx, "RELEASE SAVEPOINT "+name)
		return err
	}
	_, err = tx.Exec(ctx, "RELEASE SAVEPOINT "+name)
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
