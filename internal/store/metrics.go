package store

import (
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
)

// dbMetrics are the database's own Prometheus metrics.
type dbMetrics struct {
	errors *prometheus.CounterVec
	size   *prometheus.Desc
}

func newDBMetrics() *dbMetrics {
	m := &dbMetrics{
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_database_errors_total",
			Help: "Database errors that mean the database is down, full, read-only or failing (not a request's own conflict), by operation (read, write).",
		}, []string{"op"}),
		size: prometheus.NewDesc("nines_database_size_bytes", "Size of the embedded SQLite database on disk, by file (db, wal).", []string{"file"}, nil),
	}
	for _, op := range []string{"read", "write"} {
		m.errors.WithLabelValues(op) // at zero from the start, so rate() and increase() see the first error
	}
	return m
}

// failed counts err when it says the database is unavailable, and returns it.
func (db *DB) failed(op string, err error) error {
	if db.metrics != nil && Unavailable(err) {
		db.metrics.errors.WithLabelValues(op).Inc()
	}
	return err
}

// Collector returns the database's metrics, for the registry /metrics serves.
func (db *DB) Collector() prometheus.Collector { return dbCollector{db} }

type dbCollector struct{ db *DB }

func (c dbCollector) Describe(ch chan<- *prometheus.Desc) {
	c.db.metrics.errors.Describe(ch)
	ch <- c.db.metrics.size
}

func (c dbCollector) Collect(ch chan<- prometheus.Metric) {
	c.db.metrics.errors.Collect(ch)
	if c.db.Dialect != SQLite {
		return
	}
	for file, name := range map[string]string{"db": "nines.db", "wal": "nines.db-wal"} {
		if fi, err := os.Stat(filepath.Join(c.db.dir, name)); err == nil {
			ch <- prometheus.MustNewConstMetric(c.db.metrics.size, prometheus.GaugeValue, float64(fi.Size()), file)
		}
	}
}
