// Package email sends pages over SMTP: plain, STARTTLS or implicit TLS, with optional
// authentication.
package email

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify"
)

// Email is the SMTP channel.
type Email struct {
	SMTP config.SMTPSettings
	// Timeout bounds a whole delivery, from connect to QUIT.
	Timeout time.Duration
}

var _ notify.Notifier = (*Email)(nil)

// New returns the channel for the configured server.
func New(s config.SMTPSettings) *Email { return &Email{SMTP: s, Timeout: 30 * time.Second} }

// Notify sends one message. Its Message-ID derives from the idempotency key, so a retry after
// an ambiguous failure is recognisable as the same message.
func (e *Email) Notify(ctx context.Context, to config.ContactMethod, m notify.Message) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	deadline := time.Now().Add(e.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	addr := net.JoinHostPort(e.SMTP.Host, strconv.Itoa(e.SMTP.Port))
	d := net.Dialer{Deadline: deadline}
	tlsCfg := &tls.Config{ServerName: e.SMTP.Host, InsecureSkipVerify: e.SMTP.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	var conn net.Conn
	var err error
	if e.SMTP.TLS == "tls" {
		conn, err = tls.DialWithDialer(&d, "tcp", addr, tlsCfg)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, e.SMTP.Host)
	if err != nil {
		return fmt.Errorf("smtp %s: greeting: %w", addr, err)
	}
	defer c.Close()
	if err := c.Hello("nines"); err != nil {
		return fmt.Errorf("smtp %s: EHLO: %w", addr, err)
	}
	if e.SMTP.TLS == "starttls" || e.SMTP.TLS == "" {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return &notify.PermanentError{Err: fmt.Errorf("smtp %s: the server does not offer STARTTLS; set tls: none to send in clear", addr)}
		}
		if err := c.StartTLS(tlsCfg); err != nil {
			return fmt.Errorf("smtp %s: STARTTLS: %w", addr, err)
		}
	}
	if e.SMTP.Username != "" {
		// net/smtp refuses PLAIN over a clear connection to anything but localhost, which is
		// what keeps a password off the wire.
		if err := c.Auth(smtp.PlainAuth("", e.SMTP.Username, e.SMTP.Password, e.SMTP.Host)); err != nil {
			return fmt.Errorf("smtp %s: AUTH: %w", addr, err)
		}
	}
	if err := c.Mail(e.SMTP.From); err != nil {
		return fmt.Errorf("smtp %s: MAIL FROM: %w", addr, err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return permanentIf5xx(fmt.Errorf("smtp %s: RCPT TO: %w", addr, err), err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", addr, err)
	}
	if _, err := w.Write(Compose(e.SMTP.From, to.Address, m)); err != nil {
		return fmt.Errorf("smtp %s: writing message: %w", addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp %s: end of DATA: %w", addr, err)
	}
	return c.Quit()
}

func permanentIf5xx(wrapped, err error) error {
	if strings.HasPrefix(err.Error(), "5") {
		return &notify.PermanentError{Err: wrapped}
	}
	return wrapped
}

// Compose renders the RFC 5322 message.
func Compose(from, to string, m notify.Message) []byte {
	var b strings.Builder
	host := "nines"
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		host = from[i+1:]
	}
	id := m.Key
	if id == "" {
		var r [8]byte
		rand.Read(r[:])
		id = hex.EncodeToString(r[:])
	}
	at := m.At
	if at.IsZero() {
		at = time.Now()
	}
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", from)
	hdr("To", to)
	hdr("Subject", mime.QEncoding.Encode("utf-8", m.Subject()))
	hdr("Date", at.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+sanitizeID(id)+"@"+host+">")
	if m.IncidentID != 0 {
		// Threads every page of one incident together in mail clients.
		hdr("References", fmt.Sprintf("<incident-%d@%s>", m.IncidentID, host))
	}
	if m.IncidentID != 0 {
		hdr("X-Nines-Incident", strconv.FormatInt(m.IncidentID, 10))
	}
	names := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		// A header is one line: no CR or LF may smuggle in another.
		clean := strings.NewReplacer("\r", " ", "\n", " ")
		hdr(clean.Replace(k), clean.Replace(m.Headers[k]))
	}
	hdr("Auto-Submitted", "auto-generated")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	// The quoted-printable writer already ends lines in CRLF.
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(m.Text()))
	qp.Close()
	return []byte(b.String())
}

// sanitizeID keeps a Message-ID an RFC 5322 dot-atom: the ':' separators of idempotency keys
// become '+', which no id contains, so distinct keys stay distinct.
func sanitizeID(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_':
			return r
		case r == ':':
			return '+'
		}
		return '='
	}, s)
}
