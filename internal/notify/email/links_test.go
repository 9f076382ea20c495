package email

import (
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/notify"
)

// In the HTML mail a detail whose value is an http(s) URL is a link (no other scheme is), and
// an image links to the href its event gave; the text part names that href too.
func TestAMailLinksURLDetailsAndImagesToTheirHref(t *testing.T) {
	_, ev, err := alert.DecodeEventsV2([]byte(`{"routing_key": "` + routingKey + `", "event_action": "trigger",
		"images": [{"src": "https://img.example.com/p99.png", "href": "https://grafana.example.com/d/p99", "alt": "p99"}],
		"payload": {"summary": "Slow", "source": "api-1", "severity": "critical",
		"custom_details": {"dashboard": "https://grafana.example.com/d/checkout", "runbook_url": "http://wiki.example.com/rb", "evil": "javascript:alert(1)", "note": "see https://x.example.com now"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	m := msg
	m.Details = notify.ParseDetails(ev.Details, ev.Source, notify.DetailsOptions{})
	got := send(t, m)
	html, text := got.Part(t, "text/html"), got.Part(t, "text/plain")
	for _, want := range []string{
		`<a href="https://grafana.example.com/d/checkout">https://grafana.example.com/d/checkout</a>`,
		`<a href="http://wiki.example.com/rb">http://wiki.example.com/rb</a>`,
		`<a href="https://grafana.example.com/d/p99"><img src="https://img.example.com/p99.png"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the HTML part lacks %s:\n%s", want, html)
		}
	}
	if strings.Contains(html, `href="javascript`) || strings.Contains(html, `href="see`) {
		t.Errorf("a value that is not an http(s) URL is linked:\n%s", html)
	}
	if !strings.Contains(text, "https://grafana.example.com/d/p99") {
		t.Errorf("the text part does not name where the image links:\n%s", text)
	}
}
