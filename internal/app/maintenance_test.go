package app_test

import (
	"bytes"
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
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

const heartbeatConfig = `
monitors:
  - {id: nightly-backup, service: checkout, type: heartbeat, uuid: 5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10, period: 1h, grace: 10m}
`

// wired is nines as serve wires it, on loopback, with a fake clock and a real SMTP server.
type wired struct {
	t     *testing.T
	app   *app.App
	url   string
	clock *clock.Fake
	smtp  *notifytest.SMTP
	token string
	hs    *webtest.Nines
}

func startWired(t *testing.T, db *store.DB, yaml string, now time.Time) *wired {
	t.Helper()
	return startWiredOn(t, db, yaml, clock.NewFake(now))
}

// startWiredOn starts nines on clk: two of them on one database and one clock are two nodes.
func startWiredOn(t *testing.T, db *store.DB, yaml string, clk *clock.Fake) *wired {
	t.Helper()
	smtp := notifytest.StartSMTP(t, "none")
	if strings.Contains(yaml, "%d") {
		yaml = fmt.Sprintf(yaml, smtp.Port())
	}
	n := webtest.Start(t, webtest.Options{Config: webtest.Parse(t, yaml), DB: db, Clock: clk})
	a, hs := n.App, n
	token, _, err := a.Tokens.Create(context.Background(), "responder", auth.Responder, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &wired{t: t, app: a, url: hs.URL, clock: clk, smtp: smtp, token: token, hs: hs}
}

// stop stops this nines as serve does on SIGTERM.
func (w *wired) stop() { w.hs.Stop() }

// call sends a request with the responder's token (or none, for ingest) and decodes the answer.
func (w *wired) call(method, path string, body any, want int, out any) []byte {
	w.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, w.url+path, r)
	req.Header.Set("Content-Type", "application/json")
	if !strings.HasPrefix(path, "/v2/") && !strings.HasPrefix(path, "/status/") {
		req.Header.Set("Authorization", "Bearer "+w.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		w.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			w.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return data
}

func (w *wired) trigger(key string) {
	w.t.Helper()
	w.call("POST", "/v2/enqueue", map[string]any{"routing_key": "0123456789abcdef0123456789abcdef", "event_action": "trigger", "dedup_key": key,
		"payload": map[string]string{"summary": "Checkout 5xx (" + key + ")", "source": "lb", "severity": "critical"}}, http.StatusAccepted, nil)
}

// pages counts the pages mailed to alice so far, after deliveries under way have finished.
func (w *wired) pages() int {
	w.app.Escalation.Wait()
	n := 0
	for _, m := range w.smtp.Mails() {
		if strings.Contains(strings.Join(m.To, ","), "alice@example.com") {
			n++
		}
	}
	return n
}

func (w *wired) openIncidents(n int) []incident.Incident {
	w.t.Helper()
	incs, _, err := w.app.Incidents.List(context.Background(), incident.Filter{States: []incident.State{incident.Triggered}, Limit: 10})
	if err != nil || len(incs) != n {
		w.t.Fatalf("open incidents: %+v %v, want %d", incs, err, n)
	}
	return incs
}

func (w *wired) timelineHas(id int64, typ string) bool { return w.timelineCount(id, typ) > 0 }

// timelineCount is how many rows of type typ the incident's timeline holds.
func (w *wired) timelineCount(id int64, typ string) int {
	events, err := w.app.Incidents.Timeline(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	n := 0
	for _, ev := range events {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// TestMaintenanceRecordsAlertsButPagesNobodyUntilItEnds sends alerts through the real ingest
// endpoint during a window over their service: they are recorded (incident, timeline) and
// nobody is mailed; when the window ends, the incident still open pages, from the durable
// timer at the window's end. A window cancelled while it holds an incident pages at once.
func TestMaintenanceRecordsAlertsButPagesNobodyUntilItEnds(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		t0 := time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)
		w := startWired(t, db, pagingConfig, t0)
		var win struct{ ID, State string }
		w.call("POST", "/api/v1/maintenance", map[string]any{"name": "Database upgrade", "services": []string{"checkout"},
			"start": t0.Format(time.RFC3339), "end": t0.Add(time.Hour).Format(time.RFC3339)}, http.StatusCreated, &win)
		if win.State != "in_progress" {
			t.Fatalf("window %+v, want in progress", win)
		}

		w.trigger("cpu")
		w.trigger("disk")
		incs := w.openIncidents(2)
		for _, inc := range incs {
			if !w.timelineHas(inc.ID, escalate.EventStepHeld) || !w.timelineHas(inc.ID, "alert.triggered") {
				t.Fatalf("incident %d: want its alert recorded and the hold on its timeline", inc.ID)
			}
		}
		w.clock.Advance(59 * time.Minute)
		time.Sleep(200 * time.Millisecond) // a page, were one sent, has had time to leave
		if n := w.pages(); n != 0 {
			t.Fatalf("%d pages mailed during the maintenance window, want none", n)
		}

		w.clock.Set(t0.Add(time.Hour)) // the window ends with the incident still open
		storetest.Eventually(t, 5*time.Second, "the held incidents paged at the window's end", func() bool { return w.pages() == 2 })
		for _, inc := range incs {
			if !w.timelineHas(inc.ID, escalate.EventStep) {
				t.Fatalf("the page of incident %d at the window's end is not on its timeline", inc.ID)
			}
			// A second window, called off while it holds a new incident: the incident pages now.
			w.call("POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", inc.ID), nil, http.StatusOK, nil)
		}
		now := w.clock.Now()
		w.call("POST", "/api/v1/maintenance", map[string]any{"name": "Cache flush", "services": []string{"checkout"},
			"start": now.Format(time.RFC3339), "end": now.Add(3 * time.Hour).Format(time.RFC3339)}, http.StatusCreated, &win)
		w.trigger("latency")
		time.Sleep(200 * time.Millisecond)
		if n := w.pages(); n != 2 {
			t.Fatalf("%d pages after an alert in the second window, want still 2", n)
		}
		w.clock.Advance(time.Minute)
		var called struct {
			State string
			End   time.Time
		}
		w.call("DELETE", "/api/v1/maintenance/"+win.ID, nil, http.StatusOK, &called)
		if called.State != "cancelled" || !called.End.Equal(w.clock.Now().Truncate(time.Millisecond)) {
			t.Fatalf("a window cancelled while running is %+v, want cancelled, ending when it was cancelled (%v)", called, w.clock.Now())
		}
		storetest.Eventually(t, 5*time.Second, "the incident held by the cancelled window paged at once", func() bool { return w.pages() == 3 })
	})
}

// TestAWindowOverAMonitorMutesItsAlerts lets a heartbeat miss its deadline inside a window that
// names it: it is recorded down, raises no alert, and does once the window is over.
func TestAWindowOverAMonitorMutesItsAlerts(t *testing.T) {
	db := storetest.SQLite(t, app.Schemas())
	t0 := time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)
	w := startWired(t, db, pagingConfig+heartbeatConfig, t0)
	w.call("POST", "/api/v1/maintenance", map[string]any{"name": "Backup rework", "monitors": []string{"nightly-backup"},
		"start": t0.Format(time.RFC3339), "end": t0.Add(3 * time.Hour).Format(time.RFC3339)}, http.StatusCreated, nil)
	w.call("GET", "/ping/5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10", nil, http.StatusOK, nil)
	w.clock.Advance(71 * time.Minute) // past period + grace: late
	storetest.Eventually(t, 5*time.Second, "the heartbeat recorded down", func() bool {
		v, _ := w.app.Monitors.View("nightly-backup")
		return v.Status == "down"
	})
	if incs, _, _ := w.app.Incidents.List(context.Background(), incident.Filter{Limit: 10}); len(incs) != 0 {
		t.Fatalf("a muted monitor opened %d incidents", len(incs))
	}
	w.call("GET", "/ping/5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10/fail", nil, http.StatusOK, nil) // still down, still muted
	w.clock.Set(t0.Add(3*time.Hour + time.Minute))
	w.call("GET", "/ping/5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10/fail", nil, http.StatusOK, nil)
	storetest.Eventually(t, 5*time.Second, "the monitor alerting after the window", func() bool {
		incs, _, _ := w.app.Incidents.List(context.Background(), incident.Filter{Limit: 10})
		return len(incs) == 1
	})
}
