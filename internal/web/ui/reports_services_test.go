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
