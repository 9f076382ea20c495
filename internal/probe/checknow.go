package probe

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// CauseText says a cause in words, as the monitor page and a check made on request show it.
func CauseText(c Cause) string {
	switch c {
	case CauseNone:
		return ""
	case CauseDNS:
		return "DNS failure: the name did not resolve"
	case CauseConnect:
		return "connection failed (refused, reset or unreachable)"
	case CauseTLS:
		return "TLS handshake or certificate verification failed"
	case CauseExpiry:
		return "the TLS certificate expires soon or has expired"
	case CauseStatus:
		return "unexpected status code"
	case CauseRedirect:
		return "too many redirects, or a redirect loop"
	case CauseHeader:
		return "a response header did not match"
	case CauseBody:
		return "the body did not match"
	case CauseSlow:
		return "answered, but too slowly"
	case CauseTimeout:
		return "timeout: no answer in time"
	case CauseMissed:
		return "a heartbeat did not arrive in time"
	case CauseFailed:
		return "the job reported failure"
	}
	return string(c)
}

// MaxCheckTimeout bounds how long a check made on request may take, whatever the monitor's
// timeout says.
const MaxCheckTimeout = 30 * time.Second

// CheckOnce runs a probe monitor's check once, now, and returns what it saw, recording
// nothing. mon is a monitor checked as the config checks its own (config.Config.ReadMonitor).
func (m *Monitors) CheckOnce(ctx context.Context, mon *config.Monitor) (Result, error) {
	if mon.Type == config.MonitorHeartbeat {
		return Result{}, fmt.Errorf("%w: monitor %s", ErrNotProbed, mon.ID)
	}
	ch, err := NewChecker(mon, m.opt)
	if err != nil {
		return Result{}, err
	}
	timeout := min(mon.Timeout.D(), MaxCheckTimeout)
	if timeout <= 0 {
		timeout = MaxCheckTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	at := m.clock.Now().Truncate(time.Millisecond)
	o := ch.Check(cctx)
	if !o.OK && o.Cause == CauseNone {
		o.Cause = CauseTimeout
	}
	return Result{MonitorID: mon.ID, Location: m.live.Get().Probes.Location, At: at, OK: o.OK, Latency: o.Latency,
		Cause: o.Cause, Message: o.Message}, nil
}

// CheckNow runs a monitor of the config once, now, from this server's location, and records the
// result as any probe result of it (it counts toward its status, uptime and incidents, as in
// Uptime Kuma). A monitor that does not run from the server's location is checked but its
// result is not recorded (recorded is false): its locations are agents'. A paused monitor is
// ErrPaused.
func (m *Monitors) CheckNow(ctx context.Context, id string) (r Result, recorded bool, err error) {
	mon := m.live.Get().Monitor(id)
	if mon == nil {
		return r, false, fmt.Errorf("%w: %q", ErrNoMonitor, id)
	}
	if _, paused := m.Paused(id); paused || mon.Paused {
		return r, false, fmt.Errorf("%w: resume it to check it", ErrPaused)
	}
	if r, err = m.CheckOnce(ctx, mon); err != nil {
		return r, false, err
	}
	if !slices.Contains(mon.Locations, r.Location) {
		return r, false, nil
	}
	// Taken as an agent's result is: by the lease holder, whichever node was asked.
	return r, true, m.Accept(ctx, []Result{r})
}
