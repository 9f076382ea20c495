package app_test

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/storetest"
)

// mailTo returns the messages the SMTP server got for addr, oldest first: the subject line
// and the body, decoded as a mail reader shows them.
func (w *wired) mailTo(addr string) []string {
	var out []string
	for _, m := range w.smtp.Mails() {
		if strings.Join(m.To, ",") != addr {
			continue
		}
		out = append(out, "Subject: "+m.Subject(w.t)+"\n\n"+m.Body(w.t))
	}
	return out
}

func (w *wired) get(path string) string {
	w.t.Helper()
	resp, err := http.Get(w.url + path)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// subscribe goes through the double opt-in as a visitor does: the form, the mailed link, the
// button on it.
// publicConfig says where the public reaches nines: status page mail links there, and a page
// takes no subscription without it.
const publicConfig = "server: {base_url: https://status.acme.test}\n"

func (w *wired) subscribe(addr string) {
	w.t.Helper()
	resp, err := http.PostForm(w.url+"/status/public/subscribe", url.Values{"email": {addr}})
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	var mail string
	storetest.Eventually(w.t, 5*time.Second, "the confirmation mail", func() bool {
		m := w.mailTo(addr)
		if len(m) > 0 {
			mail = m[0]
		}
		return len(m) > 0
	})
	link := regexp.MustCompile(`/status/public/confirm\?t=[A-Za-z0-9_.%=-]+`).FindString(mail)
	if link == "" {
		w.t.Fatalf("no confirmation link in:\n%s", mail)
	}
	u, _ := url.Parse(link)
	resp, err = http.PostForm(w.url+u.Path, url.Values{"t": {u.Query().Get("t")}})
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("confirming %s: %d", addr, resp.StatusCode)
	}
}

// atomDoc is the part of RFC 4287 the test checks: the elements a feed and each entry must have.
type atomDoc struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Author  *struct {
		Name string `xml:"name"`
	} `xml:"author"`
	Entries []struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Content string `xml:"content"`
	} `xml:"entry"`
}

// tagURI is RFC 4151's tag syntax: tag:authority,date:specific, the date YYYY, YYYY-MM or
// YYYY-MM-DD.
var tagURI = regexp.MustCompile(`^tag:[a-z0-9.-]+(@[a-z0-9.-]+)?,\d{4}(-\d{2}(-\d{2})?)?:[\x21-\x7e]+$`)

// checkAtom checks a feed against RFC 4287's required elements and RFC 4151's tag shape.
func checkAtom(t *testing.T, body string) atomDoc {
	t.Helper()
	var f atomDoc
	if err := xml.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("the feed is not Atom: %v\n%s", err, body)
	}
	if f.ID == "" || f.Title == "" || f.Author == nil || f.Author.Name == "" {
		t.Errorf("the feed lacks id, title or author/name (RFC 4287 4.1.1):\n%s", body)
	}
	if _, err := time.Parse(time.RFC3339, f.Updated); err != nil {
		t.Errorf("feed updated %q is not an RFC 3339 date-time", f.Updated)
	}
	for _, e := range f.Entries {
		if !tagURI.MatchString(e.ID) {
			t.Errorf("entry id %q is not an RFC 4151 tag URI with a date", e.ID)
		}
		if _, err := time.Parse(time.RFC3339, e.Updated); err != nil || e.Title == "" {
			t.Errorf("entry %q lacks a title or an RFC 3339 updated", e.ID)
		}
	}
	return f
}

// TestAPublishedPostmortemReachesThePageTheFeedAndSubscribers publishes a postmortem through
// the API of nines wired as serve wires it, and reads it where the public does: the page, the
// Atom feed, and the mail of a subscriber at a real SMTP server on loopback. The postmortem's
// own timeline shows the pages sent and the public updates.
func TestAPublishedPostmortemReachesThePageTheFeedAndSubscribers(t *testing.T) {
	db := storetest.SQLite(t, app.Schemas())
	t0 := time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)
	w := startWired(t, db, publicConfig+pagingConfig, t0)
	w.subscribe("sub@example.com")

	w.trigger("cpu")
	storetest.Eventually(t, 5*time.Second, "alice paged", func() bool { return w.pages() == 1 })
	inc := w.openIncidents(1)[0]
	id := fmt.Sprintf("/api/v1/incidents/%d", inc.ID)
	w.call("POST", id+"/status-updates", map[string]string{"page": "public", "status": "investigating", "body": "Card payments fail."}, http.StatusCreated, nil)
	w.clock.Advance(25 * time.Minute)
	w.call("POST", id+"/resolve", nil, http.StatusOK, nil)
	w.call("POST", id+"/postmortem", nil, http.StatusCreated, nil)
	w.call("POST", id+"/postmortem/publish", nil, http.StatusBadRequest, nil) // nothing written for customers yet
	w.call("PATCH", id+"/postmortem", map[string]string{
		"affected":               "Customers paying by card.",
		"customer_summary":       "Card payments failed for 25 minutes.",
		"customer_what_happened": "A configuration change sent payments to a retired gateway.",
		"customer_prevention":    "Gateway changes now go through a canary first.",
	}, http.StatusOK, nil)
	w.call("POST", id+"/postmortem/publish", nil, http.StatusOK, nil)

	page := w.get("/status/public")
	for _, want := range []string{"Postmortem", "Summary\nCard payments failed for 25 minutes.", "Who was affected\nCustomers paying by card.",
		"From Mar 30, 07:30 UTC to Mar 30, 07:55 UTC (25 minutes).", "What happened\nA configuration change", "What we are doing so it does not happen again\nGateway changes"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	feed := checkAtom(t, w.get("/status/public/history.atom"))
	if len(feed.Entries) != 1 || !strings.Contains(feed.Entries[0].Content, "Postmortem (") || !strings.Contains(feed.Entries[0].Content, "Gateway changes now go through a canary first.") {
		t.Errorf("the feed does not carry the report: %+v", feed.Entries)
	}
	summary := w.get("/status/public/api/v2/incidents.json")
	if !strings.Contains(summary, `"status":"postmortem"`) {
		t.Errorf("incidents.json has no postmortem update: %s", summary)
	}
	var mail string
	storetest.Eventually(t, 5*time.Second, "the report mailed to the subscriber", func() bool {
		for _, m := range w.mailTo("sub@example.com") {
			if strings.Contains(m, "postmortem") {
				mail = m
				return true
			}
		}
		return false
	})
	for _, want := range []string{"Who was affected", "What happened", "What we are doing so it does not happen again", "Unsubscribe:"} {
		if !strings.Contains(mail, want) {
			t.Errorf("the subscriber's mail lacks %q:\n%s", want, mail)
		}
	}

	// A correction is published in place and not mailed again.
	mails := len(w.mailTo("sub@example.com"))
	w.call("PATCH", id+"/postmortem", map[string]string{"customer_prevention": "Gateway changes now go through a canary and a review."}, http.StatusOK, nil)
	w.call("POST", id+"/postmortem/publish", nil, http.StatusOK, nil)
	if page := w.get("/status/public"); !strings.Contains(page, "a canary and a review") || strings.Count(page, "Who was affected") != 1 {
		t.Error("the corrected report is not shown in place of the first")
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(w.mailTo("sub@example.com")); n != mails {
		t.Errorf("the correction was mailed again (%d mails, want %d)", n, mails)
	}

	var pm postmortem.Postmortem
	w.call("GET", id+"/postmortem", nil, http.StatusOK, &pm)
	kinds := map[string]int{}
	for _, e := range pm.Timeline {
		kinds[e.Kind]++
	}
	if kinds[postmortem.KindPage] == 0 || kinds[postmortem.KindStatus] < 2 {
		t.Errorf("the postmortem timeline has %d pages and %d public updates, want the page sent and both public updates: %+v",
			kinds[postmortem.KindPage], kinds[postmortem.KindStatus], pm.Timeline)
	}
}

// TestPublishingWithoutAPageShowingTheServiceIsRefused keeps the 409 for what it means: no
// status page shows the service, not "the publisher is not wired".
func TestPublishingWithoutAPageShowingTheServiceIsRefused(t *testing.T) {
	db := storetest.SQLite(t, app.Schemas())
	t0 := time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)
	w := startWired(t, db, strings.Replace(pagingConfig, "service: checkout}", "monitor: none}", 1)+"\nmonitors: [{id: none, service: checkout, type: tcp, address: '127.0.0.1:1', paused: true}]\n", t0)
	w.trigger("cpu")
	inc := w.openIncidents(1)[0]
	id := fmt.Sprintf("/api/v1/incidents/%d", inc.ID)
	w.call("POST", id+"/resolve", nil, http.StatusOK, nil)
	w.call("POST", id+"/postmortem", nil, http.StatusCreated, nil)
	w.call("PATCH", id+"/postmortem", map[string]string{"customer_summary": "a", "customer_what_happened": "b", "customer_prevention": "c"}, http.StatusOK, nil)
	body := w.call("POST", id+"/postmortem/publish", nil, http.StatusConflict, nil)
	if !strings.Contains(string(body), "no status page") || !strings.Contains(string(body), "checkout") {
		t.Errorf("409 says %s; want it to name the service no page shows", body)
	}
}

// TestThePublicReportNeverCarriesTheInternalTitle publishes two incidents' reports on two pages
// that show the service: one the public knew on one page under a public name, one the public
// never heard of. The page, the feed, incidents.json and the subscribers' mail show the public
// name, the same on both pages, and never the internal title ("Checkout 5xx (...)").
func TestThePublicReportNeverCarriesTheInternalTitle(t *testing.T) {
	db := storetest.SQLite(t, app.Schemas())
	t0 := time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)
	cfg := strings.Replace(pagingConfig, "notifications:", `  - id: second
    title: Second Page
    components:
      - {name: Payments, service: checkout}
notifications:`, 1)
	w := startWired(t, db, publicConfig+cfg, t0)
	w.subscribe("sub@example.com")
	customer := map[string]string{"customer_summary": "Card payments failed.", "customer_what_happened": "A bad gateway setting.",
		"customer_prevention": "Canary first."}

	// Known to the public on one page as "Payments degraded".
	w.trigger("cpu")
	inc := w.openIncidents(1)[0]
	id := fmt.Sprintf("/api/v1/incidents/%d", inc.ID)
	w.call("POST", id+"/status-updates", map[string]string{"page": "public", "status": "investigating", "body": "Card payments fail.",
		"name": "Payments degraded"}, http.StatusCreated, nil)
	w.clock.Advance(25 * time.Minute)
	w.call("POST", id+"/resolve", nil, http.StatusOK, nil)
	w.call("POST", id+"/postmortem", nil, http.StatusCreated, nil)
	w.call("PATCH", id+"/postmortem", customer, http.StatusOK, nil)
	w.call("POST", id+"/postmortem/publish", nil, http.StatusOK, nil)

	// Never heard of: publishing asks for a title for customers, and publishes nothing meanwhile.
	w.clock.Advance(time.Hour)
	w.trigger("disk")
	inc2 := w.openIncidents(1)[0]
	id2 := fmt.Sprintf("/api/v1/incidents/%d", inc2.ID)
	w.clock.Advance(time.Minute)
	w.call("POST", id2+"/resolve", nil, http.StatusOK, nil)
	w.call("POST", id2+"/postmortem", nil, http.StatusCreated, nil)
	w.call("PATCH", id2+"/postmortem", customer, http.StatusOK, nil)
	body := w.call("POST", id2+"/postmortem/publish", nil, http.StatusBadRequest, nil)
	if !strings.Contains(string(body), "customer_title") || !strings.Contains(string(body), "public, second") {
		t.Errorf("publishing without a public title: %s; want it to ask for customer_title on both pages", body)
	}
	if page := w.get("/status/second"); strings.Contains(page, "Checkout 5xx (disk)") || strings.Count(page, "Who was affected") != 1 {
		t.Errorf("a refused publication changed the page")
	}
	w.call("PATCH", id2+"/postmortem", map[string]string{"customer_title": "Slow checkout"}, http.StatusOK, nil)
	w.call("POST", id2+"/postmortem/publish", nil, http.StatusOK, nil)

	if page := w.get("/status/second"); !strings.Contains(page, "to Mar 30, 08:56 UTC (1 minute).") {
		t.Errorf("the report does not say its one minute as one minute:\n%s", page)
	}
	var texts []string
	for _, page := range []string{"public", "second"} {
		texts = append(texts, w.get("/status/"+page), w.get("/status/"+page+"/history.atom"), w.get("/status/"+page+"/api/v2/incidents.json"))
		for _, name := range []string{"Payments degraded", "Slow checkout"} {
			if p := w.get("/status/" + page + "/api/v2/incidents.json"); !strings.Contains(p, `"name":"`+name+`"`) {
				t.Errorf("page %s does not name an incident %q: %s", page, name, p)
			}
		}
	}
	storetest.Eventually(t, 20*time.Second, "both reports mailed", func() bool {
		n := 0
		for _, m := range w.mailTo("sub@example.com") {
			if strings.Contains(m, ": postmortem") {
				n++
			}
		}
		return n == 2
	})
	texts = append(texts, w.mailTo("sub@example.com")...)
	for _, text := range texts {
		if strings.Contains(text, "Checkout 5xx") {
			t.Errorf("the internal title reached the public:\n%s", text)
		}
	}
	for _, want := range []string{"Subject: [Acme Status] Payments degraded: postmortem", "Subject: [Acme Status] Slow checkout: postmortem"} {
		found := false
		for _, m := range w.mailTo("sub@example.com") {
			found = found || strings.HasPrefix(m, want)
		}
		if !found {
			t.Errorf("no mail starts %q", want)
		}
	}
}
