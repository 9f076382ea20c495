package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/storetest"
)

// switchable is a probe target whose answer the test sets.
type switchable struct{ status atomic.Int32 }

func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(int(s.status.Load()))
}

// quorumConfig probes shop-api every second from the server itself and from us-east, with a
// quorum of both: the server's own probe alone can never decide it.
func quorumConfig(target string) string {
	return baseConfig + `  - {id: shop, name: Shop}
probes:
  agent_grace: 1m
monitors:
  - id: shop-api
    service: shop
    type: http
    url: ` + target + `/health
    interval: 1s
    timeout: 1s
    locations: [local, us-east]
    quorum: 2
`
}

func writeConfig(t *testing.T, s *server, yaml string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, "nines.yaml"), []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
}

func killAgent(a *exec.Cmd) {
	a.Process.Signal(syscall.SIGKILL)
	a.Wait()
}

// quorumDownThenSilent brings shop-api down by quorum through s (the server's probe and a real
// agent posting to via), opens its incident, kills the agent, waits for the monitor to be
// unknown, and brings the target back up: from then on only the server's probe can see it, and
// it alone must not resolve the incident. It returns the time the agent was killed.
func quorumDownThenSilent(t *testing.T, s, via *server, target *switchable, token string) time.Time {
	t.Helper()
	agent := via.agent(via.agentToken("us-east"), "us-east")
	var m apiMonitor
	eventually(t, 30*time.Second, func() string {
		m = apiMonitor{}
		s.get(token, "/api/v1/monitors/shop-api", &m)
		if m.Status != "down" || len(s.incidents(token, "state=open")) != 1 {
			return fmt.Sprintf("waiting for the quorum to take shop-api down and open its incident: %+v", m)
		}
		return ""
	})
	killAgent(agent)
	killed := time.Now()
	eventually(t, 30*time.Second, func() string {
		m = apiMonitor{}
		s.get(token, "/api/v1/monitors/shop-api", &m)
		if m.Status != "unknown" {
			return fmt.Sprintf("monitor %+v %.0fs after the agent was killed, want unknown", m, time.Since(killed).Seconds())
		}
		return ""
	})
	target.status.Store(http.StatusOK)
	return killed
}

// neverResolvedAlone watches shop-api for a while on s: it stays unknown (us-east is silent),
// us-east is shown stale with its real age, and the incident the quorum opened stays open.
func neverResolvedAlone(t *testing.T, s *server, token string, killed time.Time, watch time.Duration) {
	t.Helper()
	deadline := time.Now().Add(watch)
	for time.Now().Before(deadline) {
		var m apiMonitor
		s.get(token, "/api/v1/monitors/shop-api", &m)
		if m.Status == "up" || m.Status == "down" {
			t.Fatalf("shop-api is %s with us-east silent for %.0fs: %+v", m.Status, time.Since(killed).Seconds(), m)
		}
		if us, ok := m.Locations["us-east"]; ok && (!us.Stale || us.AgeS < time.Since(killed).Seconds()-3) {
			t.Fatalf("us-east, silent for %.0fs, is shown %+v: want stale, with its real age", time.Since(killed).Seconds(), us)
		}
		if open := s.incidents(token, "state=open"); len(open) != 1 {
			t.Fatalf("open incidents %+v: the server's own probe resolved the incident the quorum opened", open)
		}
		time.Sleep(250 * time.Millisecond)
	}
	var m apiMonitor
	s.get(token, "/api/v1/monitors/shop-api", &m)
	if m.Status != "unknown" || !strings.Contains(m.Message, "us-east: last result") || !strings.Contains(m.Message, " ago") {
		t.Fatalf("shop-api %+v: want unknown, saying how long ago us-east last reported", m)
	}
}

// TestARestartCountsALocationsSilenceByItsRealAge: shop-api is down by a quorum of the server
// and the us-east agent; the agent dies and the target comes back. nines is killed and started
// again 10 s later. us-east has not reported since it died: it is stale by its real age, so the
// monitor stays unknown and the server's probe alone never resolves the incident.
func TestARestartCountsALocationsSilenceByItsRealAge(t *testing.T) {
	backends(t, func(t *testing.T, dbURL string) {
		target := &switchable{}
		target.status.Store(http.StatusInternalServerError)
		ts := httptest.NewServer(target)
		defer ts.Close()
		s := newServer(t, dbURL)
		writeConfig(t, s, quorumConfig(ts.URL))
		s.start()
		token := s.token("responder")
		killed := quorumDownThenSilent(t, s, s, target, token)
		time.Sleep(2 * time.Second) // the server's probe sees the target up, alone

		s.kill()
		time.Sleep(10 * time.Second)
		s.start()
		neverResolvedAlone(t, s, token, killed, 15*time.Second)
	})
}

// TestANodeTakingOverTheProbeLeaseCountsSilenceByItsRealAge plays the same on two nodes of one
// PostgreSQL database: the us-east agent posts to the second node, the first holds the probe
// lease and is killed. The second takes the lease over and loads the states the first saved:
// us-east is stale by its real age there too, and the incident stays open.
func TestANodeTakingOverTheProbeLeaseCountsSilenceByItsRealAge(t *testing.T) {
	dbURL := storetest.PostgresURL(t)
	target := &switchable{}
	target.status.Store(http.StatusInternalServerError)
	ts := httptest.NewServer(target)
	defer ts.Close()
	holder, other := newServer(t, dbURL), newServer(t, dbURL)
	writeConfig(t, holder, quorumConfig(ts.URL))
	writeConfig(t, other, quorumConfig(ts.URL))
	holder.start()
	time.Sleep(500 * time.Millisecond) // the first node takes the lease
	other.start()
	token := holder.token("responder")
	killed := quorumDownThenSilent(t, other, other, target, token)
	time.Sleep(2 * time.Second)

	holder.kill()
	tookOver := time.Now()
	// The second node takes the lease within its 15 s and decides shop-api from then on.
	neverResolvedAlone(t, other, token, killed, 25*time.Second)
	if !strings.Contains(other.log.String(), "holding the probe lease") {
		t.Fatalf("the second node did not take the probe lease in the %.0fs after the first died", time.Since(tookOver).Seconds())
	}
}

// TestAnOutageOfNinesLongerThanAnAgentsGracePagesNoAgent kills nines under two running agents
// and starts it again after longer than the agents' grace. The agents retried all along and
// reach it again within a second: nobody is paged for them. An agent that really stops after
// the restart still pages, a grace later.
func TestAnOutageOfNinesLongerThanAnAgentsGracePagesNoAgent(t *testing.T) {
	target := &switchable{}
	target.status.Store(http.StatusOK)
	ts := httptest.NewServer(target)
	defer ts.Close()
	s := newServer(t, "")
	writeConfig(t, s, baseConfig+`  - {id: shop, name: Shop}
probes:
  agent_grace: 10s
monitors:
  - id: shop-api
    service: shop
    type: http
    url: `+ts.URL+`/health
    interval: 1s
    timeout: 1s
    locations: [eu-west, us-east]
`)
	s.start()
	token := s.token("responder")
	euWest, usEast := s.agentToken("eu-west"), s.agentToken("us-east")
	eu := s.agent(euWest, "eu-west")
	s.agent(usEast, "us-east")
	agentsUp := func() string {
		var body struct {
			Agents []struct {
				Location, Status string
			} `json:"agents"`
		}
		s.get(token, "/api/v1/probe/agents", &body)
		if len(body.Agents) != 2 || body.Agents[0].Status != "up" || body.Agents[1].Status != "up" {
			return fmt.Sprintf("agents %+v, want both up", body.Agents)
		}
		return ""
	}
	eventually(t, 20*time.Second, agentsUp)

	s.kill()
	time.Sleep(15 * time.Second) // longer than the 10 s grace and its quarter
	s.restart()
	eventually(t, 10*time.Second, agentsUp)
	time.Sleep(4 * time.Second)
	agentPages := func() []string {
		var titles []string
		for _, inc := range s.incidents(token, "") {
			if strings.Contains(inc.Title, "Probe agent") {
				titles = append(titles, inc.State+": "+inc.Title)
			}
		}
		return titles
	}
	if pages := agentPages(); len(pages) != 0 {
		t.Fatalf("agents that retried through the outage paged on restart:\n%s", strings.Join(pages, "\n"))
	}

	killAgent(eu)
	eventually(t, 30*time.Second, func() string {
		if pages := agentPages(); len(pages) != 1 || !strings.Contains(pages[0], "triggered: Probe agent eu-west stopped reporting") {
			return fmt.Sprintf("waiting for the page of the agent that stopped; agent incidents: %q", pages)
		}
		return ""
	})
}
