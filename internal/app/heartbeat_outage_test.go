package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// peerConfig is the heartbeat a second nines pings every minute (docs/deploy.md, "Two nines
// watching each other").
const peerConfig = `
monitors:
  - {id: peer, service: checkout, type: heartbeat, uuid: 0a0a0a0a-0000-4000-8000-00000000000a, period: 1m, grace: 30s}
`

const peerPing = "/ping/0a0a0a0a-0000-4000-8000-00000000000a"

type peerView struct {
	Status    string `json:"status"`
	Cause     string `json:"cause"`
	Heartbeat struct {
		LateAt *time.Time `json:"late_at"`
	} `json:"heartbeat"`
}

// late says whether the peer's heartbeat has opened an incident (on any node).
func (w *wired) late() bool {
	w.t.Helper()
	incs, _, err := w.app.Incidents.List(context.Background(), incident.Filter{Limit: 10})
	if err != nil {
		w.t.Fatal(err)
	}
	return len(incs) > 0
}

func (w *wired) peer() peerView {
	w.t.Helper()
	var v peerView
	w.call("GET", "/api/v1/monitors/peer", nil, http.StatusOK, &v)
	return v
}

// While nines is down, pings sent to it are lost: a peer that pinged every minute all along
// looks silent since the last ping before the outage. After nines itself was down, a heartbeat
// gets its full period and grace from the moment nines is back before it is judged late (as
// healthchecks.io does after an outage of its own); one that stays silent is late then. A node
// starting while another runs (which took the pings meanwhile) gives no such delay.
func TestAfterNinesWasDownAHeartbeatGetsItsPeriodAndGraceFromTheRestart(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		t0 := time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)
		w := startWired(t, db, pagingConfig+peerConfig, t0)
		w.call("GET", peerPing, nil, http.StatusOK, nil)
		w.stop()

		// Down for three minutes: the pings at 07:31, 07:32 and 07:33 were lost.
		back := t0.Add(3 * time.Minute)
		w = startWired(t, db, pagingConfig+peerConfig, back)
		time.Sleep(300 * time.Millisecond) // the runner has looked at what is due
		v := w.peer()
		if v.Status != "up" || w.late() {
			t.Fatalf("right after the restart the peer's heartbeat is %s (%s); want up: its pings could not arrive while nines was down", v.Status, v.Cause)
		}
		if want := back.Add(90 * time.Second); v.Heartbeat.LateAt == nil || !v.Heartbeat.LateAt.Equal(want) {
			t.Errorf("late_at %v; want %v: the period and grace from the restart", v.Heartbeat.LateAt, want)
		}
		w.clock.Advance(89 * time.Second)
		time.Sleep(300 * time.Millisecond)
		if w.late() {
			t.Fatalf("89s after the restart the heartbeat is late; want it up")
		}
		// A peer that is really silent is late once that time has passed.
		w.clock.Advance(2 * time.Second)
		storetest.Eventually(t, 5*time.Second, "the silent peer to be late", w.late)
		w.stop()
	})
}

func TestANodeStartingWhileAnotherRunsGivesHeartbeatsNoDelay(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		t0 := time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)
		clk := clock.NewFake(t0)
		first := startWiredOn(t, db, pagingConfig+peerConfig, clk)
		first.call("GET", peerPing, nil, http.StatusOK, nil)
		// The first node holds the probe lease (renewed every 5 s of its clock).
		for range 10 {
			clk.Advance(5 * time.Second)
			time.Sleep(20 * time.Millisecond)
		}
		second := startWiredOn(t, db, pagingConfig+peerConfig, clk)
		if v := second.peer(); v.Heartbeat.LateAt == nil || !v.Heartbeat.LateAt.Equal(t0.Add(90*time.Second)) {
			t.Errorf("after a second node started, late_at %v; want %v, as before", v.Heartbeat.LateAt, t0.Add(90*time.Second))
		}
		clk.Advance(41 * time.Second)
		storetest.Eventually(t, 5*time.Second, "the silent peer to be late on time", second.late)
	})
}
