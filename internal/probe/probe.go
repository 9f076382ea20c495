// Package probe notices on its own when a service or a scheduled job is down: checkers (http,
// tcp, dns, tls) run by one scheduler for every monitor, heartbeats pushed by cron jobs, results
// from remote agents folded in by quorum, and a history that stays small (raw results for a short
// window, per-minute and hourly rollups with a mergeable latency sketch). A monitor going down
// triggers an alert through the alert pipeline; coming back up resolves it.
package probe

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// Cause says why a check failed, in the words a responder uses.
type Cause string

// Causes of a failed check.
const (
	CauseNone     Cause = ""
	CauseDNS      Cause = "dns"      // the name did not resolve
	CauseConnect  Cause = "connect"  // refused, reset, unreachable
	CauseTLS      Cause = "tls"      // handshake or certificate verification failed
	CauseExpiry   Cause = "expiry"   // the certificate expires within the warning period
	CauseStatus   Cause = "status"   // unexpected HTTP status or DNS answer code
	CauseRedirect Cause = "redirect" // more redirects than max_redirects, or a redirect loop
	CauseHeader   Cause = "header"   // a response header not as expected
	CauseBody     Cause = "body"     // body, JSON value or DNS answer not as expected
	CauseSlow     Cause = "slow"     // answered, but slower than max_response_time
	CauseTimeout  Cause = "timeout"  // no answer within the timeout
	CauseMissed   Cause = "late"     // a heartbeat did not arrive in time
	CauseFailed   Cause = "fail"     // a heartbeat reported failure (/fail or a non-zero exit code)
)

// Outcome is what one check saw.
type Outcome struct {
	OK      bool
	Latency time.Duration
	Cause   Cause
	Message string
}

func fail(c Cause, latency time.Duration, format string, args ...any) Outcome {
	return Outcome{Cause: c, Latency: latency, Message: truncate(fmt.Sprintf(format, args...), 500)}
}

// Checker runs one kind of check against one target. Check must return by ctx's deadline.
type Checker interface {
	Check(ctx context.Context) Outcome
}

// Options tune checkers beyond what the config says.
type Options struct {
	// RootCAs replaces the system roots (tests trust their own short-lived certificates).
	RootCAs *x509.CertPool
	// UserAgent is sent by HTTP checks (default "nines-monitor"); agents add their location so
	// a target's owner can tell probes apart.
	UserAgent string

	// The monitors' (New's) hooks into the rest of nines; what is left out has the default its
	// field says.

	// Muted reports whether a maintenance window that names the monitor covers t: the monitor
	// goes on checking and recording, but going down raises no alert until then. By default
	// nothing is muted.
	Muted func(monitorID string, at time.Time) bool
}

// NewChecker builds the checker of a probe monitor.
func NewChecker(m *config.Monitor, opt Options) (Checker, error) {
	switch m.Type {
	case config.MonitorHTTP:
		return newHTTPChecker(m, opt), nil
	case config.MonitorTCP:
		return &tcpChecker{address: m.Address}, nil
	case config.MonitorTLS:
		return newTLSChecker(m, opt), nil
	case config.MonitorDNS:
		return newDNSChecker(m), nil
	}
	return nil, fmt.Errorf("monitor %s: %q monitors are not probed", m.ID, m.Type)
}

// Result is one check of one monitor from one location.
type Result struct {
	MonitorID string        `json:"monitor_id"`
	Location  string        `json:"location"`
	At        time.Time     `json:"at"`
	OK        bool          `json:"ok"`
	Latency   time.Duration `json:"latency_ns"`
	Cause     Cause         `json:"cause,omitempty"`
	Message   string        `json:"message,omitempty"`
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
