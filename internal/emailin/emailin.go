// Package emailin takes alerts by email: an SMTP listener that accepts mail for
// <integration key>@<any domain> of an email integration and submits each message to the alert
// pipeline, as PagerDuty's and GoAlert's email integrations do. A 250 after DATA means what a
// 202 means on the HTTP ingest routes: the alert is on disk.
//
// The listener takes mail from anyone who can reach it (there is no authentication, as for any
// MX), so what a sender can cost is bounded: message size, recipients per message, connections
// in all and per client network, and a timeout on every command and on the whole of DATA,
// shorter for a client that has not spoken yet and for every client while the listener is
// busy, as Postfix does under stress, so that silent connections cannot hold it.
package emailin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/config"
)

// Bounds that are not settings: enough for any monitoring tool, small enough that strangers
// cannot hold much.
const (
	MaxRecipients = 10
	// MaxConnections are held at once in all; MaxClientConnections by one client network (an
	// IPv4 /24, an IPv6 /64), so that one network's addresses cannot take them all.
	MaxConnections       = 1000
	MaxClientConnections = 10
	// FirstCommandTimeout is how long a client may stay silent after the greeting: senders
	// speak at once. StressTimeout bounds every wait for a command while more than half of
	// MaxConnections are held. Otherwise server.smtp_timeout does.
	FirstCommandTimeout = 10 * time.Second
	StressTimeout       = 10 * time.Second
	// submitTimeout bounds the wait for the alert to be durable before the sender is told to
	// try again later.
	submitTimeout = 30 * time.Second
)

// Submitter commits events: the alert pipeline.
type Submitter interface {
	Submit(ctx context.Context, t alert.Target, events []alert.Event) ([]alert.Result, error)
}

// Server is the SMTP listener.
type Server struct {
	live   *config.Live
	alerts Submitter
	log    *slog.Logger
	smtp   *smtp.Server
}

// New builds a listener reading integrations from the config in force at each message, and
// its limits from the config at start.
func New(live *config.Live, alerts Submitter, log *slog.Logger) *Server {
	s := &Server{live: live, alerts: alerts, log: log}
	cfg := live.Get().Server
	srv := smtp.NewServer(backend{s})
	srv.Domain = cfg.SMTPHostname
	srv.MaxMessageBytes = cfg.SMTPMaxMessageSize
	srv.MaxRecipients = MaxRecipients
	srv.ReadTimeout = cfg.SMTPTimeout.D()
	srv.WriteTimeout = cfg.SMTPTimeout.D()
	srv.ErrorLog = slogLogger{log}
	s.smtp = srv
	return s
}

// Serve takes mail on ln until Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	err := s.smtp.Serve(&limitListener{Listener: ln, domain: s.smtp.Domain, perClient: map[string]int{}})
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops taking connections and waits for those open to end (each within the
// timeout), or for ctx; then it closes what is left. A message cut off before its 250 was not
// accepted: its sender sends it again.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.smtp.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		s.smtp.Close()
	}
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c, remote: c.Conn().RemoteAddr().String()}, nil
}

// session is one SMTP conversation; it may carry several messages.
type session struct {
	s      *Server
	conn   *smtp.Conn
	remote string
	from   string
	to     []recipient
}

type recipient struct {
	address, key string
	target       alert.Target
	opts         alert.EmailOptions
}

var _ smtp.Session = (*session)(nil)

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from, ss.to = from, nil
	return nil
}

var errUnknownRecipient = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
	Message: "No such mailbox: the part before the @ must be the key of an email integration"}

// Rcpt refuses an address that is no email integration's key, before the message is sent.
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	cfg := ss.s.live.Get()
	svc, in := cfg.EmailKeyByAddress(to)
	if svc == nil {
		return errUnknownRecipient
	}
	for _, r := range ss.to {
		if r.key == in.Ident() {
			return nil // the same integration twice (at any domain): one alert
		}
	}
	o := alert.EmailOptions{Sender: ss.from, Recipient: to}
	if e := in.Email; e != nil {
		o.DedupKey, o.Resolve, o.Acknowledge, o.Severity = e.DedupKeyRegexp(), e.ResolveRegexp(), e.AcknowledgeRegexp(), e.Severity
	}
	ss.to = append(ss.to, recipient{address: to, key: in.Ident(), opts: o,
		target: alert.Target{ServiceID: svc.ID, Integration: config.IntegrationEmail, Grouping: svc.IncidentGrouping, Urgency: svc.Urgency}})
	return nil
}

// Data reads the message (go-smtp refuses one over the size limit with 552) and answers only
// once every recipient's alert is committed: a 250 means the alert is on disk.
func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	var tooLarge *smtp.SMTPError
	if errors.As(err, &tooLarge) {
		return err // 552: the rest of the message is read and dropped, and the session goes on
	}
	if err != nil {
		// The message was cut off: the timeout of DATA passed, or the connection failed. What
		// the client sends next is the rest of its message, not commands, so the connection
		// ends here (RFC 5321, 3.8), as it does for a client idle between commands.
		ss.s.log.Warn("mail cut off before its end; closing the connection", "remote", ss.remote, "err", err)
		c := ss.conn.Conn()
		c.SetWriteDeadline(time.Now().Add(time.Second))
		fmt.Fprintf(c, "421 4.4.2 %s Timeout or error while reading the message; nothing was stored, closing the connection\r\n", ss.s.smtp.Domain)
		ss.conn.Close()
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), submitTimeout)
	defer cancel()
	for _, rc := range ss.to {
		ev, err := alert.DecodeEmail(raw, rc.opts)
		if err != nil {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message refused: " + oneLine(err.Error())}
		}
		res, err := ss.s.alerts.Submit(ctx, rc.target, []alert.Event{ev})
		if err != nil {
			ss.s.log.Error("mail not committed; the sender is told to try again later", "to", rc.address, "remote", ss.remote, "err", err)
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Not stored, try again later"}
		}
		ss.s.log.Info("alert by email", "to", rc.address, "service", rc.target.ServiceID, "outcome", res[0].Outcome,
			"dedup_key", res[0].DedupKey, "remote", ss.remote)
	}
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// limitListener turns away connections over the limits with a 421, as a busy mail server
// does, so the sender retries later instead of waiting.
type limitListener struct {
	net.Listener
	domain    string
	mu        sync.Mutex
	total     int
	perClient map[string]int
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host := clientNetwork(c.RemoteAddr())
		l.mu.Lock()
		ok := l.total < MaxConnections && l.perClient[host] < MaxClientConnections
		if ok {
			l.total++
			l.perClient[host]++
		}
		l.mu.Unlock()
		if ok {
			return &countedConn{Conn: c, l: l, host: host}, nil
		}
		c.SetWriteDeadline(time.Now().Add(time.Second))
		fmt.Fprintf(c, "421 4.7.0 %s Too many connections, try again later\r\n", l.domain)
		c.Close()
	}
}

// clientNetwork is what the per-client limit counts a connection under: its IPv4 /24 or its
// IPv6 /64, which one party holds whole.
func clientNetwork(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.AddrPort().Addr().Unmap()
	bits := 24
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p.String()
}

// stressed reports whether more than half of MaxConnections are held.
func (l *limitListener) stressed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total > MaxConnections/2
}

type countedConn struct {
	net.Conn
	l      *limitListener
	host   string
	once   sync.Once
	spoken atomic.Bool // the client has sent something
}

func (c *countedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.spoken.Store(true)
	}
	return n, err
}

// SetReadDeadline is how go-smtp bounds the wait for each command (server.smtp_timeout); the
// wait is shortened for a client that has not spoken yet, and for all while the listener is
// busy.
func (c *countedConn) SetReadDeadline(t time.Time) error {
	if !t.IsZero() {
		short := time.Duration(0)
		switch {
		case !c.spoken.Load():
			short = FirstCommandTimeout
		case c.l.stressed():
			short = StressTimeout
		}
		if at := time.Now().Add(short); short > 0 && at.Before(t) {
			t = at
		}
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.total--
		if c.l.perClient[c.host]--; c.l.perClient[c.host] == 0 {
			delete(c.l.perClient, c.host)
		}
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// slogLogger sends go-smtp's own messages (connection errors) to nines' log.
type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Printf(format string, v ...any) { l.say("smtp: " + fmt.Sprintf(format, v...)) }
func (l slogLogger) Println(v ...any)               { l.say("smtp: " + strings.TrimSpace(fmt.Sprintln(v...))) }

// say logs a panic at error and the listener failing to accept at warn; what one connection
// went through (a reset, a timeout) is anyone's to cause by connecting, so it is debug.
func (l slogLogger) say(msg string) {
	switch {
	case strings.HasPrefix(msg, "smtp: panic"):
		l.log.Error(msg)
	case strings.HasPrefix(msg, "smtp: accept error"):
		l.log.Warn(msg)
	default:
		l.log.Debug(msg)
	}
}
