package ui_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// fetch sends one request as a bare client: no cookies, no redirects followed, no gzip added.
func (e *accountsEnv) fetch(method, path string, header map[string]string, body string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableCompression: true}
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestACriticalAlertTurnsThePageRedWithoutAnyoneTouchingIt(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		e := newAccountsEnv(t, db)
		status := func() (string, string) {
			_, b := e.fetch("GET", "/status/public/api/v2/summary.json", nil, "")
			var d struct {
				Status     struct{ Indicator string }
				Components []struct{ Name, Status string }
			}
			if err := json.Unmarshal(b, &d); err != nil {
				t.Fatalf("summary.json: %v: %s", err, b)
			}
			for _, c := range d.Components {
				if c.Name == "Checkout" {
					return d.Status.Indicator, c.Status
				}
			}
			return d.Status.Indicator, ""
		}
		if ind, st := status(); ind != "none" || st != "operational" {
			t.Fatalf("before: %s %s", ind, st)
		}
		resp, b := e.fetch("POST", "/v2/enqueue", map[string]string{"Content-Type": "application/json"},
			`{"routing_key":"0123456789abcdef0123456789abcdef","event_action":"trigger","dedup_key":"co-1","payload":{"summary":"Checkout 5xx above 20%","source":"lb","severity":"critical"}}`)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("enqueue: %d %s", resp.StatusCode, b)
		}
		if ind, st := status(); ind != "critical" || st != "major_outage" {
			t.Fatalf("after a critical alert: indicator %s, Checkout %s; want critical, major_outage", ind, st)
		}
		_, b = e.fetch("GET", "/status/public/api/v2/status.json", nil, "")
		if !strings.Contains(string(b), `"description":"Major System Outage"`) {
			t.Fatalf("status.json: %s", b)
		}
	})
}

func TestStatusPagesServeCachedGzippedAndRevalidatable(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	resp, plain := e.fetch("GET", "/status/public", nil, "")
	if resp.StatusCode != 200 || !strings.Contains(string(plain), "Acme Status") || resp.Header.Get("ETag") == "" {
		t.Fatalf("page: %d %v", resp.StatusCode, resp.Header)
	}
	if strings.Contains(string(plain), "Internal billing") {
		t.Fatal("a service not on the page shows on it")
	}
	resp, zipped := e.fetch("GET", "/status/public", map[string]string{"Accept-Encoding": "gzip, br"}, "")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatal("a client accepting gzip got an uncompressed page")
	}
	zr, err := gzip.NewReader(strings.NewReader(string(zipped)))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if string(unzipped) != string(plain) || len(zipped) >= len(plain) {
		t.Fatal("the gzipped page differs from the plain one")
	}
	etag := resp.Header.Get("ETag")
	if resp, _ := e.fetch("GET", "/status/public", map[string]string{"If-None-Match": etag}, ""); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %d, want 304", resp.StatusCode)
	}
	for _, tc := range []struct{ name, path, ctype string }{
		{"the Atom feed", "/status/public/history.atom", "application/atom+xml"},
		{"the page badge", "/status/public/badge.svg", "image/svg+xml"},
		{"a component badge", "/status/public/badges/checkout.svg", "image/svg+xml"},
	} {
		t.Run(tc.name+" is served", func(t *testing.T) {
			if resp, _ := e.fetch("GET", tc.path, nil, ""); resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) {
				t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		})
	}
	for _, path := range []string{"/status/nope", "/status/public/badges/nope.svg", "/status/public/badges/checkout.png"} {
		if resp, _ := e.fetch("GET", path, nil, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
	if resp, b := e.fetch("GET", "/status/nope/api/v2/summary.json", nil, ""); resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(string(b), `{"error":`) {
		t.Errorf("an unknown page's summary.json: %d %s, want a JSON 404", resp.StatusCode, b)
	}
}

func TestACustomDomainServesItsPageAndNothingElse(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	host := map[string]string{"Host": "status.acme.test"}
	if resp, b := e.fetch("GET", "/", host, ""); resp.StatusCode != 200 || !strings.Contains(string(b), "Acme Status") {
		t.Fatalf("root of the custom domain: %d", resp.StatusCode)
	}
	if resp, b := e.fetch("GET", "/api/v2/summary.json", host, ""); resp.StatusCode != 200 || !strings.Contains(string(b), `"page":{"id":"public"`) {
		t.Fatalf("summary.json on the custom domain: %d %s", resp.StatusCode, b)
	}
	for _, path := range []string{"/login", "/api/v1/incidents", "/healthz"} {
		if resp, _ := e.fetch("GET", path, map[string]string{"Host": "status.acme.test", "Authorization": "Bearer " + e.tokens[auth.Admin]}, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s on the custom domain: %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestAResponderDoesTheWholeIncidentFromTheBrowser(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	id := e.openIncident("checkout", incident.Critical, "Checkout down")
	page := "/incidents/" + itoa(id)
	b := e.browser()
	b.login("responder", e.password)
	_, body := b.get(page)
	for _, want := range []string{`action="` + page + `/acknowledge"`, `action="` + page + `/resolve"`, `action="` + page + `/notes"`, `action="` + page + `/status-updates"`, "No public update on"} {
		if !strings.Contains(body, want) {
			t.Fatalf("the incident page lacks %s", want)
		}
	}
	if _, list := b.get("/"); strings.Contains(list, "public update due") {
		t.Fatal("an update is marked due the moment the incident opened")
	}
	e.clock.Advance(31 * time.Minute)
	if _, list := b.get("/"); !strings.Contains(list, "public update due") {
		t.Fatal("the list does not mark an incident that owes the public an update")
	}
	csrf := b.csrf(page)
	steps := []struct {
		name, path string
		form       url.Values
	}{
		{"acknowledge", page + "/acknowledge", url.Values{}},
		{"add a note", page + "/notes", url.Values{"text": {"Rolling back deploy 42."}}},
		{"post a public update", page + "/status-updates", url.Values{"page": {"public"}, "status": {"identified"}, "body": {"A bad deploy; rolling back."}}},
		{"resolve", page + "/resolve", url.Values{}},
	}
	for _, st := range steps {
		st.form.Set("csrf", csrf)
		if resp, body := b.post(st.path, st.form); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", st.name, resp.StatusCode, body)
		}
	}
	_, body = b.get(page)
	for _, want := range []string{"Rolling back deploy 42.", "A bad deploy; rolling back.", "Last public update on", "incident.resolved"} {
		if !strings.Contains(body, want) {
			t.Errorf("after the incident the page lacks %q", want)
		}
	}
	_, pub := e.fetch("GET", "/status/public", nil, "")
	if !strings.Contains(string(pub), "A bad deploy; rolling back.") {
		t.Fatal("the public update is not on the status page")
	}
	entries, _ := e.srv.Audit.List(context.Background(), 100, 0)
	var acted int
	for _, en := range entries {
		if en.Actor == "user:responder" && strings.HasPrefix(en.Action, "POST /incidents/") {
			acted++
		}
	}
	if acted != len(steps) {
		t.Fatalf("the audit log has %d of the responder's %d changes", acted, len(steps))
	}
	admin := e.browser()
	admin.login("admin", e.password)
	if resp, body := admin.get("/admin/audit"); resp.StatusCode != 200 || !strings.Contains(body, "POST /incidents/{id}/acknowledge") || !strings.Contains(body, "user:responder") {
		t.Fatalf("the audit page: %d", resp.StatusCode)
	}
	// A viewer sees the incident but no buttons, and cannot act by posting anyway.
	v := e.browser()
	v.login("viewer", e.password)
	if _, body := v.get(page); strings.Contains(body, "/acknowledge") {
		t.Fatal("a viewer is offered the acknowledge button")
	}
	if resp, _ := v.post(page+"/notes", url.Values{"csrf": {v.csrf(page)}, "text": {"hi"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a viewer's note: %d, want 403", resp.StatusCode)
	}
}

func TestSubscribingIsRateLimited(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	// This server has no mailer: each request is refused, and still counted.
	form := func(email string) int {
		resp, _ := e.fetch("POST", "/status/public/subscribe", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "email="+url.QueryEscape(email))
		return resp.StatusCode
	}
	for i := 0; i < auth.MaxFailures; i++ {
		if got := form("victim@example.com"); got != http.StatusNotFound {
			t.Fatalf("request %d: %d, want 404 (subscriptions are off)", i+1, got)
		}
	}
	if got := form("victim@example.com"); got != http.StatusTooManyRequests {
		t.Fatalf("request %d for one address: %d, want 429", auth.MaxFailures+1, got)
	}
}

func TestOverridesAreScopedToTheComponentsTeam(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	secret, _, err := e.srv.Tokens.CreateScoped(context.Background(), "search-bot", auth.Responder, time.Hour, []string{"search"})
	if err != nil {
		t.Fatal(err)
	}
	put := func(comp string) int {
		resp, _ := e.fetch("PUT", "/api/v1/status-pages/public/components/"+comp+"/override", map[string]string{"Authorization": "Bearer " + secret}, `{"status":"major_outage"}`)
		return resp.StatusCode
	}
	if got := put("checkout"); got != http.StatusForbidden {
		t.Fatalf("overriding another team's component: %d, want 403", got)
	}
	if got := put("search"); got != http.StatusNoContent {
		t.Fatalf("overriding its own team's component: %d, want 204", got)
	}
	if _, b := e.fetch("GET", "/status/public/api/v2/summary.json", nil, ""); !strings.Contains(string(b), `"name":"Search","status":"major_outage"`) {
		t.Fatalf("the override is not on the page: %s", b)
	}
}

func TestSubscribeConfirmAndOneClickUnsubscribeOverHTTP(t *testing.T) {
	mail := notifytest.StartSMTP(t, "none")
	e := newAccountsEnvWith(t, webtest.Options{DB: storetest.SQLite(t, app.Schemas()), Config: webtest.Parse(t, accountsConfig+
		fmt.Sprintf("notifications:\n  email: {smtp: {host: 127.0.0.1, port: %d, from: status@acme.test, tls: none}}\n", mail.Port()))})
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if resp, b := e.fetch("POST", "/status/public/subscribe", form, "email=ops%40example.com"); resp.StatusCode != 200 || !strings.Contains(string(b), "Check your inbox") {
		t.Fatalf("subscribing: %d", resp.StatusCode)
	}
	link := regexp.MustCompile(`http://status\.test(/status/public/confirm\?t=\S+)`).FindStringSubmatch(mail.Next(t).Body(t))
	if link == nil {
		t.Fatal("no confirmation link in the mail")
	}
	// Opening the link (as a mail scanner would) changes nothing; the button does.
	if resp, b := e.fetch("GET", link[1], nil, ""); resp.StatusCode != 200 || !strings.Contains(string(b), "Confirm subscription") {
		t.Fatalf("the confirmation link: %d", resp.StatusCode)
	}
	if subs, _ := e.srv.StatusPages.Subscribers(context.Background(), "public"); len(subs) != 0 {
		t.Fatal("opening the link confirmed the subscription")
	}
	if resp, _ := e.fetch("POST", link[1], form, ""); resp.StatusCode != 200 {
		t.Fatalf("confirming: %d", resp.StatusCode)
	}
	id := e.openIncident("checkout", incident.Critical, "Checkout down")
	resp, b := e.fetch("POST", "/api/v1/incidents/"+itoa(id)+"/status-updates", map[string]string{"Authorization": "Bearer " + e.tokens[auth.Responder]},
		`{"page":"public","status":"investigating","body":"Checkout fails for some customers."}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("posting an update: %d %s", resp.StatusCode, b)
	}
	m := mail.Next(t)
	unsub := strings.TrimPrefix(strings.Trim(m.Header(t).Get("List-Unsubscribe"), "<>"), "http://status.test")
	if !strings.Contains(m.Body(t), "Checkout fails for some customers.") || !strings.HasPrefix(unsub, "/status/public/unsubscribe?t=") {
		t.Fatalf("the update mail: %+v", m)
	}
	// A mail client's one-click unsubscribe (RFC 8058).
	if resp, _ := e.fetch("POST", unsub, form, "List-Unsubscribe=One-Click"); resp.StatusCode != 200 {
		t.Fatalf("one-click unsubscribe: %d", resp.StatusCode)
	}
	if subs, _ := e.srv.StatusPages.Subscribers(context.Background(), "public"); len(subs) != 0 {
		t.Fatalf("still subscribed: %v", subs)
	}
}
