package config

import (
	"net/netip"
	"strings"
	"time"
)

// Defaults of the server's limits on clients.
const (
	DefaultReadTimeout             = 30 * time.Second
	DefaultIdleTimeout             = 2 * time.Minute
	DefaultMaxConnectionsPerClient = 256
	DefaultMaxBodyMemory           = 64 << 20
	// MinBodyMemory leaves a client room for the largest body a route takes (2 MiB) as it
	// arrives: a quarter of it is 4 MiB.
	MinBodyMemory = 16 << 20
)

// validateLimits checks the proxies, timeouts and limits of the server section and fills in
// their defaults.
func (s *Server) validateLimits(errs *Errors) {
	s.trusted = nil
	for _, p := range s.TrustedProxies {
		pfx, err := ParseProxy(p)
		if err != nil {
			errs.add(s.At("trusted_proxies"), "server.trusted_proxies: %q: want an address or a CIDR such as 10.0.0.0/8 or 192.0.2.7", p)
			continue
		}
		s.trusted = append(s.trusted, pfx)
	}
	for _, f := range []struct {
		name string
		d    *Duration
		def  time.Duration
	}{{"read_timeout", &s.ReadTimeout, DefaultReadTimeout}, {"idle_timeout", &s.IdleTimeout, DefaultIdleTimeout}} {
		switch {
		case !s.Has(f.name):
			*f.d = Duration(f.def)
		case f.d.D() < time.Second:
			errs.add(s.At(f.name), "server.%s: %v is too short; want at least 1s", f.name, f.d.D())
		}
	}
	switch {
	case !s.Has("max_connections_per_client"):
		s.MaxConnectionsPerClient = DefaultMaxConnectionsPerClient
	case s.MaxConnectionsPerClient < 8:
		errs.add(s.At("max_connections_per_client"), "server.max_connections_per_client: %d is too few for a browser; want at least 8", s.MaxConnectionsPerClient)
	}
	switch {
	case !s.Has("max_body_memory"):
		s.MaxBodyMemory = DefaultMaxBodyMemory
	case s.MaxBodyMemory < MinBodyMemory:
		errs.add(s.At("max_body_memory"), "server.max_body_memory: %d bytes is too little; want at least %d (16 MiB)", s.MaxBodyMemory, MinBodyMemory)
	}
	secretFromEnv(errs, s.Node, "server", "metrics_token", &s.MetricsToken, s.MetricsTokenEnv)
}

// ParseProxy reads one entry of server.trusted_proxies: a CIDR, or a single address.
func ParseProxy(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// TrustedProxy reports whether addr is one of server.trusted_proxies.
func (s *Server) TrustedProxy(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range s.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
