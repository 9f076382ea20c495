package app_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// The fixture of testdata/upgrade was written by the release before the last schema changes,
// with that release's own migrations and code (see its README).
const fixtureConfig = `services:
  - id: payments
    name: Payments
    escalation_policy: payments
    integrations:
      - {type: events_v2, key: upgrade0routing0key0000000000001}
users:
  - {id: ann, contact_methods: [{type: webhook, address: "http://127.0.0.1:9/ann"}]}
escalation_policies:
  - id: payments
    steps: [{escalate_after: 30m, targets: [{user: ann}]}]
`

// openFixture gives the previous release's database on each backend, unmigrated.
func openFixture(t *testing.T, backend string) (*store.DB, string) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join("testdata", "upgrade")
	switch backend {
	case "sqlite":
		data := t.TempDir()
		b, err := os.ReadFile(filepath.Join(dir, "sqlite", "nines.db"))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(data, "nines.db"), b, 0o600)
		db, err := store.Open(ctx, store.Options{DataDir: data, Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		tok, _ := os.ReadFile(filepath.Join(dir, "token.txt"))
		return db, strings.TrimSpace(string(tok))
	default:
		url := storetest.PostgresURL(t)
		out, err := exec.Command("psql", "--quiet", "--set", "ON_ERROR_STOP=1", "--file", filepath.Join(dir, "postgres.sql"), url).CombinedOutput()
		if err != nil {
			t.Fatalf("loading the PostgreSQL fixture with psql: %v\n%s", err, out)
		}
		db, err := store.Open(ctx, store.Options{URL: url, Key: []byte("upgrade-test-key-0123456789abcdef"), Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		tok, _ := os.ReadFile(filepath.Join(dir, "postgres-token.txt"))
		return db, strings.TrimSpace(string(tok))
	}
}

// A database made by the previous release migrates forward with everything in it intact, and
// nines runs on it: old alerts still deduplicate new events, old tokens and passwords work.
func TestADatabaseOfThePreviousReleaseMigratesForwardIntact(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db, token := openFixture(t, backend)

			pending, err := db.Pending(ctx, app.Schemas())
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, m := range pending {
				names = append(names, m.Component)
			}
			for _, want := range []string{"alert", "incident", "probe", "maintenance"} {
				if !strings.Contains(strings.Join(names, " "), want) {
					t.Errorf("pending migrations %v lack %s: the fixture is not of an older schema", names, want)
				}
			}
			n, err := db.Migrate(ctx, app.Schemas())
			if err != nil {
				t.Fatalf("migrating the previous release's database: %v", err)
			}
			if n != len(pending) {
				t.Errorf("Migrate applied %d migrations; Pending listed %d", n, len(pending))
			}
			if again, _ := db.Pending(ctx, app.Schemas()); len(again) != 0 {
				t.Errorf("after Migrate, still pending: %v", again)
			}

			cfg, err := config.Parse("nines.yaml", []byte(fixtureConfig))
			if err != nil {
				t.Fatal(err)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			a, err := app.New(ctx, config.NewLive(cfg), db, clock.Real{}, log, app.Options{})
			if err != nil {
				t.Fatal(err)
			}
			a.Start()
			defer a.Stop()

			incs, _, err := a.Incidents.List(ctx, incident.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			states := map[string]incident.State{}
			for _, inc := range incs {
				states[inc.Title] = inc.State
			}
			want := map[string]incident.State{"Disk full on db-1": incident.Triggered, "CPU hot on web-2": incident.Acknowledged,
				"Certificate expires in 3 days": incident.Resolved}
			for title, st := range want {
				if states[title] != st {
					t.Errorf("incident %q: %q after the upgrade; want %q (all: %v)", title, states[title], st, states)
				}
			}
			tl, err := a.Incidents.Timeline(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			var note bool
			for _, ev := range tl {
				if strings.Contains(string(ev.Data), "Cleared old WAL segments") {
					note = true
				}
			}
			if !note {
				t.Errorf("the note on incident 1 is gone after the upgrade: %+v", tl)
			}
			if p, err := a.Tokens.Verify(ctx, token); err != nil || p.Role != auth.Responder {
				t.Errorf("the token made before the upgrade: %+v %v; want a responder", p, err)
			}
			if _, err := a.Users.Authenticate(ctx, "ann", "correct horse battery staple 42"); err != nil {
				t.Errorf("ann's password from before the upgrade: %v", err)
			}

			// The new columns hold their defaults on old rows, and old alerts deduplicate.
			target := alert.Target{ServiceID: "payments", Integration: "events_v2", Grouping: "alert", Urgency: "high"}
			res, err := a.Pipeline.Submit(ctx, target, []alert.Event{
				{Action: alert.Trigger, DedupKey: "disk-full", Summary: "Disk full on db-1", Source: "db-1", Severity: "critical"},
				{Action: alert.Trigger, DedupKey: "after-upgrade", Summary: "New", Source: "x", Severity: "warning"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Outcome != alert.Repeated || res[1].Outcome != alert.Opened {
				t.Errorf("events after the upgrade: %+v; want the old alert repeated and a new one opened", res)
			}
			var count int
			var labels string
			if err := db.QueryRow(ctx, `SELECT count, labels FROM alerts WHERE dedup_key = 'disk-full'`).Scan(&count, &labels); err != nil {
				t.Fatal(err)
			}
			if count != 3 || labels != "{}" {
				t.Errorf("disk-full after the upgrade: count %d labels %q; want 3 and {}", count, labels)
			}
		})
	}
}
