package e2e

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/storetest"
)

// probed is a service a monitor checks: it records when each check arrived and answers 200
// until it is told to fail.
type probed struct {
	mu      sync.Mutex
	checks  []time.Time
	failing atomic.Bool
}

func (p *probed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.checks = append(p.checks, time.Now())
	p.mu.Unlock()
	if p.failing.Load() {
		w.WriteHeader(http.StatusInternalServerError)
	}
}

// firstAfter is when the first check after t arrived (zero if none has).
func (p *probed) firstAfter(t time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.checks {
		if c.After(t) {
			return c
		}
	}
	return time.Time{}
}

// leadsProbes reads the public /metrics of s: whether it holds the probe lease.
func leadsProbes(t *testing.T, s *server) bool {
	t.Helper()
	_, _, body := getStatus(t, s.url("/metrics"))
	return strings.Contains(body, "\nnines_probe_lease_held 1\n")
}

// Two nodes on one PostgreSQL database. The node that holds the probe lease, and that took the
// alert and sent the first escalation step, is killed (kill -9) right after that step: the
// other node sends the second step on time, takes the probe lease over, and sees the service
// it probes go down. The figures are the ones docs/deploy.md quotes.
func TestKillingANodeMidEscalationAndMidProbeLosesNoStepAndMovesTheProbes(t *testing.T) {
	t.Parallel()
	hook := &pages{}
	receiver := httptest.NewServer(hook)
	defer receiver.Close()
	target := &probed{}
	targetSrv := httptest.NewServer(target)
	defer targetSrv.Close()

	dbURL := storetest.PostgresURL(t)
	config := strings.Replace(baseConfig, "    name: Payments\n", "    name: Payments\n    escalation_policy: payments\n", 1) + `users:
  - {id: ann, contact_methods: [{type: webhook, address: "` + receiver.URL + `/ann"}]}
  - {id: bob, contact_methods: [{type: webhook, address: "` + receiver.URL + `/bob"}]}
escalation_policies:
  - id: payments
    steps:
      - {escalate_after: 1m, targets: [{user: ann}]}
      - {escalate_after: 10m, targets: [{user: bob}]}
monitors:
  - {id: checkout-api, service: checkout, type: http, url: "` + targetSrv.URL + `/health", interval: 1s, timeout: 500ms}
`
	nodes := []*server{newServer(t, dbURL), newServer(t, dbURL)}
	for _, n := range nodes {
		n.writeConfig(config)
		n.start()
	}
	var leader, survivor *server
	eventually(t, 20*time.Second, func() string {
		for i, n := range nodes {
			if leadsProbes(t, n) {
				leader, survivor = n, nodes[1-i]
				return ""
			}
		}
		return "no node holds the probe lease"
	})
	if leadsProbes(t, survivor) {
		t.Fatal("both nodes hold the probe lease")
	}

	// The leader takes the alert and sends step 1 itself, right after its commit.
	sent := time.Now()
	if code, _, body := enqueue(t, leader, "failover"); code != http.StatusAccepted { // incident 1
		t.Fatalf("trigger: %d %s", code, body)
	}
	eventually(t, 10*time.Second, func() string {
		if hook.count() < 1 {
			return "step 1 did not page ann"
		}
		return ""
	})
	step1 := hook.at(0)
	// The key names incident 1 by its number, its opening instant and the installation (the
	// database both nodes share).
	keyOf := regexp.MustCompile(`"idempotency_key":"(inc1\.\d+\.[0-9a-f]{16}):(r0:s\d:\w+:webhook)"`)
	first := keyOf.FindStringSubmatch(hook.body[0])
	if first == nil || first[2] != "r0:s0:ann:webhook" {
		t.Fatalf("the first page is not the incident's: %s", hook.body[0])
	}

	// Mid-escalation (step 2 due a minute after step 1) and mid-probe: kill the leader, and
	// the service it was probing fails at that moment.
	leader.kill()
	killed := time.Now()
	target.failing.Store(true)

	// The probes move: the survivor's first check after the kill, and it sees the service down.
	eventually(t, 30*time.Second, func() string {
		if target.firstAfter(killed).IsZero() {
			return "no node probes the service after the leader died"
		}
		return ""
	})
	resumed := target.firstAfter(killed).Sub(killed)
	viewer := survivor.token("viewer")
	eventually(t, 30*time.Second, func() string {
		var m struct {
			Status string `json:"status"`
		}
		survivor.get(viewer, "/api/v1/monitors/checkout-api", &m)
		if m.Status != "down" {
			return "the survivor does not see the failing service down: " + m.Status
		}
		return ""
	})
	down := time.Since(killed)
	if !leadsProbes(t, survivor) {
		t.Errorf("the survivor checks the service but does not say it holds the probe lease")
	}

	// Step 2, from the survivor, on time.
	eventually(t, 90*time.Second, func() string {
		if hook.count() < 2 {
			return "step 2 did not page bob after the node that ran step 1 died"
		}
		return ""
	})
	hook.mu.Lock()
	second := hook.body[1]
	hook.mu.Unlock()
	step2 := hook.at(1)
	late := step2.Sub(step1.Add(time.Minute))
	t.Logf("failover figures: probes resumed %v after the kill, the failing service seen down %v after it; step 2 sent %v after step 1 (due 1m: %v late); ingest to step 1 %v",
		resumed.Round(100*time.Millisecond), down.Round(100*time.Millisecond), step2.Sub(step1).Round(10*time.Millisecond),
		late.Round(10*time.Millisecond), step1.Sub(sent).Round(time.Millisecond))
	if k := keyOf.FindStringSubmatch(second); k == nil || k[1] != first[1] || k[2] != "r0:s1:bob:webhook" {
		t.Errorf("the second page is not the incident's (%s, from the other node of the same installation): %s", first[1], second)
	}
	if late < -time.Second || late > 5*time.Second {
		t.Errorf("step 2 went out %v after its due time; want within 5s", late)
	}
	if resumed > 20*time.Second {
		t.Errorf("the probes resumed %v after the leader died; want within the lease (15s) and a check interval", resumed)
	}
	time.Sleep(2 * time.Second)
	if n := hook.count(); n != 2 {
		t.Errorf("%d pages in all; want exactly 2 (no step sent twice)", n)
	}
}
