package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/timers"
	"github.com/nines-dev/nines/internal/web"
)

// The spine's HTTP tests run web.Server's real handler over HTTP on loopback, with a real
// SQLite database, a running alert pipeline and real API tokens.

const (
	v2Key     = "0123456789abcdef0123456789abcdef"
	amKey     = "am-checkout-key"
	genKey    = "gen-checkout-key"
	searchKey = "am-search-key-1"
)

const spineConfig = `services:
  - id: checkout
    name: Checkout API
    description: Takes orders and payments.
    integrations:
      - {type: events_v2, key: 0123456789abcdef0123456789abcdef}
      - {type: alertmanager, key: am-checkout-key}
      - {type: generic, key: gen-checkout-key}
  - id: search
    name: Search
    incident_grouping: service
    integrations:
      - {type: alertmanager, key: am-search-key-1}
`

var spineEpoch = time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)

// spineServer is a running nines HTTP server and what it stands on.
type spineServer struct {
	t         *testing.T
	db        *store.DB
	clock     *clock.Fake
	srv       *web.Server
	url       string
	client    *http.Client
	incidents *incident.Service
	// token holds a live API token per role.
	token map[auth.Role]string
	// browsers holds a browser signed in per role, made on first use.
	browsers map[auth.Role]*web.SignedIn
}

// browser returns a browser signed in with a user of role, named after the role.
func (s *spineServer) browser(role auth.Role) *web.SignedIn {
	s.t.Helper()
	if s.browsers[role] == nil {
		s.browsers[role] = web.SignIn(s.t, s.url, s.srv.Users, role.String(), role)
	}
	return s.browsers[role]
}

func newSpineServer(t *testing.T) *spineServer {
	t.Helper()
	return newSpineServerOn(t, storetest.SQLite(t, spineSchemas))
}

// spineSchemas are the tables of the spine, as cmd/nines lists them.
var spineSchemas = []store.Schema{store.OwnSchema, incident.Schema, alert.Schema, auth.Schema, timers.Schema}

// newSpineServerOn starts a server on db, as another node of a cluster would.
func newSpineServerOn(t *testing.T, db *store.DB) *spineServer {
	t.Helper()
	cfg, err := config.Parse("nines.yaml", []byte(spineConfig))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(spineEpoch)
	incs := incident.New(db, clk)
	pipeline := alert.NewPipeline(db, incs, clk)
	stopped := make(chan struct{})
	go func() { pipeline.Run(); close(stopped) }()
	t.Cleanup(func() { pipeline.Close(); <-stopped })
	toks := auth.NewTokens(db, clk)
	srv := &web.Server{Config: config.NewLive(cfg), DB: db, Incidents: incs, Alerts: pipeline, Tokens: toks,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Clock: clk, Version: "test"}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	s := &spineServer{t: t, db: db, clock: clk, srv: srv, url: ts.URL, incidents: incs, token: map[auth.Role]string{}, browsers: map[auth.Role]*web.SignedIn{},
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	for _, r := range auth.Roles() {
		secret, _, err := toks.Create(context.Background(), r.String(), r, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		s.token[r] = secret
	}
	return s
}

// request is one HTTP request of a test.
type request struct {
	method, path, body string
	token              string            // sent as a bearer token
	header             map[string]string // more headers
	cookie             string            // sent as the session cookie
}

// reply is an answer read whole.
type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", r.status, err, r.body)
	}
}

func (s *spineServer) do(req request) reply {
	s.t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	hr, err := http.NewRequest(req.method, s.url+req.path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if req.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if req.token != "" {
		hr.Header.Set("Authorization", "Bearer "+req.token)
	}
	for k, v := range req.header {
		hr.Header.Set(k, v)
	}
	if req.cookie != "" {
		hr.AddCookie(&http.Cookie{Name: "nines_session", Value: req.cookie})
	}
	resp, err := s.client.Do(hr)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (s *spineServer) get(path string, role auth.Role) reply {
	return s.do(request{method: "GET", path: path, token: s.token[role]})
}

func (s *spineServer) post(path, body string, role auth.Role) reply {
	return s.do(request{method: "POST", path: path, body: body, token: s.token[role]})
}

// rows counts the rows the spine writes, to check that a refused request wrote nothing.
func (s *spineServer) rows() string {
	s.t.Helper()
	var out []string
	for _, table := range []string{"alerts", "incidents", "timeline"} {
		var n int
		if err := s.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			s.t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s=%d", table, n))
	}
	return strings.Join(out, " ")
}

// trigger sends an Events v2 trigger and returns the id of the incident it opened or joined.
func (s *spineServer) trigger(dedupKey, summary string) int64 {
	s.t.Helper()
	r := s.do(request{method: "POST", path: "/v2/enqueue", body: eventsV2("trigger", dedupKey, summary)})
	if r.status != http.StatusAccepted {
		s.t.Fatalf("trigger: %d %s", r.status, r.body)
	}
	incs, _, err := s.incidents.List(context.Background(), incident.Filter{Limit: 1})
	if err != nil || len(incs) == 0 {
		s.t.Fatalf("no incident after a trigger: %v", err)
	}
	return incs[0].ID
}

func eventsV2(action, dedupKey, summary string) string {
	ev := map[string]any{"routing_key": v2Key, "event_action": action, "dedup_key": dedupKey}
	if action == "trigger" {
		ev["payload"] = map[string]any{"summary": summary, "source": "db-1", "severity": "critical"}
	}
	b, _ := json.Marshal(ev)
	return string(b)
}
