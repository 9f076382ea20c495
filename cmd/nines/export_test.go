package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/configdb"
	"github.com/nines-dev/nines/internal/people"
	"github.com/nines-dev/nines/internal/store"
)

// TestExportedObjectsLoadAsTheSameObjectsNowDeclared: objects made through the config store
// (as the API makes them), printed by nines export and written as a second file of the
// config, load as the same objects, declared in that file; merged with the database's
// copies, those give way.
func TestExportedObjectsLoadAsTheSameObjectsNowDeclared(t *testing.T) {
	ctx := context.Background()
	data, dir := t.TempDir(), t.TempDir()
	base := "users:\n  - {id: alice, name: Alice, contact_methods: [{type: webhook, address: \"https://example.com/page\"}]}\n"
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(base), 0o600)
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx, app.Schemas()); err != nil {
		t.Fatal(err)
	}
	live := config.NewLive(cfg)
	objs := configdb.New(db, live, clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	who := configdb.Who{Actor: "user:alice"}
	for _, o := range []struct{ kind, doc string }{
		{"teams", `{"id": "web", "name": "Web"}`},
		{"schedules", `{"id": "web-rota", "time_zone": "Europe/Paris", "layers": [{"name": "primary", "rotation": {"length": "1w", "handoff": "2026-01-05T09:00"}, "users": ["alice"]}]}`},
		{"escalation_policies", `{"id": "web-policy", "steps": [{"escalate_after": "10m", "targets": [{"schedule": "web-rota"}]}]}`},
		{"services", `{"id": "web", "name": "Web: the shop", "team": "web", "escalation_policy": "web-policy", "urgency": "high", "integrations": [{"type": "events_v2"}, {"type": "alertmanager", "name": "prometheus"}]}`},
		{"monitors", `{"id": "web-home", "service": "web", "type": "http", "url": "https://example.com/", "interval": "1m"}`},
	} {
		if _, _, err := objs.Create(ctx, who, o.kind, []byte(o.doc)); err != nil {
			t.Fatalf("%s: %v", o.kind, err)
		}
	}
	inForce := live.Get()
	db.Close()

	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"export", "--data", data}, &out, &errOut); code != 0 {
		t.Fatalf("export: exit %d: %s", code, errOut.String())
	}
	if err := os.WriteFile(filepath.Join(dir, "b.yaml"), out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	declared, err := config.Load(dir)
	if err != nil {
		t.Fatalf("the export does not load as a file of the config: %v\n%s", err, out.String())
	}
	file := filepath.Join(dir, "b.yaml")
	for _, c := range []struct {
		what      string
		from, got any
		pos       config.Pos
	}{
		{"the team", *inForce.Team("web"), *declared.Team("web"), declared.Team("web").Pos},
		{"the schedule", inForce.Schedule("web-rota").Layers[0].Users, declared.Schedule("web-rota").Layers[0].Users, declared.Schedule("web-rota").Pos},
		{"the policy", len(inForce.EscalationPolicy("web-policy").Steps), len(declared.EscalationPolicy("web-policy").Steps), declared.EscalationPolicy("web-policy").Pos},
		{"the service", inForce.Service("web").Name + " " + inForce.Service("web").Integrations[1].KeyHash,
			declared.Service("web").Name + " " + declared.Service("web").Integrations[1].KeyHash, declared.Service("web").Pos},
		{"the monitor", inForce.Monitor("web-home").URL, declared.Monitor("web-home").URL, declared.Monitor("web-home").Pos},
	} {
		if c.pos.File != file {
			t.Errorf("%s is declared at %s, want in %s", c.what, c.pos, file)
		}
		if _, ok := c.from.(config.Team); ok {
			a, b := c.from.(config.Team), c.got.(config.Team)
			a.Node, b.Node = config.Node{}, config.Node{}
			c.from, c.got = a, b
		}
		if !reflect.DeepEqual(c.from, c.got) {
			t.Errorf("%s: made %v, exported and loaded %v", c.what, c.from, c.got)
		}
	}
	merged, err := declared.With(inForce.Objects())
	if err != nil {
		t.Fatalf("the files with the database's copies: %v", err)
	}
	if len(merged.Retired()) != 5 || len(merged.Objects()) != 0 {
		t.Errorf("retired %d, kept %d; want every database copy to give way", len(merged.Retired()), len(merged.Objects()))
	}
	if !strings.HasPrefix(out.String(), "# Config objects made in nines' web app or API") {
		t.Errorf("the export starts: %.80q", out.String())
	}
}

// nines serve checks its files with the objects the database holds: a file's service may name a
// policy made in nines, and serve starts on it; a file naming what nobody made is refused.
func TestServeChecksItsFilesWithTheObjectsMadeInNines(t *testing.T) {
	ctx := context.Background()
	data, dir := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "nines.yaml")
	users := "users:\n  - {id: alice, contact_methods: [{type: webhook, address: \"https://example.com/page\"}]}\n"
	os.WriteFile(path, []byte(users), 0o600)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, app.Schemas()); err != nil {
		t.Fatal(err)
	}
	objs := configdb.New(db, config.NewLive(cfg), clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, _, err := objs.Create(ctx, configdb.Who{Actor: "user:alice"}, "escalation_policies", []byte(`{"id": "dbpol", "steps": [{"targets": [{"user": "alice"}]}]}`)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte(users+"services:\n  - {id: filesvc, escalation_policy: dbpol}\n"), 0o600)
	live, err := app.LoadConfig(ctx, path, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("files naming a policy made in nines: %v", err)
	}
	got := live.Get()
	if s := got.Service("filesvc"); s == nil || got.EscalationPolicy("dbpol") == nil {
		t.Fatalf("the file's service or the database's policy is missing: %+v", s)
	}
	os.WriteFile(path, []byte(users+"services:\n  - {id: filesvc, escalation_policy: nopol}\n"), 0o600)
	if _, err := app.LoadConfig(ctx, path, db, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), `unknown escalation policy "nopol"`) {
		t.Fatalf("files naming a policy nobody made: %v", err)
	}
}

// A policy made in nines may page a person through the contact methods they verified on their
// profile only. Exported, the files alone cannot tell that she can be reached, so `nines
// validate` with the database beside them (--data, as serve has it) checks them as serve would:
// with the database's objects and every person's own contact methods.
func TestValidateWithTheDatabaseCountsWhatServeCounts(t *testing.T) {
	ctx := context.Background()
	data, dir := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "a.yaml")
	os.WriteFile(path, []byte("users:\n  - {id: alice, contact_methods: [{type: webhook, address: \"https://example.com/page\"}]}\n"), 0o600)
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx, app.Schemas()); err != nil {
		t.Fatal(err)
	}
	live := config.NewLive(cfg)
	ppl := people.New(db, clock.Real{})
	live.SetOwnMethods(func(u *config.User) *config.User { w, _ := ppl.With(ctx, u); return w })
	objs := configdb.New(db, live, clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	who := configdb.Who{Actor: "user:alice"}
	if _, _, err := objs.Create(ctx, who, "users", []byte(`{"id": "dana", "name": "Dana"}`)); err != nil {
		t.Fatal(err)
	}
	dana := live.Get().User("dana")
	m, err := ppl.AddMethod(ctx, dana, "email", "dana@example.com")
	if err != nil {
		t.Fatal(err)
	}
	code, err := ppl.NewCode(ctx, dana, "dana", m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := ppl.Verify(ctx, dana, "dana", m.ID, code); err != nil {
		t.Fatal(err)
	}
	if _, err := ppl.AddRule(ctx, dana, m.ID, 0, ""); err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct{ kind, doc string }{
		{"escalation_policies", `{"id": "dana-pol", "steps": [{"targets": [{"user": "dana"}]}]}`},
		{"services", `{"id": "shop", "escalation_policy": "dana-pol"}`},
	} {
		if _, _, err := objs.Create(ctx, who, o.kind, []byte(o.doc)); err != nil {
			t.Fatalf("%s: %v", o.kind, err)
		}
	}
	db.Close()

	code2, out, errOut := runNines(t, "export", "--data", data)
	if code2 != 0 {
		t.Fatalf("export: exit %d: %s", code2, errOut)
	}
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(out), 0o600)

	// The files alone: dana's profile is not in them, and validate says so, naming the way out.
	code2, _, errOut = runNines(t, "validate", "--config", dir)
	if code2 != 1 || !strings.Contains(errOut, "user dana has no contact method") {
		t.Errorf("the files alone: exit %d, %s", code2, errOut)
	}
	// With the database, as serve will read them: valid.
	code2, out, errOut = runNines(t, "validate", "--config", dir, "--data", data)
	if code2 != 0 || !strings.HasSuffix(out, ": ok (1 services, 2 files)\n") {
		t.Errorf("with the database: exit %d\nstdout %s\nstderr %s", code2, out, errOut)
	}
	// A file naming a policy only the database holds is valid with it, and not without it.
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("services:\n  - {id: cart, escalation_policy: dana-pol}\n"), 0o600)
	if code2, _, errOut = runNines(t, "validate", "--config", dir); code2 != 1 || !strings.Contains(errOut, `unknown escalation policy "dana-pol"`) {
		t.Errorf("a database's policy without the database: exit %d, %s", code2, errOut)
	}
	if code2, out, errOut = runNines(t, "validate", "--config", dir, "--data", data); code2 != 0 || !strings.HasSuffix(out, ": ok (2 services, 2 files)\n") {
		t.Errorf("a database's policy with the database: exit %d\nstdout %s\nstderr %s", code2, out, errOut)
	}
	// A token for a person made in nines, from files that name what the database holds.
	code2, _, errOut = runNines(t, "token", "create", "--config", dir, "--data", data, "--name", "dana-cli", "--user", "dana", "--role", "responder")
	if code2 != 0 || !strings.Contains(errOut, `"dana-cli" of user dana role responder`) {
		t.Errorf("a token for a person made in nines: exit %d, %s", code2, errOut)
	}
	// --data given beats NINES_DB in the environment, as a flag given beats the environment.
	t.Setenv("NINES_DB", "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	if code2, out, errOut = runNines(t, "validate", "--config", dir, "--data", data); code2 != 0 {
		t.Errorf("--data with NINES_DB set: exit %d\nstdout %s\nstderr %s", code2, out, errOut)
	}
	code2, _, errOut = runNines(t, "token", "create", "--config", dir, "--data", data, "--name", "zed", "--user", "zed", "--role", "responder")
	if code2 != 1 || !strings.Contains(errOut, `--user "zed" is not a user of the config`) {
		t.Errorf("a token for nobody: exit %d, %s", code2, errOut)
	}
}
