package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/storetest"
)

// A page says the incident's severity as the incident page does ("SEV1 Critical"), in the
// mail's text and HTML and in a webhook's payload.
func TestAPageSaysTheSeverityAsThePagesDo(t *testing.T) {
	db := storetest.SQLite(t, oncallSchemas)
	clk := clock.NewFake(pagingStart)
	hook := notifytest.StartReceiver(t)
	env := startOnCallWith(t, db, clk, pagingConfig(t, fmt.Sprintf(statusConfig, hook.URL), nil))
	env.trigger(t, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "pay-sev", "Payments fail")
	storetest.Eventually(t, 10*time.Second, "dave's mail and webhook", func() bool {
		return len(env.smtp.Mails()) >= 1 && len(hook.Requests()) == 1
	})
	m := env.smtp.Mails()[0]
	text, html := m.Part(t, "text/plain"), m.Part(t, "text/html")
	if !strings.Contains(text, "Severity: SEV1 Critical, urgency: high") {
		t.Errorf("the mail's text lacks the SEV:\n%s", text)
	}
	if !strings.Contains(html, "· SEV1 Critical ·") || strings.Contains(html, "severity critical") {
		t.Errorf("the mail's HTML does not say the SEV as the pages do:\n%s", html)
	}
	if body := string(hook.Requests()[0].Body); !strings.Contains(body, `"sev":"SEV1"`) || !strings.Contains(body, `"sev_name":"Critical"`) {
		t.Errorf("the webhook's payload lacks the SEV level and its name: %s", body)
	}
}
