package ui_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/storetest"
)

// chromium starts a real headless Chromium for t and returns a browsing context.
func chromium(t *testing.T, width, height int) context.Context {
	t.Helper()
	bin := os.Getenv("NINES_CHROMIUM")
	if bin == "" {
		bin = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(bin); err != nil {
		t.Fatalf("the browser tests need Chromium (apt-get install chromium, or set NINES_CHROMIUM): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// do runs browser steps, each batch bounded so a missing element fails the test instead of
// hanging it.
func do(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

// read runs one browser step that returns a value.
func read[T any](ctx context.Context, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// unlabelled lists the form fields of the page that a screen reader cannot name.
func unlabelled(t *testing.T, ctx context.Context) {
	t.Helper()
	names, err := read(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
		.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !(e.tagName === 'BUTTON' && e.textContent.trim()))
		.map(e => e.outerHTML.slice(0, 80))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) > 0 {
		t.Errorf("form fields without a label: %q", names)
	}
}

// screenshot saves the page as docs/screenshots/<name>.png when NINES_SCREENSHOTS names the
// directory (go test ./internal/web -run Browser with NINES_SCREENSHOTS=$PWD/docs/screenshots).
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("NINES_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := read(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserResponderHandlesAnIncidentAndThePublicSeesIt(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	// Some history, so the uptime bars have something to draw (the clock only moves forward).
	now := e.clock.Now().AddDate(0, 0, 62)
	for _, h := range []struct {
		service, severity string
		daysAgo, hours    int
	}{{"checkout", incident.Critical, 61, 3}, {"search", incident.Error, 40, 20}, {"checkout", incident.Error, 12, 6}, {"search", incident.Critical, 5, 1}} {
		e.clock.Set(now.Add(-3*time.Hour).AddDate(0, 0, -h.daysAgo))
		old := e.openIncident(h.service, h.severity, "An old incident")
		e.clock.Advance(time.Duration(h.hours) * time.Hour)
		if _, err := e.incidents.Resolve(context.Background(), old, incident.Actor{Name: "test", Source: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Set(now)
	id := e.openIncident("checkout", incident.Critical, "Checkout returns 500 for card payments")
	e.openIncident("search", incident.Warning, "Search latency p99 above 2 s")
	ctx := chromium(t, 1100, 900)
	base := e.srv.URL
	page := base + "/incidents/" + itoa(id)
	e.clock.Advance(40 * time.Minute) // long enough for the reminder to post a public update

	var text string
	err := do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#username`)), // not signed in: sent to the login page
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "login")
	err = do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#username`), "responder"),
		chromedp.SendKeys(chromedp.CSS(`#password`), e.password),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`ul.incidents`)),
	)
	if err == nil {
		text, err = read(ctx, chromedp.Text(chromedp.CSS(`main`)))
	}
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Checkout returns 500") {
		t.Fatalf("the incident list lacks the incident: %q", text)
	}
	screenshot(t, ctx, "incidents")
	unlabelled(t, ctx)

	t.Run("the list updates live when an incident opens", func(t *testing.T) {
		if err := do(ctx, chromedp.WaitReady(chromedp.CSS(`html[data-live="open"]`))); err != nil {
			t.Fatalf("the page's event stream never opened: %v", err)
		}
		e.openIncident("checkout", incident.Error, "Checkout webhook queue backing up")
		if err := do(ctx, chromedp.WaitVisible(chromedp.Search(`//a[contains(., "webhook queue backing up")]`))); err != nil {
			t.Fatalf("the new incident never appeared without a reload: %v", err)
		}
	})

	t.Run("acknowledge", func(t *testing.T) {
		err := do(ctx,
			chromedp.Navigate(page),
			chromedp.WaitVisible(chromedp.CSS(`#ack`)),
			chromedp.Click(chromedp.CSS(`#ack`)),
			chromedp.WaitVisible(chromedp.Search(`//dl[@id="summary"]//span[contains(@class, "state")][contains(., "acknowledged")]`)),
			chromedp.WaitNotPresent(chromedp.CSS(`#ack`)),
		)
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("post a public status update", func(t *testing.T) {
		err := do(ctx,
			chromedp.Click(chromedp.Search(`//summary[contains(., "Post a public status update")]`)),
			chromedp.SetValue(chromedp.CSS(`#su-status`), "identified"),
			chromedp.SendKeys(chromedp.CSS(`#su-body`), "Card payments fail after a deploy; we are rolling it back."),
			chromedp.Submit(chromedp.CSS(`#su-body`)),
			chromedp.WaitVisible(chromedp.Search(`//p[contains(@class, "pubinfo")][contains(., "Last public update")]`)),
		)
		if err == nil {
			text, err = read(ctx, chromedp.Text(chromedp.CSS(`.timeline`)))
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "we are rolling it back") {
			t.Fatalf("the timeline lacks the update: %q", text)
		}
		screenshot(t, ctx, "incident-public-update")
		unlabelled(t, ctx)
	})

	t.Run("the status page shows the outage and the update", func(t *testing.T) {
		err := do(ctx,
			chromedp.Navigate(base+"/status/public"),
			chromedp.WaitVisible(chromedp.CSS(`.banner`)),
		)
		if err == nil {
			text, err = read(ctx, chromedp.Text(chromedp.CSS(`main`)))
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Major System Outage", "Major outage", "Card payments fail after a deploy", "Identified"} {
			if !strings.Contains(text, want) {
				t.Errorf("the status page lacks %q", want)
			}
		}
		screenshot(t, ctx, "status-page")
		unlabelled(t, ctx)
	})

	t.Run("resolving leaves the public incident for the public to hear about", func(t *testing.T) {
		err := do(ctx,
			chromedp.Navigate(page),
			chromedp.WaitVisible(chromedp.CSS(`#resolve`)),
			chromedp.Click(chromedp.CSS(`#resolve`)),
			chromedp.WaitNotPresent(chromedp.CSS(`#resolve`)),
			chromedp.Navigate(base+"/status-pages"),
			chromedp.WaitVisible(chromedp.CSS(`table`)),
		)
		if err != nil {
			t.Fatal(err)
		}
		screenshot(t, ctx, "status-pages")
		unlabelled(t, ctx)
		// The public incident was not resolved publicly: the page still says so, and why.
		err = do(ctx, chromedp.Navigate(base+"/status/public"))
		if err == nil {
			text, err = read(ctx, chromedp.Text(chromedp.CSS(`#component-checkout`)))
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "Major outage") || !strings.Contains(text, "(identified)") {
			t.Fatalf("Checkout after resolving the critical incident but not its public incident: %q", text)
		}
	})
}

func TestBrowserSignOutAndAdminPages(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	ctx := chromium(t, 1100, 800)
	signIn := func(user string) error {
		return do(ctx,
			chromedp.Navigate(e.srv.URL+"/login"),
			chromedp.SendKeys(chromedp.CSS(`#username`), user),
			chromedp.SendKeys(chromedp.CSS(`#password`), e.password),
			chromedp.Submit(chromedp.CSS(`#password`)),
			chromedp.WaitVisible(chromedp.CSS(`form.who`)),
		)
	}
	if err := signIn("viewer"); err != nil {
		t.Fatal(err)
	}
	err := do(ctx,
		chromedp.Click(chromedp.CSS(`form.who button`)),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#username`)), // signed out for real: back to the sign-in page
	)
	if err != nil {
		t.Fatalf("signing out: %v", err)
	}
	if err := signIn("admin"); err != nil {
		t.Fatal(err)
	}
	err = do(ctx,
		chromedp.Navigate(e.srv.URL+"/admin/accounts"),
		chromedp.WaitVisible(chromedp.CSS(`details.account`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "accounts")
	unlabelled(t, ctx)
}

func TestBrowserIncidentPageWorksOnAPhone(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	id := e.openIncident("checkout", incident.Critical, "Checkout returns 500 for card payments")
	ctx := chromium(t, 390, 844)
	var overflow bool
	var ackWidth float64
	err := do(ctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)),
		chromedp.Navigate(e.srv.URL+"/login?next=/incidents/"+itoa(id)),
		chromedp.SendKeys(chromedp.CSS(`#username`), "responder"),
		chromedp.SendKeys(chromedp.CSS(`#password`), e.password),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`#ack`)),
	)
	if err == nil {
		overflow, err = read(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	}
	if err == nil {
		ackWidth, err = read(ctx, chromedp.Evaluate[float64](`document.querySelector('#ack').getBoundingClientRect().height`))
	}
	if err != nil {
		t.Fatal(err)
	}
	if overflow {
		t.Error("the incident page scrolls sideways on a 390 px wide phone")
	}
	if ackWidth < 44 {
		t.Errorf("the acknowledge button is %.0f px high; touch targets need 44", ackWidth)
	}
}
