package httpx

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// The client address is what login limits, subscription limits and the audit log count by. It
// is the peer of the connection, unless that peer is one of server.trusted_proxies: then it is
// the address that proxy (and any trusted proxy before it) says it forwarded for. A header
// from anyone else is ignored, or any client could choose its own address and so its own
// limits.

type clientKey struct{}

// WithClient finds the client address of each request once, before routing.
func (g *Guard) WithClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv := &g.Config.Get().Server
		addr := clientAddress(r.RemoteAddr, r.Header, srv.TrustedProxy)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, addr)))
	})
}

// RemoteAddr is the client's address as the audit log and the limits see it.
func RemoteAddr(r *http.Request) string {
	if a, ok := r.Context().Value(clientKey{}).(string); ok {
		return a
	}
	return peerHost(r.RemoteAddr)
}

// LimitKey is what limits count a client address under: an IPv4 address, or the /64 of an
// IPv6 one, since one IPv6 client holds a whole /64 and could otherwise take a fresh address
// for every attempt.
func LimitKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	if a = a.Unmap(); a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

func peerHost(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

// clientAddress walks the forwarding chain from the nearest hop back, as long as each hop is a
// trusted proxy, and returns the first address that is not: that is the one no client could
// have written. Forwarded (RFC 7239) is read when present, else X-Forwarded-For.
func clientAddress(remote string, h http.Header, trusted func(netip.Addr) bool) string {
	peer := peerHost(remote)
	addr, err := netip.ParseAddr(peer)
	if err != nil {
		return peer
	}
	if addr = addr.Unmap(); !trusted(addr) {
		return addr.String()
	}
	hops := forwardedFor(h)
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(hops[i])
		if err != nil {
			// Not an address (an obfuscated "_hidden" or "unknown", or garbage): the trusted
			// proxy that passed it on is the last address known.
			return addr.String()
		}
		addr = hop.Unmap()
		if !trusted(addr) {
			return addr.String()
		}
	}
	return addr.String()
}

// forwardedFor lists the addresses a request says it was forwarded for, the client first.
func forwardedFor(h http.Header) []string {
	var hops []string
	if fw := h.Values("Forwarded"); len(fw) > 0 {
		for _, v := range fw {
			for _, elem := range splitOutsideQuotes(v, ',') {
				for _, pair := range splitOutsideQuotes(elem, ';') {
					k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
					if ok && strings.EqualFold(k, "for") {
						hops = append(hops, forwardedNode(val))
					}
				}
			}
		}
		return hops
	}
	for _, v := range h.Values("X-Forwarded-For") {
		for _, hop := range strings.Split(v, ",") {
			hop = strings.TrimSpace(hop)
			if host, _, err := net.SplitHostPort(hop); err == nil {
				hop = host
			}
			hops = append(hops, strings.Trim(hop, "[]"))
		}
	}
	return hops
}

// forwardedNode reads a node of Forwarded: 192.0.2.60, "192.0.2.60:4711",
// "[2001:db8:cafe::17]:4711"; what is left is the address, or something that is not one.
func forwardedNode(v string) string {
	v = strings.Trim(strings.TrimSpace(v), `"`)
	if strings.HasPrefix(v, "[") {
		if end := strings.Index(v, "]"); end > 0 {
			return v[1:end]
		}
		return v
	}
	if host, _, err := net.SplitHostPort(v); err == nil {
		return host
	}
	return v
}

// splitOutsideQuotes splits s at sep where sep is not inside a quoted string.
func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quoted:
			i++
		case s[i] == '"':
			quoted = !quoted
		case s[i] == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
