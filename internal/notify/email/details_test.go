package email

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/notify/notifytest"
)

const routingKey = "0123456789abcdef0123456789abcdef"

// detailed is msg with the details the alert pipeline stores for an Events v2 trigger.
func detailed(t *testing.T, custom string) notify.Message {
	t.Helper()
	_, ev, err := alert.DecodeEventsV2([]byte(`{"routing_key": "` + routingKey + `", "event_action": "trigger",
		"links": [{"href": "https://runbooks.example.com/db?a=1&b=2", "text": "Runbook"}],
		"images": [{"src": "https://img.example.com/pool.png", "alt": "pool \"size\""}],
		"payload": {"summary": "Pool exhausted", "source": "db-primary.prod", "severity": "critical", "custom_details": ` + custom + `}}`))
	if err != nil {
		t.Fatal(err)
	}
	m := msg
	m.Details = notify.ParseDetails(ev.Details, ev.Source, notify.DetailsOptions{Secrets: []string{routingKey}})
	return m
}

// send delivers m through a real SMTP server on loopback and returns what arrived.
func send(t *testing.T, m notify.Message) notifytest.Mail {
	t.Helper()
	srv := notifytest.StartSMTP(t, "none")
	set := config.SMTPSettings{Host: srv.Host(), Port: srv.Port(), From: "nines@example.com", TLS: "none"}
	if err := New(set).Notify(context.Background(), config.ContactMethod{Type: "email", Address: "alice@example.com"}, m); err != nil {
		t.Fatal(err)
	}
	return srv.Next(t)
}

func TestAPageMailHasATextAndAnHTMLPartWithTheAlertDetails(t *testing.T) {
	got := send(t, detailed(t, `{"waiting": 412, "note": "<script>alert(1)</script>", "password": "hunter2", "token_ref": "key `+routingKey+`"}`))
	if ct := got.Header(t).Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative; boundary=") {
		t.Fatalf("Content-Type %q", ct)
	}
	parts := got.Parts(t)
	if len(parts) != 2 || parts[0].Type != "text/plain" || parts[1].Type != "text/html" || parts[0].Charset != "utf-8" || parts[1].Charset != "utf-8" {
		t.Fatalf("parts %+v: want text/plain then text/html (the preferred last), both utf-8", parts)
	}
	text, page := parts[0].Body, parts[1].Body
	cases := []struct {
		name          string
		got           string
		want, wantNot []string
	}{
		{"the text part lists the details and the links", text,
			[]string{"Source: db-primary.prod\n", "Details:\n  waiting: 412\n", "  note: <script>alert(1)</script>\n", "  password: [redacted]\n",
				"Links:\n  Runbook: https://runbooks.example.com/db?a=1&b=2\n", "Acknowledge: http://nines.test/a/ack-token\n"},
			[]string{"hunter2", routingKey}},
		{"the HTML part has the details as a table, escaped", page,
			[]string{`<th style="text-align:left;vertical-align:top;padding:2px 12px 2px 0;font-weight:600;white-space:nowrap">waiting</th><td style="padding:2px 0;word-break:break-word">412</td>`,
				">&lt;script&gt;alert(1)&lt;/script&gt;</td>", ">[redacted]</td>"},
			[]string{"<script>", "hunter2", routingKey}},
		{"the HTML part has clickable links", page,
			[]string{`<a href="http://nines.test/a/ack-token"`, `<a href="http://nines.test/a/res-token"`, `<a href="http://nines.test/incidents/7"`,
				`<a href="https://runbooks.example.com/db?a=1&amp;b=2">Runbook</a>`, `<img src="https://img.example.com/pool.png" alt="pool &#34;size&#34;"`},
			nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, w := range c.want {
				if !strings.Contains(c.got, w) {
					t.Errorf("lacks %q:\n%s", w, c.got)
				}
			}
			for _, w := range c.wantNot {
				if strings.Contains(c.got, w) {
					t.Errorf("has %q:\n%s", w, c.got)
				}
			}
		})
	}
	// Every link in the HTML part is an http(s) URL a reader can click.
	for _, m := range regexp.MustCompile(`(?:href|src)="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if u := html.UnescapeString(m[1]); !alert.SafeHref(u) {
			t.Errorf("link %q in the HTML part", u)
		}
	}
}

func TestHugeDetailsMakeABoundedMail(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < 4000; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"k%04d": "%s"`, i, strings.Repeat("<é>", 400))
	}
	b.WriteString("}")
	got := send(t, detailed(t, b.String()))
	t.Logf("details of %d bytes make a mail of %d bytes", b.Len(), len(got.Data))
	if len(got.Data) > 512<<10 {
		t.Errorf("a mail of %d bytes from details of %d", len(got.Data), b.Len())
	}
	text, page := got.Part(t, "text/plain"), got.Part(t, "text/html")
	if !regexp.MustCompile(`\n  … \d+ more\n`).MatchString(text) || !regexp.MustCompile(`… \d+ more</td>`).MatchString(page) {
		t.Errorf("the mail does not count the rows it leaves out")
	}
}

func TestDetailsNeverReachTheMailHeader(t *testing.T) {
	got := send(t, detailed(t, `{"x": "a\r\nBcc: victim@example.com", "y\r\nX-Injected: yes": 1}`))
	head, _, _ := strings.Cut(got.Data, "\r\n\r\n")
	if strings.Contains(head, "Bcc:") || strings.Contains(head, "X-Injected") {
		t.Errorf("details reached the header:\n%s", head)
	}
}
