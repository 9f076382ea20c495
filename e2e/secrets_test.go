package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/storetest"
)

var secretsConfig = strings.Replace(baseConfig, "    name: Payments\n", "    name: Payments\n    escalation_policy: payments\n", 1) + `escalation_policies:
  - id: payments
    steps: [{escalate_after: 10m, targets: [{user: alice}]}]
users:
  - {id: alice, contact_methods: [{type: webhook, address: "http://127.0.0.1:9/alice"}]}
schedules:
  - id: ops
    time_zone: UTC
    layers:
      - name: primary
        rotation: {length: 1w, handoff: "2026-01-05T09:00"}
        users: [alice]
`

// forgeFromDatabase signs what an attacker holding only a copy of the database would: each
// HMAC keyed with the raw secret as the database stores it.
func forgeFromDatabase(t *testing.T, s *server, name, payload string) []byte {
	t.Helper()
	db := s.openDB()
	var v string
	eventually(t, 10*time.Second, func() string {
		if err := db.QueryRow(context.Background(), `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v); err != nil {
			return fmt.Sprintf("reading secret %s from the database: %v", name, err)
		}
		return ""
	})
	raw, _ := hex.DecodeString(v)
	m := hmac.New(sha256.New, raw)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// A copy of the database (a backup, a dump) is not enough to forge an acknowledge link or a
// calendar feed URL: the keys are derived with a key kept outside it, in the data directory's
// key file, which nines makes on first start with mode 0600 and keeps across restarts.
func TestACopyOfTheDatabaseForgesNoLinks(t *testing.T) {
	s := newServer(t, "")
	s.writeConfig(secretsConfig)
	s.start()
	viewer := s.token("viewer")

	keyFile := filepath.Join(s.dir, "data", "nines.key")
	if fi, err := os.Stat(keyFile); err != nil {
		t.Errorf("no key file beside the database: %v", err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}

	// The feed URL nines hands out works.
	var list struct {
		Schedules []struct {
			FeedURL string `json:"feed_url"`
		} `json:"schedules"`
	}
	s.get(viewer, "/api/v1/schedules", &list)
	if len(list.Schedules) != 1 {
		t.Fatalf("schedules: %+v", list)
	}
	feed := list.Schedules[0].FeedURL
	feed = feed[strings.Index(feed, "/api/"):]
	if code, _, body := getStatus(t, s.url(feed)); code != http.StatusOK {
		t.Fatalf("the feed URL nines gave: %d %s", code, body)
	}

	// An incident to acknowledge.
	if code, _, body := enqueue(t, s, "forge-me"); code != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", code, body)
	}
	incs := s.incidents(viewer, "state=open")
	if len(incs) != 1 {
		t.Fatalf("open incidents: %+v", incs)
	}

	// What a copy of the database lets one sign.
	// A feed key names its owner ("t1.<mac>") under a secret of that owner's own; an older
	// nines signed every feed with one secret.
	secretName, keyPrefix := "ical-feeds", ""
	if owner, _, ok := strings.Cut(feed[strings.Index(feed, "key=")+4:], "."); ok {
		secretName, keyPrefix = "ical-feeds:"+owner, owner+"."
	}
	forgedFeed := s.url("/api/v1/schedules/ops/shifts.ics?key=" + keyPrefix + hex.EncodeToString(forgeFromDatabase(t, s, secretName, "schedule:ops"))[:32])
	payload := fmt.Sprintf("ack.%d.%d.alice", incs[0].ID, time.Now().Add(time.Hour).Unix())
	forgedLink := s.url("/a/" + base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." +
		base64.RawURLEncoding.EncodeToString(forgeFromDatabase(t, s, "page-links", payload)[:18]))

	code, _, body := getStatus(t, forgedFeed)
	t.Logf("a feed URL forged from the database: %d", code)
	if code == http.StatusOK {
		t.Errorf("a feed URL forged from a copy of the database was served: %.80s", body)
	}
	resp, err := http.Post(forgedLink, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Logf("an acknowledge link forged from the database: %d", resp.StatusCode)
	if resp.StatusCode == http.StatusOK {
		t.Errorf("an acknowledge link forged from a copy of the database acknowledged the incident")
	}
	if incs := s.incidents(viewer, "state=open"); len(incs) != 1 || incs[0].State != "triggered" {
		t.Errorf("after the forged link: %+v; want the incident still triggered", incs)
	}

	// The key survives a restart: what nines handed out before still works.
	s.stop(10 * time.Second)
	s.start()
	if code, _, body := getStatus(t, s.url(feed)); code != http.StatusOK {
		t.Errorf("the feed URL after a restart: %d %s", code, body)
	}
}

// With PostgreSQL the key cannot live beside the database: nines refuses to start without one,
// and every node started with the same key accepts what another signed.
func TestPostgreSQLNodesNeedTheirSharedKey(t *testing.T) {
	s := newServer(t, storetest.PostgresURL(t))
	cmd := exec.Command(ninesBin, append([]string{"serve", "--listen", freeAddr(t)}, s.dbArgs()...)...)
	cmd.Env = append(os.Environ(), "NINES_KEY=", "NINES_KEY_FILE=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "NINES_KEY") {
		t.Fatalf("nines serve on PostgreSQL without a key: %v\n%s\nwant it to refuse, naming NINES_KEY", err, out)
	}
	s.start() // with the key
}
