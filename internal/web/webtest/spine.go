package webtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// The spine is nines with two services and an integration of each kind: what the tests of
// ingest, incidents and the pages run against, over HTTP on loopback, with a real SQLite
// database, a running alert pipeline and real API tokens.

// The spine's integration keys.
const (
	V2Key     = "0123456789abcdef0123456789abcdef"
	AMKey     = "am-checkout-key"
	GenKey    = "gen-checkout-key"
	SearchKey = "am-search-key-1"
)

// SpineConfig declares the spine's services.
const SpineConfig = `services:
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

// SpineEpoch is when the spine's fake clock starts.
var SpineEpoch = time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)

// Spine is nines running with the spine's config.
type Spine struct {
	*Nines
	T     testing.TB
	Clock *clock.Fake
	// Token holds a live API token per role.
	Token map[auth.Role]string
	// browsers holds a browser signed in per role, made on first use.
	browsers map[auth.Role]*SignedIn
	client   *http.Client
}

// StartSpine runs the spine on a fresh SQLite database.
func StartSpine(t testing.TB) *Spine {
	t.Helper()
	return StartSpineOn(t, storetest.SQLite(t, app.Schemas()))
}

// StartSpineOn runs the spine on db, as another node of a cluster would.
func StartSpineOn(t testing.TB, db *store.DB) *Spine {
	t.Helper()
	clk := clock.NewFake(SpineEpoch)
	n := Start(t, Options{Config: Parse(t, SpineConfig), DB: db, Clock: clk})
	s := &Spine{Nines: n, T: t, Clock: clk, Token: map[auth.Role]string{}, browsers: map[auth.Role]*SignedIn{},
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	for _, r := range auth.Roles() {
		secret, _, err := n.Tokens.Create(context.Background(), r.String(), r, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		s.Token[r] = secret
	}
	return s
}

// Browser returns a browser signed in with a user of role, named after the role.
func (s *Spine) Browser(role auth.Role) *SignedIn {
	s.T.Helper()
	if s.browsers[role] == nil {
		s.browsers[role] = SignIn(s.T, s.URL, s.Users, role.String(), role)
	}
	return s.browsers[role]
}

// Request is one HTTP request of a test.
type Request struct {
	Method, Path, Body string
	Token              string            // sent as a bearer token
	Header             map[string]string // more headers
	Cookie             string            // sent as the session cookie
}

// Reply is an answer read whole.
type Reply struct {
	Status int
	Header http.Header
	Body   string
}

// JSON decodes the answer's body into v.
func (r Reply) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", r.Status, err, r.Body)
	}
}

// Do sends req, following no redirect, and reads the answer.
func (s *Spine) Do(req Request) Reply {
	s.T.Helper()
	var body io.Reader
	if req.Body != "" {
		body = strings.NewReader(req.Body)
	}
	hr, err := http.NewRequest(req.Method, s.URL+req.Path, body)
	if err != nil {
		s.T.Fatal(err)
	}
	if req.Body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if req.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+req.Token)
	}
	for k, v := range req.Header {
		hr.Header.Set(k, v)
	}
	if req.Cookie != "" {
		hr.AddCookie(&http.Cookie{Name: SessionCookie, Value: req.Cookie})
	}
	resp, err := s.client.Do(hr)
	if err != nil {
		s.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.T.Fatal(err)
	}
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// Get sends a GET with the token of role.
func (s *Spine) Get(path string, role auth.Role) Reply {
	return s.Do(Request{Method: "GET", Path: path, Token: s.Token[role]})
}

// Post sends a POST of a JSON body with the token of role.
func (s *Spine) Post(path, body string, role auth.Role) Reply {
	return s.Do(Request{Method: "POST", Path: path, Body: body, Token: s.Token[role]})
}

// Rows counts the rows the spine writes, to check that a refused request wrote nothing.
func (s *Spine) Rows() string {
	s.T.Helper()
	var out []string
	for _, table := range []string{"alerts", "incidents", "timeline"} {
		var n int
		if err := s.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			s.T.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s=%d", table, n))
	}
	return strings.Join(out, " ")
}

// Trigger sends an Events v2 trigger and returns the id of the incident it opened or joined.
func (s *Spine) Trigger(dedupKey, summary string) int64 {
	s.T.Helper()
	r := s.Do(Request{Method: "POST", Path: "/v2/enqueue", Body: EventsV2("trigger", dedupKey, summary)})
	if r.Status != http.StatusAccepted {
		s.T.Fatalf("trigger: %d %s", r.Status, r.Body)
	}
	incs, _, err := s.Incidents.List(context.Background(), incident.Filter{Limit: 1})
	if err != nil || len(incs) == 0 {
		s.T.Fatalf("no incident after a trigger: %v", err)
	}
	return incs[0].ID
}

// EventsV2 is an Events API v2 event for the spine's checkout service.
func EventsV2(action, dedupKey, summary string) string {
	ev := map[string]any{"routing_key": V2Key, "event_action": action, "dedup_key": dedupKey}
	if action == "trigger" {
		ev["payload"] = map[string]any{"summary": summary, "source": "db-1", "severity": "critical"}
	}
	b, _ := json.Marshal(ev)
	return string(b)
}
