// Package email sends pages over SMTP: plain, STARTTLS or implicit TLS, with optional
// authentication.
package email

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	_ "embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
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
	// The server has accepted the message: a failure to say goodbye must not make it be sent
	// again.
	c.Quit()
	return nil
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
	// A header is one line: no CR or LF from a title, an address or an extra header may
	// smuggle in another.
	hdr := func(k, v string) { b.WriteString(notify.OneLine(k) + ": " + notify.OneLine(v) + "\r\n") }
	hdr("From", from)
	hdr("To", to)
	b.WriteString(fold("Subject: " + mime.QEncoding.Encode("utf-8", notify.OneLine(m.Subject()))))
	hdr("Date", at.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+sanitizeID(id)+"@"+host+">")
	switch {
	case m.Thread != "":
		// Threads every page of one incident together in mail clients.
		hdr("References", "<"+sanitizeID(m.Thread)+"@"+host+">")
	case m.IncidentID != 0:
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
		hdr(k, m.Headers[k])
	}
	hdr("Auto-Submitted", "auto-generated")
	hdr("MIME-Version", "1.0")
	if m.Headline != "" {
		// A notice is text of nines' own: plain text says it all.
		hdr("Content-Type", "text/plain; charset=utf-8")
		hdr("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		writeQP(&b, m.Text())
		return []byte(b.String())
	}
	// A page is a plain-text part and an HTML part with clickable links and the alert's details
	// as tables; the boundary derives from the Message-ID, so a retry is the same message.
	mw := multipart.NewWriter(&b)
	sum := sha256.Sum256([]byte(id))
	mw.SetBoundary("nines-" + hex.EncodeToString(sum[:12]))
	hdr("Content-Type", "multipart/alternative; boundary=\""+mw.Boundary()+"\"")
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Text()}, {"text/html", pageHTML(m)}} {
		w, _ := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		writeQP(w, part.body)
	}
	mw.Close()
	return []byte(b.String())
}

// writeQP writes s quoted-printable; the writer ends lines in CRLF.
func writeQP(w io.Writer, s string) {
	qp := quotedprintable.NewWriter(w)
	qp.Write([]byte(s))
	qp.Close()
}

//go:embed page.html
var pageSource string

var pageTemplate = template.Must(template.New("page").Parse(pageSource))

// pageView is what the HTML part shows.
type pageView struct {
	notify.Message
	Subject string
	Count   int
	All     []notify.Message
}

// pageHTML renders the HTML part. html/template escapes every value for where it stands and
// refuses a link that is not http(s) or relative; titles are put on one line.
func pageHTML(m notify.Message) string {
	v := pageView{Message: m, Subject: m.Subject(), Count: m.Count()}
	for _, x := range append([]notify.Message{m}, m.Bundle...) {
		x.Title, x.Service, x.Severity, x.SEV, x.SEVName = notify.OneLine(x.Title), notify.OneLine(x.Service), notify.OneLine(x.Severity), notify.OneLine(x.SEV), notify.OneLine(x.SEVName)
		v.All = append(v.All, x)
	}
	v.Message.Title, v.Message.Service, v.Message.Severity = v.All[0].Title, v.All[0].Service, v.All[0].Severity
	v.Message.SEV, v.Message.SEVName = v.All[0].SEV, v.All[0].SEVName
	var b strings.Builder
	if err := pageTemplate.Execute(&b, v); err != nil {
		// The template is fixed and its data plain; should it fail, the text part still holds
		// everything.
		return "<p>" + template.HTMLEscapeString(m.Subject()) + "</p>"
	}
	return b.String()
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

// fold writes a header line folded at its spaces (RFC 5322 2.2.3) into lines of at most 78
// characters where a space allows it; a word longer than that (an encoded-word is at most 75)
// stays whole on its line, which the Subject's bound keeps under the 998 RFC 5322 allows.
func fold(line string) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Split(line, " ") {
		switch {
		case i == 0:
		case i > 1 && n+1+len(w) > 78:
			b.WriteString("\r\n")
			n = 0
			fallthrough
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	b.WriteString("\r\n")
	return b.String()
}
