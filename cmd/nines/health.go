package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strings"
	"time"
)

// runHealth asks a running nines whether it is ready, for container health checks and
// service managers that have no HTTP client of their own: exit 0 when /readyz answers 200,
// 1 otherwise, with the reason on stderr.
func runHealth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("health", stderr)
	url := fs.String("url", envOr("NINES_HEALTH_URL", readyURL(envOr("NINES_LISTEN", "127.0.0.1:8080"))),
		"the /readyz URL to ask (env NINES_HEALTH_URL; default from NINES_LISTEN)")
	insecure := fs.Bool("insecure", false, "accept any TLS certificate (done anyway for a loopback address, whose certificate names the public host)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c := &http.Client{Timeout: *timeout}
	if u, err := neturl.Parse(*url); err == nil && isLoopback(u.Hostname()) {
		*insecure = true // the certificate names the public host, never 127.0.0.1
	}
	if *insecure {
		c.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	}
	req, err := http.NewRequestWithContext(ctx, "GET", *url, nil)
	if err != nil {
		return fmt.Errorf("--url %q: %w", *url, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprint(stdout, string(body))
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// readyURL is the loopback /readyz URL of a server listening on addr (0.0.0.0:8080 and :8080
// are asked on 127.0.0.1).
func readyURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/readyz"
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz"
}
