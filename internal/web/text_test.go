package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// textConfig is wholeConfig with a generic webhook beside the other integrations.
var textConfig = strings.Replace(wholeConfig, "      - {type: alertmanager, key: am-checkout-key}",
	"      - {type: alertmanager, key: am-checkout-key}\n      - {type: generic, key: generic-checkout-key}", 1)

// TestANULByteNeverGives500AndNeverLosesAnAlert: PostgreSQL refuses a NUL byte in text, so any
// string holding one failed with 500, and an Alertmanager group with one such alert failed
// whole on every retry. On both backends alike: an event is kept, with U+FFFD in place of the
// NUL (a sender told 4xx drops its alert), and what a person writes is refused with 400 naming
// the field, changing nothing.
func TestANULByteNeverGives500AndNeverLosesAnAlert(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		w := startNinesOn(t, textConfig, db)
		responder, admin := w.tokens[auth.Responder], w.tokens[auth.Admin]
		const routing = "0123456789abcdef0123456789abcdef"

		t.Run("events are kept with U+FFFD for the NUL", func(t *testing.T) {
			for _, c := range []struct {
				name, path, body string
				title            string // the incident it opens
			}{
				{"an Events v2 summary and dedup key", "/v2/enqueue",
					`{"routing_key": "` + routing + `", "event_action": "trigger", "dedup_key": "disk\u0000full", "payload": {"summary": "Disk\u0000full", "source": "db\u00001", "severity": "critical"}}`,
					"Disk\ufffdfull"},
				{"an Alertmanager group with one alert's labels holding NULs", "/api/v1/ingest/alertmanager/am-checkout-key",
					`{"version": "4", "status": "firing", "groupKey": "g", "alerts": [
						{"status": "firing", "labels": {"alertname": "Latency\u0000High", "severity": "critical"}, "annotations": {"summary": "p99\u0000 is 3s"}, "fingerprint": "f\u00001", "startsAt": "2026-03-30T07:00:00Z"},
						{"status": "firing", "labels": {"alertname": "ErrorsHigh", "severity": "critical"}, "annotations": {"summary": "errors at 5%"}, "fingerprint": "f2", "startsAt": "2026-03-30T07:00:00Z"}]}`,
					"Latency\ufffdHigh: p99\ufffd is 3s"},
				{"a generic summary and dedup key", "/api/v1/ingest/generic/generic-checkout-key",
					`{"summary": "Queue\u0000stuck", "dedup_key": "q\u0000", "severity": "critical"}`, "Queue\ufffdstuck"},
			} {
				t.Run(c.name, func(t *testing.T) {
					if status, body := w.call(t, "POST", c.path, "", c.body); status != http.StatusAccepted {
						t.Fatalf("%d %s, want 202", status, body)
					}
					var list struct{ Incidents []struct{ Title string } }
					w.mustJSON(t, "GET", "/api/v1/incidents?limit=100", responder, "", &list)
					found := false
					for _, inc := range list.Incidents {
						found = found || inc.Title == c.title
					}
					if !found {
						t.Errorf("no incident titled %q: %+v", c.title, list.Incidents)
					}
				})
			}
			// A repeat with the same key is a repeat of the alert kept.
			status, body := w.call(t, "POST", "/v2/enqueue", "", `{"routing_key": "`+routing+`", "event_action": "trigger", "dedup_key": "disk\u0000full", "payload": {"summary": "Disk\u0000full", "source": "db1", "severity": "critical"}}`)
			var answer struct {
				DedupKey string `json:"dedup_key"`
			}
			json.Unmarshal([]byte(body), &answer)
			if status != http.StatusAccepted || answer.DedupKey != "disk\ufffdfull" {
				t.Errorf("the repeat: %d %s, want 202 for dedup key disk\ufffdfull", status, body)
			}
			if status, body := w.call(t, "POST", "/v2/change/enqueue", "", `{"routing_key": "`+routing+`", "payload": {"summary": "Deploy\u0000v2", "source": "ci\u0000", "timestamp": "2026-03-30T07:00:00Z",
				"custom_details": {"version": "v\u00002", "commit": "abc\u0000"}}}`); status != http.StatusAccepted {
				t.Errorf("a change event: %d %s, want 202", status, body)
			}
		})

		var inc struct{ ID int64 }
		w.mustJSON(t, "POST", "/api/v1/incidents", responder, `{"service": "checkout", "title": "Checkout is down"}`, &inc)
		w.mustJSON(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/postmortem", inc.ID), responder, `{}`, nil)
		id := fmt.Sprint(inc.ID)
		t.Run("what a person writes is refused with the field named", func(t *testing.T) {
			for _, c := range []struct {
				name, method, path, token, body, field string
			}{
				{"a note", "POST", "/api/v1/incidents/" + id + "/notes", responder, `{"text": "rolled\u0000back"}`, "text"},
				{"a declared incident's title", "POST", "/api/v1/incidents", responder, `{"service": "checkout", "title": "x\u0000"}`, "title"},
				{"a declared incident's summary", "POST", "/api/v1/incidents", responder, `{"service": "checkout", "title": "x", "summary": "\u0000"}`, "summary"},
				{"a deploy's version", "POST", "/api/v1/changes", responder, `{"service": "checkout", "version": "v\u00001"}`, "version"},
				{"a status update's body", "POST", "/api/v1/incidents/" + id + "/status-updates", responder, `{"page": "public", "status": "investigating", "body": "a\u0000b"}`, "body"},
				{"a status update's name", "POST", "/api/v1/incidents/" + id + "/status-updates", responder, `{"page": "public", "status": "investigating", "body": "ok", "name": "n\u0000"}`, "name"},
				{"an action item's title", "POST", "/api/v1/incidents/" + id + "/postmortem/actions", responder, `{"title": "add\u0000retry", "owner": "alice", "kind": "fix"}`, "title"},
				{"a user's name", "POST", "/api/v1/users", admin, `{"username": "mallory", "name": "M\u0000", "role": "viewer", "password": "correct horse battery"}`, "name"},
				{"a token's name", "POST", "/api/v1/tokens", admin, `{"name": "ci\u0000", "role": "viewer"}`, "name"},
				{"a role given to a person", "POST", "/api/v1/incidents/" + id + "/roles", responder, `{"role": "commander", "person": "al\u0000ice"}`, "person"},
			} {
				t.Run(c.name, func(t *testing.T) {
					status, body := w.call(t, c.method, c.path, c.token, c.body)
					if status != http.StatusBadRequest || !strings.Contains(body, c.field+": ") || !strings.Contains(body, "NUL") {
						t.Errorf("%d %s, want 400 naming %s and the NUL byte", status, body, c.field)
					}
				})
			}
			var tl struct{ Events []struct{ Type string } }
			w.mustJSON(t, "GET", "/api/v1/incidents/"+id+"/timeline", responder, "", &tl)
			for _, e := range tl.Events {
				if e.Type == "note" || e.Type == "note.added" {
					t.Errorf("a note was added: %+v", tl.Events)
				}
			}
		})

		t.Run("forms with a NUL are refused with the field named", func(t *testing.T) {
			b := webtest.SignIn(t, w.url, w.app.Users, "erin", auth.Responder)
			resp, body := b.PostForm("/incidents/"+id+"/notes", url.Values{"text": {"a\x00b"}}, true)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "text: ") {
				t.Errorf("a note through the form: %d %.300s, want 400 naming text", resp.StatusCode, body)
			}
			form := url.Values{"username": {"erin\x00"}, "password": {"x"}, "next": {"/"}}
			r, err := http.PostForm(w.url+"/login", form)
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode != http.StatusBadRequest {
				t.Errorf("signing in with a NUL in the username: %d, want 400", r.StatusCode)
			}
		})

		t.Run("a NUL in a URL finds nothing", func(t *testing.T) {
			for _, path := range []string{"/api/v1/search?q=disk%00full", "/api/v1/maintenance/a%00b", "/api/v1/monitors/a%00b", "/api/v1/incidents?service=a%00b"} {
				if status, body := w.call(t, "GET", path, responder, ""); status >= 500 {
					t.Errorf("GET %s: %d %s", path, status, body)
				}
			}
		})
	})
}
