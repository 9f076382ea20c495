package ui_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// The impact-start form of the incident page reads its time in the viewer's zone and says
// which, as the declare form does.
func TestTheImpactStartFormReadsTheViewersZone(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	id := s.Trigger("impact", "Checkout down")
	b := s.Browser(auth.Responder)
	if resp, body := b.PostForm("/profile/time-zone", url.Values{"time_zone": {"Asia/Kolkata"}}, true); resp.StatusCode != http.StatusOK {
		t.Fatalf("setting the zone: %d %.500s", resp.StatusCode, body)
	}
	_, page := b.Do("GET", fmt.Sprintf("/incidents/%d", id), nil, nil)
	if !strings.Contains(page, `<label for="impact">Impact started (Asia/Kolkata)</label>`) {
		t.Errorf("the impact form does not say the viewer's zone:\n%s", page[strings.Index(page, "Severity and impact"):][:1500])
	}
	// The spine's clock is 2026-03-02 03:00 UTC, 08:30 in Kolkata: 08:10 there is 02:40 UTC.
	resp, body := b.PostForm(fmt.Sprintf("/incidents/%d/respond", id), url.Values{"action": {"impact"}, "impact_started_at": {"2026-03-02T08:10"}}, true)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("impact at 08:10 Kolkata time: %d %.1000s", resp.StatusCode, body)
	}
	inc, err := s.Incidents.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 2, 2, 40, 0, 0, time.UTC); inc.ImpactStartedAt == nil || !inc.ImpactStartedAt.Equal(want) {
		t.Errorf("impact started at %v, want %v", inc.ImpactStartedAt, want)
	}
}

// nobodyConfig pages a schedule with nobody on call; the fallback is Carol.
const nobodyConfig = `
users:
  - {id: carol, name: Carol Jones, contact_methods: [{type: email, address: carol@example.com}]}
  - {id: viewer, name: Vera, time_zone: Asia/Kolkata}
schedules:
  - id: night
    layers: [{name: l, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [carol], restrictions: [{days: [sat], start: "00:00", end: "23:59"}]}]
escalation_policies:
  - id: night-policy
    fallback: [carol]
    steps: [{escalate_after: 10m, targets: [{schedule: night}]}]
services:
  - {id: checkout, name: Checkout, escalation_policy: night-policy}
notifications:
  email:
    smtp: {host: 127.0.0.1, port: SMTP_PORT, from: nines@example.com, tls: none}
`

// The banner of an incident that reached nobody tells its time and the times in its reason in
// the viewer's zone, hoverable for UTC, and names the fallback by name; so do the timeline's
// sentences.
func TestTheReachedNobodyBannerAndTimelineTellTimesInTheViewersZone(t *testing.T) {
	t.Parallel()
	smtp := notifytest.StartSMTP(t, "none")
	n := webtest.Start(t, webtest.Options{Config: webtest.Parse(t, strings.Replace(nobodyConfig, "SMTP_PORT", fmt.Sprint(smtp.Port()), 1))})
	n.Clock.(*clock.Fake).Set(time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)) // a Monday: nobody on call
	ctx := context.Background()
	var id int64
	if err := n.DB.Tx(ctx, func(tx *store.Tx) error {
		inc, err := n.Incidents.Open(ctx, tx, incident.OpenParams{ServiceID: "checkout", Severity: "critical", Title: "Checkout down", At: n.Clock.Now()})
		id = inc.ID
		return err
	}); err != nil {
		t.Fatal(err)
	}
	n.Escalation.Wait()
	b := webtest.SignIn(t, n.URL, n.Users, "viewer", auth.Viewer)
	_, page := b.Do("GET", fmt.Sprintf("/incidents/%d", id), nil, nil)
	banner := regexp.MustCompile(`(?s)<p class="nobody" role="alert" id="reached-nobody">.*?</p>`).FindString(page)
	if banner == "" {
		t.Fatalf("no reached-nobody banner:\n%s", page)
	}
	for _, want := range []string{`<time datetime="2026-03-30T07:30:00Z" title="2026-03-30 07:30:00 UTC">2026-03-30 13:00:00 IST</time>`, "Carol Jones"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner lacks %s:\n%s", want, banner)
		}
	}
	for _, bad := range []string{"at 2026-03-30T07:30:00Z", "paged: carol."} {
		if strings.Contains(banner, bad) {
			t.Errorf("the banner says %q:\n%s", bad, banner)
		}
	}
	tl := regexp.MustCompile(`(?s)<ol class="timeline">.*?</ol>`).FindString(page)
	if !regexp.MustCompile(`<p class="text">[^<]*nobody on call at <time datetime="2026-03-30T07:30:00Z" title="[^"]*UTC">2026-03-30 13:00:00 IST</time>`).MatchString(tl) {
		t.Errorf("a time in a timeline sentence is not in the viewer's zone with UTC on hover:\n%s", tl)
	}
}

// The page a paging link opens tells times in the zone of the person signed in, as every page.
func TestThePagingLinksPageTellsTimesInTheSignedInViewersZone(t *testing.T) {
	t.Parallel()
	e := startPhoneEnv(t)
	id := e.inc["cards"]
	b := webtest.SignIn(t, e.n.URL, e.n.Users, "responder-x", auth.Responder)
	if resp, _ := b.PostForm("/profile/time-zone", url.Values{"time_zone": {"Asia/Kolkata"}}, true); resp.StatusCode != http.StatusOK {
		t.Fatalf("setting the zone: %d", resp.StatusCode)
	}
	if _, err := e.n.Incidents.Acknowledge(context.Background(), id, incident.Actor{Name: "user:bob", Source: "web"}); err != nil {
		t.Fatal(err)
	}
	now := e.n.Clock.Now()
	token, err := e.n.Escalation.SignLink(context.Background(), escalate.Link{Incident: id, User: "alice", Action: escalate.ActionAcknowledge, Expires: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	_, page := b.Do("GET", "/a/"+token, nil, nil)
	// The clock: 2026-03-30 09:00 UTC, 14:30 in Kolkata.
	for _, want := range []string{`id="handled">Already acknowledged by Bob at <time datetime="2026-03-30T09:00:00Z"`, `>2026-03-30 14:30:00 IST</time>.`} {
		if !strings.Contains(page, want) {
			t.Errorf("the link's page lacks %s:\n%s", want, page)
		}
	}

	// Opened signed out, as from the phone the page reached, it tells them in the zone of the
	// person it was sent to: alice's, Europe/Stockholm (11:00 CEST).
	resp, err := http.Get(e.n.URL + "/a/" + token)
	if err != nil {
		t.Fatal(err)
	}
	anon, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `>2026-03-30 11:00:00 CEST</time>.`; !strings.Contains(string(anon), want) {
		t.Errorf("the link's page opened signed out lacks %s:\n%s", want, anon)
	}
}
