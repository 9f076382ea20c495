package email

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/notify/notifytest"
)

var msg = notify.Message{Key: "inc7:r0:s1:alice:email", IncidentID: 7, Title: "Checkout is down — 502 everywhere", Service: "Checkout",
	Severity: "critical", Urgency: "high", Step: 1, At: time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC),
	URL: "http://nines.test/incidents/7", AckURL: "http://nines.test/a/ack-token", ResolveURL: "http://nines.test/a/res-token"}

func TestEmailReachesARealSMTPServer(t *testing.T) {
	cases := []struct {
		name, mode string
		auth       bool
	}{
		{"a plain session delivers", "none", false},
		{"a STARTTLS session with a password delivers encrypted", "starttls", true},
		{"an implicit TLS session with a password delivers encrypted", "tls", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := notifytest.StartSMTP(t, tc.mode)
			set := config.SMTPSettings{Host: srv.Host(), Port: srv.Port(), From: "nines@example.com", TLS: tc.mode, InsecureSkipVerify: true}
			if tc.auth {
				srv.User, srv.Password = "nines", "s3cret"
				set.Username, set.Password = "nines", "s3cret"
			}
			if err := New(set).Notify(context.Background(), config.ContactMethod{Type: "email", Address: "alice@example.com"}, msg); err != nil {
				t.Fatal(err)
			}
			mails := srv.Mails()
			if len(mails) != 1 {
				t.Fatalf("%d mails arrived, want 1", len(mails))
			}
			m := mails[0]
			if m.From != "nines@example.com" || len(m.To) != 1 || m.To[0] != "alice@example.com" {
				t.Errorf("envelope %s -> %v", m.From, m.To)
			}
			if m.TLS != (tc.mode != "none") {
				t.Errorf("TLS = %v in mode %s", m.TLS, tc.mode)
			}
			if tc.auth && m.Auth != "nines" {
				t.Errorf("not authenticated")
			}
			for _, want := range []string{"Message-ID: <inc7+r0+s1+alice+email@example.com>", "Subject: =?utf-8?q?", "http://nines.test/a/ack-token", "Content-Transfer-Encoding: quoted-printable", "\r\n\r\n"} {
				if !strings.Contains(m.Data, want) {
					t.Errorf("message lacks %q:\n%s", want, m.Data)
				}
			}
			if strings.Contains(m.Data, "\r\r") {
				t.Errorf("message has doubled CR")
			}
		})
	}
}

func TestEmailFailures(t *testing.T) {
	t.Run("a server that is down is a retryable error", func(t *testing.T) {
		srv := notifytest.StartSMTP(t, "none")
		port := srv.Port()
		srv.Stop()
		err := New(config.SMTPSettings{Host: "127.0.0.1", Port: port, From: "n@example.com", TLS: "none"}).
			Notify(context.Background(), config.ContactMethod{Address: "a@example.com"}, msg)
		if err == nil || notify.IsPermanent(err) {
			t.Fatalf("err = %v, want a retryable error", err)
		}
	})
	t.Run("a server without STARTTLS is refused when STARTTLS is asked for", func(t *testing.T) {
		srv := notifytest.StartSMTP(t, "none")
		err := New(config.SMTPSettings{Host: srv.Host(), Port: srv.Port(), From: "n@example.com", TLS: "starttls"}).
			Notify(context.Background(), config.ContactMethod{Address: "a@example.com"}, msg)
		if !notify.IsPermanent(err) || len(srv.Mails()) != 0 {
			t.Fatalf("err = %v, mails = %d; want a permanent error and nothing sent in clear", err, len(srv.Mails()))
		}
	})
	t.Run("a wrong password is an error", func(t *testing.T) {
		srv := notifytest.StartSMTP(t, "starttls")
		srv.User, srv.Password = "nines", "right"
		err := New(config.SMTPSettings{Host: srv.Host(), Port: srv.Port(), From: "n@example.com", TLS: "starttls", Username: "nines", Password: "wrong", InsecureSkipVerify: true}).
			Notify(context.Background(), config.ContactMethod{Address: "a@example.com"}, msg)
		if err == nil || len(srv.Mails()) != 0 {
			t.Fatalf("err = %v, mails = %d", err, len(srv.Mails()))
		}
	})
}

// Extra headers (a status page's List-Unsubscribe) are written one to a line: a value with a
// line break cannot add a header of its own.
// TestAMessageTheServerAcceptedIsDeliveredEvenIfTheSessionEndsBadly: once the server has
// answered 250 to the end of DATA it has the message; a connection lost before QUIT must not
// count as a failure, which would send the page again.
func TestAMessageTheServerAcceptedIsDeliveredEvenIfTheSessionEndsBadly(t *testing.T) {
	srv := notifytest.StartSMTP(t, "none")
	srv.HangUp = true
	set := config.SMTPSettings{Host: srv.Host(), Port: srv.Port(), From: "nines@example.com", TLS: "none"}
	if err := New(set).Notify(context.Background(), config.ContactMethod{Type: "email", Address: "alice@example.com"}, msg); err != nil {
		t.Fatalf("a message the server accepted counts as failed: %v", err)
	}
	if n := len(srv.Mails()); n != 1 {
		t.Fatalf("%d mails, want 1", n)
	}
}

func TestComposeWritesExtraHeadersOnOneLineEach(t *testing.T) {
	m := notify.Message{Headline: "Update", Body: "All good.", Headers: map[string]string{
		"List-Unsubscribe":      "<https://status.example.com/u?t=1>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click\r\nBcc: victim@example.com",
	}}
	raw := string(Compose("status@example.com", "sub@example.com", m))
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	if !strings.Contains(head, "\r\nList-Unsubscribe: <https://status.example.com/u?t=1>\r\n") {
		t.Errorf("List-Unsubscribe missing:\n%s", head)
	}
	if strings.Contains(head, "\r\nBcc:") {
		t.Errorf("a line break in a header value added a header:\n%s", head)
	}
	if strings.Contains(head, "X-Nines-Incident") {
		t.Errorf("a message about no incident names one:\n%s", head)
	}
}
