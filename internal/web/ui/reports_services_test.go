package ui_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// The reports page picks several services, as the reports' service parameter takes.
func TestTheReportsServicePickerTakesSeveralServices(t *testing.T) {
	t.Parallel()
	e := startPhoneEnv(t)
	b := webtest.SignIn(t, e.n.URL, e.n.Users, "viewer-x", auth.Admin)
	_, body := b.Do("GET", "/reports?service=checkout&service=search", nil, nil)
	sel := regexp.MustCompile(`(?s)<select id="r-service"[^>]*>.*?</select>`).FindString(body)
	if !strings.Contains(sel, " multiple") {
		t.Errorf("the service picker takes one service:\n%s", sel)
	}
	for _, v := range []string{"checkout", "search"} {
		if !regexp.MustCompile(`<option value="` + v + `"[^>]* selected`).MatchString(sel) {
			t.Errorf("%s is not selected:\n%s", v, sel)
		}
	}
	if !regexp.MustCompile(`services: checkout, search`).MatchString(body) {
		t.Errorf("the report does not say both services")
	}
}

// Custom dates that cannot be a period are refused on the page itself: a 400 that names the
// field, with the picker keeping what was typed, and the default period's report under it.
func TestRefusedReportDatesAreNamedOnThePageWithWhatWasTyped(t *testing.T) {
	t.Parallel()
	e := startPhoneEnv(t)
	b := webtest.SignIn(t, e.n.URL, e.n.Users, "viewer-y", auth.Admin)
	resp, body := b.Do("GET", "/reports?range=custom&from=2026-03-31&to=2026-03-01&service=checkout", nil, nil)
	errLine := regexp.MustCompile(`<p class="error" role="alert" id="period-error">([^<]*)</p>`).FindStringSubmatch(body)
	if status := resp.StatusCode; status != 400 || errLine == nil || !strings.Contains(errLine[1], "to") {
		t.Fatalf("a period that ends before it starts: %d, error line %q\n%.1500s", resp.StatusCode, errLine, body)
	}
	for _, want := range []string{`id="r-from" name="from" value="2026-03-31"`, `id="r-to" name="to" value="2026-03-01"`,
		`<option value="custom" selected>`, `id="report-incidents"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the refused page lacks %s", want)
		}
	}
	if !regexp.MustCompile(`<option value="checkout"[^>]* selected`).MatchString(body) {
		t.Errorf("the service picked is lost")
	}
}
