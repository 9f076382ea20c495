package ui_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserCheckNowRunsTheMonitorAsTypedThenItIsSaved: in Chromium, on a phone and on a
// laptop, a monitor typed on the new-monitor form against a loopback server answering 503 is
// checked with "Check now": the page says down and why, and keeps what was typed; pointed at a
// URL answering 200 it says up, and is then saved; on its edit page "Check now" checks the
// edited document, again without saving it.
func TestBrowserCheckNowRunsTheMonitorAsTypedThenItIsSaved(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(target.Close)
	doc := func(path string) string {
		return "id: shop-home\nservice: checkout\ntype: http\nurl: " + target.URL + path + "\n"
	}
	for _, size := range []struct {
		name          string
		width, height int
	}{{"phone", 390, 844}, {"laptop", 1366, 900}} {
		t.Run(size.name, func(t *testing.T) {
			e := startPhoneEnv(t)
			ctx := e.signInBrowser("admin", size.width, size.height)
			err := do(ctx,
				chromedp.Navigate(e.n.URL+"/config/monitors"),
				chromedp.WaitVisible(chromedp.CSS(`#new-object`)),
				chromedp.SendKeys(chromedp.CSS(`#c-id`), "shop-home"),
				chromedp.SetValue(chromedp.CSS(`#c-doc`), doc("/down")),
				chromedp.Click(chromedp.CSS(`#check-now`)),
				chromedp.WaitVisible(chromedp.CSS(`#check-result`)),
			)
			if err != nil {
				t.Fatalf("checking the monitor as typed: %v", err)
			}
			said, _ := read(ctx, chromedp.Text(chromedp.CSS(`#check-result`)))
			if !strings.Contains(said, "Down") || !strings.Contains(said, "unexpected status code") || !strings.Contains(said, "503") {
				t.Errorf("the check of a URL answering 503 says %q", said)
			}
			typed, _ := read(ctx, chromedp.Value(chromedp.CSS(`#c-doc`)))
			if typed != doc("/down") {
				t.Errorf("the form lost what was typed: %q", typed)
			}
			if e.n.Config.Get().Monitor("shop-home") != nil {
				t.Fatal("checking the monitor saved it")
			}
			if size.width == 390 {
				if wide, err := read(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`)); err != nil || wide > 390 {
					t.Errorf("the page with a check's result is %v px wide on a 390 px phone (%v)", wide, err)
				}
			}
			screenshot(t, ctx, "config-check-now-"+size.name)

			err = do(ctx,
				chromedp.SetValue(chromedp.CSS(`#c-doc`), doc("/up")),
				chromedp.Click(chromedp.CSS(`#check-now`)),
				chromedp.WaitVisible(chromedp.CSS(`#check-result.done`)),
			)
			if err != nil {
				t.Fatalf("checking the fixed monitor: %v", err)
			}
			if said, _ := read(ctx, chromedp.Text(chromedp.CSS(`#check-result`))); !strings.HasPrefix(strings.TrimSpace(said), "Up in ") || !strings.Contains(said, " ms") {
				t.Errorf("the check of a URL answering 200 says %q", said)
			}
			err = do(ctx,
				chromedp.Click(chromedp.CSS(`#new-object button[type=submit]:not([name])`)),
				chromedp.WaitVisible(chromedp.CSS(`#edit-object`)),
			)
			if err != nil {
				t.Fatalf("saving the monitor: %v", err)
			}
			if m := e.n.Config.Get().Monitor("shop-home"); m == nil || !strings.HasSuffix(m.URL, "/up") {
				t.Fatalf("the monitor in force: %+v", m)
			}

			// On its edit page, Check now checks the document as edited, and saves nothing.
			err = do(ctx,
				chromedp.SetValue(chromedp.CSS(`#o-doc`), doc("/down")),
				chromedp.Click(chromedp.CSS(`#check-now`)),
				chromedp.WaitVisible(chromedp.CSS(`#check-result.error`)),
			)
			if err != nil {
				t.Fatalf("checking the edited monitor: %v", err)
			}
			if typed, _ := read(ctx, chromedp.Value(chromedp.CSS(`#o-doc`))); typed != doc("/down") {
				t.Errorf("the editor lost what was typed: %q", typed)
			}
			if m := e.n.Config.Get().Monitor("shop-home"); m == nil || !strings.HasSuffix(m.URL, "/up") {
				t.Errorf("checking an edit changed the monitor in force: %+v", m)
			}
		})
	}
}
