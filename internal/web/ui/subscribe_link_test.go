package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// subscribeConfig has two pages: one reached only under server.base_url, one at its own domain.
const subscribeConfig = `
services:
  - {id: checkout, name: Checkout API}
status_pages:
  - id: public
    title: Acme Status
    follow_incidents: true
    components: [{name: Checkout, service: checkout}]
  - id: branded
    title: Acme
    domain: status.acme.test
    components: [{name: Checkout, service: checkout}]
`

// TestMailedLinksAreAlwaysAbsolute: without server.base_url, the confirmation and unsubscribe
// links of status page mail were paths (/status/public/confirm?t=...), which no mail client can
// open. A page nines knows no address of takes no subscription (the page offers none; a request
// is refused naming server.base_url) and mails no update until it has one; a page with its own
// domain links to it.
func TestMailedLinksAreAlwaysAbsolute(t *testing.T) {
	mail := notifytest.StartSMTP(t, "none")
	// Subscribers are mailed through the SMTP server pages go out through.
	smtp := fmt.Sprintf("notifications:\n  email:\n    smtp: {host: 127.0.0.1, port: %d, from: status@acme.test, tls: none}\n", mail.Port())
	parse := func(text string) *config.Config { return webtest.Parse(t, text+smtp) }
	withBase := parse("server: {base_url: https://nines.acme.test}\n" + subscribeConfig)
	e := newAccountsEnvWith(t, webtest.Options{Config: parse(subscribeConfig)})
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

	// No address for the page: no form on it, and a request is refused, naming what to set.
	if _, b := e.fetch("GET", "/status/public", nil, ""); strings.Contains(string(b), `action="/status/public/subscribe"`) {
		t.Error("the page offers subscriptions it cannot link back to")
	}
	resp, b := e.fetch("POST", "/status/public/subscribe", form, "email=ops%40example.com")
	if resp.StatusCode == http.StatusOK || !strings.Contains(string(b), "server.base_url") {
		t.Errorf("subscribing without server.base_url: %d %s, want a refusal naming server.base_url", resp.StatusCode, b)
	}
	mail.None(t, "a confirmation was mailed without an address to link to")

	// A page at its own domain links there.
	if resp, b := e.fetch("POST", "/status/branded/subscribe", form, "email=ops%40example.com"); resp.StatusCode != http.StatusOK {
		t.Fatalf("subscribing to the page at its domain: %d %s", resp.StatusCode, b)
	}
	if m := mail.Next(t); !regexp.MustCompile(`(?m)^https://status\.acme\.test/status/branded/confirm\?t=\S+$`).MatchString(strings.ReplaceAll(m.Body(t), "\r", "")) {
		t.Errorf("the confirmation link is not under the page's domain:\n%s", m.Body(t))
	}

	// Subscribed while server.base_url was set; an update posted after it was removed waits,
	// and leaves with absolute links once it is back.
	if err := e.srv.Config.Swap(withBase); err != nil {
		t.Fatal(err)
	}
	e.fetch("POST", "/status/public/subscribe", form, "email=ops%40example.com")
	link := regexp.MustCompile(`https://nines\.acme\.test(/status/public/confirm\?t=\S+)`).FindStringSubmatch(mail.Next(t).Body(t))
	if link == nil {
		t.Fatal("no absolute confirmation link once server.base_url is set")
	}
	if resp, _ := e.fetch("POST", link[1], form, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("confirming: %d", resp.StatusCode)
	}
	if err := e.srv.Config.Swap(parse(subscribeConfig)); err != nil {
		t.Fatal(err)
	}
	id := e.openIncident("checkout", incident.Critical, "Checkout down")
	resp, b = e.fetch("POST", "/api/v1/incidents/"+itoa(id)+"/status-updates", map[string]string{"Authorization": "Bearer " + e.tokens[auth.Responder]},
		`{"page":"public","status":"investigating","body":"Checkout fails for some customers."}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("posting an update: %d %s", resp.StatusCode, b)
	}
	mail.None(t, "an update was mailed with links relative to nothing")
	if err := e.srv.Config.Swap(withBase); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ { // the held mail is retried with backoff: move the clock through it
		e.clock.Advance(time.Minute)
	}
	m := mail.Next(t)
	unsub := strings.Trim(m.Header(t).Get("List-Unsubscribe"), "<>")
	if u, err := url.Parse(unsub); err != nil || u.Scheme != "https" || u.Host != "nines.acme.test" || !strings.Contains(m.Body(t), "https://nines.acme.test/status/public") {
		t.Errorf("the update mail's links are not absolute: List-Unsubscribe %q, body:\n%s", unsub, m.Body(t))
	}
}
