package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"

	"github.com/nines-dev/nines/internal/config"
)

// certificate is the certificate nines serves with server.tls, read again on SIGHUP: a renewed
// certificate (certbot, an ACME client, a secret mounted anew) is served to every new
// connection without a restart. A file that does not load leaves the one in force.
type certificate struct {
	mu   sync.RWMutex
	cert *tls.Certificate
}

func loadCertificate(t *config.TLS) (*certificate, error) {
	c := &certificate{}
	if err := c.reload(t); err != nil {
		return nil, err
	}
	return c, nil
}

// reload reads the files server.tls names now (they may have moved with the config).
func (c *certificate) reload(t *config.TLS) error {
	pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
	if err != nil {
		return fmt.Errorf("server.tls: cert %q and key %q: %w", t.Cert, t.Key, err)
	}
	c.mu.Lock()
	c.cert = &pair
	c.mu.Unlock()
	return nil
}

func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cert, nil
}

// tlsConfig serves c, TLS 1.2 and later.
func (c *certificate) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.get, NextProtos: []string{"h2", "http/1.1"}}
}

// reloadCertificate reads the certificate again after a SIGHUP, from the config in force.
func reloadCertificate(c *certificate, live *config.Live, log *slog.Logger) {
	if c == nil {
		return
	}
	t := live.Get().Server.TLS
	if t == nil {
		log.Warn("server.tls was removed from the config; nines goes on serving HTTPS until it restarts")
		return
	}
	if err := c.reload(t); err != nil {
		log.Error("TLS certificate not reloaded; the one in force stays", "err", err)
		return
	}
	log.Info("TLS certificate reloaded", "cert", t.Cert)
}
