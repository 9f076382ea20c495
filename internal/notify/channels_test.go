package notify_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/notify/ntfy"
	"github.com/nines-dev/nines/internal/notify/slack"
	"github.com/nines-dev/nines/internal/notify/teams"
	"github.com/nines-dev/nines/internal/notify/twilio"
	"github.com/nines-dev/nines/internal/notify/webhook"
)

var page = notify.Message{Key: "inc7:r0:s1:alice:x", IncidentID: 7, Title: "Checkout <down> & out", Service: "Checkout",
	Severity: "critical", Urgency: "high", Step: 1, At: time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC),
	URL: "http://nines.test/incidents/7", AckURL: "http://nines.test/a/ack", ResolveURL: "http://nines.test/a/res"}

func TestHTTPChannelsReachRealReceivers(t *testing.T) {
	twilioSet := config.TwilioSettings{AccountSID: "AC123", AuthToken: "tok", From: "+15550001111"}
	cases := []struct {
		name   string
		ch     notify.Notifier
		method config.ContactMethod
		check  func(t *testing.T, r notifytest.Request)
	}{
		{"a webhook carries a verifiable HMAC-SHA256 signature and the idempotency key",
			&webhook.Webhook{Now: func() time.Time { return time.Unix(1774855800, 0) }}, config.ContactMethod{Type: "webhook", Secret: "shh"},
			func(t *testing.T, r notifytest.Request) {
				if got, want := r.Header.Get("X-Nines-Signature"), webhook.Sign("shh", 1774855800, r.Body); got != want {
					t.Errorf("signature %q, want %q", got, want)
				}
				if webhook.Sign("other", 1774855800, r.Body) == r.Header.Get("X-Nines-Signature") {
					t.Errorf("signature does not depend on the secret")
				}
				if r.Header.Get("Idempotency-Key") != page.Key || r.Header.Get("X-Nines-Timestamp") != "1774855800" {
					t.Errorf("headers %v", r.Header)
				}
				var p webhook.Payload
				if err := json.Unmarshal(r.Body, &p); err != nil || p.IncidentID != 7 || p.AckURL != page.AckURL {
					t.Errorf("payload %s: %v", r.Body, err)
				}
			}},
		{"slack gets blocks with acknowledge and resolve buttons and escaped markup",
			&slack.Slack{}, config.ContactMethod{Type: "slack"},
			func(t *testing.T, r notifytest.Request) {
				s := string(r.Body)
				for _, want := range []string{`"text":"Acknowledge"`, `"url":"http://nines.test/a/ack"`, `"url":"http://nines.test/a/res"`, `Checkout &lt;down&gt; &amp; out`} {
					if !strings.Contains(s, want) {
						t.Errorf("slack body lacks %s: %s", want, s)
					}
				}
			}},
		{"teams gets an adaptive card with open-url actions",
			&teams.Teams{}, config.ContactMethod{Type: "teams"},
			func(t *testing.T, r notifytest.Request) {
				var body struct {
					Attachments []struct {
						ContentType string `json:"contentType"`
						Content     struct {
							Type    string `json:"type"`
							Actions []struct{ Type, Title, URL string }
						} `json:"content"`
					} `json:"attachments"`
				}
				if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Attachments) != 1 {
					t.Fatalf("teams body %s: %v", r.Body, err)
				}
				a := body.Attachments[0]
				if a.ContentType != "application/vnd.microsoft.card.adaptive" || a.Content.Type != "AdaptiveCard" || len(a.Content.Actions) != 3 || a.Content.Actions[0].URL != page.AckURL {
					t.Errorf("card %+v", a)
				}
			}},
		{"ntfy gets an urgent push with actions and the topic's token",
			&ntfy.Ntfy{}, config.ContactMethod{Type: "push", Secret: "tk_abc"},
			func(t *testing.T, r notifytest.Request) {
				if r.Header.Get("Priority") != "5" || r.Header.Get("Authorization") != "Bearer tk_abc" || !strings.Contains(r.Header.Get("Actions"), "view, Acknowledge, http://nines.test/a/ack") {
					t.Errorf("headers %v", r.Header)
				}
				if !strings.Contains(string(r.Body), "Incident #7") {
					t.Errorf("body %s", r.Body)
				}
			}},
		{"a twilio-shaped SMS posts the short text with basic auth and an idempotency token",
			&twilio.SMS{Settings: twilioSet}, config.ContactMethod{Type: "sms", Address: "+33612345678"},
			func(t *testing.T, r notifytest.Request) {
				f, _ := url.ParseQuery(string(r.Body))
				if r.Path != "/2010-04-01/Accounts/AC123/Messages.json" || r.User != "AC123" || r.Pass != "tok" {
					t.Errorf("path %s auth %s:%s", r.Path, r.User, r.Pass)
				}
				if f.Get("To") != "+33612345678" || f.Get("From") != "+15550001111" || !strings.Contains(f.Get("Body"), "Ack: http://nines.test/a/ack") {
					t.Errorf("form %v", f)
				}
				if r.Header.Get("I-Twilio-Idempotency-Token") != page.Key {
					t.Errorf("no idempotency token")
				}
			}},
		{"a twilio-shaped call carries TwiML that reads the page with markup escaped",
			&twilio.Voice{Settings: twilioSet}, config.ContactMethod{Type: "voice", Address: "+33612345678"},
			func(t *testing.T, r notifytest.Request) {
				f, _ := url.ParseQuery(string(r.Body))
				tw := f.Get("Twiml")
				if r.Path != "/2010-04-01/Accounts/AC123/Calls.json" || !strings.Contains(tw, "<Say>This is nines. Incident 7") || !strings.Contains(tw, "&lt;down&gt;") {
					t.Errorf("path %s form %v", r.Path, f)
				}
				if !strings.HasPrefix(tw, `<Response><Gather numDigits="1" timeout="8" method="POST" action="http://nines.test/a/ack/voice">`) || !strings.Contains(tw, "Press 1 to acknowledge.") {
					t.Errorf("the call offers no keypress acknowledgement: %s", tw)
				}
				var doc struct{ XMLName xml.Name }
				if err := xml.Unmarshal([]byte(tw), &doc); err != nil || doc.XMLName.Local != "Response" {
					t.Errorf("TwiML is not well-formed XML: %v", err)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := notifytest.StartReceiver(t)
			m := tc.method
			m.Address = rc.URL + "/hook/secret-part"
			switch ch := tc.ch.(type) {
			case *twilio.SMS:
				ch.Settings.BaseURL = rc.URL
				m.Address = tc.method.Address
			case *twilio.Voice:
				ch.Settings.BaseURL = rc.URL
				m.Address = tc.method.Address
			}
			if err := tc.ch.Notify(context.Background(), m, page); err != nil {
				t.Fatal(err)
			}
			reqs := rc.Requests()
			if len(reqs) != 1 || reqs[0].Method != "POST" {
				t.Fatalf("receiver got %d requests", len(reqs))
			}
			tc.check(t, reqs[0])
		})
	}
}

func TestHTTPFailuresSayWhetherToRetry(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		permanent bool
	}{
		{"a 500 is retried", 500, false},
		{"a 429 is retried", 429, false},
		{"a 404 is not retried", 404, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := notifytest.StartReceiver(t)
			rc.Status = func(int) int { return tc.status }
			err := (&slack.Slack{}).Notify(context.Background(), config.ContactMethod{Address: rc.URL + "/services/T000/SECRET"}, page)
			if err == nil || notify.IsPermanent(err) != tc.permanent {
				t.Fatalf("err = %v, permanent = %v", err, notify.IsPermanent(err))
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error leaks the webhook URL's secret path: %v", err)
			}
		})
	}
	t.Run("a refused connection does not leak the URL", func(t *testing.T) {
		err := (&slack.Slack{}).Notify(context.Background(), config.ContactMethod{Address: "http://127.0.0.1:1/services/T000/SECRET"}, page)
		if err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Fatalf("err = %v", err)
		}
	})
}
