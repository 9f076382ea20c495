package e2e

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runitor does what runitor (bdd.fi/x/runitor, v1.3) does for one run of a command, request for
// request: a start ping, the command with its stdout and stderr kept in a buffer of the last
// Ping-Body-Limit bytes the server announced, then a success ping, or an exit-code ping for a
// non-zero exit, all POSTed as text/plain to <api-url>/<handle>[/<type>]?rid=<run id>. The
// Go module proxy refuses to serve runitor's module ("This module version is not available"),
// so the test cannot build runitor itself on a fresh machine; it speaks its requests instead.
func runitor(t *testing.T, apiURL, handle string, command ...string) (exitCode int) {
	t.Helper()
	var b [16]byte
	rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	rid := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	ping := func(typePath string, body []byte) *http.Response {
		t.Helper()
		u, err := url.Parse(apiURL)
		if err != nil {
			t.Fatal(err)
		}
		if u.Path, err = url.JoinPath(u.Path, handle, typePath); err != nil {
			t.Fatal(err)
		}
		u.RawQuery = url.Values{"rid": {rid}}.Encode()
		req, _ := http.NewRequest("POST", u.String(), bytes.NewReader(body))
		if len(body) == 0 {
			req.Body = http.NoBody
		}
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("User-Agent", "runitor/v1.3.0 (linux-amd64; +https://bdd.fi/x/runitor)")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", u, err)
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		// runitor takes 200 (and 201) as done, retries 408, 429 and 5xx, and gives up on the rest.
		if resp.StatusCode != 200 || strings.TrimSpace(string(answer)) != "OK" {
			t.Fatalf("POST %s: %s %q, want 200 OK", u, resp.Status, answer)
		}
		return resp
	}
	limit := 10000 // runitor's -ping-body-limit default, replaced by the server's Ping-Body-Limit
	if v, err := strconv.Atoi(ping("start", nil).Header.Get("Ping-Body-Limit")); err == nil {
		limit = v
	}
	var out bytes.Buffer
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	exitCode = cmd.ProcessState.ExitCode()
	body := out.Bytes()
	if err != nil {
		body = append(body, fmt.Sprintf("\n[runitor] %v", err)...)
	}
	if len(body) > limit {
		note := fmt.Sprintf("\n[runitor] Output truncated to last %d bytes.", limit)
		body = append(body[len(body)-limit+len(note):], note...)
	}
	if exitCode == 0 {
		ping("", body)
	} else {
		ping(strconv.Itoa(exitCode), body)
	}
	return exitCode
}

type apiPing struct {
	Kind       string `json:"kind"`
	ExitCode   int    `json:"exit_code"`
	DurationMS int64  `json:"duration_ms"`
	Body       string `json:"body"`
	RunID      string `json:"rid"`
}

// TestRunitorWrapsRealCommandsAgainstNines points runitor's requests at nines (-api-url
// <nines>/ping), by uuid and by ping key and slug, around real shell commands.
func TestRunitorWrapsRealCommandsAgainstNines(t *testing.T) {
	s := newServer(t, "")
	cfg := baseConfig + `  - {id: backups, name: Backups}
probes:
  ping_key: fqOOd6-F4MMNuCEnzTU01w
monitors:
  - id: db-backup
    service: backups
    type: heartbeat
    uuid: 8116e449-d71c-4112-8f5d-a66f60902091
    slug: db-backup
    period: 1h
    grace: 10m
`
	if err := os.WriteFile(filepath.Join(s.dir, "nines.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.start()
	token := s.token("responder")
	api := s.url("/ping")
	var m struct {
		Status  string    `json:"status"`
		Message string    `json:"message"`
		Pings   []apiPing `json:"pings"`
	}
	read := func() {
		m.Pings = nil
		s.get(token, "/api/v1/monitors/db-backup", &m)
	}

	// By uuid, a run that succeeds.
	if code := runitor(t, api, "8116e449-d71c-4112-8f5d-a66f60902091", "sh", "-c", "echo dumping; sleep 0.3; echo done"); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	read()
	if m.Status != "up" || len(m.Pings) != 2 || m.Pings[1].Kind != "start" || m.Pings[0].Kind != "success" ||
		m.Pings[0].RunID == "" || m.Pings[0].RunID != m.Pings[1].RunID || m.Pings[0].DurationMS < 300 || m.Pings[0].Body != "dumping\ndone\n" {
		t.Fatalf("after a good run: %+v", m)
	}

	// By ping key and slug, a run that fails with exit code 3: the job is down and pages.
	if code := runitor(t, api, "fqOOd6-F4MMNuCEnzTU01w/db-backup", "sh", "-c", "echo 'pg_dump: disk full' >&2; exit 3"); code != 3 {
		t.Fatalf("exit code %d, want the command's 3", code)
	}
	read()
	if m.Status != "down" || m.Pings[0].ExitCode != 3 || !strings.Contains(m.Pings[0].Body, "pg_dump: disk full") {
		t.Fatalf("after a failed run: %+v", m)
	}
	eventually(t, 5*time.Second, func() string {
		for _, inc := range s.incidents(token, "state=open") {
			if strings.Contains(inc.Title, "exited with code 3") {
				return ""
			}
		}
		return "no open incident says the job exited with code 3"
	})

	// A chatty run: runitor keeps the last Ping-Body-Limit bytes, and nines keeps all of them.
	runitor(t, api, "8116e449-d71c-4112-8f5d-a66f60902091", "sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done")
	read()
	if m.Status != "up" || len(m.Pings[0].Body) != 10240 || !strings.HasSuffix(m.Pings[0].Body, "Output truncated to last 10240 bytes.") ||
		!strings.Contains(m.Pings[0].Body, "line 2999") {
		t.Fatalf("after a chatty run: status %s, body of %d bytes ending %q", m.Status, len(m.Pings[0].Body), m.Pings[0].Body[max(0, len(m.Pings[0].Body)-80):])
	}
}
