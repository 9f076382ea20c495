package api_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/storetest"
)

// A signed link acts for the person it was sent to only while that person is a user in the
// config in force: removing someone from the config takes their links away too.
func TestALinkWorksOnlyForAUserOfTheConfigInForce(t *testing.T) {
	env := startOnCall(t, storetest.SQLite(t, oncallSchemas), clock.Real{})
	status, b := env.do(t, "POST", "/v2/enqueue", "", map[string]any{"routing_key": "0123456789abcdef0123456789abcdef", "event_action": "trigger",
		"payload": map[string]string{"summary": "Checkout is down", "source": "lb-1", "severity": "critical"}})
	if status != 202 {
		t.Fatalf("enqueue: %d %s", status, b)
	}
	incs, _, _ := env.srv.Incidents.List(context.Background(), incident.Filter{})
	if len(incs) != 1 {
		t.Fatalf("incidents: %+v", incs)
	}
	sign := func(user, action string) string {
		tok, err := env.srv.Escalation.SignLink(context.Background(), escalate.Link{Incident: incs[0].ID, User: user, Action: action, Expires: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return env.url + "/a/" + tok
	}
	for _, tc := range []struct{ name, method, path string }{
		{"the link's page", "GET", ""},
		{"the link's button", "POST", ""},
		{"the key pressed on a call", "POST", "/voice"},
	} {
		t.Run(tc.name+" refuses a user no longer in the config", func(t *testing.T) {
			var body io.Reader
			if tc.path == "/voice" {
				body = strings.NewReader(url.Values{"Digits": {"1"}}.Encode())
			}
			req, _ := http.NewRequest(tc.method, sign("mallory", escalate.ActionAcknowledge)+tc.path, body)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.path == "/voice" {
				if resp.StatusCode != 200 || strings.Contains(string(page), "Thank you") {
					t.Errorf("voice: %d %s; want it to do nothing", resp.StatusCode, page)
				}
			} else if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(page), "no longer a user") {
				t.Errorf("%d %s; want 403 saying the user is gone", resp.StatusCode, page)
			}
			if inc, _ := env.srv.Incidents.Get(context.Background(), incs[0].ID); inc.State != incident.Triggered {
				t.Fatalf("a link for a user not in the config changed the incident: %s", inc.State)
			}
		})
	}
	// The same link for a user of the config acknowledges.
	resp, err := http.Post(sign("alice", escalate.ActionAcknowledge), "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if inc, _ := env.srv.Incidents.Get(context.Background(), incs[0].ID); resp.StatusCode != 200 || inc.State != incident.Acknowledged {
		t.Fatalf("alice's link: %d, incident %s", resp.StatusCode, inc.State)
	}
}
