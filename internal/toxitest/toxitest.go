// Package toxitest runs a real Toxiproxy server on loopback for tests, built from its Go module
// (./scripts/test builds it into a cache directory; a test that finds none there builds it the
// same way), with a proxy in front of a service of the test.
package toxitest

import (
	"bytes"
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
)

// Module is the Toxiproxy server the tests run, pinned.
const Module = "github.com/Shopify/toxiproxy/v2/cmd/server@v2.5.0"

// Server is a running Toxiproxy.
type Server struct {
	// API is the base URL of its HTTP API.
	API  string
	t    testing.TB
	kill func()
}

// Kill stops the server at once, as a crash would: its API stops answering.
func (s *Server) Kill() { s.kill() }

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// Binary returns the path of the Toxiproxy server: $NINES_TOXIPROXY, else the one in the cache
// directory ./scripts/test builds into, built there now if missing.
func Binary() (string, error) {
	if b := os.Getenv("NINES_TOXIPROXY"); b != "" {
		return b, nil
	}
	buildOnce.Do(func() {
		dir := CacheDir()
		binary = filepath.Join(dir, "server")
		if _, err := os.Stat(binary); err == nil {
			return
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "install", Module)
		cmd.Env = append(os.Environ(), "GOBIN="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building Toxiproxy (%s): %v\n%s", Module, err, out)
		}
	})
	return binary, buildErr
}

// CacheDir is where ./scripts/test builds the Toxiproxy server: $NINES_TEST_CACHE/toxiproxy,
// else the user's cache directory.
func CacheDir() string {
	base := os.Getenv("NINES_TEST_CACHE")
	if base == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			c = os.TempDir()
		}
		base = filepath.Join(c, "nines-test")
	}
	return filepath.Join(base, "toxiproxy-v2.5.0")
}

// Start runs a Toxiproxy server on a free loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	cmd := exec.Command(bin, "-host", "127.0.0.1", "-port", fmt.Sprint(port))
	var logs bytes.Buffer
	var mu sync.Mutex
	cmd.Stdout, cmd.Stderr = lockedWriter{&mu, &logs}, lockedWriter{&mu, &logs}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var killOnce sync.Once
	kill := func() { killOnce.Do(func() { cmd.Process.Kill(); cmd.Wait() }) }
	t.Cleanup(func() {
		kill()
		if t.Failed() {
			mu.Lock()
			t.Logf("toxiproxy:\n%s", logs.String())
			mu.Unlock()
		}
	})
	s := &Server{API: fmt.Sprintf("http://127.0.0.1:%d", port), t: t, kill: kill}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(s.API + "/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("toxiproxy did not answer on %s within 15s: %v", s.API, err)
		}
	}
}

// Proxy creates a proxy named name listening on a free loopback port in front of upstream
// (host:port), and returns the address it listens on.
func (s *Server) Proxy(name, upstream string) string {
	s.t.Helper()
	listen := fmt.Sprintf("127.0.0.1:%d", FreePort(s.t))
	body, _ := json.Marshal(map[string]any{"name": name, "listen": listen, "upstream": upstream, "enabled": true})
	resp, err := http.Post(s.API+"/proxies", "application/json", bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		s.t.Fatalf("creating proxy %s: %s: %s", name, resp.Status, b)
	}
	return listen
}

// Toxics lists the names of the toxics on a proxy.
func (s *Server) Toxics(proxy string) []string {
	s.t.Helper()
	resp, err := http.Get(s.API + "/proxies/" + proxy + "/toxics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var toxics []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&toxics); err != nil {
		s.t.Fatalf("reading the toxics of %s: %v", proxy, err)
	}
	out := []string{}
	for _, tx := range toxics {
		out = append(out, tx.Name+":"+tx.Type)
	}
	return out
}

// FreePort returns a loopback TCP port nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// String is a description for failures.
func (s *Server) String() string { return "toxiproxy at " + strings.TrimPrefix(s.API, "http://") }
