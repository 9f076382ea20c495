package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/storetest"
)

// TestAgentTokensStayOutOfTheProcessList: `nines agent --token X` put the token in the agent's
// command line, which every user of the machine reads (ps, /proc/PID/cmdline) for as long as
// the agent runs. The agent takes it from NINES_AGENT_TOKEN or from a file (--token-file), and
// --token still works for a command run by hand, with a warning.
func TestAgentTokensStayOutOfTheProcessList(t *testing.T) {
	base, tokens := startServer(t, `services: [{id: shop}]
monitors:
  - {id: shop-api, service: shop, type: tcp, address: "127.0.0.1:1", locations: [eu-west, us-east], interval: 1s}
`, []string{"--role", "viewer"}, []string{"--role", "agent", "--location", "eu-west"}, []string{"--role", "agent", "--location", "us-east"})
	viewer := tokens[0]
	dir := t.TempDir()
	file := filepath.Join(dir, "agent-token")
	os.WriteFile(file, []byte(tokens[1]+"\n"), 0o600)

	heard := func(loc string) bool {
		var out struct {
			Agents []struct{ Location, Status string }
		}
		getJSON(t, base, viewer, "/api/v1/probe/agents", &out)
		for _, a := range out.Agents {
			if a.Location == loc && a.Status == "up" {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		name, location string
		env, args      []string
		token          string
	}{
		{"from a file", "eu-west", nil, []string{"--token-file", file}, tokens[1]},
		{"from NINES_AGENT_TOKEN", "us-east", []string{"NINES_AGENT_TOKEN=" + tokens[2]}, nil, tokens[2]},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := startProcessWith(t, c.env, append([]string{"agent", "--server", base, "--location", c.location, "--log-level", "warn"}, c.args...)...)
			storetest.Eventually(t, 10*time.Second, "the agent reaching the server", func() bool { return heard(c.location) })
			cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cmdline")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(cmdline), c.token) {
				t.Errorf("the token is in the agent's command line: %q", cmdline)
			}
		})
	}

	// On the command line: taken, with a warning that says what to use instead. A token the
	// server refuses ends the agent, so the command returns.
	code, _, stderr := runNines(t, "agent", "--server", base, "--token", "nines_refused", "--location", "eu-west")
	if code == 0 || !strings.Contains(stderr, "--token puts the secret in the process list") || !strings.Contains(stderr, "NINES_AGENT_TOKEN") || !strings.Contains(stderr, "--token-file") {
		t.Errorf("agent --token: exit %d, stderr %q; want a warning naming NINES_AGENT_TOKEN and --token-file", code, stderr)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"both --token and --token-file", []string{"--token", "x", "--token-file", file}, "--token and --token-file"},
		{"a token file that does not exist", []string{"--token-file", filepath.Join(dir, "absent")}, "--token-file"},
		{"an empty token file", []string{"--token-file", writeFile(t, dir, "empty", " \n", 0o600)}, "is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runNines(t, append([]string{"agent", "--server", base, "--location", "eu-west"}, c.args...)...)
			if code == 0 || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want a refusal naming %q", code, stderr, c.want)
			}
		})
	}
	t.Run("a token file other users can read is taken, with a warning", func(t *testing.T) {
		open := writeFile(t, dir, "open", "nines_refused\n", 0o644)
		_, _, stderr := runNines(t, "agent", "--server", base, "--location", "eu-west", "--token-file", open)
		if !strings.Contains(stderr, "chmod 600") || !strings.Contains(stderr, "refused the token") {
			t.Errorf("stderr %q; want a warning to chmod 600, and the server's refusal of the token read", stderr)
		}
	})

	// Every client command takes --token-file, and warns of --token.
	viewerFile := writeFile(t, dir, "viewer-token", viewer, 0o600)
	if code, out, stderr := runNines(t, "monitors", "--server", base, "--token-file", viewerFile); code != 0 || !strings.Contains(out, "shop-api") || stderr != "" {
		t.Errorf("monitors --token-file: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if code, out, stderr := runNines(t, "monitors", "--server", base, "--token", viewer); code != 0 || !strings.Contains(out, "shop-api") || !strings.Contains(stderr, "NINES_TOKEN") {
		t.Errorf("monitors --token: exit %d, stdout %q, stderr %q; want it done, with a warning naming NINES_TOKEN", code, out, stderr)
	}
}

// TestRoutingKeysStayOutOfTheProcessList: a routing key lets whoever holds it page people; it
// is read from NINES_ROUTING_KEY or --routing-key-file, and --routing-key warns.
func TestRoutingKeysStayOutOfTheProcessList(t *testing.T) {
	base, _ := startServer(t, `services: [{id: shop, integrations: [{type: events_v2, key: 0123456789abcdef0123456789abcdef}]}]`)
	keyFile := writeFile(t, t.TempDir(), "routing-key", "0123456789abcdef0123456789abcdef\n", 0o600)
	if code, out, stderr := runNines(t, "event", "trigger", "--server", base, "--routing-key-file", keyFile, "--summary", "Shop down"); code != 0 || !strings.Contains(out, "dedup_key") || stderr != "" {
		t.Errorf("event trigger --routing-key-file: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, out, stderr := runNines(t, "event", "trigger", "--server", base, "--routing-key", "0123456789abcdef0123456789abcdef", "--summary", "Shop down")
	if code != 0 || !strings.Contains(out, "dedup_key") || !strings.Contains(stderr, "NINES_ROUTING_KEY") || !strings.Contains(stderr, "--routing-key-file") {
		t.Errorf("event trigger --routing-key: exit %d, stdout %q, stderr %q; want it sent, with a warning", code, out, stderr)
	}
}

// TestADatabasePasswordOnTheCommandLineIsWarnedOf: a PostgreSQL URL given to --db with its
// password shows in the process list; nines says so, and what to use instead.
func TestADatabasePasswordOnTheCommandLineIsWarnedOf(t *testing.T) {
	_, _, stderr := runNines(t, "token", "list", "--db", "postgres://nines:hunter2@127.0.0.1:1/nines?connect_timeout=1")
	if !strings.Contains(stderr, "--db holds a password") || !strings.Contains(stderr, "NINES_DB") {
		t.Errorf("stderr %q; want a warning naming NINES_DB", stderr)
	}
	if strings.Contains(stderr, "hunter2") {
		t.Errorf("the password is printed: %q", stderr)
	}
	t.Setenv("NINES_DB", "postgres://nines:hunter2@127.0.0.1:1/nines?connect_timeout=1")
	if _, _, stderr := runNines(t, "token", "list"); strings.Contains(stderr, "--db holds a password") || strings.Contains(stderr, "hunter2") {
		t.Errorf("from NINES_DB: stderr %q; want no warning and no password", stderr)
	}
}

func writeFile(t *testing.T, dir, name, text string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, mode)
	return p
}
