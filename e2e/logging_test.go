package e2e

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"
)

// With --log-format json every line nines logs is JSON, including what Go's HTTP server
// says of connections anyone can open: a TLS handshake cut short is a debug record naming
// the client, not a plain-text line in the middle of a log pipeline.
func TestJSONLogsCarryWhatTheHTTPServerSaysAsRecords(t *testing.T) {
	s, _, _, _ := newTLSServer(t)
	s.args = []string{"--log-format", "json", "--log-level", "debug"}
	s.start()

	// Handshakes that fail: a client that hangs up at once, and one that speaks garbage.
	for _, hello := range []string{"", "\x16\x03\x01\x00\x05junk!"} {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(hello))
		c.Close()
	}
	var handshakes []map[string]any
	eventually(t, 10*time.Second, func() string {
		handshakes = nil
		for _, line := range strings.Split(strings.TrimSpace(s.log.String()), "\n") {
			if strings.HasPrefix(line, "nines listening on ") {
				continue // stdout: where it listens, for people
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("a log line is not JSON: %q", line)
			}
			if strings.Contains(rec["msg"].(string), "TLS handshake") {
				handshakes = append(handshakes, rec)
			}
		}
		if len(handshakes) < 2 {
			return "the failed handshakes are not logged as records yet"
		}
		return ""
	})
	for _, rec := range handshakes {
		if rec["level"] != "DEBUG" || !strings.HasPrefix(rec["remote"].(string), "127.0.0.1:") || rec["err"] == "" {
			t.Errorf("a failed handshake is logged as %v; want level DEBUG, the client's address as remote, and the error", rec)
		}
	}
}
