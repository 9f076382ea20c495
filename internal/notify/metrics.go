package notify

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count what the channels did with each message handed to them, and remember each
// channel's last outcome so the watchdog can tell whether any channel delivers.
type Metrics struct {
	sent     *prometheus.CounterVec
	duration *prometheus.HistogramVec

	mu   sync.Mutex
	last map[string]outcome // by channel type
}

type outcome struct {
	ok  bool
	at  time.Time
	err string
}

// NewMetrics returns channel metrics, registered nowhere yet.
func NewMetrics() *Metrics {
	return &Metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_notifications_total",
			Help: "Messages handed to a notification channel, by channel (email, sms, voice, slack, teams, webhook, push) and outcome (sent; failed: refused for good; error: retried).",
		}, []string{"channel", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nines_notification_send_seconds",
			Help:    "Time a channel took to take (or refuse) one message, by channel.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"channel"}),
		last: map[string]outcome{},
	}
}

// Outcomes of a message handed to a channel, as nines_notifications_total counts them.
var Outcomes = []string{"sent", "failed", "error"}

// ChannelTypes lists, sorted, the channel types the config's contact methods use: the
// channels nines may hand a message to.
func ChannelTypes(cfg *config.Config) []string {
	seen := map[string]bool{}
	var out []string
	for _, u := range cfg.Users {
		for _, cm := range u.ContactMethods {
			if !seen[cm.Type] {
				seen[cm.Type] = true
				out = append(out, cm.Type)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Expect makes the series of each channel type exist, at 0, before its first message, so
// rate() and alerting rules see the first one. Call it with the config at start and on reload.
func (m *Metrics) Expect(types []string) {
	for _, typ := range types {
		for _, o := range Outcomes {
			m.sent.WithLabelValues(typ, o)
		}
		m.duration.WithLabelValues(typ)
	}
}

// Wrap instruments every channel channels returns.
func (m *Metrics) Wrap(channels func(cfg *config.Config, typ string) Notifier) func(cfg *config.Config, typ string) Notifier {
	return func(cfg *config.Config, typ string) Notifier {
		n := channels(cfg, typ)
		if n == nil {
			return nil
		}
		return instrumented{n: n, typ: typ, m: m}
	}
}

type instrumented struct {
	n   Notifier
	typ string
	m   *Metrics
}

var _ Notifier = instrumented{}

func (i instrumented) Notify(ctx context.Context, to config.ContactMethod, msg Message) error {
	start := time.Now()
	err := i.n.Notify(ctx, to, msg)
	i.m.duration.WithLabelValues(i.typ).Observe(time.Since(start).Seconds())
	result := DeliverySent
	switch {
	case err == nil:
	case IsPermanent(err):
		result = DeliveryFailed
	default:
		result = "error" // retried: a delivery state of its own only here
	}
	i.m.sent.WithLabelValues(i.typ, result).Inc()
	i.m.mu.Lock()
	o := outcome{ok: err == nil, at: time.Now()}
	if err != nil {
		o.err = err.Error()
	}
	i.m.last[i.typ] = o
	i.m.mu.Unlock()
	return err
}

// Delivering reports whether the channels deliver: nil when no channel has been used yet or
// when the last message of at least one channel went through; otherwise an error naming each
// channel and why its last message failed.
func (m *Metrics) Delivering() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.last) == 0 {
		return nil
	}
	var failing []string
	for typ, o := range m.last {
		if o.ok {
			return nil
		}
		failing = append(failing, fmt.Sprintf("%s (%s ago: %s)", typ, time.Since(o.at).Round(time.Second), o.err))
	}
	sort.Strings(failing)
	return fmt.Errorf("no notification channel delivers: the last message of each failed: %s", strings.Join(failing, "; "))
}

// Describe and Collect make Metrics a prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) { m.sent.Describe(ch); m.duration.Describe(ch) }
func (m *Metrics) Collect(ch chan<- prometheus.Metric) { m.sent.Collect(ch); m.duration.Collect(ch) }

var _ prometheus.Collector = (*Metrics)(nil)
