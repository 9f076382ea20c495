package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// configEnv is nines on the on-call reference config, read from a file so it can be reloaded,
// with a manager's and an admin's token.
type configEnv struct {
	*oncallEnv
	dir            string
	smtp           *notifytest.SMTP
	manager, admin string
}

func startConfigEnv(t *testing.T, db *store.DB, clk clock.Clock) *configEnv {
	t.Helper()
	ref, err := os.ReadFile("../../config/testdata/oncall_reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The port is written in the file: the config in force is read from the files again
	// whenever an object changes.
	smtp := notifytest.StartSMTP(t, "none")
	env := &configEnv{dir: t.TempDir(), smtp: smtp}
	env.writeFile(t, "nines.yaml", string(ref))
	cfg, err := config.Load(env.dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := webtest.Start(t, webtest.Options{Config: cfg, DB: db, Clock: clk})
	srv.Config.SetPath(env.dir)
	env.oncallEnv = &oncallEnv{url: srv.URL, srv: srv, smtp: smtp, client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	env.manager, _, _ = srv.Tokens.Create(context.Background(), "manager", auth.Manager, time.Hour)
	env.admin, _, _ = srv.Tokens.Create(context.Background(), "admin", auth.Admin, time.Hour)
	return env
}

// writeFile writes a file of the config; the SMTP port the test's server listens on replaces
// the reference's.
func (e *configEnv) writeFile(t *testing.T, name, text string) {
	t.Helper()
	text = strings.ReplaceAll(text, "port: 2525", fmt.Sprintf("port: %d", e.smtp.Port()))
	if err := os.WriteFile(filepath.Join(e.dir, name), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// doYAML sends a YAML body.
func (e *configEnv) doYAML(t *testing.T, method, path, token, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type changeReply struct {
	Object struct {
		Kind, ID string
		Origin   struct {
			Source, At string
			Version    int64
		}
		YAML string
	}
	IntegrationKeys []struct {
		Integration int
		Type, Key   string
	} `json:"integration_keys"`
}

type errorReply struct {
	Error  string
	Errors []string
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

const webPolicy = `{"id": "web-policy", "steps": [{"escalate_after": "10m", "targets": [{"schedule": "ops"}]}]}`
const webService = `{"id": "web", "name": "Web shop", "escalation_policy": "web-policy", "integrations": [{"type": "events_v2"}]}`

func (e *configEnv) create(t *testing.T, kind, doc string) changeReply {
	t.Helper()
	status, b := e.do(t, "POST", "/api/v1/config/"+kind, e.manager, json.RawMessage(doc))
	if status != http.StatusCreated {
		t.Fatalf("POST /api/v1/config/%s: %d %s", kind, status, b)
	}
	return decode[changeReply](t, b)
}

// TestAServiceAndPolicyMadeThroughTheAPIPageTheOnCallPersonAtOnce: a policy and a service made
// through the API are in force without a reload: an Events v2 trigger sent with the key made
// for the new service pages alice, on call on ops, by mail on a real SMTP server.
func TestAServiceAndPolicyMadeThroughTheAPIPageTheOnCallPersonAtOnce(t *testing.T) {
	storetest.Each(t, oncallSchemas, func(t *testing.T, db *store.DB) {
		env := startConfigEnv(t, db, clock.NewFake(pagingStart))
		env.create(t, "escalation_policies", webPolicy)
		svc := env.create(t, "services", webService)
		if len(svc.IntegrationKeys) != 1 || len(svc.IntegrationKeys[0].Key) != 32 {
			t.Fatalf("the new service's key is shown once, 32 characters: %+v", svc.IntegrationKeys)
		}
		key := svc.IntegrationKeys[0].Key
		if strings.Contains(svc.Object.YAML, key) || !strings.Contains(svc.Object.YAML, config.HashKey(key)) {
			t.Errorf("the document keeps the key's hash, never the key:\n%s", svc.Object.YAML)
		}
		var stored string
		if err := db.QueryRow(context.Background(), `SELECT doc FROM config_objects WHERE kind = 'services' AND id = 'web'`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, key) {
			t.Errorf("the database holds the key itself:\n%s", stored)
		}
		env.trigger(t, key, "cart-500", "Cart answers 500")
		pages := pagesTo(t, env.smtp, "alice@example.com")
		if len(pages) != 1 || !strings.Contains(pages[0].raw, "Cart answers 500") {
			t.Fatalf("alice's pages after a trigger on the new service: %+v", pages)
		}
	})
}

// TestAnObjectAFileDeclaresIsChangedOnlyInTheFile: the API refuses to change or delete what
// the YAML declares, with a 409 naming the file and line, and refuses to make an object of an
// id a file declares, naming where.
func TestAnObjectAFileDeclaresIsChangedOnlyInTheFile(t *testing.T) {
	env := startConfigEnv(t, storetest.SQLite(t, oncallSchemas), clock.NewFake(pagingStart))
	at := filepath.Join(env.dir, "nines.yaml") + ":21:5"
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"a change of a declared service is refused where it is declared", "PUT", "/api/v1/config/services/checkout", `{"name": "Checkout 2"}`, 409,
			"service checkout is declared in a config file at " + at + "; change it there and reload"},
		{"a delete of a declared service is refused where it is declared", "DELETE", "/api/v1/config/services/checkout", "", 409, at},
		{"a new object of a declared id is refused naming the declaration", "POST", "/api/v1/config/services", `{"id": "checkout"}`, 400,
			`service id \"checkout\" is already declared at ` + at},
		{"a kind nines does not keep is not found", "GET", "/api/v1/config/notifications", "", 404, "no such kind of config object"},
		{"an object nobody made is not found", "PUT", "/api/v1/config/services/nope", `{"name": "x"}`, 404, `service \"nope\": config object not found`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = json.RawMessage(c.body)
			}
			status, b := env.do(t, c.method, c.path, env.manager, body)
			if status != c.status || !strings.Contains(string(b), c.want) {
				t.Errorf("%s %s: %d %s, want %d with %q", c.method, c.path, status, b, c.status, c.want)
			}
		})
	}
	status, b := env.do(t, "GET", "/api/v1/config/services", env.manager, nil)
	list := decode[struct {
		Objects []struct {
			ID     string
			Origin struct{ Source, At string }
			Object map[string]any
		}
	}](t, b)
	if status != 200 || len(list.Objects) != 1 || list.Objects[0].Origin.Source != "file" || list.Objects[0].Origin.At != at {
		t.Fatalf("the declared service listed with where it is declared: %d %s", status, b)
	}
	if strings.Contains(string(b), "0123456789abcdef0123456789abcdef") {
		t.Errorf("the list shows a declared integration key: %s", b)
	}
}

// TestAChangeIsCheckedByTheConfigsOwnChecksInTheirWords: an invalid object is refused with
// the message `nines validate` gives for the same item in a file, at its position in the
// document; a delete that would break a reference names the reference; nothing is written.
func TestAChangeIsCheckedByTheConfigsOwnChecksInTheirWords(t *testing.T) {
	env := startConfigEnv(t, storetest.SQLite(t, oncallSchemas), clock.NewFake(pagingStart))
	_, fileErr := config.Parse("f.yaml", []byte("services:\n  - id: web\n    urgency: sometimes\n    integrations: [{type: events_v2, key: 0123456789abcdef0123456789abcdeX}]\n"))
	var fileErrs config.Errors
	if !errorsAs(fileErr, &fileErrs) || len(fileErrs) != 1 {
		t.Fatalf("the file's errors: %v", fileErr)
	}
	status, b := env.do(t, "POST", "/api/v1/config/services", env.manager, json.RawMessage(`{"id": "web", "urgency": "sometimes"}`))
	refusal := decode[errorReply](t, b)
	// At its place in the document as nines keeps it (YAML, its id first).
	want := "db:services/web:2:10: " + fileErrs[0].Msg
	if status != 400 || len(refusal.Errors) != 1 || refusal.Errors[0] != want {
		t.Errorf("an invalid urgency: %d %s, want 400 with %q", status, b, want)
	}
	status, b = env.do(t, "POST", "/api/v1/config/services", env.manager, json.RawMessage(`{"id": "web", "escalation_policy": "nope", "colour": "red"}`))
	if status != 400 || !strings.Contains(string(b), "colour") || !strings.Contains(string(b), `escalation_policy`) {
		t.Errorf("an unknown field and an unknown policy: %d %s", status, b)
	}
	env.create(t, "escalation_policies", webPolicy)
	env.create(t, "services", webService)
	status, b = env.do(t, "DELETE", "/api/v1/config/escalation_policies/web-policy", env.manager, nil)
	if status != 400 || !strings.Contains(string(b), "db:services/web:") || !strings.Contains(string(b), "web-policy") {
		t.Errorf("deleting a policy a service names: %d %s, want 400 naming the service's reference", status, b)
	}
	var n int
	env.srv.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM config_objects`).Scan(&n)
	if n != 2 || env.srv.Config.Get().EscalationPolicy("web-policy") == nil {
		t.Errorf("after refusals: %d objects, policy in force %v", n, env.srv.Config.Get().EscalationPolicy("web-policy") != nil)
	}
}

func errorsAs(err error, es *config.Errors) bool {
	e, ok := err.(config.Errors)
	*es = e
	return ok
}

// TestEveryChangeIsAuditedWithBeforeAndAfterAndRotatingAKeyRetiresTheOld.
func TestEveryChangeIsAuditedWithBeforeAndAfterAndRotatingAKeyRetiresTheOld(t *testing.T) {
	storetest.Each(t, oncallSchemas, func(t *testing.T, db *store.DB) {
		env := startConfigEnv(t, db, clock.NewFake(pagingStart))
		env.create(t, "escalation_policies", webPolicy)
		svc := env.create(t, "services", webService)
		old := svc.IntegrationKeys[0].Key
		status, b := env.doYAML(t, "PUT", "/api/v1/config/services/web", env.manager, strings.Replace(svc.Object.YAML, "Web shop", "Web store", 1))
		if status != 200 {
			t.Fatalf("PUT of the document with its name changed: %d %s", status, b)
		}
		if got := env.srv.Config.Get().Service("web").Name; got != "Web store" {
			t.Errorf("the name in force: %q", got)
		}
		status, b = env.do(t, "POST", "/api/v1/config/services/web/integrations/0/rotate", env.manager, nil)
		rotated := decode[changeReply](t, b)
		if status != 200 || len(rotated.IntegrationKeys) != 1 || rotated.IntegrationKeys[0].Key == old {
			t.Fatalf("rotate: %d %s", status, b)
		}
		for _, c := range []struct {
			key  string
			want int
		}{{old, 404}, {rotated.IntegrationKeys[0].Key, 202}} {
			status, b := env.do(t, "POST", "/v2/enqueue", "", map[string]any{"routing_key": c.key, "event_action": "trigger",
				"payload": map[string]string{"summary": "x", "source": "y", "severity": "info"}})
			if status != c.want {
				t.Errorf("a trigger with key %s…: %d %s, want %d", c.key[:4], status, b, c.want)
			}
		}
		if status, b := env.do(t, "DELETE", "/api/v1/config/services/web", env.manager, nil); status != 204 {
			t.Fatalf("delete: %d %s", status, b)
		}
		status, b = env.do(t, "GET", "/api/v1/audit", env.admin, nil)
		entries := decode[struct{ Entries []auth.Entry }](t, b).Entries
		var got []string
		details := map[string]map[string]any{}
		for i := len(entries) - 1; i >= 0; i-- {
			e := entries[i]
			if strings.HasPrefix(e.Action, "config.") {
				got = append(got, e.Action+" "+e.Target+" by "+e.Actor)
				var d map[string]any
				if err := json.Unmarshal([]byte(e.Detail), &d); err != nil {
					t.Errorf("%s: detail is not JSON: %s", e.Action, e.Detail)
				}
				details[e.Action+" "+e.Target] = d
			}
		}
		want := []string{"config.created escalation_policies/web-policy by token:manager", "config.created services/web by token:manager",
			"config.updated services/web by token:manager", "config.key_rotated services/web by token:manager", "config.deleted services/web by token:manager"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("audit entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		up := details["config.updated services/web"]
		if before, _ := up["before"].(string); !strings.Contains(before, "name: Web shop") {
			t.Errorf("the update's before: %v", up)
		}
		if after, _ := up["after"].(string); !strings.Contains(after, "name: Web store") {
			t.Errorf("the update's after: %v", up)
		}
		if del := details["config.deleted services/web"]; del["after"] != nil || del["before"] == nil {
			t.Errorf("the delete's before and after: %v", del)
		}
		var versions int
		db.QueryRow(context.Background(), `SELECT COUNT(*) FROM config_history WHERE kind = 'services' AND id = 'web'`).Scan(&versions)
		if versions != 4 {
			t.Errorf("%d versions of the service kept, want 4 (created, updated, rotated, deleted)", versions)
		}
	})
}

// TestExportedObjectsLoadedAsAFileBecomeDeclaredAndTheDatabaseCopiesGiveWay: nines export's
// YAML, put beside the config's file and reloaded, declares the objects: the database's copies
// are retired (their history stays) and the service keeps its key. Changed before the reload,
// it is the error naming both.
func TestExportedObjectsLoadedAsAFileBecomeDeclaredAndTheDatabaseCopiesGiveWay(t *testing.T) {
	storetest.Each(t, oncallSchemas, func(t *testing.T, db *store.DB) {
		env := startConfigEnv(t, db, clock.NewFake(pagingStart))
		env.create(t, "escalation_policies", webPolicy)
		key := env.create(t, "services", webService).IntegrationKeys[0].Key
		status, exported := env.do(t, "GET", "/api/v1/config/export", env.manager, nil)
		if status != 200 {
			t.Fatalf("export: %d %s", status, exported)
		}
		// Exported and changed: the conflict, naming both places; nothing changes.
		env.writeFile(t, "web.yaml", strings.Replace(string(exported), "Web shop", "Web shop 2", 1))
		status, b := env.do(t, "POST", "/api/v1/config/reload", env.admin, nil)
		if status != 400 || !strings.Contains(string(b), filepath.Join(env.dir, "web.yaml")) || !strings.Contains(string(b), "held in the database as db:services/web") {
			t.Fatalf("a reload with a differing declaration: %d %s, want 400 naming both", status, b)
		}
		// As exported: declared, and the database's copies retired.
		env.writeFile(t, "web.yaml", string(exported))
		if status, b := env.do(t, "POST", "/api/v1/config/reload", env.admin, nil); status != 200 {
			t.Fatalf("a reload with the export: %d %s", status, b)
		}
		storetest.Eventually(t, 10*time.Second, "the database's copies retired", func() bool {
			var n int
			db.QueryRow(context.Background(), `SELECT COUNT(*) FROM config_objects`).Scan(&n)
			return n == 0
		})
		var retired int
		db.QueryRow(context.Background(), `SELECT COUNT(*) FROM config_history WHERE action = 'retired'`).Scan(&retired)
		if retired != 2 {
			t.Errorf("%d retirements in the history, want 2", retired)
		}
		status, b = env.do(t, "GET", "/api/v1/config/services/web", env.manager, nil)
		if o := decode[changeReply](t, []byte(fmt.Sprintf(`{"object": %s}`, b))).Object; status != 200 || o.Origin.Source != "file" ||
			!strings.HasPrefix(o.Origin.At, filepath.Join(env.dir, "web.yaml")) {
			t.Errorf("the service after the reload: %d %s", status, b)
		}
		env.trigger(t, key, "cart-500", "Cart answers 500")
		if pages := pagesTo(t, env.smtp, "alice@example.com"); len(pages) != 1 {
			t.Errorf("the key made in the API still pages once declared: %d pages", len(pages))
		}
		if status, b := env.do(t, "PUT", "/api/v1/config/services/web", env.manager, json.RawMessage(`{"name": "x"}`)); status != 409 {
			t.Errorf("a change of the now declared service: %d %s, want 409", status, b)
		}
	})
}

// TestARefusedReloadNamesEveryErrorAndChangesNothing.
func TestARefusedReloadNamesEveryErrorAndChangesNothing(t *testing.T) {
	env := startConfigEnv(t, storetest.SQLite(t, oncallSchemas), clock.NewFake(pagingStart))
	env.writeFile(t, "nines.yaml", "services:\n  - id: checkout\n    urgency: sometimes\n    escalation_policy: gone\n")
	status, b := env.do(t, "POST", "/api/v1/config/reload", env.admin, nil)
	refusal := decode[errorReply](t, b)
	file := filepath.Join(env.dir, "nines.yaml")
	if status != 400 || len(refusal.Errors) < 2 || !strings.HasPrefix(refusal.Errors[0], file+":3:14: service checkout: urgency") || !strings.HasPrefix(refusal.Errors[1], file+":4:24: service checkout: unknown escalation policy") {
		t.Errorf("a bad file: %d %s, want 400 with each error at file:line:col", status, b)
	}
	if env.srv.Config.Get().EscalationPolicy("ops-policy") == nil {
		t.Error("a refused reload changed the config in force")
	}
	if status, b := env.do(t, "POST", "/api/v1/config/reload", env.manager, nil); status != 403 {
		t.Errorf("a manager's reload: %d %s, want 403 (admins reload)", status, b)
	}
}

// TestAChangeOnOneNodeIsInForceOnTheOtherWithinSeconds: two nodes on one PostgreSQL database;
// a service made through node A pages through node B.
func TestAChangeOnOneNodeIsInForceOnTheOtherWithinSeconds(t *testing.T) {
	url := storetest.PostgresURL(t)
	open := func() *store.DB {
		db, err := store.Open(context.Background(), store.Options{URL: url, Key: storetest.Key})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	db, dbB := open(), open()
	if _, err := db.Migrate(context.Background(), app.Schemas()); err != nil {
		t.Fatal(err)
	}
	a := startConfigEnv(t, db, clock.Real{})
	b := startConfigEnv(t, dbB, clock.Real{})
	a.create(t, "escalation_policies", webPolicy)
	start := time.Now()
	key := a.create(t, "services", webService).IntegrationKeys[0].Key
	storetest.Eventually(t, 10*time.Second, "node B has the service", func() bool { return b.srv.Config.Get().Service("web") != nil })
	t.Logf("node B had the service %v after node A made it", time.Since(start).Round(time.Millisecond))
	status, body := b.do(t, "POST", "/v2/enqueue", "", map[string]any{"routing_key": key, "event_action": "trigger",
		"payload": map[string]string{"summary": "via B", "source": "y", "severity": "critical"}})
	if status != 202 {
		t.Fatalf("node B refuses the key node A made: %d %s", status, body)
	}
	if status, body := b.do(t, "DELETE", "/api/v1/config/services/web", b.manager, nil); status != 204 {
		t.Fatalf("delete on B: %d %s", status, body)
	}
	storetest.Eventually(t, 10*time.Second, "node A no longer has the service", func() bool { return a.srv.Config.Get().Service("web") == nil })
}

// TestCredentialsAFileHoldsAreNotShown: a monitor's request headers, a heartbeat's uuid and an
// integration's key, declared in a file, are hidden in the API's answers.
func TestCredentialsAFileHoldsAreNotShown(t *testing.T) {
	cfg := `services:
  - {id: web, integrations: [{type: generic, key: file-held-generic-key}]}
monitors:
  - {id: web-home, service: web, type: http, url: "https://example.com/", headers: {Authorization: "Bearer file-held-header"}}
  - {id: web-cron, service: web, type: heartbeat, uuid: 0b9c2f7e-8d1a-4f0e-9c3b-5a6d7e8f9a0b, period: 1h}
`
	n := webtest.Start(t, webtest.Options{Config: webtest.Parse(t, cfg)})
	token, _, _ := n.Tokens.Create(context.Background(), "manager", auth.Manager, time.Hour)
	for _, path := range []string{"/api/v1/config/services", "/api/v1/config/monitors", "/api/v1/config/monitors/web-cron", "/api/v1/config/monitors/web-home"} {
		req, _ := http.NewRequest("GET", n.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "(hidden)") {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		for _, secret := range []string{"file-held-generic-key", "file-held-header", "0b9c2f7e"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("GET %s shows %s: %s", path, secret, b)
			}
		}
	}
}

// TestAHeartbeatMadeThroughTheAPITakesPingsAtOnceAndGoesLateOnTime: a heartbeat made in the
// API takes a ping without a reload, and, with no ping for its period and grace, opens an
// incident on its service.
func TestAHeartbeatMadeThroughTheAPITakesPingsAtOnceAndGoesLateOnTime(t *testing.T) {
	storetest.Each(t, oncallSchemas, func(t *testing.T, db *store.DB) {
		clk := clock.NewFake(pagingStart)
		env := startConfigEnv(t, db, clk)
		const uuid = "2c1d0e4f-3a5b-4c6d-8e7f-9a0b1c2d3e4f"
		env.create(t, "monitors", `{"id": "nightly-export", "service": "checkout", "type": "heartbeat", "uuid": "`+uuid+`", "period": "1h", "grace": "5m"}`)
		if status, b := env.do(t, "POST", "/ping/"+uuid, "", nil); status != 200 {
			t.Fatalf("a ping of the new heartbeat: %d %s", status, b)
		}
		clk.Advance(66 * time.Minute)
		storetest.Eventually(t, 10*time.Second, "an incident for the late heartbeat", func() bool {
			incs, _, _ := env.srv.Incidents.List(context.Background(), incident.Filter{Limit: 5})
			return len(incs) == 1 && incs[0].ServiceID == "checkout"
		})
	})
}

// TestDeletingWhatAnOverrideOrAWindowStillNamesIsRefused: an override not yet ended names its
// schedule, a maintenance window not yet over its services and monitors. Deleting one of those
// would leave the override or window waiting for an id to come back: a schedule made again
// with that id would take the old override, a service made again would have its pages held.
// The delete is refused naming them, and goes through once they are removed (an override
// that has ended, a window cancelled, name nothing any more).
func TestDeletingWhatAnOverrideOrAWindowStillNamesIsRefused(t *testing.T) {
	storetest.Each(t, oncallSchemas, func(t *testing.T, db *store.DB) {
		clk := clock.NewFake(pagingStart)
		env := startConfigEnv(t, db, clk)
		env.create(t, "schedules", `{"id": "web-rota", "time_zone": "Europe/Paris", "layers": [{"name": "primary", "rotation": {"length": "1w", "handoff": "2026-01-05T09:00"}, "users": ["alice"]}]}`)
		env.create(t, "escalation_policies", webPolicy)
		env.create(t, "services", webService)
		env.create(t, "monitors", `{"id": "web-home", "service": "web", "type": "http", "url": "https://example.com/", "interval": "1m"}`)

		status, b := env.do(t, "POST", "/api/v1/schedules/web-rota/overrides", env.manager,
			map[string]string{"user_id": "bob", "start": "2026-03-31T12:00:00Z", "end": "2026-04-01T12:00:00Z"})
		if status != 201 {
			t.Fatalf("override: %d %s", status, b)
		}
		override := decode[struct{ ID int64 }](t, b)
		window := func(body string) string {
			status, b := env.do(t, "POST", "/api/v1/maintenance", env.manager, json.RawMessage(body))
			if status != 201 {
				t.Fatalf("maintenance: %d %s", status, b)
			}
			return decode[struct{ ID string }](t, b).ID
		}
		// One window over the service, now; one over the monitor, to come.
		overService := window(`{"name": "Upgrade", "services": ["web"], "start": "2026-03-30T07:00:00Z", "end": "2026-03-30T09:00:00Z"}`)
		overMonitor := window(`{"name": "Move the probe", "monitors": ["web-home"], "start": "2026-04-02T08:00:00Z", "end": "2026-04-02T09:00:00Z"}`)

		refused := func(path, want string) {
			t.Helper()
			status, b := env.do(t, "DELETE", path, env.manager, nil)
			if status != 400 || !strings.Contains(string(b), want) {
				t.Errorf("DELETE %s: %d %s, want 400 naming %q", path, status, b, want)
			}
		}
		deleted := func(path string) {
			t.Helper()
			if status, b := env.do(t, "DELETE", path, env.manager, nil); status/100 != 2 {
				t.Errorf("DELETE %s: %d %s", path, status, b)
			}
		}
		refused("/api/v1/config/schedules/web-rota", fmt.Sprintf("override %d", override.ID))
		// Two overrides: each is an error of its own.
		status, b = env.do(t, "POST", "/api/v1/schedules/web-rota/overrides", env.manager,
			map[string]string{"user_id": "carol", "start": "2026-03-31T13:00:00Z", "end": "2026-03-31T14:00:00Z"})
		if status != 201 {
			t.Fatalf("second override: %d %s", status, b)
		}
		second := decode[struct{ ID int64 }](t, b)
		if _, b := env.do(t, "DELETE", "/api/v1/config/schedules/web-rota", env.manager, nil); len(decode[errorReply](t, b).Errors) != 2 {
			t.Errorf("a schedule two overrides name: %s, want two errors", b)
		}
		env.do(t, "DELETE", fmt.Sprintf("/api/v1/schedules/web-rota/overrides/%d", second.ID), env.manager, nil)
		refused("/api/v1/config/monitors/web-home", "maintenance window "+overMonitor+" (Move the probe, scheduled)")
		var n int
		db.QueryRow(context.Background(), `SELECT COUNT(*) FROM config_objects`).Scan(&n)
		if n != 4 {
			t.Fatalf("after refused deletes the database holds %d objects, want 4", n)
		}
		deleted("/api/v1/maintenance/" + overMonitor)
		deleted("/api/v1/config/monitors/web-home")
		refused("/api/v1/config/services/web", "maintenance window "+overService+" (Upgrade, in progress)")
		deleted("/api/v1/maintenance/" + overService)
		deleted("/api/v1/config/services/web")
		// The override over, the schedule may go.
		clk.Set(time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC))
		env.manager, _, _ = env.srv.Tokens.Create(context.Background(), "manager", auth.Manager, time.Hour)
		deleted("/api/v1/config/schedules/web-rota")
		db.QueryRow(context.Background(), `SELECT COUNT(*) FROM config_objects`).Scan(&n)
		if n != 1 {
			t.Errorf("at the end the database holds %d objects, want the policy only", n)
		}
	})
}
