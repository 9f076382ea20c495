package api_test

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
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// bulkConfig has a service of each of two teams and one no team owns.
const bulkConfig = `
teams:
  - {id: payments, name: Payments}
  - {id: search, name: Search}
services:
  - {id: checkout, name: Checkout, team: payments}
  - {id: index, name: Search index, team: search}
  - {id: dns, name: DNS}
`

type bulkAnswer struct {
	Results []incident.BulkResult    `json:"results"`
	Counts  map[incident.Outcome]int `json:"counts"`
}

type bulkEnv struct {
	t      *testing.T
	n      *webtest.Nines
	tokens map[string]string // "responder", "payments", "viewer"
}

func newBulkEnv(t *testing.T, db *store.DB) *bulkEnv {
	t.Helper()
	n := webtest.Start(t, webtest.Options{DB: db, Config: webtest.Parse(t, bulkConfig)})
	e := &bulkEnv{t: t, n: n, tokens: map[string]string{}}
	ctx := context.Background()
	var err error
	if e.tokens["responder"], _, err = n.Tokens.Create(ctx, "responder", auth.Responder, time.Hour); err != nil {
		t.Fatal(err)
	}
	if e.tokens["viewer"], _, err = n.Tokens.Create(ctx, "viewer", auth.Viewer, time.Hour); err != nil {
		t.Fatal(err)
	}
	if e.tokens["payments"], _, err = n.Tokens.CreateScoped(ctx, "payments-responder", auth.Responder, time.Hour, []string{"payments"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// open opens an incident of service at severity with title.
func (e *bulkEnv) open(service, severity, title string) int64 {
	e.t.Helper()
	var id int64
	err := e.n.DB.Tx(context.Background(), func(tx *store.Tx) error {
		inc, err := e.n.Incidents.Open(context.Background(), tx, incident.OpenParams{ServiceID: service, Severity: severity, Title: title,
			At: e.n.Clock.Now(), Actor: incident.Actor{Name: "test", Source: "test"}})
		id = inc.ID
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *bulkEnv) post(path, who, body string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.n.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.tokens[who])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *bulkEnv) bulk(path, who, body string) bulkAnswer {
	e.t.Helper()
	status, answer := e.post(path, who, body)
	if status != http.StatusOK {
		e.t.Fatalf("POST %s %s as %s: %d %s", path, body, who, status, answer)
	}
	var a bulkAnswer
	if err := json.Unmarshal([]byte(answer), &a); err != nil {
		e.t.Fatalf("POST %s: %v in %s", path, err, answer)
	}
	return a
}

func (e *bulkEnv) state(id int64) incident.State {
	e.t.Helper()
	inc, err := e.n.Incidents.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return inc.State
}

func outcomes(a bulkAnswer) string {
	var parts []string
	for _, r := range a.Results {
		parts = append(parts, fmt.Sprintf("%d:%s", r.ID, r.Outcome))
	}
	return strings.Join(parts, " ")
}

func TestBulkAcknowledgeAndResolveSayWhatHappenedToEachIncident(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		e := newBulkEnv(t, db)
		pay1 := e.open("checkout", incident.Critical, "Checkout 500s")
		pay2 := e.open("checkout", incident.Warning, "Checkout slow")
		find := e.open("index", incident.Critical, "Index stale")
		dns := e.open("dns", incident.Warning, "DNS slow")
		if _, err := e.n.Incidents.Acknowledge(context.Background(), pay2, incident.Actor{Name: "bob"}); err != nil {
			t.Fatal(err)
		}

		// The scoped responder names every incident: another team's is reported forbidden and
		// left as it is; one no team owns is theirs to act on too.
		a := e.bulk("/api/v1/incidents/acknowledge", "payments", fmt.Sprintf(`{"ids": [%d, %d, %d, %d, 9999, %d]}`, pay1, pay2, find, dns, pay1))
		want := fmt.Sprintf("%d:acknowledged %d:already_acknowledged %d:forbidden %d:acknowledged 9999:not_found", pay1, pay2, find, dns)
		if got := outcomes(a); got != want {
			t.Errorf("bulk acknowledge as payments:\n got %s\nwant %s", got, want)
		}
		if a.Counts[incident.OutcomeAcknowledged] != 2 || a.Counts[incident.OutcomeForbidden] != 1 || a.Counts[incident.OutcomeNotFound] != 1 {
			t.Errorf("counts: %v", a.Counts)
		}
		if st := e.state(find); st != incident.Triggered {
			t.Errorf("search's incident, forbidden to payments, is %s", st)
		}
		evs, err := e.n.Incidents.Timeline(context.Background(), pay1)
		if err != nil {
			t.Fatal(err)
		}
		acks := 0
		for _, ev := range evs {
			if ev.Type == incident.EventAcknowledged {
				acks++
				if ev.Actor != "" && ev.Source != "api" {
					t.Errorf("the acknowledgement's source: %+v", ev)
				}
			}
		}
		if acks != 1 {
			t.Errorf("incident %d named twice has %d acknowledgements on its timeline, want 1", pay1, acks)
		}

		// Resolving by filter: only what matches, only what the caller reaches.
		a = e.bulk("/api/v1/incidents/resolve", "payments", `{"filter": {"state": "open", "severity": "critical"}}`)
		if got, want := outcomes(a), fmt.Sprintf("%d:resolved", pay1); got != want {
			t.Errorf("resolve critical open incidents as payments: %s, want %s", got, want)
		}
		a = e.bulk("/api/v1/incidents/resolve", "responder", `{"filter": {"state": "open", "q": "SLOW"}}`)
		if got, want := outcomes(a), fmt.Sprintf("%d:resolved %d:resolved", dns, pay2); got != want {
			t.Errorf("resolve open incidents titled slow: %s, want %s", got, want)
		}
		a = e.bulk("/api/v1/incidents/acknowledge", "responder", fmt.Sprintf(`{"ids": [%d, %d]}`, pay1, find))
		if got, want := outcomes(a), fmt.Sprintf("%d:already_resolved %d:acknowledged", pay1, find); got != want {
			t.Errorf("acknowledge a resolved and a triggered incident: %s, want %s", got, want)
		}
		a = e.bulk("/api/v1/incidents/resolve", "responder", `{"filter": {"service": "checkout", "state": "triggered"}}`)
		if len(a.Results) != 0 || a.Results == nil {
			t.Errorf("a filter matching nothing: %+v, want an empty list", a)
		}
	})
}

func TestBulkActionsRefuseWhatTheyCannotDoWhole(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		e := newBulkEnv(t, db)
		id := e.open("checkout", incident.Critical, "Checkout 500s")
		ids := make([]string, incident.MaxBulk+1)
		for i := range ids {
			ids[i] = fmt.Sprint(i + 1)
		}
		for _, c := range []struct {
			name, who, body string
			status          int
			says            string
		}{
			{"more than 1,000 ids", "responder", `{"ids": [` + strings.Join(ids, ",") + `]}`, 400, "ids: 1001 incidents; at most 1000 at once"},
			{"ids and a filter", "responder", fmt.Sprintf(`{"ids": [%d], "filter": {"state": "open"}}`, id), 400, "filter: give ids or a filter, not both"},
			{"neither ids nor a filter", "responder", `{}`, 400, "ids: name the incidents"},
			{"an unknown state", "responder", `{"filter": {"state": "closed"}}`, 400, `state: \"closed\" is not one of`},
			{"an unknown severity", "responder", `{"filter": {"severity": "sev0"}}`, 400, `severity: \"sev0\" is not one of critical, error, warning, info`},
			{"an unknown service", "responder", `{"filter": {"service": "billing"}}`, 400, `service: unknown service \"billing\"`},
			{"ids that are not numbers", "responder", `{"ids": ["one"]}`, 400, "ids"},
			{"a viewer", "viewer", fmt.Sprintf(`{"ids": [%d]}`, id), 403, "needs the responder role"},
		} {
			for _, path := range []string{"/api/v1/incidents/acknowledge", "/api/v1/incidents/resolve"} {
				status, answer := e.post(path, c.who, c.body)
				if status != c.status || !strings.Contains(answer, c.says) {
					t.Errorf("%s to %s: %d %.300s, want %d saying %s", c.name, path, status, answer, c.status, c.says)
				}
			}
		}
		if st := e.state(id); st != incident.Triggered {
			t.Errorf("refused bulk actions left the incident %s", st)
		}
	})
}

func TestABulkFilterMatchingMoreThanTheBoundIsRefused(t *testing.T) {
	db := storetest.SQLite(t, app.Schemas())
	e := newBulkEnv(t, db)
	err := db.Tx(context.Background(), func(tx *store.Tx) error {
		for i := 0; i <= incident.MaxBulk; i++ {
			if _, err := e.n.Incidents.Open(context.Background(), tx, incident.OpenParams{ServiceID: "dns", Severity: incident.Warning,
				Title: fmt.Sprintf("resolver %d slow", i), At: e.n.Clock.Now(), Actor: incident.Actor{Name: "test", Source: "test"}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	status, answer := e.post("/api/v1/incidents/acknowledge", "responder", `{"filter": {"state": "triggered"}}`)
	if status != 400 || !strings.Contains(answer, "filter: matches more than 1000 incidents") {
		t.Errorf("a filter matching 1001 incidents: %d %s", status, answer)
	}
	a := e.bulk("/api/v1/incidents/acknowledge", "responder", `{"filter": {"state": "triggered", "q": "resolver 1000"}}`)
	if len(a.Results) != 1 || a.Results[0].Outcome != incident.OutcomeAcknowledged {
		t.Errorf("narrowed to one: %+v", a)
	}
}

func TestTheListFindsTitleWordsAsWrittenInAnyCase(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		e := newBulkEnv(t, db)
		full := e.open("dns", incident.Warning, "Disk 100% full on ns_1")
		thousand := e.open("dns", incident.Warning, "Disk 1000 full on ns-1")
		down := e.open("dns", incident.Critical, "Resolver down")
		for q, want := range map[string]string{
			"100%":               fmt.Sprint(full),
			"ns_1":               fmt.Sprint(full),
			"DISK 100%":          fmt.Sprint(full),
			"full disk":          fmt.Sprintf("%d,%d", thousand, full), // every word, in any order
			"resolver up":        "",
			"&severity=critical": fmt.Sprint(down),
		} {
			path := "/api/v1/incidents?q=" + strings.ReplaceAll(strings.ReplaceAll(q, "%", "%25"), " ", "+")
			if strings.HasPrefix(q, "&") {
				path = "/api/v1/incidents?" + q[1:]
			}
			req, _ := http.NewRequest("GET", e.n.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+e.tokens["viewer"])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var page incidentPage
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, inc := range page.Incidents {
				ids = append(ids, fmt.Sprint(inc.ID))
			}
			if got := strings.Join(ids, ","); got != want {
				t.Errorf("GET %s: incidents %s, want %s", path, got, want)
			}
		}
	})
}
