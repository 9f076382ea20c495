package httpx

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/config"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsRegistry holds nines' own Prometheus metrics in two registries: All, served only to
// a scrape with the token of server.metrics_token_env, and Public, served to anyone when no
// token is set, holding only series that name no service, SLO or monitor.
type MetricsRegistry struct {
	All, Public *prometheus.Registry
}

// NewMetricsRegistry returns empty registries.
func NewMetricsRegistry() *MetricsRegistry {
	return &MetricsRegistry{All: prometheus.NewRegistry(), Public: prometheus.NewRegistry()}
}

// Register puts collectors that name nothing private in both registries.
func (r *MetricsRegistry) Register(cs ...prometheus.Collector) {
	r.All.MustRegister(cs...)
	r.Public.MustRegister(cs...)
}

// RegisterPrivate puts collectors whose series name services, SLOs or monitors in All only.
func (r *MetricsRegistry) RegisterPrivate(cs ...prometheus.Collector) { r.All.MustRegister(cs...) }

// Metrics are the web server's own series, and the handlers of the registries /metrics serves.
type Metrics struct {
	handler  http.Handler
	public   http.Handler
	ingested *prometheus.CounterVec
	requests *prometheus.HistogramVec
}

// NewMetrics registers the web server's series on reg (internal/app gathers every domain's
// there; nil makes one of the server's own with only the web and Go runtime series); the open
// incident counts are read from svc when scraped.
func NewMetrics(svc Services, reg *MetricsRegistry) *Metrics {
	if reg == nil {
		reg = NewMetricsRegistry()
		reg.Register(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &Metrics{}
	m.ingested = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nines_ingest_events_total",
		Help: "Events received, by source and result (opened, repeated, acknowledged, resolved, ignored, invalid, unknown_key, error).",
	}, []string{"source", "result"})
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "nines_http_request_duration_seconds",
		Help:    "HTTP request latency by route and status code.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "code"})
	// Every source and result is known in advance: each series exists from the start, at 0.
	for _, source := range []string{config.IntegrationEventsV2, config.IntegrationAlertmanager, config.IntegrationGeneric} {
		for _, result := range []string{string(alert.Opened), string(alert.Repeated), string(alert.Acknowledged), string(alert.Resolved),
			string(alert.Ignored), "invalid", "unknown_key", "error"} {
			m.ingested.WithLabelValues(source, result)
		}
	}
	open := &openIncidents{s: svc, desc: prometheus.NewDesc("nines_open_incidents", "Incidents not yet resolved, by service.", []string{"service"}, nil)}
	reg.Register(m.ingested, m.requests)
	reg.RegisterPrivate(open)
	// OpenMetrics to a scraper that asks for it (Accept: application/openmetrics-text), the
	// classic text format otherwise.
	opts := promhttp.HandlerOpts{EnableOpenMetrics: true}
	m.handler = promhttp.HandlerFor(reg.All, opts)
	m.public = promhttp.HandlerFor(reg.Public, opts)
	return m
}

// Handler serves the metrics: every series, or (for a scrape that did not authenticate) those
// that name no service.
func (m *Metrics) Handler(all bool) http.Handler {
	if all {
		return m.handler
	}
	return m.public
}

// Ingest counts an event received from source, by what became of it.
func (m *Metrics) Ingest(source, result string) { m.ingested.WithLabelValues(source, result).Inc() }

// Observe records how long a request of route took and how it was answered.
func (m *Metrics) Observe(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Observe(d.Seconds())
}

// openIncidents reads the open incident counts when scraped.
type openIncidents struct {
	s    Services
	desc *prometheus.Desc
}

func (o *openIncidents) Describe(ch chan<- *prometheus.Desc) { ch <- o.desc }

func (o *openIncidents) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := o.s.Incidents.OpenCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(o.desc, err)
		return
	}
	for _, svc := range o.s.Config.Get().Services {
		ch <- prometheus.MustNewConstMetric(o.desc, prometheus.GaugeValue, float64(counts[svc.ID]), svc.ID)
	}
}
