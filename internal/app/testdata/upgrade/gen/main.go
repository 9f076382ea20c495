// Command gen makes the previous-schema fixture of internal/app/upgrade_test.go. It is copied
// into a checkout of the release it stands for (see make.sh) and built there, so the database
// it writes comes from that release's own migrations and code.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
)

const cfgYAML = `services:
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

func main() {
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run writes the fixture's data into the database (dataDir, or dbURL when set) and the API
// token it made into tokenFile.
func run(dataDir, dbURL, tokenFile string) error {
	ctx := context.Background()
	cfgPath := dataDir + "/nines.yaml"
	if err := os.WriteFile(cfgPath, []byte(cfgYAML), 0o600); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	os.Remove(cfgPath)
	db, err := store.Open(ctx, store.Options{URL: dbURL, DataDir: dataDir})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, app.Schemas()); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(ctx, config.NewLive(cfg), db, clock.Real{}, log, app.Options{})
	if err != nil {
		return err
	}
	a.Start()
	target := alert.Target{ServiceID: "payments", Integration: "events_v2", Grouping: "alert", Urgency: "high"}
	for _, ev := range []alert.Event{
		{Action: alert.Trigger, DedupKey: "disk-full", Summary: "Disk full on db-1", Source: "db-1", Severity: "critical"},
		{Action: alert.Trigger, DedupKey: "disk-full", Summary: "Disk full on db-1", Source: "db-1", Severity: "critical"},
		{Action: alert.Trigger, DedupKey: "cpu-hot", Summary: "CPU hot on web-2", Source: "web-2", Severity: "warning"},
		{Action: alert.Acknowledge, DedupKey: "cpu-hot"},
		{Action: alert.Trigger, DedupKey: "cert-expiry", Summary: "Certificate expires in 3 days", Source: "edge", Severity: "error"},
		{Action: alert.Resolve, DedupKey: "cert-expiry"},
	} {
		if _, err := a.Pipeline.Submit(ctx, target, []alert.Event{ev}); err != nil {
			return err
		}
	}
	if _, err := a.Incidents.AddNote(ctx, 1, "Cleared old WAL segments", incident.Actor{Name: "user:ann", Source: "cli"}); err != nil {
		return err
	}
	if _, err := a.Users.Create(ctx, auth.NewUser{Username: "ann", Name: "Ann", Role: auth.Admin, Password: "correct horse battery staple 42"}); err != nil {
		return err
	}
	secret, _, err := a.Tokens.Create(ctx, "ci", auth.Responder, 0)
	if err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond) // the first page goes out (and fails: nothing listens on :9)
	a.Stop()
	return os.WriteFile(tokenFile, []byte(secret+"\n"), 0o600)
}
