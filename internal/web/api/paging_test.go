package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// pagingStart is the reference Monday, 2026-03-30 07:30Z: alice is on call on ops.
var pagingStart = time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)

// pagingConfig is the on-call reference config with extra YAML documents; twilio, when set,
// receives SMS and calls.
func pagingConfig(t *testing.T, extra string, twilio *notifytest.Receiver) *config.Config {
	t.Helper()
	ref, err := os.ReadFile("../../config/testdata/oncall_reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if twilio != nil { // notifications is the reference's last section
		ref = append(ref, fmt.Sprintf("  twilio: {base_url: %q, account_sid: AC0, auth_token: tok, from: \"+15550001111\"}\n", twilio.URL)...)
	}
	cfg, err := config.Parse("nines.yaml", append(ref, "\n---\n"+extra...))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// trigger sends one Events API v2 trigger and waits for the pages it started.
func (e *oncallEnv) trigger(t *testing.T, routingKey, dedupKey, summary string) {
	t.Helper()
	status, b := e.do(t, "POST", "/v2/enqueue", "", map[string]any{"routing_key": routingKey, "event_action": "trigger", "dedup_key": dedupKey,
		"payload": map[string]string{"summary": summary, "source": "host-1", "severity": "critical"}})
	if status != 202 {
		t.Fatalf("enqueue: %d %s", status, b)
	}
	e.srv.Escalation.Wait()
}

// mailPage is one mail as its reader sees it.
type mailPage struct {
	raw     string
	to      string
	subject string
	body    string
}

func readPage(t *testing.T, m notifytest.Mail) mailPage {
	t.Helper()
	return mailPage{raw: m.Data, to: strings.Join(m.To, ","), subject: m.Subject(t), body: m.Body(t)}
}

func pagesTo(t *testing.T, srv *notifytest.SMTP, to string) []mailPage {
	t.Helper()
	var out []mailPage
	for _, m := range srv.Mails() {
		if p := readPage(t, m); p.to == to {
			out = append(out, p)
		}
	}
	return out
}

var (
	pageIncidentRe = regexp.MustCompile(`(?m)^Incident #(\d+) on `)
	ackAllRe       = regexp.MustCompile(`Acknowledge all (\d+): (http://\S+/a/\S+)`)
	countRe        = regexp.MustCompile(`\] (\d+) incidents need attention`)
)

// TestAStormBecomesAFewMailsAndOneLinkAcknowledgesWhatTheyBundle: 200 alerts in 50 seconds for
// the person on call, through the Events API, counted at a real SMTP server, with no rate limit
// declared. The default for email (5 a minute) lets the first five through; the other 195 wait
// for the window and leave in one mail that names its count and carries one link that
// acknowledges all of them through the real handler, skipping those handled meanwhile.
func TestAStormBecomesAFewMailsAndOneLinkAcknowledgesWhatTheyBundle(t *testing.T) {
	storetest.Each(t, oncallSchemas, func(t *testing.T, db *store.DB) {
		clk := clock.NewFake(pagingStart)
		env := startOnCallWith(t, db, clk, pagingConfig(t, "", nil))
		const key = "0123456789abcdef0123456789abcdef"
		for i := 0; i < 200; i++ {
			env.trigger(t, key, fmt.Sprintf("disk-%03d", i), fmt.Sprintf("Disk %03d is full", i))
			clk.Advance(250 * time.Millisecond)
		}
		if n := len(pagesTo(t, env.smtp, "alice@example.com")); n != 5 {
			t.Fatalf("%d mails during the storm, want 5 (the default email limit: 5 a minute)", n)
		}
		// The sixth page waits for the window, the seventh behind it; both timelines say until
		// when (the first mail leaves the window at pagingStart + 1m, and the waiting pages
		// leave together then).
		for _, id := range []int{6, 7, 200} {
			want := "; it leaves at 2026-03-30 07:31 UTC."
			_, b := env.do(t, "GET", fmt.Sprintf("/api/v1/incidents/%d/timeline", id), env.viewer, nil)
			var tl struct{ Events []struct{ Type, Text string } }
			json.Unmarshal(b, &tl)
			held := ""
			for _, e := range tl.Events {
				if e.Type == escalate.EventHeld {
					held = e.Text
				}
			}
			if !strings.Contains(held, want) {
				t.Errorf("incident %d's held page reads %q, want it to say %q", id, held, want)
			}
		}
		clk.Set(pagingStart.Add(59*time.Second + 900*time.Millisecond))
		time.Sleep(300 * time.Millisecond)
		if n := len(env.smtp.Mails()); n != 5 {
			t.Fatalf("%d mails before the window allowed a sixth", n)
		}
		clk.Set(pagingStart.Add(time.Minute)) // the first message leaves the window
		storetest.Eventually(t, 10*time.Second, "the bundle as soon as the window allows", func() bool {
			return len(env.smtp.Mails()) == 6
		})
		storetest.Eventually(t, 10*time.Second, "the bundle recorded", func() bool {
			evs, _ := env.srv.Incidents.Timeline(context.Background(), 200)
			for _, e := range evs {
				if e.Type == escalate.EventSent {
					return true
				}
			}
			return false
		})
		for i := 0; i < 8; i++ {
			clk.Advance(time.Minute) // up to 9 minutes: nothing more for alice
			time.Sleep(30 * time.Millisecond)
		}
		pages := pagesTo(t, env.smtp, "alice@example.com")
		if len(pages) != 6 {
			t.Fatalf("%d mails for a storm of 200, want 6", len(pages))
		}

		covered := map[int64]int{}
		var bundle mailPage
		var bundled []int64
		for _, p := range pages {
			var ids []int64
			for _, m := range pageIncidentRe.FindAllStringSubmatch(p.body, -1) {
				id, _ := strconv.ParseInt(m[1], 10, 64)
				ids = append(ids, id)
				covered[id]++
			}
			if len(ids) == 1 {
				if !strings.Contains(p.subject, fmt.Sprintf("#%d ", ids[0])) {
					t.Errorf("a one-incident mail does not name its incident: %q", p.subject)
				}
				continue
			}
			if m := countRe.FindStringSubmatch(p.subject); m == nil || m[1] != strconv.Itoa(len(ids)) {
				t.Errorf("a mail listing %d incidents is titled %q", len(ids), p.subject)
			}
			bundle, bundled = p, ids
		}
		if len(covered) != 200 {
			t.Fatalf("the mails cover %d incidents, want all 200", len(covered))
		}
		for id, n := range covered {
			if n != 1 {
				t.Errorf("incident %d is in %d mails", id, n)
			}
		}
		if len(bundled) != 195 {
			t.Fatalf("the bundle lists %d incidents, want 195", len(bundled))
		}
		m := ackAllRe.FindStringSubmatch(bundle.body)
		if m == nil || m[1] != "195" {
			t.Fatalf("the bundle has no link acknowledging all 195:\n%.600s", bundle.body)
		}
		link := m[2]

		// Two of them are handled by hand before the link is used.
		acked, resolved := bundled[10], bundled[20]
		if status, b := env.do(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/acknowledge", acked), env.responder, nil); status != 200 {
			t.Fatalf("acknowledge: %d %s", status, b)
		}
		if status, b := env.do(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", resolved), env.responder, nil); status != 200 {
			t.Fatalf("resolve: %d %s", status, b)
		}

		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		confirm, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(confirm), `<form method="post">`) || strings.Count(string(confirm), `class="linked-incident `) != 195 {
			t.Fatalf("GET of the acknowledge-all link: %d, %d incidents listed\n%.2000s", resp.StatusCode, strings.Count(string(confirm), `class="linked-incident `), confirm)
		}
		if !strings.Contains(string(confirm), "2 of them are already acknowledged or resolved and will be left as they are") {
			t.Errorf("the confirmation does not say what will be skipped:\n%.3000s", confirm)
		}
		if n := countStates(t, env, bundled)[incident.Triggered]; n != 193 {
			t.Fatalf("after a GET of the link %d of the bundle are triggered, want 193: a GET must change nothing", n)
		}

		resp, err = http.Post(link, "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		done, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := fmt.Sprintf("Done: 193 incidents acknowledged. 2 were already handled and left as they are: #%d (acknowledged), #%d (resolved).", acked, resolved)
		if resp.StatusCode != 200 || !strings.Contains(string(done), want) {
			t.Fatalf("POST of the link: %d, want %q in\n%.3000s", resp.StatusCode, want, done)
		}
		states := countStates(t, env, bundled)
		if states[incident.Acknowledged] != 194 || states[incident.Resolved] != 1 {
			t.Fatalf("after the link: %v; want every bundled incident acknowledged, the resolved one left resolved", states)
		}
		var single []int64
		for id := range covered {
			if !contains(bundled, id) {
				single = append(single, id)
			}
		}
		if st := countStates(t, env, single); st[incident.Triggered] != 5 {
			t.Errorf("the link acted beyond its bundle: the five paged one by one are %v", st)
		}
		evs, _ := env.srv.Incidents.Timeline(context.Background(), bundled[0])
		found := false
		for _, e := range evs {
			found = found || (e.Type == incident.EventAcknowledged && e.Actor == "user:alice" && e.Source == "link")
		}
		if !found {
			t.Errorf("the acknowledgement is not on the timeline as alice through the link")
		}
	})
}

func contains(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func countStates(t *testing.T, env *oncallEnv, ids []int64) map[incident.State]int {
	t.Helper()
	out := map[incident.State]int{}
	for _, id := range ids {
		inc, err := env.srv.Incidents.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		out[inc.State]++
	}
	return out
}

// TestLineBreaksInATitleStayOutOfHeadersAndBodies: an alert summary carrying CR/LF (which a
// sender controls) must not add a header to the mail, nor a line that looks like nines' own
// to its body or its SMS.
func TestLineBreaksInATitleStayOutOfHeadersAndBodies(t *testing.T) {
	twilio := notifytest.StartReceiver(t)
	cfg := pagingConfig(t, `users:
  - {id: sam, time_zone: UTC, contact_methods: [{type: email, address: sam@example.com}, {type: sms, address: "+33612345678"}]}
escalation_policies:
  - {id: sam-policy, steps: [{escalate_after: 1h, targets: [{user: sam}]}]}
services:
  - {id: disks, name: Disks, escalation_policy: sam-policy, integrations: [{type: events_v2, key: 11111111111111111111111111111111}]}
`, twilio)
	env := startOnCallWith(t, storetest.SQLite(t, oncallSchemas), clock.NewFake(pagingStart), cfg)
	title := "Disk full\r\nAcknowledge: http://evil.example/a/x\r\nBcc: victim@example.com\nX-Injected: yes\rTo: nobody"
	env.trigger(t, "11111111111111111111111111111111", "crlf", title)
	storetest.Eventually(t, 5*time.Second, "the mail and the SMS", func() bool {
		return len(env.smtp.Mails()) == 1 && len(twilio.Requests()) == 1
	})
	raw := env.smtp.Mails()[0].Data
	head, body, ok := strings.Cut(raw, "\r\n\r\n")
	if !ok {
		t.Fatalf("no header/body separator:\n%s", raw)
	}
	for _, line := range strings.Split(head, "\r\n") {
		name, _, _ := strings.Cut(line, ":")
		if strings.ContainsAny(line, "\r\n") || strings.EqualFold(name, "Bcc") || strings.EqualFold(name, "X-Injected") {
			t.Errorf("header line %q comes from the title", line)
		}
	}
	p := readPage(t, env.smtp.Mails()[0])
	if strings.ContainsAny(p.subject, "\r\n") || !strings.Contains(p.subject, "Disk full Acknowledge: http://evil.example/a/x Bcc: victim@example.com X-Injected: yes To: nobody") {
		t.Errorf("subject %q: want the title on one line", p.subject)
	}
	for _, line := range strings.Split(p.body, "\n") {
		if strings.HasPrefix(line, "Acknowledge: http://evil") || strings.HasPrefix(line, "Bcc:") || strings.HasPrefix(line, "To: nobody") {
			t.Errorf("the body has a line made by the title: %q\n%s", line, p.body)
		}
	}
	if strings.Contains(body, "\r\r") || strings.Contains(strings.ReplaceAll(body, "\r\n", ""), "\r") {
		t.Errorf("a bare CR in the body:\n%q", body)
	}
	form, err := url.ParseQuery(string(twilio.Requests()[0].Body))
	if err != nil {
		t.Fatal(err)
	}
	if sms := form.Get("Body"); strings.ContainsAny(sms, "\r\n") || !strings.Contains(sms, "Disk full Acknowledge") {
		t.Errorf("SMS %q: want the title on one line", sms)
	}
}

// TestTheVoiceHandlerSaysWhatItDid: whatever key the provider posts for whatever link, the
// call hears what nines actually did.
func TestTheVoiceHandlerSaysWhatItDid(t *testing.T) {
	clk := clock.NewFake(pagingStart)
	env := startOnCallWith(t, storetest.SQLite(t, oncallSchemas), clk, pagingConfig(t, "", nil))
	ctx := context.Background()
	open := func(title string) int64 {
		var inc incident.Incident
		err := env.srv.DB.Tx(ctx, func(tx *store.Tx) error {
			var err error
			inc, err = env.srv.Incidents.Open(ctx, tx, incident.OpenParams{ServiceID: "checkout", Severity: "critical", Title: title, At: clk.Now()})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return inc.ID
	}
	sign := func(id int64, action string, ttl time.Duration) string {
		tok, err := env.srv.Escalation.SignLink(ctx, escalate.Link{Incident: id, User: "alice", Action: action, Expires: clk.Now().Add(ttl)})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	one, two, three := open("one"), open("two"), open("three")
	resolveOne, ackOne := sign(one, escalate.ActionResolve, time.Hour), sign(one, escalate.ActionAcknowledge, time.Hour)
	ackTwo := sign(two, escalate.ActionAcknowledge, time.Hour)
	expired := sign(three, escalate.ActionResolve, time.Minute)
	clk.Advance(2 * time.Minute)
	cases := []struct {
		name, token, digits string
		say                 string
		id                  int64
		state               incident.State
	}{
		{"another key on a resolve link resolves nothing", resolveOne, "2", "Not resolved. Goodbye.", one, incident.Triggered},
		{"1 on a resolve link resolves", resolveOne, "1", fmt.Sprintf("Incident %d is resolved. Thank you.", one), one, incident.Resolved},
		{"1 again says it was resolved already", resolveOne, "1", fmt.Sprintf("Incident %d was already resolved. Nothing was done. Goodbye.", one), one, incident.Resolved},
		{"1 on an acknowledge link of a resolved incident does nothing", ackOne, "1", fmt.Sprintf("Incident %d is already resolved. Nothing was done. Goodbye.", one), one, incident.Resolved},
		{"1 on an acknowledge link acknowledges", ackTwo, "1", fmt.Sprintf("Incident %d is acknowledged. Thank you.", two), two, incident.Acknowledged},
		{"1 again says it was acknowledged already", ackTwo, "1", fmt.Sprintf("Incident %d was already acknowledged. Nothing was done. Goodbye.", two), two, incident.Acknowledged},
		{"an expired link is refused", expired, "1", "This link has expired. Nothing was done. Open nines to act on the incident. Goodbye.", three, incident.Triggered},
		{"a forged link is refused", resolveOne[:len(resolveOne)-3] + "AAA", "1", "This link is not valid. Nothing was done. Goodbye.", one, incident.Resolved},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.PostForm(env.url+"/a/"+tc.token+"/voice", url.Values{"Digits": {tc.digits}})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := "<Response><Say>" + tc.say + "</Say></Response>"; resp.StatusCode != 200 || string(b) != want {
				t.Errorf("%d %s\nwant %s", resp.StatusCode, b, want)
			}
			if inc, _ := env.srv.Incidents.Get(ctx, tc.id); inc.State != tc.state {
				t.Errorf("incident %d is %s, want %s", tc.id, inc.State, tc.state)
			}
		})
	}
}

var gatherRe = regexp.MustCompile(`<Gather [^>]*action="([^"]+)"`)

// TestPressingOneOnABundledCallAcknowledgesEveryIncidentItNames: calls are limited to one a
// minute by default; the call that follows a burst names how many incidents it covers, and
// pressing 1 acknowledges each of them, and only them.
func TestPressingOneOnABundledCallAcknowledgesEveryIncidentItNames(t *testing.T) {
	twilio := notifytest.StartReceiver(t)
	cfg := pagingConfig(t, `users:
  - {id: vera, time_zone: UTC, contact_methods: [{type: voice, address: "+33612345678"}]}
escalation_policies:
  - {id: vera-policy, steps: [{escalate_after: 1h, targets: [{user: vera}]}]}
services:
  - {id: calls, name: Calls, escalation_policy: vera-policy, integrations: [{type: events_v2, key: 22222222222222222222222222222222}]}
`, twilio)
	clk := clock.NewFake(pagingStart)
	env := startOnCallWith(t, storetest.SQLite(t, oncallSchemas), clk, cfg)
	for i := 0; i < 4; i++ {
		env.trigger(t, "22222222222222222222222222222222", fmt.Sprintf("call-%d", i), fmt.Sprintf("Queue %d is stuck", i))
		clk.Advance(5 * time.Second)
	}
	if n := len(twilio.Requests()); n != 1 {
		t.Fatalf("%d calls for 4 incidents in 20 seconds, want 1 (the default voice limit: 1 a minute)", n)
	}
	clk.Set(pagingStart.Add(time.Minute))
	storetest.Eventually(t, 5*time.Second, "the second call", func() bool { return len(twilio.Requests()) == 2 })
	form, _ := url.ParseQuery(string(twilio.Requests()[1].Body))
	twiml := form.Get("Twiml")
	if !strings.Contains(twiml, "3 incidents need attention") || !strings.Contains(twiml, "Press 1 to acknowledge all 3.") {
		t.Fatalf("the bundled call does not say how many it covers: %s", twiml)
	}
	m := gatherRe.FindStringSubmatch(twiml)
	if m == nil {
		t.Fatalf("no Gather in %s", twiml)
	}
	action := strings.ReplaceAll(m[1], "&amp;", "&")
	resp, err := http.PostForm(action, url.Values{"Digits": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "<Response><Say>3 incidents acknowledged. Thank you.</Say></Response>" {
		t.Fatalf("pressing 1: %s", b)
	}
	incs, _, _ := env.srv.Incidents.List(context.Background(), incident.Filter{ServiceIDs: []string{"calls"}})
	var states []string
	for _, inc := range incs {
		states = append(states, fmt.Sprintf("%d:%s", inc.ID, inc.State))
	}
	sort.Strings(states)
	if got := strings.Join(states, " "); got != "1:triggered 2:acknowledged 3:acknowledged 4:acknowledged" {
		t.Fatalf("states %s; want the three of the bundled call acknowledged, the first (called alone) untouched", got)
	}
	resp, _ = http.PostForm(action, url.Values{"Digits": {"1"}})
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "<Response><Say>Nothing was done: all 3 incidents were already acknowledged or resolved. Goodbye.</Say></Response>" {
		t.Fatalf("pressing 1 again: %s", b)
	}
}

// A page held in its contact method's queue whose incident is acknowledged before it leaves
// is not sent, and the timeline and the "who is paged" status say so: it does not simply go
// quiet after "it leaves at".
func TestAHeldPageWhoseIncidentIsAcknowledgedSaysItWasNotSent(t *testing.T) {
	storetest.Each(t, oncallSchemas, func(t *testing.T, db *store.DB) {
		clk := clock.NewFake(pagingStart)
		env := startOnCallWith(t, db, clk, pagingConfig(t, "", nil))
		const key = "0123456789abcdef0123456789abcdef"
		for i := 0; i < 7; i++ {
			env.trigger(t, key, fmt.Sprintf("disk-%d", i), fmt.Sprintf("Disk %d is full", i))
			clk.Advance(time.Second)
		}
		if n := len(pagesTo(t, env.smtp, "alice@example.com")); n != 5 {
			t.Fatalf("%d mails, want 5 (the default email limit)", n)
		}
		if status, b := env.do(t, "POST", "/api/v1/incidents/7/acknowledge", env.responder, nil); status != 200 {
			t.Fatalf("acknowledge: %d %s", status, b)
		}
		clk.Set(pagingStart.Add(time.Minute))
		storetest.Eventually(t, 10*time.Second, "the sixth page sent, the seventh not", func() bool {
			return len(env.smtp.Mails()) == 6
		})
		var tl struct{ Events []struct{ Type, Text string } }
		storetest.Eventually(t, 10*time.Second, "the seventh's timeline says it was not sent", func() bool {
			_, b := env.do(t, "GET", "/api/v1/incidents/7/timeline", env.viewer, nil)
			json.Unmarshal(b, &tl)
			for _, e := range tl.Events {
				if e.Type == escalate.EventDropped && strings.Contains(e.Text, "Page to Alice by email not sent: the incident was acknowledged before it left") {
					return true
				}
			}
			return false
		})
		_, b := env.do(t, "GET", "/api/v1/incidents/7", env.viewer, nil)
		if !strings.Contains(string(b), `"state":"dropped"`) {
			t.Errorf("the status of the seventh's page: %s, want dropped", b)
		}
	})
}
