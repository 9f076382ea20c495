package ui_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// Chart labels are readable on a phone: at 390 px every label of the SLO and monitor charts is
// at least 11 px tall as rendered (SVG text shrinks with its viewBox; labels drawn in HTML do
// not), and the labels are there.
func TestBrowserChartLabelsAreReadableOnAPhone(t *testing.T) {
	e := startPhoneEnv(t)
	ctx := e.signInBrowser("admin", 390, 844)
	for _, path := range []string{"/slos/checkout-availability"} {
		if err := do(ctx, chromedp.Navigate(e.n.URL+path), chromedp.WaitVisible(chromedp.CSS(`svg.chart`))); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		labels, err := read(ctx, chromedp.Evaluate[[]float64](`[...document.querySelectorAll('svg.chart text, .chart-labels span')].map(e => e.getBoundingClientRect().height)`))
		if err != nil {
			t.Fatal(err)
		}
		if len(labels) < 3 {
			t.Errorf("%s: %d chart labels, want the scale and the dates", path, len(labels))
		}
		for i, h := range labels {
			if h < 11 {
				t.Errorf("%s: chart label %d is %.1f px tall at 390 px; want at least 11", path, i, h)
			}
		}
	}
}
