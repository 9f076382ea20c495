package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/storetest"
)

// Status page subscribers are mailed through the SMTP server pages go out through: nothing
// but notifications.email.smtp needs setting up for subscriptions to work.
func TestSubscribersAreMailedThroughTheConfiguredSMTPServer(t *testing.T) {
	db := storetest.SQLite(t, app.Schemas())
	smtp := notifytest.StartSMTP(t, "none")
	cfg, err := config.Parse("nines.yaml", []byte(fmt.Sprintf(pagingConfig, smtp.Port())))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(nil)
	a, err := app.New(context.Background(), config.NewLive(cfg), db, clock.Real{},
		slog.New(slog.NewTextHandler(io.Discard, nil)), app.Options{BaseURL: "http://" + hs.Listener.Addr().String(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = a.Web.Handler()
	hs.Start()
	a.Start()
	defer func() { hs.Close(); a.Stop() }()

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
	if !strings.Contains(mail, "From: nines@example.com") || !strings.Contains(mail, "/status/public/confirm") {
		t.Errorf("the confirmation is not from the configured sender or has no confirmation link:\n%s", mail)
	}
}
