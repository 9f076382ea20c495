package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// lastIncidentCard opens the newest incident's page as a viewer and returns its first alert card.
func lastIncidentCard(t *testing.T, s *webtest.Spine) (page, card string) {
	t.Helper()
	incs, _, err := s.Incidents.List(context.Background(), incident.Filter{Limit: 1})
	if err != nil || len(incs) != 1 {
		t.Fatalf("no incident: %v", err)
	}
	r := s.Do(webtest.Request{Method: "GET", Path: fmt.Sprintf("/incidents/%d", incs[0].ID), Cookie: s.Browser(auth.Viewer).Cookie})
	if r.Status != http.StatusOK {
		t.Fatalf("incident page: %d", r.Status)
	}
	return r.Body, regexp.MustCompile(`(?s)<article class="alert-card">.*?</article>`).FindString(r.Body)
}

// An Events v2 event's links and images are links and linked thumbnails on the incident page,
// not JSON text; secrets are redacted as the messages redact them.
func TestTheIncidentPageShowsAnEventsV2AlertsLinksImagesAndRedactsSecrets(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	r := s.Do(webtest.Request{Method: "POST", Path: "/v2/enqueue", Body: `{"routing_key": "` + webtest.V2Key + `", "event_action": "trigger", "dedup_key": "pay",
		"links": [{"href": "https://runbooks.example.com/checkout", "text": "Runbook"}, {"href": "javascript:alert(1)", "text": "Evil"}],
		"images": [{"src": "https://img.example.com/graph.png", "href": "https://grafana.example.com/d/1", "alt": "Latency graph"}, {"src": "https://img.example.com/plain.png"}],
		"payload": {"summary": "Payments failing", "source": "pay-1", "severity": "critical",
		"custom_details": {"details_url": "https://ops.example.com/x?token=sekret123&id=4", "password": "hunter2hunter2", "api_key": "AKIA0000SECRET",
		"dsn": "postgres://app:pgpass99@db:5432/app", "echo": "key ` + webtest.V2Key + ` here"}}}`})
	if r.Status != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", r.Status, r.Body)
	}
	_, card := lastIncidentCard(t, s)
	for _, want := range []string{
		`<a href="https://runbooks.example.com/checkout" rel="noopener noreferrer">Runbook</a>`,
		`<a href="https://grafana.example.com/d/1" rel="noopener noreferrer"><img src="https://img.example.com/graph.png" alt="Latency graph" loading="lazy"`,
		`<a href="https://img.example.com/plain.png" rel="noopener noreferrer"><img src="https://img.example.com/plain.png"`,
	} {
		if !strings.Contains(card, want) {
			t.Errorf("the alert card lacks %s:\n%s", want, card)
		}
	}
	for _, leak := range []string{`[{`, "javascript:", "sekret123", "hunter2hunter2", "AKIA0000SECRET", "pgpass99", webtest.V2Key} {
		if strings.Contains(card, leak) {
			t.Errorf("the alert card shows %q:\n%s", leak, card)
		}
	}
}

// An Alertmanager alert's generatorURL is a "Source" link.
func TestTheIncidentPageLinksAnAlertmanagerAlertsSource(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	r := s.Do(webtest.Request{Method: "POST", Path: "/api/v1/ingest/alertmanager/" + webtest.AMKey, Body: `{"version": "4", "status": "firing", "receiver": "nines",
		"alerts": [{"status": "firing", "labels": {"alertname": "HighLatency", "severity": "critical"}, "annotations": {"summary": "Latency high", "runbook_url": "https://runbooks.example.com/latency"},
		"startsAt": "2026-03-02T02:59:00Z", "generatorURL": "http://prometheus.example.com/graph?g0.expr=up", "fingerprint": "abc"}]}`})
	if r.Status/100 != 2 {
		t.Fatalf("alertmanager: %d %s", r.Status, r.Body)
	}
	_, card := lastIncidentCard(t, s)
	for _, want := range []string{`rel="noopener noreferrer">Source</a>`, `href="http://prometheus.example.com/graph?g0.expr=up"`,
		`<a href="https://runbooks.example.com/latency" rel="noopener noreferrer">https://runbooks.example.com/latency</a>`} {
		if !strings.Contains(card, want) {
			t.Errorf("the alert card lacks %s:\n%s", want, card)
		}
	}
	if strings.Contains(card, "[{") {
		t.Errorf("the alert card shows JSON:\n%s", card)
	}
}

// A huge alert is bounded on the page as in the messages: so many rows, each value cut, and
// "… N more" pointing at the alerts API, so the timeline stays within reach.
func TestAHugeAlertIsBoundedOnTheIncidentPage(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	var b strings.Builder
	for i := 0; i < 350; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"field_%03d": %q`, i, strings.Repeat("x", 1200))
	}
	r := s.Do(webtest.Request{Method: "POST", Path: "/v2/enqueue", Body: `{"routing_key": "` + webtest.V2Key + `", "event_action": "trigger", "dedup_key": "huge",
		"payload": {"summary": "Huge", "source": "h-1", "severity": "critical", "custom_details": {` + b.String() + `}}}`})
	if r.Status != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", r.Status, r.Body)
	}
	page, card := lastIncidentCard(t, s)
	if len(page) > 64<<10 {
		t.Errorf("the incident page is %d bytes, want at most 64 KiB", len(page))
	}
	if strings.Contains(card, strings.Repeat("x", 500)) {
		t.Errorf("a 1,200-character value is shown whole on the page")
	}
	if !regexp.MustCompile(`… \d+ more`).MatchString(card) || !regexp.MustCompile(`/api/v1/incidents/\d+/alerts`).MatchString(card) {
		t.Errorf("the card does not say how many rows are left out and where to read them:\n%.3000s", card)
	}
	if !strings.Contains(page, `id="timeline-h"`) {
		t.Errorf("the page lost its timeline")
	}
}

// On a phone, a huge alert leaves the rest of the incident page within reach: the page is a
// few screens tall, not hundreds, and nothing scrolls sideways.
func TestBrowserAHugeAlertLeavesTheIncidentPageUsableOnAPhone(t *testing.T) {
	s := webtest.StartSpine(t)
	var b strings.Builder
	for i := 0; i < 350; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"field_%03d": %q`, i, strings.Repeat("word ", 240))
	}
	id := func() int64 {
		r := s.Do(webtest.Request{Method: "POST", Path: "/v2/enqueue", Body: `{"routing_key": "` + webtest.V2Key + `", "event_action": "trigger", "dedup_key": "huge",
			"images": [{"src": "data:image/png;base64,iVBORw0KGgo=", "alt": "x"}],
			"payload": {"summary": "Huge", "source": "h-1", "severity": "critical", "custom_details": {` + b.String() + `}}}`})
		if r.Status != http.StatusAccepted {
			t.Fatalf("trigger: %d %s", r.Status, r.Body)
		}
		incs, _, _ := s.Incidents.List(context.Background(), incident.Filter{Limit: 1})
		return incs[0].ID
	}()
	s.Browser(auth.Viewer) // makes the viewer's account
	ctx := chromium(t, 390, 844)
	err := do(ctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)),
		chromedp.Navigate(s.URL+"/login?next=/incidents/"+itoa(id)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "viewer"),
		chromedp.SendKeys(chromedp.CSS(`#password`), webtest.SignInPassword),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`#timeline-h`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	height, err := read(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollHeight`))
	if err != nil {
		t.Fatal(err)
	}
	overflow, err := read(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if height > 30000 {
		t.Errorf("the incident page is %.0f px tall at 390 px with one huge alert; want the rest of it within reach (under 30,000 px)", height)
	}
	if overflow {
		t.Error("the incident page scrolls sideways at 390 px")
	}
}
