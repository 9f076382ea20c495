package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
)

// idConfig pages ops by email and webhook at once for every incident of checkout.
const idConfig = `
users:
  - {id: ops, time_zone: UTC, contact_methods: [{type: email, address: ops@example.com}, {type: webhook, address: "%s/hook"}]}
escalation_policies:
  - {id: ops-policy, steps: [{escalate_after: 1h, targets: [{user: ops}]}]}
services:
  - id: checkout
    escalation_policy: ops-policy
    integrations: [{type: events_v2, key: 0123456789abcdef0123456789abcdef}]
notifications:
  email:
    smtp: {host: 127.0.0.1, port: %d, from: nines@example.com, tls: none}
`

// delivery is what a receiver sees of one page: the mail's Message-ID and References, and
// the webhook's Idempotency-Key.
type delivery struct{ messageID, references, idempotencyKey string }

// pageOnce runs nines on the SQLite database in dir at now, opens one incident through the
// Events API and returns the first page it sends by each channel; then it stops.
func pageOnce(t *testing.T, dir string, now time.Time, smtp *notifytest.SMTP, hook *notifytest.Receiver) delivery {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx, app.Schemas()); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("nines.yaml", []byte(fmt.Sprintf(idConfig, hook.URL, smtp.Port())))
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(ctx, config.NewLive(cfg), db, clock.NewFake(now), slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(a.Web.Handler())
	a.Start()
	defer func() { hs.Close(); a.Stop() }()
	mails, hooks := len(smtp.Mails()), len(hook.Requests())
	body, _ := json.Marshal(map[string]any{"routing_key": "0123456789abcdef0123456789abcdef", "event_action": "trigger", "dedup_key": "cpu",
		"payload": map[string]string{"summary": "CPU high", "source": "web-1", "severity": "critical"}})
	resp, err := http.Post(hs.URL+"/v2/enqueue", "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("enqueue: %v %v", err, resp)
	}
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(smtp.Mails()) == mails || len(hook.Requests()) == hooks {
		if time.Now().After(deadline) {
			t.Fatal("no page by both channels within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	m, err := mail.ReadMessage(strings.NewReader(smtp.Mails()[mails].Data))
	if err != nil {
		t.Fatal(err)
	}
	return delivery{m.Header.Get("Message-ID"), m.Header.Get("References"), hook.Requests()[hooks].Header.Get("Idempotency-Key")}
}

// Two separate nines (two nines watching each other) both open their incident 1 and page
// through the same mail domain; a nines restored from a backup taken before its incident 1
// opens another incident 1. A receiver that drops repeated Message-IDs (Gmail) or
// Idempotency-Keys must see each of these pages as new: each id names the installation and
// the incident's life, not only its number.
func TestEveryIncidentsPagesHaveIdsNoOtherNinesOrRestoreReuses(t *testing.T) {
	smtp, hook := notifytest.StartSMTP(t, "none"), notifytest.StartReceiver(t)
	t0 := time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)

	dirA := t.TempDir()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DataDir: dirA})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx, app.Schemas()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	var backup bytes.Buffer
	if _, err := store.Backup(ctx, store.BackupOptions{DataDir: dirA, Now: t0}, &backup); err != nil {
		t.Fatal(err)
	}

	a := pageOnce(t, dirA, t0, smtp, hook)
	b := pageOnce(t, t.TempDir(), t0, smtp, hook) // another nines, the same instant
	restored := t.TempDir()
	if _, err := store.Restore(ctx, bytes.NewReader(backup.Bytes()), store.RestoreOptions{DataDir: restored}); err != nil {
		t.Fatal(err)
	}
	r := pageOnce(t, restored, t0.Add(time.Hour), smtp, hook)

	shape := regexp.MustCompile(`^<inc1\.\d+\.[0-9a-f]{16}\+r0\+s0\+ops\+email@example\.com>$`)
	for name, d := range map[string]delivery{"the first nines": a, "another nines": b, "the restored nines": r} {
		if !shape.MatchString(d.messageID) {
			t.Errorf("%s: Message-ID %s; want <inc1.<opened ms>.<installation>+r0+s0+ops+email@example.com>", name, d.messageID)
		}
	}
	for _, pair := range []struct {
		what string
		x, y delivery
	}{{"two nines", a, b}, {"a nines and its restored copy", a, r}} {
		if pair.x.messageID == pair.y.messageID {
			t.Errorf("%s send incident 1's page with one Message-ID: %s", pair.what, pair.x.messageID)
		}
		if pair.x.references == pair.y.references {
			t.Errorf("%s thread incident 1's pages under one References: %s", pair.what, pair.x.references)
		}
		if pair.x.idempotencyKey == pair.y.idempotencyKey {
			t.Errorf("%s send incident 1's webhook with one Idempotency-Key: %s", pair.what, pair.x.idempotencyKey)
		}
	}
}
