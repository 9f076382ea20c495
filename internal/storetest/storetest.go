// Package storetest gives tests real databases: a fresh SQLite file and a fresh PostgreSQL
// database per test, migrated, so every store test runs the same cases on both backends.
//
// PostgreSQL comes from NINES_TEST_POSTGRES (a server URL, as ./scripts/test sets it); without
// it, the first test that needs one starts a throwaway server with initdb and pg_ctl.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/store"
)

// Key is the key every PostgreSQL database of the tests is opened with, as every node of a
// cluster shares one (SQLite databases make their own key file in their data directory).
var Key = []byte("nines-test-key-0123456789abcdef0123456789abcdef")

// Backend is a database kind tests run on.
type Backend struct {
	Name string
	Open func(t testing.TB, schemas []store.Schema) *store.DB
}

// Backends returns SQLite and PostgreSQL.
func Backends() []Backend {
	return []Backend{{"sqlite", SQLite}, {"postgres", Postgres}}
}

// Each runs fn once per backend, as subtests named after it.
func Each(t *testing.T, schemas []store.Schema, fn func(t *testing.T, db *store.DB)) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.Open(t, schemas)) })
	}
}

// SQLite opens a migrated database in a temporary directory.
func SQLite(t testing.TB, schemas []store.Schema) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background(), schemas); err != nil {
		t.Fatal(err)
	}
	return db
}

// Postgres creates a fresh database on the test server, migrates it and drops it afterwards.
func Postgres(t testing.TB, schemas []store.Schema) *store.DB {
	t.Helper()
	dbURL := PostgresURL(t)
	db, err := store.Open(context.Background(), store.Options{URL: dbURL, Key: Key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background(), schemas); err != nil {
		t.Fatal(err)
	}
	return db
}

// PostgresURL creates an empty database for t and returns its URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	server, err := postgresServer()
	if err != nil {
		t.Fatalf("PostgreSQL for tests: %v", err)
	}
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	name := "nines_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", server)
		if err != nil {
			return
		}
		defer a.Close()
		a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, _ := url.Parse(server)
	u.Path = "/" + name
	return u.String()
}

var (
	pgOnce sync.Once
	pgURL  string
	pgErr  error
)

func postgresServer() (string, error) {
	pgOnce.Do(func() {
		if u := os.Getenv("NINES_TEST_POSTGRES"); u != "" {
			pgURL = u
			return
		}
		pgURL, pgErr = startPostgres()
	})
	return pgURL, pgErr
}

// startPostgres runs a private server for this test process in a temporary directory. The
// server is a child that the kernel stops when the test process exits (Pdeathsig), so no
// server outlives its tests.
func startPostgres() (string, error) {
	pg, err := newPostgresServer()
	if err != nil {
		return "", err
	}
	return pg.URL, pg.start()
}

// PostgresServer is a PostgreSQL server of a test's own, which the test may stop and start
// again (a database outage) without touching anybody else's.
type PostgresServer struct {
	// URL reaches the server's postgres database as the superuser nines.
	URL  string
	dir  string
	bin  string
	port int
	attr *syscall.SysProcAttr
	cmd  *exec.Cmd
	done chan struct{}
}

// PrivatePostgres initializes and starts a server for t, stopped when t ends.
func PrivatePostgres(t testing.TB) *PostgresServer {
	t.Helper()
	pg, err := newPostgresServer()
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Stop(); os.RemoveAll(pg.dir) })
	return pg
}

func newPostgresServer() (*PostgresServer, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "nines-pg-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as the postgres user.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs a postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		attr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		os.Chown(dir, uid, gid)
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "nines", "--auth=trust", "-E", "UTF8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: attr.Credential}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	return &PostgresServer{URL: fmt.Sprintf("postgres://nines@127.0.0.1:%d/postgres?sslmode=disable", port),
		dir: dir, bin: bin, port: port, attr: attr}, nil
}

func (pg *PostgresServer) start() error {
	cmd := exec.Command(filepath.Join(pg.bin, "postgres"), "-D", filepath.Join(pg.dir, "data"), "-c", "listen_addresses=127.0.0.1",
		"-c", fmt.Sprintf("port=%d", pg.port), "-c", "unix_socket_directories="+pg.dir, "-c", "fsync=off", "-c", "max_connections=200")
	cmd.SysProcAttr = pg.attr
	logf, _ := os.OpenFile(filepath.Join(pg.dir, "log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %v", err)
	}
	pg.cmd, pg.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(pg.done) }()
	for i := 0; i < 300; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", pg.port)); err == nil {
			c.Close()
			db, _ := sql.Open("pgx", pg.URL)
			err = db.Ping()
			db.Close()
			if err == nil {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("postgres did not start on port %d; log in %s", pg.port, pg.dir)
}

// Start starts the server again after Stop, on the same port and data.
func (pg *PostgresServer) Start(t testing.TB) {
	t.Helper()
	if err := pg.start(); err != nil {
		t.Fatal(err)
	}
}

// Stop shuts the server down at once (fast shutdown: clients are disconnected) and waits for
// it to exit.
func (pg *PostgresServer) Stop() {
	if pg.cmd == nil {
		return
	}
	select {
	case <-pg.done:
	default:
		pg.cmd.Process.Signal(syscall.SIGINT)
		<-pg.done
	}
	pg.cmd = nil
}

// CreateDatabase makes an empty database on the server and returns its URL.
func (pg *PostgresServer) CreateDatabase(t testing.TB, name string) string {
	t.Helper()
	admin, err := sql.Open("pgx", pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	u, _ := url.Parse(pg.URL)
	u.Path = "/" + name
	return u.String()
}

func postgresBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	if len(dirs) == 0 {
		return "", fmt.Errorf("no PostgreSQL server binaries found: run ./scripts/test, which installs them, or set NINES_TEST_POSTGRES")
	}
	return dirs[len(dirs)-1], nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Eventually polls cond until it holds or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", timeout, what)
}
