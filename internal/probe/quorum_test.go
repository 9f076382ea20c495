package probe

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// openTitles lists the titles of a service's open incidents.
func (h *harness) openTitles(service string) []string {
	var out []string
	for _, inc := range h.incidentsOf(service) {
		if inc.State != incident.Resolved {
			out = append(out, inc.Title)
		}
	}
	return out
}

func hasTitle(titles []string, part string) bool {
	for _, t := range titles {
		if strings.Contains(t, part) {
			return true
		}
	}
	return false
}

// TestSilentAgentsLeaveTheMonitorUnknownAndPageForThemselves: three locations, quorum 2. The
// monitor goes down as all three see it; then both agents go silent while the server's own
// probe sees the target recover. One location is not a quorum: the monitor is unknown, its
// incident stays open, and each agent raises its own alert. An agent coming back with an up
// result makes a quorum again, and everything resolves.
func TestSilentAgentsLeaveTheMonitorUnknownAndPageForThemselves(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, testSchemas, func(t *testing.T, db *store.DB) {
		tg := newTarget(t)
		tg.status.Store(500)
		h := newHarness(t, db, fmt.Sprintf(`services: [{id: shop, name: Shop}, {id: platform, name: Platform}]
probes:
  agent_grace: 20s
  agents:
    - {location: us-east, service: platform}
monitors:
  - id: shop-api
    service: shop
    type: http
    url: %s/health
    interval: 10s
    timeout: 2s
    locations: [local, eu-west, us-east]
    quorum: 2
`, tg.srv.URL), t0)
		agentsReport := func(ok bool, locs ...string) {
			t.Helper()
			for _, loc := range locs {
				if err := h.mon.AgentSeen(ctx, loc); err != nil {
					t.Fatal(err)
				}
				r := Result{MonitorID: "shop-api", Location: loc, At: h.clock.Now(), OK: ok}
				if !ok {
					r.Cause, r.Message = CauseStatus, "HTTP 500, want 2xx"
				}
				if err := h.mon.Accept(ctx, []Result{r}); err != nil {
					t.Fatal(err)
				}
			}
		}

		h.step(10*time.Second, 1)
		agentsReport(false, "eu-west", "us-east")
		if s := h.status("shop-api"); s != StatusDown {
			t.Fatalf("status %q with three locations down, want down", s)
		}
		storetest.Eventually(t, 5*time.Second, "the monitor's incident", func() bool { return len(h.openTitles("shop")) == 1 })

		// The target recovers, but only the server's own probe is left to see it.
		tg.status.Store(200)
		h.step(10*time.Second, 1) // agents' results 10s old: still fresh, two of three down
		if s := h.status("shop-api"); s != StatusDown {
			t.Fatalf("status %q while two fresh locations see it down, want down", s)
		}
		h.step(10*time.Second, 1) // 20s: within two intervals and the slack
		h.step(10*time.Second, 1) // 30s: older than 2 x 10s + 5s
		storetest.Eventually(t, 5*time.Second, "the monitor to go unknown", func() bool {
			h.clock.Advance(time.Second)
			return h.status("shop-api") == StatusUnknown
		})
		v, _ := h.mon.View("shop-api")
		if !strings.Contains(v.Message, "1 of 3 locations reported lately, fewer than the quorum of 2") ||
			!strings.Contains(v.Message, "eu-west: last result 31s ago") || !v.Locations["eu-west"].Stale || v.Locations["local"].Stale {
			t.Fatalf("unknown view %+v (eu-west %+v): want the silent locations named and marked stale", v, v.Locations["eu-west"])
		}
		if age := v.Locations["us-east"].AgeSeconds; age < 30 || age > 40 {
			t.Fatalf("us-east's age is %.0fs, want its last result's age (30 to 40s)", age)
		}
		if open := h.openTitles("shop"); len(open) < 1 || !hasTitle(open, "is down") {
			t.Fatalf("open incidents of shop %q: the monitor's incident must stay open while it is unknown", open)
		}

		// Each silent agent raises its own alert: us-east on the service listed for it,
		// eu-west on the service of the first monitor that names it.
		storetest.Eventually(t, 5*time.Second, "both agents' alerts", func() bool {
			h.clock.Advance(time.Second)
			return hasTitle(h.openTitles("platform"), "Probe agent us-east stopped reporting") &&
				hasTitle(h.openTitles("shop"), "Probe agent eu-west stopped reporting")
		})
		agents, err := h.mon.Agents(ctx)
		if err != nil || len(agents) != 2 || agents[0].Location != "eu-west" || agents[0].Status != StatusDown ||
			agents[1].ServiceID != "platform" || agents[1].AgeSeconds == nil || *agents[1].AgeSeconds < 25 {
			t.Fatalf("agents %+v (%v): want both down, us-east paging platform, with their ages", agents, err)
		}

		// eu-west comes back and sees the target up: two fresh locations up make a quorum.
		agentsReport(true, "eu-west")
		storetest.Eventually(t, 5*time.Second, "the monitor and eu-west's alert to resolve", func() bool {
			return h.status("shop-api") == StatusUp && len(h.openTitles("shop")) == 0
		})
		if open := h.openTitles("platform"); !hasTitle(open, "us-east") {
			t.Fatalf("open incidents of platform %q: us-east is still silent", open)
		}
	})
}

// TestARestartCountsEachLocationFromItsLastResult: the time a location's last result arrived
// is saved with the monitor's state. A process that starts soon after the last one finds it
// fresh and goes on deciding by quorum; one that starts an hour later finds it an hour silent:
// stale at once, so the monitor is unknown until the location reports again, and the server's
// own probe never decides alone.
func TestARestartCountsEachLocationFromItsLastResult(t *testing.T) {
	storetest.Each(t, testSchemas, func(t *testing.T, db *store.DB) {
		tg := newTarget(t)
		cfg := fmt.Sprintf(`services: [{id: shop}]
monitors:
  - {id: api, service: shop, type: http, url: %s, interval: 10s, locations: [local, eu-west], quorum: 2}
`, tg.srv.URL)
		h := newHarness(t, db, cfg, t0)
		h.step(10*time.Second, 1)
		h.mon.Accept(context.Background(), []Result{{MonitorID: "api", Location: "eu-west", At: h.clock.Now(), OK: true}})
		if s := h.status("api"); s != StatusUp {
			t.Fatalf("status %q, want up", s)
		}
		last := h.clock.Now()
		h.cancel()

		// A new process 3s later: eu-west reported 3s ago, which is fresh.
		h2 := newHarness(t, db, cfg, last.Add(3*time.Second))
		h2.step(10*time.Second, 1)
		if v, _ := h2.mon.View("api"); v.Status != StatusUp || v.Locations["eu-west"].Stale {
			t.Fatalf("13s after eu-west's last result, after a restart: %+v (eu-west %+v), want up with eu-west fresh", v, v.Locations["eu-west"])
		}
		h2.cancel()

		// A new process an hour later: eu-west has been silent an hour.
		h3 := newHarness(t, db, cfg, last.Add(time.Hour))
		h3.step(10*time.Second, 1)
		v, _ := h3.mon.View("api")
		if v.Status != StatusUnknown || !v.Locations["eu-west"].Stale || !strings.Contains(v.Message, "eu-west: last result 1h0m10s ago") {
			t.Fatalf("an hour after eu-west's last result, after a restart: %+v (eu-west %+v), want unknown with eu-west stale", v, v.Locations["eu-west"])
		}
		h3.mon.Accept(context.Background(), []Result{{MonitorID: "api", Location: "eu-west", At: h3.clock.Now(), OK: true}})
		if s := h3.status("api"); s != StatusUp {
			t.Fatalf("status %q once eu-west reports again, want up", s)
		}
	})
}

// TestANodeThatJustStartedGivesAgentsTheirGraceFromTheStart: an agent's deadline passes while
// nines is down for an hour. The agent retried all along, so its silence counts from the start
// of the new process: nothing pages at the start, and an agent that does not call within its
// grace (and a quarter) of the start pages then.
func TestANodeThatJustStartedGivesAgentsTheirGraceFromTheStart(t *testing.T) {
	storetest.Each(t, testSchemas, func(t *testing.T, db *store.DB) {
		tg := newTarget(t)
		cfg := fmt.Sprintf(`services: [{id: shop}]
probes:
  agent_grace: 20s
monitors:
  - {id: api, service: shop, type: http, url: %s, interval: 10s, locations: [local, eu-west]}
`, tg.srv.URL)
		h := newHarness(t, db, cfg, t0)
		if err := h.mon.AgentSeen(context.Background(), "eu-west"); err != nil {
			t.Fatal(err)
		}
		h.cancel()

		h2 := newHarness(t, db, cfg, t0.Add(time.Hour))
		agentPages := func() []string {
			var out []string
			for _, title := range h2.openTitles("shop") {
				if strings.Contains(title, "Probe agent") {
					out = append(out, title)
				}
			}
			return out
		}
		time.Sleep(300 * time.Millisecond) // the deadline that passed during the outage has run
		h2.clock.Advance(20 * time.Second)
		time.Sleep(300 * time.Millisecond)
		if pages := agentPages(); len(pages) != 0 {
			t.Fatalf("pages within the grace of the start: %q", pages)
		}
		storetest.Eventually(t, 5*time.Second, "the agent silent a grace after the start to page", func() bool {
			h2.clock.Advance(time.Second)
			return hasTitle(agentPages(), "Probe agent eu-west stopped reporting")
		})
		if now := h2.clock.Now(); now.Before(t0.Add(time.Hour + 25*time.Second)) {
			t.Fatalf("paged at %v, before the grace and its quarter from the start", now)
		}
	})
}
