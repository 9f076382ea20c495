package web

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// Limits on how a client holds the server. Slow clients must not starve it: a request's
// headers and body are read within server.read_timeout, an idle kept-alive connection closes
// after server.idle_timeout, a response that the client does not read is given up after
// WriteTimeout, and one address holds at most server.max_connections_per_client connections
// at once, so /healthz and everybody else still get in while some client hoards connections.

// WriteTimeout bounds writing a response, from the end of its request's headers. The live
// event stream, which is meant to last, moves its own deadline along as it writes.
const WriteTimeout = 2 * time.Minute

// NewHTTPServer returns the http.Server nines serves h with, its timeouts from the config in
// force.
func NewHTTPServer(h http.Handler, srv config.Server) *http.Server {
	read := srv.ReadTimeout.D()
	if read <= 0 {
		read = config.DefaultReadTimeout
	}
	idle := srv.IdleTimeout.D()
	if idle <= 0 {
		idle = config.DefaultIdleTimeout
	}
	return &http.Server{Handler: h, ReadHeaderTimeout: min(10*time.Second, read), ReadTimeout: read,
		WriteTimeout: WriteTimeout, IdleTimeout: idle, MaxHeaderBytes: 64 << 10}
}

// LimitConnections wraps ln so that one client address holds at most
// server.max_connections_per_client connections (read from the config in force at each
// accept). A connection over the limit gets a 429 at once and is closed. Trusted proxies carry
// many clients and are not limited.
func (s *Server) LimitConnections(ln net.Listener) net.Listener {
	return &clientListener{Listener: ln, s: s, open: map[netip.Addr]int{}}
}

type clientListener struct {
	net.Listener
	s    *Server
	mu   sync.Mutex
	open map[netip.Addr]int
}

var tooManyConnections = []byte("HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Retry-After: 10\r\nConnection: close\r\nContent-Length: 47\r\n\r\ntoo many connections from your address at once\n")

func (l *clientListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tcp, ok := c.RemoteAddr().(*net.TCPAddr)
		if !ok {
			return c, nil
		}
		addr := tcp.AddrPort().Addr().Unmap()
		if addr.Is6() {
			// One IPv6 client holds a whole /64.
			p, _ := addr.Prefix(64)
			addr = p.Addr()
		}
		srv := &l.s.config.Get().Server
		max := srv.MaxConnectionsPerClient
		if max <= 0 {
			max = config.DefaultMaxConnectionsPerClient
		}
		if srv.TrustedProxy(tcp.AddrPort().Addr()) {
			return c, nil
		}
		l.mu.Lock()
		if l.open[addr] >= max {
			l.mu.Unlock()
			// A fresh socket's send buffer is empty: this write does not block the accept loop.
			c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			c.Write(tooManyConnections)
			c.Close()
			continue
		}
		l.open[addr]++
		l.mu.Unlock()
		return &clientConn{Conn: c, release: func() { l.release(addr) }}, nil
	}
}

func (l *clientListener) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[addr]--; l.open[addr] <= 0 {
		delete(l.open, addr)
	}
}

// clientConn gives its place back once, when closed.
type clientConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *clientConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
