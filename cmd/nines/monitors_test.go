package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/storetest"
)

// TestMain lets a test start nines as a separate process: the test binary re-runs itself with
// NINES_TEST_ARGS set and becomes `nines <args>`.
func TestMain(m *testing.M) {
	if args := os.Getenv("NINES_TEST_ARGS"); args != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, strings.Split(args, "\n"), os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// startProcess runs `nines args...` as a child process until the test ends.
func startProcess(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	return startProcessWith(t, nil, args...)
}

// startProcessWith is startProcess with more variables in the child's environment.
func startProcessWith(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), env...), "NINES_TEST_ARGS="+strings.Join(args, "\n"))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			t.Logf("nines %s:\n%s", args[0], logs.String())
		}
	})
	return cmd
}

// startServer runs nines serve in this process with a fresh database and an API token for each
// list of flags of nines token create given (such as --role viewer).
func startServer(t *testing.T, cfg string, tokenFlags ...[]string) (base string, tokens []string) {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "nines.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	for i, flags := range tokenFlags {
		var out, errs bytes.Buffer
		args := append([]string{"token", "create", "--data", dir, "--init", "--name", fmt.Sprint("test-", i), "--ttl", "1h"}, flags...)
		if code := run(context.Background(), args, &out, &errs); code != 0 {
			t.Fatalf("token create %v: %s", flags, errs.String())
		}
		tokens = append(tokens, strings.TrimSpace(out.String()))
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan struct{})
	var serveErr bytes.Buffer
	go func() {
		defer close(done)
		run(ctx, []string{"serve", "--data", dir, "--config", cfgPath, "--listen", "127.0.0.1:0", "--log-level", "warn"}, pw, &serveErr)
		pw.Close()
	}()
	t.Cleanup(func() { cancel(); <-done })
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("serve did not start: %v: %s", err, serveErr.String())
	}
	go io.Copy(io.Discard, pr)
	return strings.TrimSpace(strings.TrimPrefix(line, "nines listening on ")), tokens
}

func getJSON(t *testing.T, base, token, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(out)
	return resp.StatusCode
}

type monitorState struct {
	Status    string `json:"status"`
	Locations map[string]struct {
		Status string `json:"status"`
		Cause  string `json:"cause"`
	} `json:"locations"`
}

func TestQuorumWithTwoAgentProcessesThatDisagree(t *testing.T) {
	// The target tells the agents apart by the location in their User-Agent.
	var failing atomic.Value
	failing.Store("")
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua := r.Header.Get("User-Agent")
		for _, loc := range strings.Split(failing.Load().(string), ",") {
			if loc != "" && strings.Contains(ua, "("+loc+")") {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
		}
	}))
	defer target.Close()
	base, tokens := startServer(t, fmt.Sprintf(`services: [{id: shop, name: Shop}]
monitors:
  - id: shop-api
    service: shop
    type: http
    url: %s/health
    interval: 1s
    timeout: 1s
    locations: [eu-west, us-east]
`, target.URL), []string{"--role", "viewer"}, []string{"--role", "agent", "--location", "eu-west"}, []string{"--role", "agent", "--location", "us-east"})
	token := tokens[0]
	for i, loc := range []string{"eu-west", "us-east"} {
		startProcess(t, "agent", "--server", base, "--token", tokens[1+i], "--location", loc, "--refresh", "1s", "--log-level", "warn")
	}
	var m monitorState
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		storetest.Eventually(t, 15*time.Second, what, func() bool {
			m = monitorState{}
			getJSON(t, base, token, "/api/v1/monitors/shop-api", &m)
			return cond()
		})
	}
	openIncidents := func() int {
		var out struct {
			Incidents []json.RawMessage `json:"incidents"`
		}
		getJSON(t, base, token, "/api/v1/incidents?state=open", &out)
		return len(out.Incidents)
	}

	waitFor("both locations to see the monitor up", func() bool {
		return m.Status == "up" && m.Locations["eu-west"].Status == "up" && m.Locations["us-east"].Status == "up"
	})

	failing.Store("us-east")
	waitFor("us-east alone to see it down", func() bool { return m.Locations["us-east"].Status == "down" })
	time.Sleep(1500 * time.Millisecond) // a few more rounds of both agents
	getJSON(t, base, token, "/api/v1/monitors/shop-api", &m)
	if m.Status != "up" || m.Locations["us-east"].Cause != "status" || openIncidents() != 0 {
		t.Fatalf("one location of two down: monitor %+v, %d open incidents; want up (no quorum) and none", m, openIncidents())
	}

	failing.Store("us-east,eu-west")
	waitFor("both locations to take it down", func() bool { return m.Status == "down" })
	storetest.Eventually(t, 5*time.Second, "one open incident with both locations down", func() bool { return openIncidents() == 1 })

	failing.Store("us-east")
	waitFor("eu-west's recovery to bring it up", func() bool { return m.Status == "up" })
	if m.Locations["us-east"].Status != "down" {
		t.Fatalf("us-east's own view was lost: %+v", m.Locations)
	}
	storetest.Eventually(t, 5*time.Second, "the incident to resolve", func() bool { return openIncidents() == 0 })

	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"monitors", "--server", base, "--token", token}, &out, &errs); code != 0 {
		t.Fatalf("nines monitors: %s", errs.String())
	}
	if !strings.Contains(out.String(), "shop-api") || !strings.Contains(out.String(), " up ") {
		t.Fatalf("nines monitors printed:\n%s", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"monitors", "--server", base, "--token", token, "shop-api"}, &out, &errs); code != 0 {
		t.Fatalf("nines monitors shop-api: %s", errs.String())
	}
	if !strings.Contains(out.String(), "location us-east: down status HTTP 500") {
		t.Fatalf("nines monitors shop-api printed:\n%s", out.String())
	}
}
