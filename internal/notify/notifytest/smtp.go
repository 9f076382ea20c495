// Package notifytest runs real receivers on loopback for tests of the notification channels:
// an SMTP server (plain, STARTTLS, implicit TLS, AUTH PLAIN) and an HTTP receiver that records
// every request.
package notifytest

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mail is one message the SMTP server accepted.
type Mail struct {
	From string
	To   []string
	Data string
	// TLS reports whether the session was encrypted; Auth is the user that authenticated.
	TLS  bool
	Auth string
	At   time.Time
}

// SMTP is a small SMTP server. It speaks enough of RFC 5321 for net/smtp and real MTAs'
// clients: EHLO/HELO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
type SMTP struct {
	Addr string
	// Mode is "none", "starttls" or "tls".
	Mode string
	// User and Password, when set, are required before MAIL.
	User, Password string
	// Arrived receives every accepted message as it arrives.
	Arrived chan Mail
	// HangUp, when set, closes the connection right after a message is accepted, without
	// waiting for QUIT (as a server restarting between the two does).
	HangUp bool

	t     testing.TB
	tls   *tls.Config
	mu    sync.Mutex
	ln    net.Listener
	mails []Mail
	wg    sync.WaitGroup
}

// StartSMTP starts a server on 127.0.0.1 and stops it when the test ends.
func StartSMTP(t testing.TB, mode string) *SMTP {
	t.Helper()
	s := &SMTP{Mode: mode, t: t, Arrived: make(chan Mail, 1000), tls: testTLS()}
	if err := s.listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Host and Port split Addr.
func (s *SMTP) Host() string { h, _, _ := net.SplitHostPort(s.Addr); return h }

// Port is the port the server listens on.
func (s *SMTP) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *SMTP) listen(addr string) error {
	var ln net.Listener
	var err error
	for i := 0; i < 100; i++ { // the port of a just-stopped server may linger briefly
		ln, err = net.Listen("tcp", addr)
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	if s.Mode == "tls" {
		ln = tls.NewListener(ln, s.tls)
	}
	s.mu.Lock()
	s.ln = ln
	s.Addr = ln.Addr().String()
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.session(c) }()
		}
	}()
	return nil
}

// Stop closes the listener: connections are refused, as when a mail server is down.
func (s *SMTP) Stop() {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	s.wg.Wait()
}

// Restart listens again on the same address.
func (s *SMTP) Restart() {
	if err := s.listen(s.Addr); err != nil {
		s.t.Fatalf("restart SMTP server on %s: %v", s.Addr, err)
	}
}

// Mails returns every accepted message so far.
func (s *SMTP) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

func (s *SMTP) session(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	_, isTLS := c.(*tls.Conn)
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	reply := func(line string) { w.WriteString(line + "\r\n"); w.Flush() }
	reply("220 nines-test ESMTP")
	var m Mail
	authed := ""
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"250-nines-test", "250-8BITMIME"}
			if s.Mode == "starttls" && !isTLS {
				ext = append(ext, "250-STARTTLS")
			}
			if s.User != "" {
				ext = append(ext, "250-AUTH PLAIN")
			}
			ext = append(ext, "250 SIZE 10485760")
			for _, e := range ext {
				w.WriteString(e + "\r\n")
			}
			w.Flush()
		case "HELO":
			reply("250 nines-test")
		case "STARTTLS":
			if s.Mode != "starttls" || isTLS {
				reply("502 not available")
				continue
			}
			reply("220 go ahead")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, isTLS = tc, true
			r, w = bufio.NewReader(c), bufio.NewWriter(c)
			reply = func(line string) { w.WriteString(line + "\r\n"); w.Flush() }
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			if !strings.EqualFold(mech, "PLAIN") {
				reply("504 unrecognized mechanism")
				continue
			}
			raw, _ := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if len(parts) == 3 && parts[1] == s.User && parts[2] == s.Password {
				authed = parts[1]
				reply("235 authenticated")
			} else {
				reply("535 authentication failed")
			}
		case "MAIL":
			if s.User != "" && authed == "" {
				reply("530 authentication required")
				continue
			}
			m = Mail{From: addrOf(arg), TLS: isTLS, Auth: authed}
			reply("250 ok")
		case "RCPT":
			m.To = append(m.To, addrOf(arg))
			reply("250 ok")
		case "DATA":
			reply("354 end with .")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			m.Data, m.At = b.String(), time.Now()
			s.mu.Lock()
			s.mails = append(s.mails, m)
			s.mu.Unlock()
			select {
			case s.Arrived <- m:
			default:
			}
			reply("250 queued")
			s.mu.Lock()
			hangUp := s.HangUp
			s.mu.Unlock()
			if hangUp {
				return
			}
		case "RSET":
			m = Mail{}
			reply("250 ok")
		case "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("500 unknown command")
		}
	}
}

func addrOf(arg string) string {
	if i := strings.IndexByte(arg, '<'); i >= 0 {
		if j := strings.IndexByte(arg[i:], '>'); j >= 0 {
			return arg[i+1 : i+j]
		}
	}
	return arg
}

// testTLS borrows httptest's self-signed certificate for 127.0.0.1.
func testTLS() *tls.Config {
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	cert := srv.TLS.Certificates[0]
	srv.Close()
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

// Next waits up to 10 seconds for the next message to arrive.
func (s *SMTP) Next(t testing.TB) Mail {
	t.Helper()
	select {
	case m := <-s.Arrived:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no mail arrived")
	}
	return Mail{}
}

// None checks that nothing arrives for a moment (the work that would send has run by then).
func (s *SMTP) None(t testing.TB, why string) {
	t.Helper()
	select {
	case m := <-s.Arrived:
		t.Fatalf("%s: %+v", why, m)
	case <-time.After(300 * time.Millisecond):
	}
}

// Header is the message's header, with encoded words (RFC 2047) left as they are.
func (m Mail) Header(t testing.TB) mail.Header {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatalf("not a mail: %v\n%s", err, m.Data)
	}
	return msg.Header
}

// Subject is the message's subject, decoded.
func (m Mail) Subject(t testing.TB) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header(t).Get("Subject"))
	if err != nil {
		t.Fatalf("subject %q: %v", m.Header(t).Get("Subject"), err)
	}
	return s
}

// Body is the message's body as its reader sees it: decoded from quoted-printable or base64
// as its Content-Transfer-Encoding says, with line ends made \n. Of a multipart message it is
// the text/plain part.
func (m Mail) Body(t testing.TB) string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatalf("not a mail: %v\n%s", err, m.Data)
	}
	if mt, _, _ := mime.ParseMediaType(msg.Header.Get("Content-Type")); strings.HasPrefix(mt, "multipart/") {
		return m.Part(t, "text/plain")
	}
	return decodeBody(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body, m.Data)
}

// Part is the first part of a multipart message whose media type is typ, decoded as Body
// decodes; the test fails when the message has no such part.
func (m Mail) Part(t testing.TB, typ string) string {
	t.Helper()
	for _, p := range m.Parts(t) {
		if p.Type == typ {
			return p.Body
		}
	}
	t.Fatalf("the message has no %s part:\n%.3000s", typ, m.Data)
	return ""
}

// MailPart is one part of a multipart message.
type MailPart struct {
	Type    string // media type, without parameters
	Charset string
	Body    string // decoded, line ends made \n
}

// Parts reads the parts of a multipart message with mime/multipart; the test fails when the
// message is not multipart or a part does not read.
func (m Mail) Parts(t testing.TB) []MailPart {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatalf("not a mail: %v\n%s", err, m.Data)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		t.Fatalf("not a multipart message (Content-Type %q): %v", msg.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	var out []MailPart
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("a part does not read: %v\n%s", err, m.Data)
		}
		pt, pp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out = append(out, MailPart{Type: pt, Charset: pp["charset"], Body: decodeBody(t, p.Header.Get("Content-Transfer-Encoding"), p, m.Data)})
	}
}

func decodeBody(t testing.TB, encoding string, r io.Reader, data string) string {
	t.Helper()
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("the body does not decode: %v\n%s", err, data)
	}
	return strings.ReplaceAll(string(body), "\r\n", "\n")
}
