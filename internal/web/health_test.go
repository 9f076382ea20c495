package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/store"
)

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	// A database of this test's own, so that it is closed once, here.
	db, err := store.Open(context.Background(), store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(context.Background(), spineSchemas); err != nil {
		t.Fatal(err)
	}
	s := newSpineServerOn(t, db)
	if r := s.do(request{method: "GET", path: "/healthz"}); r.status != http.StatusOK || r.body != "ok\n" {
		t.Errorf("/healthz: %d %q", r.status, r.body)
	}
	if r := s.do(request{method: "GET", path: "/readyz"}); r.status != http.StatusOK || r.body != "ready\n" {
		t.Errorf("/readyz: %d %q", r.status, r.body)
	}
	s.db.Close()
	r := s.do(request{method: "GET", path: "/readyz"})
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "database does not answer") {
		t.Errorf("/readyz with the database closed: %d %s", r.status, r.body)
	}
	if r := s.do(request{method: "GET", path: "/healthz"}); r.status != http.StatusOK {
		t.Errorf("/healthz with the database closed: %d; the process is still alive", r.status)
	}
}

func TestMetricsCountIngestAndOpenIncidents(t *testing.T) {
	t.Parallel()
	s := newSpineServer(t)
	s.trigger("a", "x")
	s.trigger("a", "x")
	s.do(request{method: "POST", path: "/v2/enqueue", body: eventsV2("resolve", "nothing-open", "")})
	s.do(request{method: "POST", path: "/v2/enqueue", body: `{"routing_key": 1}`})
	s.do(request{method: "POST", path: "/api/v1/ingest/generic/unknown-key-1", body: `{"summary": "x"}`})
	s.do(request{method: "POST", path: "/api/v1/ingest/alertmanager/" + amKey, body: readPayload(t, "alertmanager-v4-firing.json")})
	s.get("/api/v1/incidents", auth.Viewer)

	r := s.do(request{method: "GET", path: "/metrics"})
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", r.status, r.header.Get("Content-Type"))
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
		if !strings.Contains(r.body, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !regexp.MustCompile(`nines_http_request_duration_seconds_bucket\{code="202",route="POST /v2/enqueue",le="0.005"\} \d`).MatchString(r.body) {
		t.Error("/metrics lacks the latency histogram's buckets")
	}
	for _, secret := range []string{v2Key, amKey, s.token[auth.Viewer]} {
		if strings.Contains(r.body, secret) {
			t.Errorf("/metrics shows a secret: %s", secret)
		}
	}
}
