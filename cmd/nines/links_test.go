package main

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/notify/notifytest"
)

// TestPagedLinksWithoutBaseURLReachTheServer: without server.base_url, the links in a page
// started with the listen address as written: "http://127.0.0.1:0" for --listen 127.0.0.1:0,
// "http://:8080" for ":8080", which no mail client can open. They now start with the address
// nines listens on (the port it got, and this host's name for an address of every interface).
func TestPagedLinksWithoutBaseURLReachTheServer(t *testing.T) {
	mail := notifytest.StartSMTP(t, "none")
	host, port := mail.Host(), fmt.Sprint(mail.Port())
	base, _ := startServer(t, fmt.Sprintf(`users:
  - {id: alice, name: Alice, contact_methods: [{type: email, address: alice@example.com}]}
schedules:
  - id: ops
    layers: [{name: primary, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [alice]}]
escalation_policies:
  - id: ops-policy
    steps: [{escalate_after: 10m, targets: [{schedule: ops}]}]
services:
  - id: checkout
    escalation_policy: ops-policy
    integrations: [{type: events_v2, key: 0123456789abcdef0123456789abcdef}]
notifications:
  email:
    smtp: {host: %s, port: %s, from: nines@example.com, tls: none}
`, host, port))
	resp, err := http.Post(base+"/v2/enqueue", "application/json", strings.NewReader(
		`{"routing_key": "0123456789abcdef0123456789abcdef", "event_action": "trigger", "payload": {"summary": "Checkout is down", "source": "lb1", "severity": "critical"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("enqueue: %d", resp.StatusCode)
	}
	m := mail.Next(t)
	links := regexp.MustCompile(`https?://\S+`).FindAllString(m.Body(t), -1)
	if len(links) == 0 {
		t.Fatalf("no link in the page:\n%s", m.Body(t))
	}
	for _, l := range links {
		if !strings.HasPrefix(l, base+"/") {
			t.Errorf("link %s does not start with %s, where nines listens", l, base)
		}
	}
	if resp, err := http.Get(links[0]); err != nil || resp.StatusCode/100 == 5 {
		t.Errorf("following %s: %v %v", links[0], resp, err)
	}
}
