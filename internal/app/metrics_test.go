package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/storetest"
)

// Without server.metrics_token_env, /metrics is public and names no service and no SLO: the
// domains' series that do stay in the half a token scrape reads.
func TestPublicMetricsNameNoServiceOrSLO(t *testing.T) {
	db := storetest.SQLite(t, app.Schemas())
	cfg, err := config.Parse("nines.yaml", []byte(`services:
  - id: secret-payments
    integrations: [{type: events_v2, key: 0123456789abcdef0123456789abcdef}]
slos:
  - {id: secret-slo, service: secret-payments, objective: 99, window: 30d, sli: {events: {source: push}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), config.NewLive(cfg), db, clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{Version: "v1", Commit: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	a.Start()
	defer a.Stop()
	if _, err := a.SLOs.Status(context.Background(), "secret-slo"); err != nil {
		t.Fatal(err)
	}
	a.SLOs.Round(context.Background(), false)
	srv := httptest.NewServer(a.Web.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []string{"nines_timers_due ", "nines_health_check_ok{", "nines_database_errors_total{", `nines_build_info{commit="abc"`, "nines_slo_evaluation_seconds_count"} {
		if !strings.Contains(text, want) {
			t.Errorf("public /metrics lacks %s", want)
		}
	}
	for _, secret := range []string{"secret-payments", "secret-slo", "nines_slo_error_budget_remaining_ratio"} {
		if strings.Contains(text, secret) {
			t.Errorf("public /metrics names %s", secret)
		}
	}
	// The whole set, served to a token scrape, has them.
	mfs, err := a.Metrics.All.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "nines_slo_error_budget_remaining_ratio" && mf.GetMetric()[0].GetGauge().GetValue() == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("the token half lacks the SLO's error budget (1, untouched)")
	}
}

// A nines that has done nothing yet exports every counter whose labels are known in advance,
// at 0 (docs/api.md promises it): rate() and increase() then see the first event, and an
// alert on a series does not wait for it to appear. Channels are those the config's contact
// methods use, and a type a reload brings in appears with it.
func TestAFreshNinesExportsEveryCounterWhoseLabelsAreKnownAtZero(t *testing.T) {
	db := storetest.SQLite(t, app.Schemas())
	const base = `notifications:
  email:
    smtp: {host: 127.0.0.1, port: 1025, from: nines@example.com, tls: none}
users:
  - id: ann
    contact_methods:
      - {type: email, address: ann@example.com}
      - {type: webhook, address: "http://127.0.0.1:9/hook"}
`
	cfg, err := config.Parse("nines.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	live := config.NewLive(cfg)
	a, err := app.New(context.Background(), live, db, clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Web.Handler())
	defer srv.Close()
	scrape := func() string {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	text := scrape()
	var want []string
	for _, source := range []string{"alertmanager", "events_v2", "generic"} {
		for _, result := range []string{"acknowledged", "error", "ignored", "invalid", "opened", "repeated", "resolved", "unknown_key"} {
			want = append(want, fmt.Sprintf(`nines_ingest_events_total{result=%q,source=%q} 0`, result, source))
		}
	}
	for _, outcome := range []string{"held", "nobody", "paged", "skipped"} {
		want = append(want, fmt.Sprintf(`nines_escalation_steps_total{outcome=%q} 0`, outcome))
	}
	for _, channel := range []string{"email", "webhook"} {
		for _, outcome := range []string{"error", "failed", "sent"} {
			want = append(want, fmt.Sprintf(`nines_notifications_total{channel=%q,outcome=%q} 0`, channel, outcome))
		}
		want = append(want, fmt.Sprintf(`nines_notification_send_seconds_count{channel=%q} 0`, channel))
		for _, reason := range []string{"queue", "rate_limit"} {
			want = append(want, fmt.Sprintf(`nines_notifications_held_total{channel=%q,reason=%q} 0`, channel, reason))
		}
	}
	for _, w := range want {
		if !strings.Contains(text, w+"\n") {
			t.Errorf("a fresh /metrics lacks %s", w)
		}
	}
	if strings.Contains(text, `channel="sms"`) {
		t.Errorf("a fresh /metrics has series for sms, which no contact method uses")
	}

	cfg2, err := config.Parse("nines.yaml", []byte(base+"      - {type: push, address: \"http://127.0.0.1:9/ntfy/ann\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := live.Swap(cfg2); err != nil {
		t.Fatal(err)
	}
	text = scrape()
	for _, w := range []string{`nines_notifications_total{channel="push",outcome="sent"} 0`, `nines_notifications_held_total{channel="push",reason="rate_limit"} 0`} {
		if !strings.Contains(text, w+"\n") {
			t.Errorf("after a reload adding a push contact method, /metrics lacks %s", w)
		}
	}
}
