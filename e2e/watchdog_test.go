package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// watcherConfig is a nines that pings its peer's heartbeat while it is healthy
// (server.watchdog) and keeps a heartbeat of its own for the peer to ping, paging ann when
// the peer falls silent.
func watcherConfig(peerAddr, ownUUID, peerUUID, receiver string) string {
	return baseConfig + fmt.Sprintf(`  - id: peer
    name: The other nines
    escalation_policy: peer
server:
  watchdog: {url: "http://%s/ping/%s", interval: 1s}
users:
  - {id: ann, contact_methods: [{type: webhook, address: "%s/ann"}]}
escalation_policies:
  - id: peer
    steps: [{escalate_after: 10m, targets: [{user: ann}]}]
monitors:
  - {id: peer-watchdog, service: peer, type: heartbeat, uuid: %s, period: 1m, grace: 5s}
`, peerAddr, peerUUID, receiver, ownUUID)
}

// Two nines watch each other: each pings the other's heartbeat while it is healthy. Stopping
// one (kill -9: it says nothing on the way down) pages through the other, within the
// heartbeat's period and grace; while both run, nobody is paged.
func TestTwoNinesWatchEachOtherAndTheSurvivorPagesWhenOneDies(t *testing.T) {
	t.Parallel()
	hook := &pages{}
	receiver := httptest.NewServer(hook)
	defer receiver.Close()
	const uuidA, uuidB = "0a0a0a0a-0000-4000-8000-00000000000a", "0b0b0b0b-0000-4000-8000-00000000000b"
	a, b := newServer(t, ""), newServer(t, "")
	a.addr, b.addr = freeAddr(t), freeAddr(t)
	// a keeps the heartbeat b pings (uuidA), and pings b's (uuidB).
	a.writeConfig(watcherConfig(b.addr, uuidA, uuidB, receiver.URL))
	b.writeConfig(watcherConfig(a.addr, uuidB, uuidA, receiver.URL))
	a.start()
	b.start()

	viewer := b.token("viewer")
	status := func(s *server, token string) string {
		var m struct {
			Status string `json:"status"`
		}
		s.get(token, "/api/v1/monitors/peer-watchdog", &m)
		return m.Status
	}
	eventually(t, 15*time.Second, func() string {
		if st := status(b, viewer); st != "up" {
			return "b does not see a's watchdog pings: its heartbeat is " + st
		}
		return ""
	})
	time.Sleep(2 * time.Second)
	if n := hook.count(); n != 0 {
		t.Fatalf("%d pages while both nines run: %v", n, hook.body)
	}

	a.kill()
	killed := time.Now()
	eventually(t, 90*time.Second, func() string {
		if hook.count() == 0 {
			return "b paged nobody after a died"
		}
		return ""
	})
	took := hook.at(0).Sub(killed)
	hook.mu.Lock()
	body := hook.body[0]
	hook.mu.Unlock()
	t.Logf("a killed; b paged %v later (heartbeat period 1m, grace 5s)", took.Round(100*time.Millisecond))
	if !strings.Contains(body, "peer") {
		t.Errorf("the page does not name the silent peer: %s", body)
	}
	if took > time.Minute+5*time.Second+10*time.Second {
		t.Errorf("b paged %v after a died; want within the period and grace (65s) and a few seconds", took)
	}
	if st := status(b, viewer); st != "down" {
		t.Errorf("b shows a's heartbeat %q after paging; want down", st)
	}
}

// A watchdog URL whose uuid names no check (a typo) gets "200 OK (not found)" from nines, as
// from healthchecks.io: that is no ping at all, and nobody would notice a dead nines. The
// watchdog counts it as not_found, never as sent, and logs an error that names the URL
// without its secret.
func TestAWatchdogURLThatNamesNoCheckIsAnErrorNotASilentSuccess(t *testing.T) {
	t.Parallel()
	const typo = "0a0a0a0a-0000-4000-8000-00000000000b"
	s := newServer(t, "")
	s.addr = freeAddr(t)
	// nines is its own checker here: its heartbeat has another uuid than the one pinged.
	s.writeConfig(baseConfig + fmt.Sprintf(`server:
  watchdog: {url: "http://%s/ping/%s", interval: 1s}
monitors:
  - {id: self, service: payments, type: heartbeat, uuid: 0a0a0a0a-0000-4000-8000-00000000000a, period: 1m, grace: 5s}
`, s.addr, typo))
	s.start()
	eventually(t, 15*time.Second, func() string {
		resp, err := http.Get(s.url("/metrics"))
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := string(b)
		if strings.Contains(m, `nines_watchdog_pings_total{kind="ok",outcome="sent"} 0`) &&
			regexp.MustCompile(`nines_watchdog_pings_total\{kind="ok",outcome="not_found"\} [1-9]`).MatchString(m) {
			return ""
		}
		return "the pings are not counted as not_found:\n" + grep(m, "nines_watchdog_pings_total")
	})
	// The log line is read from the process's output, which may come just after the metric.
	named := regexp.MustCompile(`level=ERROR msg="watchdog pings reach no check[^\n]*url=http://` + regexp.QuoteMeta(s.addr) + `/ping/0a0a…`)
	eventually(t, 10*time.Second, func() string {
		if named.MatchString(s.log.String()) {
			return ""
		}
		return "no error naming the redacted URL:\n" + s.log.String()
	})
	log := s.log.String()
	if strings.Contains(log, typo) {
		t.Errorf("the log holds the watchdog URL's uuid, a secret:\n%s", log)
	}
}

// grep keeps the lines of s that hold sub.
func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
