package emailin_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/emailin"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// mailConfig has two services that take mail: checkout keeps each mail its own alert, database
// pairs Nagios' PROBLEM and RECOVERY mails by the subject.
const mailConfig = `
server:
  smtp_listen: 127.0.0.1:0
  smtp_hostname: mail.nines.test
  smtp_max_message_size: %d
  smtp_timeout: %s
services:
  - id: checkout
    integrations:
      - {type: email, key: checkout-mail}
      - {type: events_v2, key: 0123456789abcdef0123456789abcdef}
  - id: database
    incident_grouping: alert
    integrations:
      - type: email
        key: db-nagios
        email:
          dedup_key: 'Service Alert: (\S+) is'
          resolve: '^\*\* RECOVERY'
          severity: critical
`

// mailNines is nines, wired as serve wires it, taking mail on a loopback port.
type mailNines struct {
	t    *testing.T
	app  *app.App
	addr string
}

func startMailNines(t *testing.T, db *store.DB, maxSize int, timeout string) *mailNines {
	t.Helper()
	return startMailNinesLogging(t, db, maxSize, timeout, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func startMailNinesLogging(t *testing.T, db *store.DB, maxSize int, timeout string, log *slog.Logger) *mailNines {
	t.Helper()
	cfg, err := config.Parse("nines.yaml", []byte(fmt.Sprintf(mailConfig, maxSize, timeout)))
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), config.NewLive(cfg), db, clock.NewFake(time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC)),
		log, app.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	a.Start()
	addr, err := a.ListenEmail()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	return &mailNines{t: t, app: a, addr: addr.String()}
}

func eml(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../alert/testdata/email", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// incidents lists every incident, oldest first, with its alerts.
func (n *mailNines) incidents() []incidentWithAlerts {
	n.t.Helper()
	incs, _, err := n.app.Incidents.List(context.Background(), incident.Filter{Limit: 100})
	if err != nil {
		n.t.Fatal(err)
	}
	var out []incidentWithAlerts
	for i := len(incs) - 1; i >= 0; i-- {
		as, err := n.app.Pipeline.ForIncident(context.Background(), incs[i].ID)
		if err != nil {
			n.t.Fatal(err)
		}
		out = append(out, incidentWithAlerts{incs[i], as})
	}
	return out
}

type incidentWithAlerts struct {
	incident.Incident
	alerts []alert.Alert
}

func (i incidentWithAlerts) body() string {
	var d struct{ Body string }
	json.Unmarshal(i.alerts[0].Details, &d)
	return d.Body
}

func TestMailToAnEmailIntegrationOpensAnIncidentOnceDurable(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		n := startMailNines(t, db, 1<<20, "1m")
		// net/smtp returns once the server has answered 250 to DATA; the incident must exist
		// then, without waiting: a 250 means committed, as a 202 does.
		if err := smtp.SendMail(n.addr, nil, "cron@backup.example.com", []string{"checkout-mail@nines.example.com"}, eml(t, "plain.eml")); err != nil {
			t.Fatal(err)
		}
		incs := n.incidents()
		if len(incs) != 1 || incs[0].ServiceID != "checkout" || incs[0].Title != "Nightly backup of orders failed" ||
			incs[0].alerts[0].Integration != "email" || incs[0].alerts[0].DedupKey != "20260302013000.1234@backup.example.com" ||
			!strings.Contains(incs[0].body(), "pg_dump: error") {
			t.Fatalf("after one plain mail: %+v", incs)
		}
		// Multipart, to the key in capitals at another domain: the text part is the details.
		if err := smtp.SendMail(n.addr, nil, "alerts@grafana.example.com", []string{"CHECKOUT-MAIL@other.example.org"}, eml(t, "multipart-alternative.eml")); err != nil {
			t.Fatal(err)
		}
		incs = n.incidents()
		if len(incs) != 2 || incs[1].Title != "[FIRING:1] Checkout p99 latency — 2.4s" ||
			incs[1].body() != "p99 latency of checkout is 2.4s — threshold 1s.\nDashboard: https://grafana.example.com/d/checkout" {
			t.Fatalf("after a multipart mail: %+v", incs[1])
		}
		// The same mail again (same Message-ID) is a repeat of its alert, not a new one.
		if err := smtp.SendMail(n.addr, nil, "alerts@grafana.example.com", []string{"checkout-mail@nines.example.com"}, eml(t, "multipart-alternative.eml")); err != nil {
			t.Fatal(err)
		}
		if incs = n.incidents(); len(incs) != 2 || incs[1].alerts[0].Count != 2 {
			t.Errorf("a mail sent twice: %d incidents, count %d", len(incs), incs[1].alerts[0].Count)
		}
	})
}

func TestSubjectExpressionsResolveByMail(t *testing.T) {
	n := startMailNines(t, storetest.SQLite(t, app.Schemas()), 1<<20, "1m")
	send := func(name string) {
		t.Helper()
		if err := smtp.SendMail(n.addr, nil, "nagios@monitor.example.com", []string{"db-nagios@nines.example.com"}, eml(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	send("nagios-problem.eml")
	incs := n.incidents()
	if len(incs) != 1 || incs[0].State != incident.Triggered || incs[0].Severity != "critical" || incs[0].alerts[0].DedupKey != "db-1/PostgreSQL" {
		t.Fatalf("after PROBLEM: %+v", incs)
	}
	send("nagios-recovery.eml")
	if incs = n.incidents(); len(incs) != 1 || incs[0].State != incident.Resolved {
		t.Fatalf("after RECOVERY: %+v", incs)
	}
}

func TestOneMailToTwoIntegrationsOpensAnIncidentForEach(t *testing.T) {
	n := startMailNines(t, storetest.SQLite(t, app.Schemas()), 1<<20, "1m")
	err := smtp.SendMail(n.addr, nil, "nagios@monitor.example.com",
		[]string{"checkout-mail@a.example", "db-nagios@b.example", "checkout-mail@c.example"}, eml(t, "nagios-problem.eml"))
	if err != nil {
		t.Fatal(err)
	}
	incs := n.incidents()
	if len(incs) != 2 || incs[0].ServiceID != "checkout" || incs[1].ServiceID != "database" {
		t.Fatalf("incidents = %+v, want one for checkout and one for database", incs)
	}
	// checkout's key twice, at two domains, is one recipient: one trigger, not a repeat.
	if c := incs[0].alerts[0].Count; c != 1 {
		t.Errorf("checkout's alert was triggered %d times by one mail", c)
	}
}

// smtpReply reads one (possibly multi-line) reply.
func smtpReply(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var all []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading a reply: %v (so far %q)", err, all)
		}
		all = append(all, strings.TrimRight(line, "\r\n"))
		if len(line) < 4 || line[3] != '-' {
			return strings.Join(all, "\n")
		}
	}
}

// converse runs a raw SMTP conversation: each command, then the reply wanted to start with.
func converse(t *testing.T, addr string, steps ...string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if got := smtpReply(t, r); !strings.HasPrefix(got, "220 mail.nines.test") {
		t.Fatalf("greeting %q", got)
	}
	for i := 0; i+1 < len(steps); i += 2 {
		fmt.Fprintf(c, "%s\r\n", steps[i])
		if got := smtpReply(t, r); !strings.HasPrefix(got, steps[i+1]) {
			t.Fatalf("%s -> %q, want %q", strings.SplitN(steps[i], "\r\n", 2)[0], got, steps[i+1])
		}
	}
}

func TestWhatMailIsRefusedAndHow(t *testing.T) {
	n := startMailNines(t, storetest.SQLite(t, app.Schemas()), 4096, "1m")
	t.Run("an unknown key is refused at RCPT, before the message is sent", func(t *testing.T) {
		converse(t, n.addr, "EHLO client.example", "250", "MAIL FROM:<a@b.example>", "250",
			"RCPT TO:<nobody-here@nines.example.com>", "550 5.1.1",
			// An events_v2 key is no mailbox either.
			"RCPT TO:<0123456789abcdef0123456789abcdef@nines.example.com>", "550 5.1.1",
			"DATA", "502") // no recipient was accepted
	})
	t.Run("net/smtp sees the refusal", func(t *testing.T) {
		err := smtp.SendMail(n.addr, nil, "a@b.example", []string{"nobody-here@nines.example.com"}, eml(t, "plain.eml"))
		if err == nil || !strings.Contains(err.Error(), "550") {
			t.Errorf("SendMail to an unknown key: %v", err)
		}
	})
	t.Run("a message over smtp_max_message_size is refused with 552", func(t *testing.T) {
		big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 400) // 7 KiB
		err := smtp.SendMail(n.addr, nil, "a@b.example", []string{"checkout-mail@nines.example.com"}, []byte(big))
		if err == nil || !strings.Contains(err.Error(), "552") {
			t.Errorf("SendMail of 7 KiB with a 4 KiB limit: %v", err)
		}
		// A sender that announces the size is refused at MAIL FROM, before sending it.
		converse(t, n.addr, "EHLO client.example", "250", "MAIL FROM:<a@b.example> SIZE=100000", "552")
	})
	t.Run("the eleventh recipient of one message is refused with 452", func(t *testing.T) {
		steps := []string{"EHLO client.example", "250", "MAIL FROM:<a@b.example>", "250"}
		for range emailin.MaxRecipients {
			steps = append(steps, "RCPT TO:<checkout-mail@nines.example.com>", "250")
		}
		converse(t, n.addr, append(steps, "RCPT TO:<checkout-mail@nines.example.com>", "452")...)
	})
	t.Run("a header that cannot be read is refused with 550 5.6.0", func(t *testing.T) {
		converse(t, n.addr, "EHLO client.example", "250", "MAIL FROM:<a@b.example>", "250",
			"RCPT TO:<checkout-mail@nines.example.com>", "250", "DATA", "354",
			"this is not a header\r\n\r\nbody\r\n.", "550 5.6.0")
	})
	if incs := n.incidents(); len(incs) != 0 {
		t.Errorf("refused mail opened incidents: %+v", incs)
	}
}

func TestConnectionsOverTheLimitAreTurnedAway(t *testing.T) {
	n := startMailNines(t, storetest.SQLite(t, app.Schemas()), 1<<20, "1m")
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	dial := func() string {
		c, err := net.Dial("tcp", n.addr)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		return smtpReply(t, bufio.NewReader(c))
	}
	for i := range emailin.MaxClientConnections {
		if got := dial(); !strings.HasPrefix(got, "220") {
			t.Fatalf("connection %d: %q", i+1, got)
		}
	}
	if got := dial(); !strings.HasPrefix(got, "421 4.7.0") {
		t.Fatalf("connection %d from one client: %q, want 421", emailin.MaxClientConnections+1, got)
	}
	// Once one closes, a new one is let in.
	open[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := dial()
		if strings.HasPrefix(got, "220") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after a connection closed: %q", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAnIdleClientIsCutOffAfterTheTimeout(t *testing.T) {
	n := startMailNines(t, storetest.SQLite(t, app.Schemas()), 1<<20, "1s")
	c, err := net.Dial("tcp", n.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	smtpReply(t, r) // greeting; then say nothing
	if got := smtpReply(t, r); !strings.HasPrefix(got, "421") {
		t.Errorf("an idle client got %q, want 421", got)
	}
}

// TestPythonsSmtplibDeliversAnAlert sends with Python's smtplib a message built by its email
// package (multipart/alternative, UTF-8, encoded subject), as a script of a team would.
func TestPythonsSmtplibDeliversAnAlert(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is missing: ./scripts/test installs it")
	}
	n := startMailNines(t, storetest.SQLite(t, app.Schemas()), 1<<20, "1m")
	host, port, _ := net.SplitHostPort(n.addr)
	script := `
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "ops-script@example.com"
m["To"] = "checkout-mail@nines.example.com"
m["Subject"] = "Disque presque plein sur db-2 — 97 %"
m.set_content("Le disque /var de db-2 est plein à 97 %.\nNettoyer les journaux.")
m.add_alternative("<p>Le disque <b>/var</b> de db-2 est plein à 97 %.</p>", subtype="html")
with smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=10) as s:
    s.send_message(m)
try:
    with smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=10) as s:
        s.send_message(m, to_addrs=["nobody@nines.example.com"])
    print("unknown key accepted")
except smtplib.SMTPRecipientsRefused as e:
    print("refused", e.recipients["nobody@nines.example.com"][0])
`
	out, err := exec.Command(python, "-c", script, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "refused 550" {
		t.Errorf("python says %q, want the unknown key refused with 550", out)
	}
	incs := n.incidents()
	if len(incs) != 1 || incs[0].Title != "Disque presque plein sur db-2 — 97 %" ||
		incs[0].body() != "Le disque /var de db-2 est plein à 97 %.\nNettoyer les journaux." || incs[0].alerts[0].Source != "ops-script@example.com" {
		t.Fatalf("incidents = %+v (body %q)", incs, incs[0].body())
	}
}

// TestADataNotOverWithinTheTimeoutClosesTheConnection sends half a message, waits past the
// timeout, then the rest: the client hears one 421 and the connection closes. The rest of the
// body is never read as commands (each line would get a 500), and nothing is stored.
func TestADataNotOverWithinTheTimeoutClosesTheConnection(t *testing.T) {
	n := startMailNines(t, storetest.SQLite(t, app.Schemas()), 1<<20, "1s")
	c, err := net.Dial("tcp", n.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	r := bufio.NewReader(c)
	smtpReply(t, r)
	for _, step := range []struct{ say, want string }{
		{"EHLO slow.example.com", "250"}, {"MAIL FROM:<cron@example.com>", "250"}, {"RCPT TO:<checkout-mail@nines.example.com>", "250"}, {"DATA", "354"},
	} {
		fmt.Fprintf(c, "%s\r\n", step.say)
		if got := smtpReply(t, r); !strings.HasPrefix(got, step.want) {
			t.Fatalf("%s: %q, want %s", step.say, got, step.want)
		}
	}
	fmt.Fprintf(c, "Subject: backup failed\r\n\r\nThe first half of the body\r\n")
	time.Sleep(1500 * time.Millisecond)
	fmt.Fprintf(c, "QUIT\r\nRSET\r\nNOOP\r\nthe rest of the body\r\n.\r\n")
	if got := smtpReply(t, r); !strings.HasPrefix(got, "421") {
		t.Errorf("a DATA past the timeout got %q, want 421", got)
	}
	rest, err := io.ReadAll(r)
	if len(rest) > 0 || err != nil {
		t.Errorf("after the 421 the server said %q (%v), want the connection closed", rest, err)
	}
	if incs := n.incidents(); len(incs) != 0 {
		t.Errorf("%d incidents from a message cut off, want none", len(incs))
	}
}

// A mail whose Subject holds a NUL byte (or bytes that are not UTF-8) is taken: PostgreSQL
// refused the text, so such a mail got 451 on every retry and its alert never arrived. It is
// kept with U+FFFD in their place, on both backends alike.
func TestAMailWithANULInItsSubjectIsTaken(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		n := startMailNines(t, db, 1<<20, "1m")
		msg := "From: cron@backup.example.com\r\nTo: checkout-mail@nines.example.com\r\nMessage-ID: <nul\x00id@backup.example.com>\r\n" +
			"Subject: Backup\x00failed \xff\xfe on db1\r\n\r\nThe body\x00 has one too.\r\n"
		if err := smtp.SendMail(n.addr, nil, "cron@backup.example.com", []string{"checkout-mail@nines.example.com"}, []byte(msg)); err != nil {
			t.Fatalf("a mail with a NUL in its subject: %v", err)
		}
		incs := n.incidents()
		if len(incs) != 1 || incs[0].Title != "Backup\ufffdfailed \ufffd on db1" {
			t.Fatalf("after the mail: %+v", incs)
		}
		// The same mail again is a repeat of its alert: its key is the key stored.
		if err := smtp.SendMail(n.addr, nil, "cron@backup.example.com", []string{"checkout-mail@nines.example.com"}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		if incs = n.incidents(); len(incs) != 1 || incs[0].alerts[0].Count != 2 {
			t.Errorf("the mail sent twice: %d incidents, count %d", len(incs), incs[0].alerts[0].Count)
		}
	})
}

// Silent connections cannot hold the listener: 10 addresses of 10 networks each open 10
// connections and say nothing. That once filled the listener (100 in all) and every other
// sender got 421 for the whole smtp_timeout, again and again. Now a sender from elsewhere is
// served at once, each network holds at most its share, and a connection that says nothing
// is let go 10 s after the greeting.
func TestSilentConnectionsCannotHoldTheListener(t *testing.T) {
	n := startMailNines(t, storetest.SQLite(t, app.Schemas()), 1<<20, "1m")
	_, port, _ := net.SplitHostPort(n.addr)
	dial := func(ip net.IP) (net.Conn, string) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return c, line
	}
	var silent []net.Conn
	defer func() {
		for _, c := range silent {
			c.Close()
		}
	}()
	start := time.Now()
	for network := range 10 {
		for range 10 {
			c, greeting := dial(net.IPv4(127, 3, byte(network+1), 1))
			if !strings.HasPrefix(greeting, "220") {
				t.Fatalf("silent connection %d: %q", len(silent)+1, greeting)
			}
			silent = append(silent, c)
		}
	}
	// One network over its share is turned away; another network's sender is served.
	c, got := dial(net.IPv4(127, 3, 1, 2))
	c.Close()
	if !strings.HasPrefix(got, "421 4.7.0") {
		t.Errorf("an 11th connection from 127.3.1.0/24: %q, want 421", got)
	}
	sender := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 4, 0, 1)}}
	conn, err := sender.Dial("tcp", n.addr)
	if err != nil {
		t.Fatal(err)
	}
	client, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatalf("a sender while 100 silent connections are held: %v", err)
	}
	if err := client.Mail("cron@backup.example.com"); err != nil {
		t.Fatal(err)
	}
	if err := client.Rcpt("checkout-mail@nines.example.com"); err != nil {
		t.Fatal(err)
	}
	wc, err := client.Data()
	if err != nil {
		t.Fatal(err)
	}
	wc.Write(eml(t, "plain.eml"))
	if err := wc.Close(); err != nil {
		t.Fatalf("the sender's mail: %v", err)
	}
	client.Quit()
	// The silent ones are let go 10 s after their greeting, with 421.
	for i, c := range silent {
		c.SetReadDeadline(start.Add(20 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "421") {
			t.Fatalf("silent connection %d after %v: %q %v, want 421 within 10 s of its greeting", i+1, time.Since(start).Round(time.Second), line, err)
		}
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the silent connections were held %v; want about 10 s", took.Round(time.Second))
	}
}

// While more than half of MaxConnections are held, every wait for a command is cut to
// StressTimeout, whatever smtp_timeout says: clients that greet and then idle go after 10 s,
// not after the minute.
func TestUnderStressIdleClientsAreCutSooner(t *testing.T) {
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if need := uint64(2*emailin.MaxConnections + 200); lim.Cur < need {
		lim.Cur = min(need, lim.Max)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < need {
			t.Fatalf("this test holds %d connections; the file limit is %d: %v", emailin.MaxConnections/2+10, lim.Cur, err)
		}
	}
	n := startMailNines(t, storetest.SQLite(t, app.Schemas()), 1<<20, "1m")
	_, port, _ := net.SplitHostPort(n.addr)
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	start := time.Now()
	for i := 0; len(held) <= emailin.MaxConnections/2; i++ {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 5, byte(i/emailin.MaxClientConnections+1), byte(i%emailin.MaxClientConnections+1))}}
		c, err := d.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		r := bufio.NewReader(c)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if got := smtpReply(t, r); !strings.HasPrefix(got, "220") {
			t.Fatalf("connection %d: %q", len(held), got)
		}
		fmt.Fprintf(c, "EHLO client%d.example.com\r\n", i)
		if got := smtpReply(t, r); !strings.HasPrefix(got, "250") {
			t.Fatalf("connection %d: EHLO: %q", len(held), got)
		}
	}
	last := held[len(held)-1]
	last.SetReadDeadline(start.Add(30 * time.Second))
	line, err := bufio.NewReader(last).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "421") {
		t.Fatalf("an idle client under stress: %q %v, want 421", line, err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("an idle client under stress was held %v; want about 10 s", took.Round(time.Second))
	}
}

// syncBuffer is a log sink tests read while nines writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestConnectionsCutShortLogNothingAboveDebug: anyone who can reach the listener can break
// connections at will; what that costs the log must not be a line each at warn.
func TestConnectionsCutShortLogNothingAboveDebug(t *testing.T) {
	db := storetest.SQLite(t, app.Schemas())
	var logged syncBuffer
	n := startMailNinesLogging(t, db, 1<<20, "2s", slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelInfo})))
	for range 20 {
		c, err := net.Dial("tcp", n.addr)
		if err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(c)
		r.ReadString('\n') // the greeting
		fmt.Fprintf(c, "HELO x\r\n")
		r.ReadString('\n')
		fmt.Fprintf(c, "MAIL FROM:<a@b>\r\n")
		r.ReadString('\n')
		fmt.Fprintf(c, "RCPT TO:<checkout-mail@nines.test>\r\n")
		r.ReadString('\n')
		fmt.Fprintf(c, "DATA\r\n")
		r.ReadString('\n')
		fmt.Fprintf(c, "Subject: half a mail\r\n\r\nthe body, cut")
		time.Sleep(5 * time.Millisecond)
		c.(*net.TCPConn).SetLinger(0) // a reset, not a goodbye
		c.Close()
	}
	// A silent one, cut by the server's timeout.
	c, err := net.Dial("tcp", n.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(3 * time.Second)
	if out := logged.String(); strings.Contains(out, "smtp") {
		t.Errorf("connections cut short were logged above debug:\n%s", out)
	}
}
