package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// agent runs `nines agent` for a location against s until killed.
func (s *server) agent(token, location string) *exec.Cmd {
	s.t.Helper()
	cmd := exec.Command(ninesBin, "agent", "--server", s.url(""), "--token", token, "--location", location, "--refresh", "1s", "--log-level", "warn")
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if s.t.Failed() {
			s.t.Logf("nines agent %s:\n%s", location, logs.String())
		}
	})
	return cmd
}

// agentToken makes the token of the agent at location with `nines token create --role agent`, as
// an operator would.
func (s *server) agentToken(location string) string {
	s.t.Helper()
	args := append([]string{"token", "create", "--name", "e2e-agent-" + location, "--role", "agent", "--location", location, "--ttl", "1h"}, s.dbArgs()...)
	tok := strings.TrimSpace(s.run(args...))
	if tok == "" {
		s.t.Fatal("nines token create printed no token")
	}
	return tok
}

type apiLocation struct {
	Status string  `json:"status"`
	AgeS   float64 `json:"age_s"`
	Stale  bool    `json:"stale"`
}

type apiMonitor struct {
	Status    string                 `json:"status"`
	Message   string                 `json:"message"`
	Locations map[string]apiLocation `json:"locations"`
}

// TestKilledAgentsLeaveTheMonitorUnknownAndPageForThemselves runs nines serve and two real
// agent processes probing a target that is down, with a quorum of both. The monitor goes down
// and pages. Then both agents are killed: nobody is left to tell, so the monitor is unknown,
// its incident stays open, and each agent's own alert fires.
func TestKilledAgentsLeaveTheMonitorUnknownAndPageForThemselves(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer target.Close()
	s := newServer(t, "")
	cfg := baseConfig + `  - {id: shop, name: Shop}
  - {id: platform, name: Platform}
probes:
  agent_grace: 10s
  agents:
    - {location: eu-west, service: platform}
monitors:
  - id: shop-api
    service: shop
    type: http
    url: ` + target.URL + `/health
    interval: 1s
    timeout: 1s
    locations: [eu-west, us-east]
    quorum: 2
`
	if err := os.WriteFile(filepath.Join(s.dir, "nines.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.start()
	token := s.token("responder")
	// Both tokens first: the quorum needs both agents, started together.
	euWest, usEast := s.agentToken("eu-west"), s.agentToken("us-east")
	agents := []*exec.Cmd{s.agent(euWest, "eu-west"), s.agent(usEast, "us-east")}

	var m apiMonitor
	monitor := func() apiMonitor {
		m = apiMonitor{}
		s.get(token, "/api/v1/monitors/shop-api", &m)
		return m
	}
	openTitles := func() string {
		var titles []string
		for _, inc := range s.incidents(token, "state=open") {
			titles = append(titles, inc.ServiceID+": "+inc.Title)
		}
		return strings.Join(titles, "\n")
	}
	eventually(t, 20*time.Second, func() string {
		if monitor().Status != "down" || !strings.Contains(openTitles(), "shop: shop-api is down") {
			return fmt.Sprintf("waiting for both agents to take the monitor down and page: %+v; open:\n%s", m, openTitles())
		}
		return ""
	})

	killed := time.Now()
	for _, a := range agents {
		a.Process.Signal(syscall.SIGKILL)
		a.Wait()
	}
	eventually(t, 20*time.Second, func() string {
		if monitor().Status != "unknown" {
			return fmt.Sprintf("monitor %+v %.1fs after the agents were killed, want unknown", m, time.Since(killed).Seconds())
		}
		return ""
	})
	// The monitor is unknown once one location falls silent; the other's last result may be a
	// probe interval or two younger (the agents' probes are not in step), so it follows shortly.
	eventually(t, 5*time.Second, func() string {
		if monitor().Status != "unknown" || !strings.Contains(m.Message, "0 of 2 locations reported lately, fewer than the quorum of 2") ||
			!m.Locations["eu-west"].Stale || !m.Locations["us-east"].Stale {
			return fmt.Sprintf("unknown monitor %+v: want it unknown, the silence of both locations explained and both marked stale", m)
		}
		return ""
	})
	for loc, lv := range m.Locations {
		if since := time.Since(killed).Seconds(); lv.AgeS < since-1 || lv.AgeS > since+3 {
			t.Fatalf("location %s shows age %.1fs, %.1fs after its agent was killed", loc, lv.AgeS, since)
		}
	}
	if open := openTitles(); !strings.Contains(open, "shop-api is down") {
		t.Fatalf("open incidents while the monitor is unknown:\n%s\nwant the monitor's incident still open", open)
	}

	eventually(t, 30*time.Second, func() string {
		open := openTitles()
		if !strings.Contains(open, "platform: Probe agent eu-west stopped reporting") || !strings.Contains(open, "shop: Probe agent us-east stopped reporting") {
			return "waiting for each agent's own alert; open:\n" + open
		}
		return ""
	})
	if open := openTitles(); !strings.Contains(open, "shop-api is down") {
		t.Fatalf("the monitor's incident was resolved by silence:\n%s", open)
	}
	var agentsAPI struct {
		Agents []struct {
			Location string  `json:"location"`
			Status   string  `json:"status"`
			AgeS     float64 `json:"age_s"`
		} `json:"agents"`
	}
	s.get(token, "/api/v1/probe/agents", &agentsAPI)
	if len(agentsAPI.Agents) != 2 || agentsAPI.Agents[0].Status != "down" || agentsAPI.Agents[1].Status != "down" || agentsAPI.Agents[0].AgeS < 10 {
		t.Fatalf("agents %+v, want both down, silent for more than their 10s grace", agentsAPI.Agents)
	}
}
