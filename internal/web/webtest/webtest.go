// Package webtest starts nines for tests of its HTTP side: wired by internal/app as `nines serve`
// wires it, on a real database, serving on loopback; and it signs browsers in as people do.
package webtest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// Options say what nines a test starts; only Config is required.
type Options struct {
	Config *config.Config
	// DB is the database, migrated to app.Schemas; default a fresh SQLite one.
	DB *store.DB
	// Clock is nines' clock; default a fake one at Epoch.
	Clock clock.Clock
	// Log is where nines logs; default nowhere.
	Log *slog.Logger
}

// Epoch is when a fake clock starts by default: Monday 2026-03-30 07:30 UTC.
var Epoch = time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)

// Nines is nines running: every service of internal/app, and the URL it serves on.
type Nines struct {
	*app.App
	URL string
	hs  *httptest.Server
}

// Stop stops this nines as serve does on SIGTERM: the HTTP server first, then the app. The end
// of the test stops it too, if it still runs.
func (n *Nines) Stop() {
	n.hs.Close()
	n.App.Stop()
}

// Start runs nines until the test ends: its background loops run and it serves on loopback;
// links in pages and mail point at the loopback address.
func Start(t testing.TB, o Options) *Nines {
	t.Helper()
	if o.DB == nil {
		o.DB = storetest.SQLite(t, app.Schemas())
	}
	if o.Clock == nil {
		o.Clock = clock.NewFake(Epoch)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	hs := httptest.NewUnstartedServer(nil)
	a, err := app.New(context.Background(), config.NewLive(o.Config), o.DB, o.Clock, o.Log,
		app.Options{BaseURL: "http://" + hs.Listener.Addr().String(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = a.Web.Handler()
	hs.Start()
	a.Start()
	t.Cleanup(func() { hs.Close(); a.Stop() })
	return &Nines{App: a, URL: hs.URL, hs: hs}
}

// Parse reads a config for Start, failing the test on an error.
func Parse(t testing.TB, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("nines.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
