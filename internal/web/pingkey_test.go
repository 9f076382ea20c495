package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/auth"
)

// Keys of pingKeysConfig: each team's own, and the install-wide one.
const (
	payPingKey     = "zz-pay-ping-key-0000001"
	findPingKey    = "zz-find-ping-key-000001"
	installPingKey = "install-wide-ping-key-01"
)

const pingKeysConfig = `
teams:
  - {id: payments, name: Payments, ping_key: ` + payPingKey + `}
  - {id: search, name: Search, ping_key_env: NINES_TEST_FIND_PING_KEY}
  - {id: ops, name: Ops}
probes:
  ping_key: ` + installPingKey + `
services:
  - {id: pay-api, team: payments}
  - {id: find-api, team: search}
  - {id: ops-api, team: ops}
  - {id: misc}
monitors:
  - {id: pay-hb, service: pay-api, type: heartbeat, uuid: 11111111-1d7e-4d2b-9a43-6f1e0c2b7a10, period: 1h, grace: 5m}
  - {id: search-hb, service: find-api, type: heartbeat, uuid: 22222222-1d7e-4d2b-9a43-6f1e0c2b7a10, period: 1h, grace: 5m}
  - {id: ops-hb, service: ops-api, type: heartbeat, uuid: 33333333-1d7e-4d2b-9a43-6f1e0c2b7a10, period: 1h, grace: 5m}
  - {id: misc-hb, service: misc, type: heartbeat, uuid: 44444444-1d7e-4d2b-9a43-6f1e0c2b7a10, period: 1h, grace: 5m}
`

// TestPingKeysArePerTeam: the install-wide ping key reached every team's heartbeats, and every
// responder was shown it, so one team could fake another's success or page it with /fail. As
// healthchecks.io does per project, a team has its own ping key: a slug URL works only with
// the key of its heartbeat's team (the install-wide one only for heartbeats of no team, or of
// a team with none), and a principal is shown only its own teams' keys.
func TestPingKeysArePerTeam(t *testing.T) {
	t.Setenv("NINES_TEST_FIND_PING_KEY", findPingKey)
	w := startNines(t, pingKeysConfig)
	for _, c := range []struct {
		name, path string
		status     int
	}{
		{"a team's key pings its own heartbeat", "/ping/" + payPingKey + "/pay-hb", 200},
		{"a team's key from the environment pings its own heartbeat", "/ping/" + findPingKey + "/search-hb", 200},
		{"a team's key does not fail another team's heartbeat", "/ping/" + payPingKey + "/search-hb/fail", 404},
		{"a team's key does not fake another team's success", "/ping/" + payPingKey + "/search-hb", 404},
		{"a team's key does not reach a heartbeat of no team", "/ping/" + payPingKey + "/misc-hb", 404},
		{"the install-wide key does not reach a heartbeat whose team has a key", "/ping/" + installPingKey + "/pay-hb/fail", 404},
		{"the install-wide key pings a heartbeat of no team", "/ping/" + installPingKey + "/misc-hb", 200},
		{"the install-wide key pings a heartbeat of a team without a key", "/ping/" + installPingKey + "/ops-hb", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			if status, body := w.call(t, "GET", c.path, "", ""); status != c.status {
				t.Errorf("GET %s: %d %s, want %d", c.path, status, body, c.status)
			}
		})
	}
	t.Run("the other team's heartbeat was not failed", func(t *testing.T) {
		var mon struct{ Status string }
		w.mustJSON(t, "GET", "/api/v1/monitors/search-hb", w.tokens[auth.Admin], "", &mon)
		if mon.Status == "down" {
			t.Errorf("search-hb is %s", mon.Status)
		}
	})

	slugURL := func(t *testing.T, token, id string) string {
		t.Helper()
		status, body := w.call(t, "GET", "/api/v1/monitors/"+id, token, "")
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", id, status, body)
		}
		var mon struct {
			Heartbeat struct {
				SlugPingURL string `json:"slug_ping_url"`
			} `json:"heartbeat"`
		}
		json.Unmarshal([]byte(body), &mon)
		return mon.Heartbeat.SlugPingURL
	}
	pay, ops := w.scoped(t, auth.Responder, "payments"), w.scoped(t, auth.Responder, "ops")
	for _, c := range []struct {
		name, token, monitor, want string
	}{
		{"a team's responder is shown its team's key", pay, "pay-hb", payPingKey},
		{"a responder of a team without a key is not shown the install-wide one", ops, "ops-hb", ""},
		{"a scoped responder is not shown the install-wide key of a heartbeat of no team", pay, "misc-hb", ""},
		{"an unscoped responder is shown each heartbeat's key", w.tokens[auth.Responder], "search-hb", findPingKey},
		{"an unscoped responder is shown the install-wide key where it works", w.tokens[auth.Responder], "ops-hb", installPingKey},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := slugURL(t, c.token, c.monitor)
			if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, "/ping/"+c.want+"/") {
				t.Errorf("slug_ping_url %q, want the key %q", got, c.want)
			}
		})
	}
	t.Run("a team's pages show no other key", func(t *testing.T) {
		for _, path := range []string{"/monitors/pay-hb", "/monitors/misc-hb", "/monitors", "/api/v1/monitors"} {
			_, body := w.call(t, "GET", path, pay, "")
			if strings.Contains(body, findPingKey) || strings.Contains(body, installPingKey) {
				t.Errorf("GET %s as a payments responder shows another key", path)
			}
		}
	})
}
