package ui_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// nextMailTo waits for a mail to addr, passing over mail to others (pages to the config's
// address leave at the same time).
func nextMailTo(t *testing.T, smtp *notifytest.SMTP, addr string) notifytest.Mail {
	t.Helper()
	for i := 0; i < 5; i++ {
		m := smtp.Next(t)
		if len(m.To) == 1 && m.To[0] == addr {
			return m
		}
	}
	t.Fatalf("no mail to %s", addr)
	return notifytest.Mail{}
}

func TestBrowserAnInvitedPersonSetsUpPagingFromTheirProfile(t *testing.T) {
	smtp := notifytest.StartSMTP(t, "none")
	cfg := webtest.Parse(t, webtest.PeopleConfig)
	cfg.Notifications.Email.SMTP.Port = smtp.Port()
	srv := webtest.Start(t, webtest.Options{Config: cfg, DB: storetest.SQLite(t, app.Schemas())})
	const rootPassword = "root's long passphrase"
	if _, err := srv.Users.Create(context.Background(), auth.NewUser{Username: "root", Name: "Root", Role: auth.Admin, Password: rootPassword}); err != nil {
		t.Fatal(err)
	}
	ctx := chromium(t, 1366, 900)
	text := func() string {
		s, err := read(ctx, chromedp.Text(chromedp.CSS(`main`)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	openAll := chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('details').forEach(d => d.open = true)`)

	// The admin invites alice from the accounts page.
	err := do(ctx,
		chromedp.Navigate(srv.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS(`#username`), "root"),
		chromedp.SendKeys(chromedp.CSS(`#password`), rootPassword),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`form.who`)),
		chromedp.Navigate(srv.URL+"/admin/accounts"),
		chromedp.SendKeys(chromedp.CSS(`#i-username`), "alice"),
		chromedp.Click(chromedp.Search(`//button[. = "Send invitation"]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(., "Invitation for alice mailed to alice@example.com")]`)),
	)
	if err != nil {
		t.Fatalf("inviting alice: %v", err)
	}
	// Nobody disables or demotes themselves, and root is the last admin.
	err = do(ctx, chromedp.Navigate(srv.URL+"/admin/accounts"), openAll, chromedp.Click(chromedp.Search(`//button[. = "Disable root"]`)), chromedp.WaitVisible(chromedp.CSS(`p.error`)))
	if err != nil || !strings.Contains(text(), "own account") {
		t.Errorf("disabling oneself from the page: %v; the page says %q", err, text())
	}
	err = do(ctx, chromedp.Navigate(srv.URL+"/admin/accounts"), openAll,
		chromedp.SetValue(chromedp.CSS(`#r-root`), "viewer"),
		chromedp.Click(chromedp.Search(`//details[.//summary[contains(., "root")]]//button[. = "Save role and teams"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.error`)))
	if err != nil || !strings.Contains(text(), "own account") {
		t.Errorf("demoting oneself from the page: %v; the page says %q", err, text())
	}
	err = do(ctx, chromedp.Navigate(srv.URL+"/admin/accounts"), openAll, chromedp.WaitVisible(chromedp.CSS(`details.account`)))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "accounts")
	unlabelled(t, ctx)
	if err := do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "accounts-phone")
	if err := do(ctx, chromedp.EmulateViewport(1366, 900), chromedp.Click(chromedp.CSS(`form.who button`)), chromedp.WaitVisible(chromedp.CSS(`#username`))); err != nil {
		t.Fatal(err)
	}

	// The invitation arrives at the real SMTP server; alice follows it and sets a password.
	link := regexp.MustCompile(`http://\S+/invite/ni_\S+`).FindString(nextMailTo(t, smtp, "alice@example.com").Body(t))
	if link == "" {
		t.Fatal("no link in the invitation")
	}
	const alicePassword = "tulips in the rain at noon"
	err = do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.Search(`//h1[contains(., "Alice Martin")]`)),
		chromedp.SendKeys(chromedp.CSS(`#password`), alicePassword),
		chromedp.SendKeys(chromedp.CSS(`#confirm`), alicePassword),
		chromedp.Submit(chromedp.CSS(`#confirm`)),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(., "Your password is set")]`)),
		chromedp.SendKeys(chromedp.CSS(`#password`), alicePassword),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.Search(`//h2[. = "My shifts (next 4 weeks)"]`)),
		openAll,
	)
	if err != nil {
		t.Fatalf("alice setting her password and signing in: %v", err)
	}
	page := text()
	for _, want := range []string{"Alice Martin", "Europe/Paris", "Operations", "2026-04-06 02:00:00 CEST", "alice@example.com", "from nines.yaml:2", "/api/v1/users/alice/shifts.ics?key="} {
		if !strings.Contains(page, want) {
			t.Errorf("her profile lacks %q:\n%s", want, page)
		}
	}

	// She adds her home address, and verifies it with the code mailed to it.
	err = do(ctx, openAll,
		chromedp.SendKeys(chromedp.CSS(`#cm-address`), "alice.home@example.com"),
		chromedp.Click(chromedp.Search(`//button[. = "Add and send a code"]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(., "A code was sent to alice.home@example.com")]`)),
	)
	if err != nil {
		t.Fatalf("adding a contact method: %v", err)
	}
	code := regexp.MustCompile(`\d{6}`).FindString(nextMailTo(t, smtp, "alice.home@example.com").Subject(t))
	err = do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#code-profile-1`), code),
		chromedp.Click(chromedp.Search(`//button[. = "Verify"]`)),
		chromedp.WaitVisible(chromedp.Search(`//*[contains(., "Verified.")]`)),
	)
	if err != nil {
		t.Fatalf("verifying it: %v", err)
	}

	// An incident pages her there.
	resp, err := http.Post(srv.URL+"/v2/enqueue", "application/json", strings.NewReader(webtest.EventsV2("trigger", "db", "Orders database is down")))
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("trigger: %v %v", resp, err)
	}
	resp.Body.Close()
	if s := nextMailTo(t, smtp, "alice.home@example.com").Subject(t); !strings.Contains(s, "Orders database is down") {
		t.Errorf("the page to her own address: %q", s)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := do(ctx, chromedp.Navigate(srv.URL+"/profile"), chromedp.WaitVisible(chromedp.CSS(`ul.methods`))); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text(), "Orders database is down") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if page := text(); !strings.Contains(page, "Orders database is down") || !strings.Contains(page, "verified") {
		t.Errorf("her profile after the page:\n%s", page)
	}
	screenshot(t, ctx, "profile")
	unlabelled(t, ctx)
	if err := do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "profile-phone")
}
