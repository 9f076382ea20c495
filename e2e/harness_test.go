// Package e2e drives the real nines binary as its users do: it builds `nines` once, starts
// `nines serve` on loopback with a config in a temporary directory, feeds it through its HTTP
// interfaces (and through a real Prometheus Alertmanager), kills and restarts it, and checks what
// it answered against what it kept.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/store"
)

// ninesBin is the binary built once for the whole package.
var ninesBin string

func TestMain(m *testing.M) {
	// NINES_E2E_BINARY runs the suite against a nines built elsewhere (an older release, to
	// measure what a fix changed).
	if bin := os.Getenv("NINES_E2E_BINARY"); bin != "" {
		ninesBin = bin
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "nines-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ninesBin = filepath.Join(dir, "nines")
	build := exec.Command("go", "build", "-o", ninesBin, "github.com/nines-dev/nines/cmd/nines")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building nines:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Keys of the services every test config declares. An events_v2 routing key is 32 characters.
const (
	routingKey      = "e2e0routing0key0events0v2000001a"
	alertmanagerKey = "e2e-alertmanager-key"
)

// baseConfig declares two services: checkout takes Alertmanager webhooks, payments takes
// Events API v2 (which is what Alertmanager's own PagerDuty integration speaks).
const baseConfig = `services:
  - id: checkout
    name: Checkout
    integrations:
      - type: alertmanager
        key: ` + alertmanagerKey + `
  - id: payments
    name: Payments
    integrations:
      - type: events_v2
        key: ` + routingKey + `
`

// server is one nines process and the place it keeps its state.
type server struct {
	t       *testing.T
	dir     string // config, logs, and the SQLite data directory
	dbURL   string // empty for SQLite
	addr    string
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	log     *lockedBuffer
	// https and client are set for a server that serves TLS itself (server.tls).
	https  bool
	client *http.Client
	env    []string // more environment for the process
	args   []string // more flags for nines serve
	// keepAddr makes the next start listen where the last one did (restart).
	keepAddr bool
	// config is the config file or directory given to nines; default nines.yaml in dir.
	config string
}

// newServer prepares a nines with baseConfig; dbURL empty means SQLite in a temporary directory.
func newServer(t *testing.T, dbURL string) *server {
	t.Helper()
	s := &server{t: t, dir: t.TempDir(), dbURL: dbURL, log: &lockedBuffer{}}
	if err := os.WriteFile(filepath.Join(s.dir, "nines.yaml"), []byte(baseConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("nines log:\n%s", s.log.String())
		}
	})
	return s
}

func (s *server) dbArgs() []string {
	cfg := s.config
	if cfg == "" {
		cfg = filepath.Join(s.dir, "nines.yaml")
	}
	args := []string{"--config", cfg, "--data", filepath.Join(s.dir, "data")}
	if s.dbURL != "" {
		args = append(args, "--db", s.dbURL)
	}
	return args
}

// start runs `nines serve` on a free loopback port and waits until it is ready.
func (s *server) start() {
	s.t.Helper()
	s.startWaiting("/readyz")
}

// startWaiting runs `nines serve` and waits until path answers 200.
func (s *server) startWaiting(path string) {
	s.t.Helper()
	if s.addr == "" || (s.cmd != nil && !s.keepAddr) {
		s.addr = freeAddr(s.t) // a test that must know the address first sets it; restart keeps it
	}
	args := append(append([]string{"serve", "--listen", s.addr}, s.dbArgs()...), s.args...)
	s.cmd = exec.Command(ninesBin, args...)
	s.cmd.Env = append(os.Environ(), s.env...)
	if k := s.key(); k != nil {
		s.cmd.Env = append(s.cmd.Env, "NINES_KEY="+string(k))
	}
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	// The server dies with the test binary even if the test is killed.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		s.exitErr = cmd.Wait()
		close(exited)
	}(s.cmd, s.exited)
	deadline := time.Now().Add(20 * time.Second)
	c := s.client
	if c == nil {
		c = http.DefaultClient
	}
	for {
		resp, err := c.Get(s.url(path))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-s.exited:
			s.t.Fatalf("nines exited while starting: %v\n%s", s.exitErr, s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nines was not ready within 20s\n%s", s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// restart starts nines again on the address it had, as a service manager does: clients that
// kept its address (agents, senders retrying) reach it again.
func (s *server) restart() {
	s.t.Helper()
	s.keepAddr = true
	defer func() { s.keepAddr = false }()
	s.startWaiting("/readyz")
}

// kill stops the process with SIGKILL, as a crash or the OOM killer would.
func (s *server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// stop sends SIGTERM and waits for the process to exit; it returns the exit error.
func (s *server) stop(within time.Duration) error {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return s.exitErr
	case <-time.After(within):
		s.t.Fatalf("nines did not stop within %v of SIGTERM\n%s", within, s.log.String())
		return nil
	}
}

func (s *server) url(path string) string {
	if s.https {
		return "https://" + s.addr + path
	}
	return "http://" + s.addr + path
}

// key is the key a PostgreSQL-backed server runs with (NINES_KEY), the same for every node of
// a test; with SQLite nines keeps its own key file in the data directory.
func (s *server) key() []byte {
	if s.dbURL == "" {
		return nil
	}
	return []byte("e2e-key-0123456789abcdef0123456789abcdef")
}

// run runs a nines command against this server's database and returns its stdout.
func (s *server) run(args ...string) string {
	s.t.Helper()
	cmd := exec.Command(ninesBin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("nines %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// token makes an API token with `nines token create`, as an operator would.
func (s *server) token(role string) string {
	s.t.Helper()
	args := append([]string{"token", "create", "--name", "e2e-" + role, "--role", role, "--ttl", "1h"}, s.dbArgs()...)
	tok := strings.TrimSpace(s.run(args...))
	if tok == "" {
		s.t.Fatal("nines token create printed no token")
	}
	return tok
}

// get reads a JSON API answer into v.
func (s *server) get(token, path string, v any) {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.url(path), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		s.t.Fatalf("GET %s: %s: %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		s.t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

// openDB opens the server's database directly, to check what it kept against what it answered.
func (s *server) openDB() *store.DB {
	s.t.Helper()
	db, err := store.Open(context.Background(), store.Options{URL: s.dbURL, DataDir: filepath.Join(s.dir, "data"), Key: s.key()})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { db.Close() })
	return db
}

// Incident and alert as the API shows them; only the fields the tests read.
type apiIncident struct {
	ID         int64  `json:"id"`
	ServiceID  string `json:"service_id"`
	State      string `json:"state"`
	Title      string `json:"title"`
	AlertCount int    `json:"alert_count"`
}

type apiAlert struct {
	ID       int64           `json:"id"`
	DedupKey string          `json:"dedup_key"`
	State    string          `json:"state"`
	Summary  string          `json:"summary"`
	Count    int             `json:"count"`
	Details  json.RawMessage `json:"details"`
}

func (s *server) incidents(token, query string) []apiIncident {
	var body struct {
		Incidents []apiIncident `json:"incidents"`
	}
	s.get(token, "/api/v1/incidents?"+query, &body)
	return body.Incidents
}

func (s *server) alerts(token string, incidentID int64) []apiAlert {
	var body struct {
		Alerts []apiAlert `json:"alerts"`
	}
	s.get(token, fmt.Sprintf("/api/v1/incidents/%d/alerts", incidentID), &body)
	return body.Alerts
}

// eventually polls cond until it returns "" or the deadline passes, then fails with its last
// explanation.
func eventually(t *testing.T, within time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// lockedBuffer collects a child's output; the child writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startReady runs a real server of the Prometheus family (Prometheus, Alertmanager) until the
// test ends and waits until base+"/-/ready" answers 200. Its log is shown if the test fails.
func startReady(t *testing.T, name, base string, bin string, args ...string) {
	t.Helper()
	var log lockedBuffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, log.String())
		}
	})
	eventually(t, 20*time.Second, func() string {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return name + " not ready: " + err.Error()
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return name + " not ready: " + resp.Status
		}
		return ""
	})
}
