package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

const pagingConfig = `
users:
  - {id: alice, name: Alice, time_zone: Europe/Paris, contact_methods: [{type: email, address: alice@example.com}]}
schedules:
  - id: ops
    time_zone: Europe/Paris
    layers:
      - {name: primary, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [alice]}
escalation_policies:
  - id: ops-policy
    steps:
      - {escalate_after: 10m, targets: [{schedule: ops}]}
services:
  - id: checkout
    name: Checkout API
    escalation_policy: ops-policy
    integrations:
      - {type: events_v2, key: 0123456789abcdef0123456789abcdef}
status_pages:
  - id: public
    title: Acme Status
    follow_incidents: true
    components:
      - {name: Checkout, service: checkout}
notifications:
  email:
    smtp: {host: 127.0.0.1, port: %d, from: nines@example.com, tls: none}
`

// TestAnAlertPagesTheOnCallPersonThroughTheWiredApp follows one alert through nines as serve
// wires it: the ingest route, the pipeline, the incident, the escalation engine and the mail
// to whoever is on call, and the status page turning red. Then the app stops, twice.
func TestAnAlertPagesTheOnCallPersonThroughTheWiredApp(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		smtp := notifytest.StartSMTP(t, "none")
		cfg, err := config.Parse("nines.yaml", []byte(fmt.Sprintf(pagingConfig, smtp.Port())))
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewUnstartedServer(nil)
		a, err := app.New(context.Background(), config.NewLive(cfg), db, clock.NewFake(time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)),
			slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{BaseURL: "http://" + hs.Listener.Addr().String(), Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		hs.Config.Handler = a.Web.Handler()
		hs.Start()
		a.Start()
		defer hs.Close()

		resp, err := http.Post(hs.URL+"/v2/enqueue", "application/json", strings.NewReader(
			`{"routing_key":"0123456789abcdef0123456789abcdef","event_action":"trigger","dedup_key":"cpu","payload":{"summary":"Checkout 5xx","source":"web-1","severity":"critical"}}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("trigger: %d", resp.StatusCode)
		}
		storetest.Eventually(t, 5*time.Second, "a page mailed to alice", func() bool {
			for _, m := range smtp.Mails() {
				if strings.Contains(strings.Join(m.To, ","), "alice@example.com") {
					return true
				}
			}
			return false
		})
		incs, _, err := a.Incidents.List(context.Background(), incident.Filter{Limit: 10})
		if err != nil || len(incs) != 1 || incs[0].ServiceID != "checkout" {
			t.Fatalf("incidents after one trigger: %+v %v", incs, err)
		}
		resp, err = http.Get(hs.URL + "/status/public/api/v2/status.json")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"indicator":"critical"`) {
			t.Errorf("status page during a critical incident: %d %s", resp.StatusCode, body)
		}

		hs.Close()
		a.Stop()
		a.Stop() // serve's deferred Stop runs after the explicit one
	})
}
