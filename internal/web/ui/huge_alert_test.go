package ui_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

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
