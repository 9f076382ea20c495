// Package watchdog answers "who watches nines?": it checks, every interval, that nines is
// healthy end to end (the database takes writes, timers run on time, a notification channel
// delivers) and pings an outside checker (server.watchdog.url: healthchecks.io, Cronitor, or a
// second nines's heartbeat) only then. When nines dies, hangs or cannot page, the pings stop
// and the outside checker pages somebody; when it is alive but unhealthy it says so at once,
// on the checker's /fail URL.
package watchdog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/prometheus/client_golang/prometheus"
)

// Check is one part of "healthy end to end": nil when it holds, otherwise why not.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// DefaultInterval is how often health is checked when no watchdog is configured (for
// /metrics).
const DefaultInterval = 30 * time.Second

// Watchdog checks nines' health every interval and pings server.watchdog.url while it holds.
type Watchdog struct {
	cfg    *config.Live
	clock  clock.Clock
	log    *slog.Logger
	checks []Check
	// Client sends the pings; its timeout bounds each.
	Client *http.Client

	ok    *prometheus.GaugeVec
	pings *prometheus.CounterVec

	mu      sync.Mutex
	lastErr string // what the last round said, to log only changes
}

// New returns a watchdog over checks.
func New(cfg *config.Live, clk clock.Clock, log *slog.Logger, checks ...Check) *Watchdog {
	w := &Watchdog{cfg: cfg, clock: clk, log: log, checks: checks, Client: &http.Client{Timeout: 10 * time.Second},
		ok: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "nines_health_check_ok",
			Help: "1 while a part of nines' end-to-end health holds (database: takes writes; timers: run on time; notifications: a channel delivers), 0 when not; checked every watchdog interval.",
		}, []string{"check"}),
		pings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_watchdog_pings_total",
			Help: "Pings sent to server.watchdog.url, by kind (ok: healthy; fail: unhealthy, sent to its /fail URL) and outcome (sent; error: not delivered; not_found: the checker knows no check at the URL, so nobody watches nines).",
		}, []string{"kind", "outcome"}),
	}
	for _, kind := range []string{"ok", "fail"} {
		for _, outcome := range []string{"sent", "error", "not_found"} {
			w.pings.WithLabelValues(kind, outcome)
		}
	}
	return w
}

// Collector returns the watchdog's metrics.
func (w *Watchdog) Collector() prometheus.Collector { return collector{w} }

type collector struct{ w *Watchdog }

func (c collector) Describe(ch chan<- *prometheus.Desc) { c.w.ok.Describe(ch); c.w.pings.Describe(ch) }
func (c collector) Collect(ch chan<- prometheus.Metric) { c.w.ok.Collect(ch); c.w.pings.Collect(ch) }

// Check runs every check and joins what fails.
func (w *Watchdog) Check(ctx context.Context) error {
	var errs []error
	for _, c := range w.checks {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := c.Run(cctx)
		cancel()
		v := 1.0
		if err != nil {
			v = 0
			errs = append(errs, fmt.Errorf("%s: %w", c.Name, err))
		}
		w.ok.WithLabelValues(c.Name).Set(v)
	}
	return errors.Join(errs...)
}

// interval is the configured interval, or DefaultInterval, and the URL to ping ("" for none).
func (w *Watchdog) settings() (time.Duration, string) {
	wd := w.cfg.Get().Server.Watchdog
	if wd == nil {
		return DefaultInterval, ""
	}
	return wd.Interval.D(), wd.URL
}

// Run checks and pings every interval until ctx is done. The first round runs at once.
func (w *Watchdog) Run(ctx context.Context) {
	for {
		w.Round(ctx)
		interval, _ := w.settings()
		t := w.clock.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// Round checks health once and pings accordingly.
func (w *Watchdog) Round(ctx context.Context) {
	err := w.Check(ctx)
	if ctx.Err() != nil {
		return
	}
	w.logChange(err)
	_, pingURL := w.settings()
	if pingURL == "" {
		return
	}
	kind, target, body := "ok", pingURL, "nines is healthy"
	if err != nil {
		kind, target, body = "fail", strings.TrimSuffix(pingURL, "/")+"/fail", err.Error()
	}
	if perr := w.ping(ctx, target, body); perr != nil {
		var nf *notFoundError
		if errors.As(perr, &nf) {
			// As bad as a dead checker, and silent: nothing pages when nines dies.
			w.pings.WithLabelValues(kind, "not_found").Inc()
			w.log.Error("watchdog pings reach no check: nobody watches nines until server.watchdog.url names one (a typo in its uuid?)",
				"kind", kind, "url", Redact(target), "answer", nf.answer)
			return
		}
		w.pings.WithLabelValues(kind, "error").Inc()
		w.log.Warn("watchdog ping failed", "kind", kind, "err", perr)
		return
	}
	w.pings.WithLabelValues(kind, "sent").Inc()
}

func (w *Watchdog) logChange(err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	w.mu.Lock()
	changed := msg != w.lastErr
	w.lastErr = msg
	w.mu.Unlock()
	switch {
	case !changed:
	case err != nil:
		w.log.Error("nines is not healthy; the watchdog stops its ok pings", "err", msg)
	default:
		w.log.Info("nines is healthy again; the watchdog pings")
	}
}

// ping POSTs body to target. The URL may hold the checker's secret: errors name its host only.
func (w *Watchdog) ping(ctx context.Context, target, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("server.watchdog.url: %v", err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("User-Agent", "nines-watchdog")
	resp, err := w.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: %w", req.URL.Host, err)
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", req.URL.Host, resp.Status)
	}
	// healthchecks.io-style checkers (nines' own heartbeats among them) answer a ping to a
	// uuid they do not know with 200 "OK (not found)", so that a cron job does not retry it.
	if strings.Contains(strings.ToLower(string(answer)), "not found") {
		text := strings.Join(strings.Fields(string(answer)), " ")
		if len(text) > 100 {
			text = text[:100]
		}
		return &notFoundError{host: req.URL.Host, answer: fmt.Sprintf("%s %q", resp.Status, text)}
	}
	return nil
}

// notFoundError is a checker's answer that it has no check at the URL pinged.
type notFoundError struct{ host, answer string }

func (e *notFoundError) Error() string {
	return fmt.Sprintf("%s answered %s: it has no check at this URL", e.host, e.answer)
}

// Redact shows a URL that may hold a secret for a log: its scheme, host and path, with each
// path segment long enough to be a key (a uuid, a ping key) cut to its first four characters,
// so an operator can tell which check it is without the log giving it away; no user, password
// or query.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	segs := strings.Split(u.EscapedPath(), "/")
	for i, seg := range segs {
		if len(seg) >= 16 {
			segs[i] = seg[:4] + "…"
		}
	}
	return u.Scheme + "://" + u.Host + strings.Join(segs, "/")
}
