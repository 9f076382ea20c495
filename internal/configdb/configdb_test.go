package configdb_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/configdb"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

var schemas = []store.Schema{store.OwnSchema, auth.Schema, configdb.Schema}

const files = `users:
  - {id: alice, contact_methods: [{type: webhook, address: "https://example.com/page"}]}
escalation_policies:
  - {id: ops, steps: [{targets: [{user: alice}]}]}
`

// node is one nines process's config: its files, and the objects of the shared database.
func node(t *testing.T, db *store.DB) (*config.Live, *configdb.Store) {
	t.Helper()
	cfg, err := config.Parse("nines.yaml", []byte(files))
	if err != nil {
		t.Fatal(err)
	}
	live := config.NewLive(cfg)
	s := configdb.New(db, live, clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return live, s
}

var who = configdb.Who{Actor: "user:alice"}

// TestAChangeIsCheckedAgainstTheDatabaseNotTheNodesMemory: node B has not heard that node A
// deleted a policy; a service B makes naming it is refused, since B checks the objects it reads
// in its own transaction.
func TestAChangeIsCheckedAgainstTheDatabaseNotTheNodesMemory(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := node(t, db)
		if _, _, err := a.Create(ctx, who, "escalation_policies", []byte(`{"id": "web", "steps": [{"targets": [{"user": "alice"}]}]}`)); err != nil {
			t.Fatal(err)
		}
		liveB, b := node(t, db) // B starts with the policy
		if err := a.Delete(ctx, who, "escalation_policies", "web"); err != nil {
			t.Fatal(err)
		}
		if liveB.Get().EscalationPolicy("web") == nil {
			t.Fatal("node B heard of the delete without being told: the test needs B behind")
		}
		_, _, err := b.Create(ctx, who, "services", []byte(`{"id": "shop", "escalation_policy": "web"}`))
		if inv, ok := invalid.As(err); !ok || !strings.Contains(inv.Error(), `unknown escalation policy "web"`) {
			t.Fatalf("node B made a service naming a policy node A deleted: %v", err)
		}
		if err := b.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if liveB.Get().EscalationPolicy("web") != nil || liveB.Get().Service("shop") != nil {
			t.Error("node B after reading the objects again")
		}
	})
}

// TestAChangeASubscriberCannotApplyIsNotKept: the config is checked whole before it is
// written, but applying it may still fail in a subscriber; then the old config stays in force
// and the object is not kept.
func TestAChangeASubscriberCannotApplyIsNotKept(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		live, s := node(t, db)
		live.Subscribe(func(_, c *config.Config) {
			if c.Team("boom") != nil {
				panic("cannot apply team boom")
			}
		})
		_, _, err := s.Create(ctx, who, "teams", []byte("id: boom\n"))
		if err == nil || !strings.Contains(err.Error(), "cannot apply team boom") {
			t.Fatalf("a change a subscriber fails on: %v", err)
		}
		if live.Get().Team("boom") != nil {
			t.Error("the config in force has the team")
		}
		if _, err := s.Get(ctx, "teams", "boom"); !errors.Is(err, configdb.ErrNotFound) {
			t.Errorf("the object is kept: %v", err)
		}
		if _, _, err := s.Create(ctx, who, "teams", []byte("id: fine\n")); err != nil || live.Get().Team("fine") == nil {
			t.Errorf("a change after it: %v", err)
		}
	})
}

// Deleting the last team while a service names it is refused, naming the service: with no team
// left, a team would be a plain label and the service's would dangle until the next team came,
// which every later team would then be refused for.
func TestDeletingATeamAServiceNamesIsRefused(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		live, s := node(t, db)
		if _, _, err := s.Create(ctx, who, "teams", []byte(`{"id": "t2", "members": ["alice"]}`)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Create(ctx, who, "services", []byte(`{"id": "svc2", "team": "t2", "escalation_policy": "ops"}`)); err != nil {
			t.Fatal(err)
		}
		err := s.Delete(ctx, who, "teams", "t2")
		var inv *invalid.Error
		if !errors.As(err, &inv) || !strings.Contains(err.Error(), "svc2") {
			t.Fatalf("deleting a team a service names: %v, want a refusal naming svc2", err)
		}
		if live.Get().Team("t2") == nil {
			t.Fatal("the refused delete took the team away")
		}
		if err := s.Delete(ctx, who, "services", "svc2"); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, who, "teams", "t2"); err != nil {
			t.Fatalf("deleting a team nothing names: %v", err)
		}
	})
}

// A document that is not one mapping of fields is refused for what it is, not as missing its id.
func TestABrokenDocumentIsRefusedForWhatIsWrongWithIt(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, s := node(t, db)
		for _, c := range []struct{ doc, want string }{
			{`{"id":`, "YAML syntax"},
			{"id: ysyn\nname: [unclosed\n", "line 2: YAML syntax"},
			{`[{"id":"x"}]`, "a mapping of its fields"},
			{`{"id":"s9"} {"id":"s10"}`, "one YAML document"},
			{"id: a\n---\nid: b\n", "one YAML document"},
			{`{"id": "s13", "name": "a\u0000b"}`, "NUL character"},
		} {
			_, _, err := s.Create(ctx, who, "teams", []byte(c.doc))
			var inv *invalid.Error
			if !errors.As(err, &inv) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%q: %v, want a refusal saying %q", c.doc, err, c.want)
			}
		}
		if _, _, err := s.Create(ctx, who, "teams", []byte(`{"id": "fine"}`)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Update(ctx, who, "teams", "fine", []byte(`{"id": "fine", "name": "x\u0000"}`)); err == nil || !strings.Contains(err.Error(), "NUL") {
			t.Errorf("an update with a NUL: %v", err)
		}
	})
}

// A key given to nines to keep follows the rule a file's key follows, and a key with a
// key_hash beside it is refused rather than one of them silently dropped.
func TestAKeyGivenFollowsTheFilesRule(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, s := node(t, db)
		for _, c := range []struct{ doc, want string }{
			{`{"id": "a", "escalation_policy": "ops", "integrations": [{"type": "events_v2", "key": "abc"}]}`, "at least 8 characters"},
			{`{"id": "b", "escalation_policy": "ops", "integrations": [{"type": "events_v2", "key": "0123456789abcdef"}]}`, "32 characters"},
			{`{"id": "c", "escalation_policy": "ops", "integrations": [{"type": "generic", "key": "abcdefgh12", "key_hash": "sha256:` + strings.Repeat("0", 64) + `"}]}`, "not both"},
		} {
			_, _, err := s.Create(ctx, who, "services", []byte(c.doc))
			var inv *invalid.Error
			if !errors.As(err, &inv) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want a refusal saying %q", c.doc, err, c.want)
			}
		}
	})
}
