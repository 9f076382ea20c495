package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// A person invited from nines, declared in no file, is a person like any other: put on a
// schedule made through the API, paged on the contact method they verified when an alert
// reaches the policy that targets the schedule.
func TestAPersonInvitedInNinesIsPutOnCallAndPaged(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		env := startConfigEnv(t, db, clock.NewFake(webtest.Epoch))
		ctx := context.Background()

		code, body := env.do(t, "POST", "/api/v1/invites", env.admin, map[string]any{"username": "dana", "name": "Dana Okafor", "email": "dana@example.com"})
		if code != http.StatusCreated {
			t.Fatalf("inviting dana: %d %s", code, body)
		}
		if m := env.smtp.Next(t); len(m.To) != 1 || m.To[0] != "dana@example.com" {
			t.Fatalf("the invitation went to %v", m.To)
		}
		code, body = env.do(t, "GET", "/api/v1/config/users/dana", env.manager, nil)
		if code != 200 || !strings.Contains(string(body), `"source":"database"`) || !strings.Contains(string(body), `"name":"Dana Okafor"`) {
			t.Fatalf("the invited person's object: %d %s", code, body)
		}

		// On a schedule at once; but a policy reaching only her is refused while she has no
		// way to be paged, in the config's own words.
		env.create(t, "schedules", `{"id": "night", "time_zone": "UTC", "layers": [{"name": "only", "rotation": {"length": "1w", "handoff": "2026-01-05T00:00"}, "users": ["dana"]}]}`)
		const nightPolicy = `{"id": "night-policy", "steps": [{"targets": [{"schedule": "night"}]}]}`
		if c, b := env.do(t, "POST", "/api/v1/config/escalation_policies", env.manager, json.RawMessage(nightPolicy)); c != 400 ||
			!strings.Contains(string(b), "user dana has no contact method and may be on call on schedule night") {
			t.Errorf("a policy reaching only dana before she verified a method: %d %s", c, b)
		}

		// Dana adds an address of her own and verifies it with the code it receives.
		dana, _, err := env.srv.Tokens.CreateFor(ctx, "dana", "dana's", auth.Responder, time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c, b := env.do(t, "POST", "/api/v1/me/contact-methods", dana, map[string]string{"type": "email", "address": "dana.pager@example.com"}); c != 201 {
			t.Fatalf("dana adds a contact method: %d %s", c, b)
		}
		m := env.smtp.Next(t)
		got := codeInSubject.FindStringSubmatch(m.Subject(t))
		if got == nil || m.To[0] != "dana.pager@example.com" {
			t.Fatalf("no verification code to dana.pager@: %v %q", m.To, m.Subject(t))
		}
		if c, b := env.do(t, "POST", "/api/v1/me/contact-methods/profile-1/verify", dana, map[string]string{"code": got[1]}); c != 204 {
			t.Fatalf("verifying: %d %s", c, b)
		}

		// Verified, she is reached: a team, the policy and a service name her.
		env.create(t, "teams", `{"id": "storage", "name": "Storage", "members": ["dana"]}`)
		env.create(t, "escalation_policies", nightPolicy)
		svc := env.create(t, "services", `{"id": "blobs", "name": "Blob store", "escalation_policy": "night-policy", "integrations": [{"type": "events_v2"}]}`)
		if len(svc.IntegrationKeys) != 1 {
			t.Fatalf("the service's key: %+v", svc.IntegrationKeys)
		}
		if c, b := env.do(t, "POST", "/v2/enqueue", "", map[string]any{"routing_key": svc.IntegrationKeys[0].Key, "event_action": "trigger",
			"dedup_key": "blobs-down", "payload": map[string]any{"summary": "Blob store down", "source": "blob1", "severity": "critical"}}); c != 202 {
			t.Fatalf("trigger: %d %s", c, b)
		}
		page := env.smtp.Next(t)
		if len(page.To) != 1 || page.To[0] != "dana.pager@example.com" || !strings.Contains(page.Subject(t), "Blob store down") {
			t.Fatalf("the page went to %v: %q", page.To, page.Subject(t))
		}

		// Her only way to be paged cannot be removed while a policy would reach nobody without
		// it: nines would not start again on such a config.
		if c, b := env.do(t, "DELETE", "/api/v1/me/contact-methods/profile-1", dana, nil); c != http.StatusConflict ||
			!strings.Contains(string(b), "night-policy could reach nobody") {
			t.Errorf("removing dana's last contact method: %d %s, want 409 naming the policy", c, b)
		}

		// nines starts again on this database, as nines serve does: the objects naming her are
		// checked with what she verified, so it starts.
		live, err := app.LoadConfig(ctx, env.dir, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatalf("starting again on the files and the database: %v", err)
		}
		if live.Get().EscalationPolicy("night-policy") == nil {
			t.Fatal("the policy made in nines is not in force after a start")
		}
		if _, err := app.New(ctx, live, db, clock.NewFake(webtest.Epoch), slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{}); err != nil {
			t.Fatalf("building nines again on the database: %v", err)
		}
		// Built on the files alone, nines puts the database's objects in force itself, checked
		// with what she verified too.
		files, err := config.Load(env.dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.New(ctx, config.NewLive(files), db, clock.NewFake(webtest.Epoch), slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{}); err != nil {
			t.Fatalf("building nines on the files alone and the database: %v", err)
		}

		// Her account is not deleted while the config names her: the config's own message
		// names the schedule, and the account, the person and the schedule stay.
		code, body = env.do(t, "DELETE", "/api/v1/users/dana", env.admin, nil)
		if code != 400 || !strings.Contains(string(body), `schedule night, layer only: unknown user \"dana\"`) {
			t.Errorf("deleting dana's account while on call: %d %s", code, body)
		}
		if c, _ := env.do(t, "GET", "/api/v1/config/users/dana", env.manager, nil); c != 200 {
			t.Errorf("dana's person after a refused delete: %d", c)
		}
		if _, err := env.srv.Users.Get(ctx, "dana"); err != nil {
			t.Errorf("dana's account after a refused delete: %v", err)
		}

		// `nines export` writes her, people first.
		_, exported := env.do(t, "GET", "/api/v1/config/export", env.manager, nil)
		if !strings.Contains(string(exported), "users:\n  - id: dana\n    name: Dana Okafor\n") || strings.Index(string(exported), "users:") > strings.Index(string(exported), "schedules:") {
			t.Errorf("the export lacks dana, or writes her after what names her:\n%s", exported)
		}
	})
}

// People are changed by admins only; one a file declares is read-only, named by file:line;
// with nobody naming them, deleting an account takes its person along.
func TestPeopleAreChangedByAdminsAndFilesKeepTheirs(t *testing.T) {
	env := startConfigEnv(t, storetest.SQLite(t, app.Schemas()), clock.NewFake(webtest.Epoch))
	cases := []struct {
		name, method, path, token, body string
		status                          int
		want                            string
	}{
		{"a manager may not make a person", "POST", "/api/v1/config/users", env.manager, `{"id": "erin", "name": "Erin"}`, 403, ""},
		{"an admin makes a person", "POST", "/api/v1/config/users", env.admin, `{"id": "erin", "name": "Erin"}`, 201, `"id":"erin"`},
		{"a manager reads people", "GET", "/api/v1/config/users", env.manager, "", 200, `"id":"erin"`},
		{"a manager may not change a person", "PUT", "/api/v1/config/users/erin", env.manager, `{"id": "erin", "name": "Erin B."}`, 403, ""},
		{"an admin changes a person", "PUT", "/api/v1/config/users/erin", env.admin, `{"id": "erin", "name": "Erin B."}`, 200, `"version":2`},
		{"a person a file declares is read-only", "PUT", "/api/v1/config/users/alice", env.admin, `{"id": "alice", "name": "Al"}`, 409, "person alice is declared in a config file at "},
		{"a person a file declares is not made again", "POST", "/api/v1/config/users", env.admin, `{"id": "bob"}`, 400, `person id \"bob\" is already declared at `},
		{"a bad contact method names its field", "POST", "/api/v1/config/users", env.admin, `{"id": "fay", "contact_methods": [{"type": "sms", "address": "0612"}]}`, 400, "is not a phone number in E.164 form"},
		{"a manager may not delete a person", "DELETE", "/api/v1/config/users/erin", env.manager, "", 403, ""},
		{"an admin deletes a person nobody names", "DELETE", "/api/v1/config/users/erin", env.admin, "", 204, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = json.RawMessage(c.body)
			}
			code, b := env.do(t, c.method, c.path, c.token, body)
			if code != c.status || !strings.Contains(string(b), c.want) {
				t.Errorf("%s %s: %d %s, want %d with %q", c.method, c.path, code, b, c.status, c.want)
			}
		})
	}
	if c, b := env.do(t, "PUT", "/api/v1/config/users/alice", env.admin, json.RawMessage(`{"id": "alice"}`)); !strings.Contains(string(b), "nines.yaml:2") {
		t.Errorf("the refusal does not name the file and line: %d %s", c, b)
	}

	// An account made with its password makes its person too; deleted, both go.
	if c, b := env.do(t, "POST", "/api/v1/users", env.admin, map[string]any{"username": "gus", "role": "responder", "password": "a long enough password 4"}); c != 201 {
		t.Fatalf("making gus: %d %s", c, b)
	}
	if c, b := env.do(t, "GET", "/api/v1/config/users/gus", env.admin, nil); c != 200 {
		t.Fatalf("gus's person: %d %s", c, b)
	}
	if c, b := env.do(t, "DELETE", "/api/v1/users/gus", env.admin, nil); c != 204 {
		t.Fatalf("deleting gus: %d %s", c, b)
	}
	if c, _ := env.do(t, "GET", "/api/v1/config/users/gus", env.admin, nil); c != 404 {
		t.Errorf("gus's person after his account was deleted: %d, want 404", c)
	}
	// A username that is no config id ('@') gets an account without a person.
	if c, b := env.do(t, "POST", "/api/v1/users", env.admin, map[string]any{"username": "hal@example.com", "role": "viewer", "password": "a long enough password 4"}); c != 201 {
		t.Fatalf("making hal@example.com: %d %s", c, b)
	}
	// Inviting someone the files declare makes no second person.
	if c, b := env.do(t, "POST", "/api/v1/invites", env.admin, map[string]any{"username": "alice"}); c != 201 {
		t.Fatalf("inviting alice: %d %s", c, b)
	}
	if c, _ := env.do(t, "GET", "/api/v1/config/users/alice", env.admin, nil); c != 200 {
		t.Errorf("alice: %d", c)
	}
	rows, err := env.srv.ConfigDB.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Kind == "users" {
			t.Errorf("the database holds person %s; want none left", r.ID)
		}
	}
}
