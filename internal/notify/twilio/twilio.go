// Package twilio sends SMS and places voice calls through a Twilio-compatible REST API; the
// base URL is configurable so any provider speaking the same API (or a test receiver) works.
package twilio

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify"
)

// SMS sends text messages.
type SMS struct {
	Settings config.TwilioSettings
	Client   *http.Client
}

// Voice places calls that read the page out.
type Voice struct {
	Settings config.TwilioSettings
	Client   *http.Client
}

var (
	_ notify.Notifier = (*SMS)(nil)
	_ notify.Notifier = (*Voice)(nil)
)

// Notify sends one SMS with the subject and the acknowledge link.
func (s *SMS) Notify(ctx context.Context, to config.ContactMethod, m notify.Message) error {
	body := m.Short()
	if len(body) > 1500 {
		body = body[:1500]
	}
	return post(ctx, s.Client, s.Settings, "Messages.json", url.Values{"To": {to.Address}, "From": {s.Settings.From}, "Body": {body}}, m.Key)
}

// Notify calls the number and reads the page; when the page has an acknowledge link, pressing 1
// acknowledges (Twilio posts the digit to the link's /voice endpoint).
func (v *Voice) Notify(ctx context.Context, to config.ContactMethod, m notify.Message) error {
	return post(ctx, v.Client, v.Settings, "Calls.json", url.Values{"To": {to.Address}, "From": {v.Settings.From}, "Twiml": {TwiML(m)}}, m.Key)
}

// TwiML is the call's script. A bundled call says how many incidents it covers and pressing 1
// acknowledges all of them.
func TwiML(m notify.Message) string {
	say := fmt.Sprintf("This is nines. Incident %d on %s: %s. Severity %s.", m.IncidentID, notify.OneLine(m.Service), notify.OneLine(m.Title), m.SeverityText())
	if n := m.Count(); n > 1 {
		say = fmt.Sprintf("This is nines. %d incidents need attention. The first: incident %d on %s: %s.", n, m.IncidentID, notify.OneLine(m.Service), notify.OneLine(m.Title))
	}
	action, press := m.AckURL, " Press 1 to acknowledge."
	if m.AckAllURL != "" {
		action, press = m.AckAllURL, fmt.Sprintf(" Press 1 to acknowledge all %d.", m.Count())
	}
	if action == "" {
		return "<Response><Say>" + escape(say) + "</Say><Pause length=\"1\"/><Say>" + escape(say) + "</Say></Response>"
	}
	prompt := escape(say + press)
	return `<Response><Gather numDigits="1" timeout="8" method="POST" action="` + escape(action+"/voice") + `">` +
		"<Say>" + prompt + "</Say><Pause length=\"1\"/><Say>" + prompt + "</Say></Gather><Say>Not acknowledged. Goodbye.</Say></Response>"
}

func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func post(ctx context.Context, c *http.Client, s config.TwilioSettings, resource string, form url.Values, key string) error {
	u := strings.TrimRight(s.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(s.AccountSID) + "/" + resource
	h := http.Header{}
	h.Set("Authorization", "Basic "+basic(s.AccountSID, s.AuthToken))
	// Twilio drops a request whose idempotency token it has seen, so a retry never doubles a call.
	h.Set("I-Twilio-Idempotency-Token", key)
	return notify.Post(ctx, c, u, "application/x-www-form-urlencoded", []byte(form.Encode()), h)
}

func basic(user, pass string) string {
	req, _ := http.NewRequest("GET", "http://x", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}
