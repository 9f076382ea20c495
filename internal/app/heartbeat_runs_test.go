package app_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/storetest"
)

const (
	backupPing = "/ping/5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10"
	ridX       = "6a1f2c58-0e5b-4d8e-9a53-5c0f7a2b9e10"
	ridY       = "9d2e3b47-1f6c-4c7d-8b42-4d1e6a3c8f21"
)

type heartbeatView struct {
	Status    string `json:"status"`
	Cause     string `json:"cause"`
	Heartbeat struct {
		RunStartedAt *time.Time `json:"run_started_at"`
		RunID        string     `json:"run_id"`
		RunLateAt    *time.Time `json:"run_late_at"`
	} `json:"heartbeat"`
	Pings []map[string]json.RawMessage `json:"pings"`
}

// TestAFinishClosesARunAsHealthchecksDoes plays, through the ping URLs and the API, which finish
// closes a run started with a run id, as healthchecks.io decides it: the finish with the same
// rid, a success without a rid, or a fail whatever its rid. A run closed is no longer watched
// (no late page after the grace) nor shown running; a run left open goes late and pages.
func TestAFinishClosesARunAsHealthchecksDoes(t *testing.T) {
	cases := []struct {
		name     string
		finish   string
		stayOpen bool
	}{
		{"a success with the same rid closes it", backupPing + "?rid=" + ridX, false},
		{"a success without a rid closes it", backupPing, false},
		{"an exit code 0 without a rid closes it", backupPing + "/0", false},
		{"a fail with another rid closes it", backupPing + "/fail?rid=" + ridY, false},
		{"an exit code 3 without a rid closes it", backupPing + "/3", false},
		{"a success with another rid leaves it open", backupPing + "?rid=" + ridY, true},
		{"a log leaves it open", backupPing + "/log", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t0 := time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)
			w := startWired(t, storetest.SQLite(t, app.Schemas()), pagingConfig+heartbeatConfig, t0)
			w.call("GET", backupPing, nil, http.StatusOK, nil) // watched from its first success
			w.call("GET", backupPing+"/start?rid="+ridX, nil, http.StatusOK, nil)
			w.clock.Advance(time.Minute)
			w.call("POST", c.finish, nil, http.StatusOK, nil)
			var hb heartbeatView
			w.call("GET", "/api/v1/monitors/nightly-backup", nil, http.StatusOK, &hb)
			if open := hb.Heartbeat.RunStartedAt != nil; open != c.stayOpen {
				t.Fatalf("after the finish the API shows a run open: %v (%+v), want %v", open, hb.Heartbeat, c.stayOpen)
			}
			w.clock.Advance(10 * time.Minute) // the start's grace has passed
			time.Sleep(200 * time.Millisecond)
			w.call("GET", "/api/v1/monitors/nightly-backup", nil, http.StatusOK, &hb)
			if late := hb.Cause == "late"; late != c.stayOpen {
				t.Fatalf("past the grace the heartbeat is %s (%s), want late: %v", hb.Status, hb.Cause, c.stayOpen)
			}
		})
	}
}

// TestAStartWithARidThenASuccessWithoutOnePagesNobody is a run that paged at night: a start with a rid, then the
// job's plain success without one. The run is closed; nobody is paged, and the API does not
// show the run forever.
func TestAStartWithARidThenASuccessWithoutOnePagesNobody(t *testing.T) {
	t0 := time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)
	w := startWired(t, storetest.SQLite(t, app.Schemas()), pagingConfig+heartbeatConfig, t0)
	w.call("GET", backupPing, nil, http.StatusOK, nil)
	w.call("GET", backupPing+"/start?rid="+ridX, nil, http.StatusOK, nil)
	w.clock.Advance(30 * time.Second)
	w.call("GET", backupPing, nil, http.StatusOK, nil)
	w.clock.Advance(11 * time.Minute)
	time.Sleep(300 * time.Millisecond)
	if n := w.pages(); n != 0 {
		t.Fatalf("%d pages for a run that finished, want none", n)
	}
	var hb heartbeatView
	w.call("GET", "/api/v1/monitors/nightly-backup", nil, http.StatusOK, &hb)
	if hb.Status != "up" || hb.Heartbeat.RunStartedAt != nil || hb.Heartbeat.RunLateAt != nil {
		t.Fatalf("heartbeat %s with run %+v, want up and no run open", hb.Status, hb.Heartbeat)
	}
}

// TestThePingsListShowsAnExitCodeOfZero: an exit code given is shown, 0 included; a ping
// without one has none.
func TestThePingsListShowsAnExitCodeOfZero(t *testing.T) {
	w := startWired(t, storetest.SQLite(t, app.Schemas()), pagingConfig+heartbeatConfig, time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC))
	w.call("POST", backupPing+"/0", nil, http.StatusOK, nil)
	w.call("POST", backupPing+"/3", nil, http.StatusOK, nil)
	w.call("POST", backupPing, nil, http.StatusOK, nil)
	var hb heartbeatView
	w.call("GET", "/api/v1/monitors/nightly-backup", nil, http.StatusOK, &hb)
	if len(hb.Pings) != 3 {
		t.Fatalf("%d pings, want 3", len(hb.Pings))
	}
	// Newest first: the plain success, exit code 3, exit code 0.
	for i, want := range []string{"", "3", "0"} {
		if got := string(hb.Pings[i]["exit_code"]); got != want {
			t.Errorf("ping %d: exit_code %q, want %q", i, got, want)
		}
	}
}
