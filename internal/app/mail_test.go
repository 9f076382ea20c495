package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// Status page subscribers are mailed through the SMTP server pages go out through: nothing
// but notifications.email.smtp, and server.base_url for the links, needs setting up for
// subscriptions to work.
func TestSubscribersAreMailedThroughTheConfiguredSMTPServer(t *testing.T) {
	db := storetest.SQLite(t, app.Schemas())
	smtp := notifytest.StartSMTP(t, "none")
	hs := webtest.Start(t, webtest.Options{Config: webtest.Parse(t, fmt.Sprintf(publicConfig+pagingConfig, smtp.Port())), DB: db, Clock: clock.Real{}})

	resp, err := http.PostForm(hs.URL+"/status/public/subscribe", url.Values{"email": {"sub@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("subscribe: %d", resp.StatusCode)
	}
	var mail string
	storetest.Eventually(t, 5*time.Second, "a confirmation mailed to the subscriber", func() bool {
		for _, m := range smtp.Mails() {
			if strings.Join(m.To, ",") == "sub@example.com" {
				mail = m.Data
				return true
			}
		}
		return false
	})
	if !strings.Contains(mail, "From: nines@example.com") || !strings.Contains(mail, "https://status.acme.test/status/public/confirm") {
		t.Errorf("the confirmation is not from the configured sender or has no confirmation link:\n%s", mail)
	}
}
