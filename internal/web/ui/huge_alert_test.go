package ui_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chromedp/chromedp"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// An alert with a title of a thousand characters and thirty labels, as Alertmanager sends it,
// keeps the responder's page short: the heading and the list show the title's first 200
// characters (the whole is one tap away), and a table of more than ten rows is folded under
// its count.
func TestAHugeAlertKeepsTheResponderPageShort(t *testing.T) {
	t.Parallel()
	s := webtest.StartSpine(t)
	labels := map[string]string{"alertname": "DiskFull", "severity": "critical"}
	for i := 0; i < 30; i++ {
		labels[fmt.Sprintf("label_%02d", i)] = fmt.Sprintf("value-%02d", i)
	}
	summary := strings.Repeat("Disk is full on a very long host name ", 30)
	body, _ := json.Marshal(map[string]any{"version": "4", "status": "firing", "receiver": "nines", "groupKey": "{}:{alertname=\"DiskFull\"}",
		"alerts": []any{map[string]any{"status": "firing", "labels": labels, "annotations": map[string]string{"summary": summary},
			"startsAt": "2026-03-02T02:59:00Z", "fingerprint": "abc"}}})
	if r := s.Do(webtest.Request{Method: "POST", Path: "/api/v1/ingest/alertmanager/" + webtest.AMKey, Body: string(body)}); r.Status != 202 {
		t.Fatalf("alert: %d %s", r.Status, r.Body)
	}
	b := s.Browser(auth.Responder)
	_, page := b.Do("GET", "/incidents/1", nil, nil)
	h1 := regexp.MustCompile(`(?s)<h1><span class="id">#1</span> (.*?)</h1>`).FindStringSubmatch(page)
	if h1 == nil || utf8.RuneCountInString(h1[1]) > 201 || !strings.HasSuffix(h1[1], "…") {
		t.Errorf("the heading is not the title's first 200 characters: %q", h1)
	}
	if !regexp.MustCompile(`<details class="whole-title"><summary>Whole title</summary>DiskFull: Disk is full`).MatchString(page) {
		t.Errorf("the whole title is not one tap away")
	}
	if asum := regexp.MustCompile(`<p class="asum">([^<]*)</p>`).FindStringSubmatch(page); asum == nil || utf8.RuneCountInString(asum[1]) > 201 ||
		!strings.Contains(page, `<details class="whole-title"><summary>Whole summary</summary>`) {
		t.Errorf("the alert card shows its whole summary, not its first 200 characters: %q", asum)
	}
	if !regexp.MustCompile(`<details class="kv-fold"><summary>Labels: 32 rows</summary><table class="kv">`).MatchString(page) {
		t.Errorf("the labels are not folded under their count:\n%s", page[strings.Index(page, "alert-card"):][:1500])
	}
	if strings.Contains(page, `<details class="kv-fold"><summary>Details`) {
		t.Errorf("a short table is folded")
	}
	_, list := b.Do("GET", "/", nil, nil)
	a := regexp.MustCompile(`(?s)<a href="/incidents/1"><span class="id">#1</span> (.*?)</a>`).FindStringSubmatch(list)
	if a == nil || utf8.RuneCountInString(a[1]) > 201 {
		t.Errorf("the list shows the whole title: %q", a)
	}
}

// On a phone, an alert's tables keep their captions on one line above them, folded or not.
func TestBrowserAHugeAlertsTablesReadOnAPhone(t *testing.T) {
	e := startPhoneEnv(t)
	var made struct {
		IntegrationKeys []struct{ Key string } `json:"integration_keys"`
	}
	e.api("POST", "/api/v1/config/services", `{"id": "batch", "name": "Batch", "team": "payments", "integrations": [{"type": "events_v2"}]}`, &made)
	if len(made.IntegrationKeys) != 1 {
		t.Fatalf("no key for the new service: %+v", made)
	}
	details := map[string]string{}
	for i := 0; i < 15; i++ {
		details[fmt.Sprintf("detail_%02d", i)] = fmt.Sprintf("value %02d", i)
	}
	ev, _ := json.Marshal(map[string]any{"routing_key": made.IntegrationKeys[0].Key, "event_action": "trigger", "dedup_key": "batch-late",
		"payload": map[string]any{"summary": strings.Repeat("Nightly batch is late on a host with a long name ", 20), "source": "cron-1", "severity": "error", "custom_details": details}})
	e.api("POST", "/v2/enqueue", string(ev), nil)
	var list struct {
		Incidents []struct{ ID int64 } `json:"incidents"`
	}
	e.api("GET", "/api/v1/incidents?service=batch", "", &list)
	if len(list.Incidents) != 1 {
		t.Fatalf("the batch service's incidents: %+v", list)
	}
	b := e.signInBrowser("admin", 390, 844)
	if err := do(b, chromedp.Navigate(fmt.Sprintf("%s/incidents/%d", e.n.URL, list.Incidents[0].ID)),
		chromedp.WaitVisible(chromedp.CSS(`details.kv-fold`)),
		chromedp.Click(chromedp.CSS(`details.kv-fold > summary`))); err != nil {
		t.Fatal(err)
	}
	dims, err := read(b, chromedp.Evaluate[[]float64](`Array.from(document.querySelectorAll('table.kv caption')).map(c => c.getBoundingClientRect().width)`))
	if err != nil || len(dims) == 0 {
		t.Fatalf("captions: %v %v", dims, err)
	}
	for _, w := range dims {
		if w < 200 {
			t.Errorf("a table caption is %v px wide on a 390 px phone: its words stand one letter a line", w)
		}
	}
	wide, err := read(b, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`))
	if err != nil || wide > 390 {
		t.Errorf("the incident is %v px wide on a 390 px phone (%v)", wide, err)
	}
	screenshot(t, b, "incident-huge-alert-phone")
}
