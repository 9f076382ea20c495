package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/probe"
	"github.com/nines-dev/nines/internal/storetest"
)

// TestAgentResultsAreCheckedInTimeAndNeverRewriteHistory: a result's at was checked only for
// being set and not in the future, so an agent could post results of last year (painting past
// days of the status page and SLA figures) or replay an old success over a newer failure and
// resolve the incident. A result's at is now within 24 hours before the server's clock and 5
// minutes after it, and after the last result its location reported for that monitor; anything
// else is refused with 400 naming results[i].at, and the batch changes nothing.
func TestAgentResultsAreCheckedInTimeAndNeverRewriteHistory(t *testing.T) {
	now := time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)
	clk := clock.NewFake(now)
	e := newMonitorsTestEnvWith(t, monitorsTestConfig, clk)
	agent := e.agents["eu-west"]
	post := func(results ...string) (int, string) {
		return e.do(t, "POST", "/api/v1/probe/results", agent, `{"location": "eu-west", "results": [`+strings.Join(results, ", ")+`]}`)
	}
	result := func(at string, ok bool) string {
		return fmt.Sprintf(`{"monitor_id": "shop-api", "at": %q, "ok": %v, "latency_ns": 1000000}`, at, ok)
	}
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
	for _, c := range []struct {
		name, body, want string
	}{
		{"a result without at", `{"monitor_id": "shop-api", "ok": true}`, "results[0].at: missing"},
		{"a result of year 1", result("0001-01-01T00:00:00Z", true), "results[0].at: "},
		{"a result of year 9999", result("9999-12-31T23:59:59Z", true), "results[0].at: "},
		{"a result ten minutes ahead of the server's clock", result(at(10*time.Minute), true), "results[0].at: "},
		{"a result of two days ago", result(at(-48*time.Hour), false), "results[0].at: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(result(at(-time.Second), true), c.body)
			want := strings.Replace(c.want, "results[0]", "results[1]", 1)
			if status != 400 || !strings.Contains(body, want) {
				t.Errorf("%d %s, want 400 naming %q", status, body, want)
			}
		})
	}
	if v, _ := e.mon.View("shop-api"); v.Locations["eu-west"] != nil {
		t.Fatalf("refused batches changed the monitor: %+v", v.Locations["eu-west"])
	}

	// A result within the day is taken (an agent sends what it kept while nines was away).
	if status, body := post(result(at(-3*time.Hour), true), result(at(-time.Minute), false)); status != 200 || !strings.Contains(body, `"accepted":2`) {
		t.Fatalf("results of the last hours: %d %s, want both accepted", status, body)
	}
	storetest.Eventually(t, 5*time.Second, "the monitor going down", func() bool { v, _ := e.mon.View("shop-api"); return v.Status == probe.StatusDown })

	// A success older than the failure already taken cannot bring the monitor up again, nor
	// be counted twice if it is a replay.
	for _, replay := range []string{at(-time.Minute), at(-2 * time.Minute)} {
		status, body := post(result(replay, true))
		if status != 400 || !strings.Contains(body, "results[0].at: ") || !strings.Contains(body, "not after") {
			t.Errorf("a result at %s, older than or as old as the last one taken: %d %s, want 400 naming results[0].at", replay, status, body)
		}
	}
	if v, _ := e.mon.View("shop-api"); v.Status != probe.StatusDown {
		t.Errorf("after the old success: monitor %s, want still down", v.Status)
	}
	incs, _, _ := e.incidents.List(context.Background(), incident.Filter{ServiceIDs: []string{"shop"}})
	if len(incs) != 1 || incs[0].State != incident.Triggered {
		t.Errorf("incidents %+v, want the one opened still triggered", incs)
	}
	// The monitor's history holds the two results taken, and nothing else.
	if err := e.mon.History.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var n int
	e.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM probe_results`).Scan(&n)
	if n != 2 {
		t.Errorf("%d results recorded, want 2", n)
	}
}
