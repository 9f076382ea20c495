package config

import (
	"crypto/tls"
	"net/url"
	"time"
)

// TLS is server.tls: nines serves HTTPS itself, for teams without a reverse proxy. The files
// are read again on SIGHUP, so a renewed certificate is served without a restart.
type TLS struct {
	Node
	// Cert is a PEM file with the certificate and its chain; Key its private key.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Watchdog is server.watchdog: nines pings an outside checker (healthchecks.io, or another
// nines's heartbeat) every interval, only while it is healthy end to end, so its silence pages
// somebody when nines itself cannot.
type Watchdog struct {
	Node
	// URL is pinged with GET; URLEnv names the environment variable holding it instead (a
	// ping URL lets anyone who knows it ping).
	URL    string `yaml:"url"`
	URLEnv string `yaml:"url_env"`
	// Interval between pings (default 1m; at least 1s).
	Interval Duration `yaml:"interval"`
}

// DefaultWatchdogInterval is how often the watchdog pings when server.watchdog.interval is unset.
const DefaultWatchdogInterval = Duration(time.Minute)

// validateOps checks server.tls and server.watchdog.
func (s *Server) validateOps(errs *Errors) {
	if t := s.TLS; t != nil {
		switch {
		case t.Cert == "" || t.Key == "":
			errs.add(t.At("cert"), "server.tls: want both cert and key (PEM files)")
		default:
			if _, err := tls.LoadX509KeyPair(t.Cert, t.Key); err != nil {
				errs.add(t.At("cert"), "server.tls: cert %q and key %q: %v", t.Cert, t.Key, err)
			}
		}
	}
	if w := s.Watchdog; w != nil {
		secretFromEnv(errs, w.Node, "server.watchdog", "url", &w.URL, w.URLEnv)
		if u, err := url.Parse(w.URL); w.URL == "" && w.URLEnv == "" {
			errs.add(w.At("url"), "server.watchdog: want url (or url_env), the address to ping while nines is healthy")
		} else if w.URL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			errs.add(w.At("url"), "server.watchdog.url: want an absolute http(s) URL")
		}
		switch {
		case !w.Has("interval"):
			w.Interval = DefaultWatchdogInterval
		case w.Interval.D() < time.Second:
			errs.add(w.At("interval"), "server.watchdog.interval: %v is too short; want at least 1s", w.Interval.D())
		}
	}
}
