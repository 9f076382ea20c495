package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Server) healthRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/healthz", Access: Public, Handle: s.healthz, API: true},
		{Method: "GET", Pattern: "/readyz", Access: Public, Handle: s.readyz, API: true},
		{Method: "GET", Pattern: "/metrics", Access: Public, Handle: s.serveMetrics, API: true},
	}
}

// healthz answers while the process runs.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
	return nil
}

// readyz answers 200 only while the database does.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.DB.Ping(ctx); err != nil {
		s.Log.Warn("readiness check failed", "err", err)
		return errorf(http.StatusServiceUnavailable, "database does not answer: %v", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ready\n"))
	return nil
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}

// metrics are nines' own Prometheus metrics, on a registry of the server's (no globals).
type metrics struct {
	registry *prometheus.Registry
	handler  http.Handler
	ingested *prometheus.CounterVec
	requests *prometheus.HistogramVec
}

func newMetrics(s *Server) *metrics {
	m := &metrics{registry: prometheus.NewRegistry()}
	m.ingested = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nines_ingest_events_total",
		Help: "Events received, by source and result (opened, repeated, acknowledged, resolved, ignored, invalid, unknown_key, error).",
	}, []string{"source", "result"})
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "nines_http_request_duration_seconds",
		Help:    "HTTP request latency by route and status code.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "code"})
	open := &openIncidents{s: s, desc: prometheus.NewDesc("nines_open_incidents", "Incidents not yet resolved, by service.", []string{"service"}, nil)}
	m.registry.MustRegister(m.ingested, m.requests, open,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return m
}

func (m *metrics) ingest(source, result string) { m.ingested.WithLabelValues(source, result).Inc() }

func (m *metrics) observe(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Observe(d.Seconds())
}

// openIncidents reads the open incident counts when scraped.
type openIncidents struct {
	s    *Server
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
