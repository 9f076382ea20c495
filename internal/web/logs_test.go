package web_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/storetest"
)

// Secrets of logConfig, none of which may reach the log.
const (
	genericLogKey = "generic-secret-key-0001"
	amLogKey      = "am-secret-key-00000001"
	hbLogUUID     = "5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10"
	hbLogPingKey  = "team-secret-ping-key-01"
)

const logConfig = `
teams:
  - {id: payments, ping_key: ` + hbLogPingKey + `}
services:
  - id: checkout
    team: payments
    integrations:
      - {type: generic, key: ` + genericLogKey + `}
      - {type: alertmanager, key: ` + amLogKey + `}
monitors:
  - {id: nightly, service: checkout, type: heartbeat, uuid: ` + hbLogUUID + `, period: 1h, grace: 5m}
`

// TestFailedRequestsLogTheirRouteNotTheSecretsInTheirPath: while the database is down every
// request fails, and each failure is logged. A route whose path carries a credential (an
// integration key, a heartbeat's uuid, a ping key) is logged by its route pattern alone; a
// route whose path names objects (incident 5) keeps its path, which helps and holds nothing.
func TestFailedRequestsLogTheirRouteNotTheSecretsInTheirPath(t *testing.T) {
	db := storetest.SQLite(t, app.Schemas())
	w := startNinesOn(t, logConfig, db)
	viewer := w.tokens[auth.Viewer]
	db.Close() // the database is gone: every request below fails and is logged
	for _, c := range []struct{ method, path, body, route string }{
		{"POST", "/api/v1/ingest/generic/" + genericLogKey, `{"summary": "down"}`, "/api/v1/ingest/generic/{key}"},
		{"POST", "/api/v1/ingest/alertmanager/" + amLogKey, `{"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "x"}}]}`, "/api/v1/ingest/alertmanager/{key}"},
		{"GET", "/ping/" + hbLogUUID, "", "/ping/{path...}"},
		{"GET", "/ping/" + hbLogPingKey + "/nightly/fail", "", "/ping/{path...}"},
	} {
		status, body := w.call(t, c.method, c.path, "", c.body)
		if status < 500 {
			t.Errorf("%s %s with the database gone: %d %s, want 5xx", c.method, c.path, status, body)
		}
		if !strings.Contains(w.log.String(), `route="`+c.method+" "+c.route+`"`) {
			t.Errorf("the failure of %s %s is not logged by its route:\n%s", c.method, c.route, w.log.String())
		}
	}
	// A ping is answered in plain text, as api.md says, even then.
	resp, err := http.Get(w.url + "/ping/" + hbLogUUID)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 500 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || strings.Contains(string(text), "<") {
		t.Errorf("a ping with the database gone: %d %q: %q; want a 5xx in plain text", resp.StatusCode, resp.Header.Get("Content-Type"), text)
	}
	w.call(t, "GET", "/api/v1/incidents/5", viewer, "")
	log := w.log.String()
	for _, secret := range []string{genericLogKey, amLogKey, hbLogUUID, hbLogPingKey} {
		if strings.Contains(log, secret) {
			t.Errorf("the log holds the secret %s:\n%s", secret, log)
		}
	}
	if !strings.Contains(log, "path=/api/v1/incidents/5") {
		t.Errorf("the failure of a route naming an object does not keep its path:\n%s", log)
	}
}

// TestAFailureNinesDidNotExpectIsAnsweredWithARequestIDFoundInTheLog: with the database gone,
// a page answers a styled error page and the API a JSON error, each with a request id that
// names the failure's log line, and neither says what the error was.
func TestAFailureNinesDidNotExpectIsAnsweredWithARequestIDFoundInTheLog(t *testing.T) {
	db := storetest.SQLite(t, app.Schemas())
	w := startNinesOn(t, logConfig, db)
	viewer := w.tokens[auth.Viewer]
	db.Close()
	id := regexp.MustCompile(`request_id=([0-9a-f]{16})`)
	for _, c := range []struct{ path, want string }{
		{"/api/v1/incidents/5", `"request_id":"`},
		{"/incidents/5", `<code id="request-id">`},
	} {
		before := len(w.log.String())
		status, body := w.call(t, "GET", c.path, viewer, "")
		logged := id.FindStringSubmatch(w.log.String()[before:])
		if status < 500 || logged == nil {
			t.Errorf("GET %s with the database gone: %d, log %q; want a 5xx logged with a request id", c.path, status, w.log.String()[before:])
			continue
		}
		if !strings.Contains(body, c.want+logged[1]) {
			t.Errorf("GET %s: the answer does not carry the logged request id %s: %.600s", c.path, logged[1], body)
		}
		if strings.Contains(body, "closed") || strings.Contains(body, "sql:") {
			t.Errorf("GET %s: the answer tells the error itself: %.600s", c.path, body)
		}
	}
}

// A change refused to a credential that was recognised (a viewer's token on a manager's route)
// is audited under that credential's name, not as anonymous: the audit log says who tried.
func TestARefusedChangeIsAuditedUnderWhoTriedIt(t *testing.T) {
	w := startNinesOn(t, logConfig, storetest.SQLite(t, app.Schemas()))
	if status, body := w.call(t, "POST", "/api/v1/config/teams", w.tokens[auth.Viewer], `{"id": "x"}`); status != http.StatusForbidden {
		t.Fatalf("a viewer making a team: %d %s, want 403", status, body)
	}
	if status, _ := w.call(t, "POST", "/api/v1/config/teams", "not-a-token", `{"id": "x"}`); status != http.StatusUnauthorized {
		t.Fatalf("an unknown token: %d, want 401", status)
	}
	entries, err := w.app.Audit.List(t.Context(), 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Actor+" "+e.Detail)
	}
	if strings.Join(got, ", ") != "anonymous 401, token:viewer-token 403" {
		t.Fatalf("audit entries %v, want the viewer's refusal under its token and the unknown token's as anonymous", got)
	}
}

// A manager scoped to a team writes only objects that stay its team's: a service without a
// team, or another team's, is refused; one of its team is made.
func TestAScopedManagerMakesOnlyItsTeamsServices(t *testing.T) {
	w := startNinesOn(t, logConfig, storetest.SQLite(t, app.Schemas()))
	tok, _, err := w.app.Tokens.CreateScoped(t.Context(), "pay-manager", auth.Manager, time.Hour, []string{"payments"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"id": "loose"}`, http.StatusForbidden},
		{`{"id": "theirs", "team": "search"}`, http.StatusForbidden},
		{`{"id": "ours", "team": "payments"}`, http.StatusCreated},
	} {
		if status, body := w.call(t, "POST", "/api/v1/config/services", tok, c.body); status != c.want {
			t.Errorf("%s: %d %s, want %d", c.body, status, body, c.want)
		}
	}
}
