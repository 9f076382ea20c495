package app

import (
	"runtime"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/web/httpx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// registerMetrics gathers every domain's collectors on one registry, for the web server's
// /metrics. Series that name a service or an SLO go in the private half only, served to a
// scrape with the metrics token.
func (a *App) registerMetrics(opts Options, pipeline *alert.Metrics) *httpx.MetricsRegistry {
	reg := httpx.NewMetricsRegistry()
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "nines_build_info",
		Help: "Always 1; the version and commit of the running nines."}, []string{"version", "commit", "goversion"})
	build.WithLabelValues(opts.Version, opts.Commit, runtime.Version()).Set(1)
	reg.Register(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build,
		a.DB.Collector(),
		pipeline,
		a.Runner.Collector(),
		a.Escalation.Collector(),
		a.Notify,
		a.Monitors.Collector(),
		a.SLOs.Collector(),
		a.Watchdog.Collector(),
	)
	reg.RegisterPrivate(a.SLOs.PrivateCollector())
	return reg
}
