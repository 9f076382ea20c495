package api_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/web/webtest"
)

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	// A database of this test's own, so that it is closed once, here.
	db, err := store.Open(context.Background(), store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(context.Background(), app.Schemas()); err != nil {
		t.Fatal(err)
	}
	s := webtest.StartSpineOn(t, db)
	if r := s.Do(webtest.Request{Method: "GET", Path: "/healthz"}); r.Status != http.StatusOK || r.Body != "ok\n" {
		t.Errorf("/healthz: %d %q", r.Status, r.Body)
	}
	if r := s.Do(webtest.Request{Method: "GET", Path: "/readyz"}); r.Status != http.StatusOK || r.Body != "ready\n" {
		t.Errorf("/readyz: %d %q", r.Status, r.Body)
	}
	s.DB.Close()
	s.Clock.Advance(time.Second) // the last answer is kept for a second
	r := s.Do(webtest.Request{Method: "GET", Path: "/readyz"})
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, "database does not answer") {
		t.Errorf("/readyz with the database closed: %d %s", r.Status, r.Body)
	}
	if r := s.Do(webtest.Request{Method: "GET", Path: "/healthz"}); r.Status != http.StatusOK {
		t.Errorf("/healthz with the database closed: %d; the process is still alive", r.Status)
	}
}

func TestMetricsCountIngestAndOpenIncidents(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	s.Trigger("a", "x")
	s.Trigger("a", "x")
	s.Do(webtest.Request{Method: "POST", Path: "/v2/enqueue", Body: webtest.EventsV2("resolve", "nothing-open", "")})
	s.Do(webtest.Request{Method: "POST", Path: "/v2/enqueue", Body: `{"routing_key": 1}`})
	s.Do(webtest.Request{Method: "POST", Path: "/api/v1/ingest/generic/unknown-key-1", Body: `{"summary": "x"}`})
	s.Do(webtest.Request{Method: "POST", Path: "/api/v1/ingest/alertmanager/" + webtest.AMKey, Body: readPayload(t, "alertmanager-v4-firing.json")})
	s.Get("/api/v1/incidents", auth.Viewer)

	// Without a metrics token /metrics is public and names no service.
	public := s.Do(webtest.Request{Method: "GET", Path: "/metrics"})
	if public.Status != http.StatusOK || !strings.Contains(public.Body, `nines_ingest_events_total{result="opened",source="events_v2"} 1`) {
		t.Fatalf("public /metrics: %d\n%s", public.Status, public.Body)
	}
	for _, name := range []string{"nines_open_incidents", `service="`, "checkout", "search"} {
		if strings.Contains(public.Body, name) {
			t.Errorf("public /metrics shows %q", name)
		}
	}

	// With server.metrics_token_env, only a scrape with the token is answered, with everything.
	cfg := *s.Config.Get()
	cfg.Server.MetricsToken = "metrics-scrape-token-1"
	s.Config.Swap(&cfg)
	for _, tok := range []string{"", "wrong-token", s.Token[auth.Admin]} {
		if r := s.Do(webtest.Request{Method: "GET", Path: "/metrics", Token: tok}); r.Status != http.StatusUnauthorized || strings.Contains(r.Body, "nines_") {
			t.Errorf("/metrics with token %q: %d; want 401 and no metrics", tok, r.Status)
		}
	}
	r := s.Do(webtest.Request{Method: "GET", Path: "/metrics", Token: "metrics-scrape-token-1"})
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`nines_ingest_events_total{result="opened",source="events_v2"} 1`,
		`nines_ingest_events_total{result="repeated",source="events_v2"} 1`,
		`nines_ingest_events_total{result="ignored",source="events_v2"} 1`,
		`nines_ingest_events_total{result="invalid",source="events_v2"} 1`,
		`nines_ingest_events_total{result="unknown_key",source="generic"} 1`,
		`nines_ingest_events_total{result="opened",source="alertmanager"} 2`,
		`nines_open_incidents{service="checkout"} 3`,
		`nines_open_incidents{service="search"} 0`,
		`nines_http_request_duration_seconds_count{code="202",route="POST /v2/enqueue"} 3`,
		`nines_http_request_duration_seconds_count{code="400",route="POST /v2/enqueue"} 1`,
		`nines_http_request_duration_seconds_count{code="200",route="GET /api/v1/incidents"} 1`,
	} {
		if !strings.Contains(r.Body, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !regexp.MustCompile(`nines_http_request_duration_seconds_bucket\{code="202",route="POST /v2/enqueue",le="0.005"\} \d`).MatchString(r.Body) {
		t.Error("/metrics lacks the latency histogram's buckets")
	}
	for _, secret := range []string{webtest.V2Key, webtest.AMKey, s.Token[auth.Viewer]} {
		if strings.Contains(r.Body, secret) {
			t.Errorf("/metrics shows a secret: %s", secret)
		}
	}
}
