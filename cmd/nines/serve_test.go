package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/storetest"
)

// testNines is nines wired as `nines serve` wires it, on a real SQLite database and a fake
// clock, serving on loopback for the client commands under test.
type testNines struct {
	app   *app.App
	url   string
	clock *clock.Fake
}

func startNines(t *testing.T, cfg *config.Config, now time.Time) *testNines {
	t.Helper()
	db := storetest.SQLite(t, schemas())
	clk := clock.NewFake(now)
	hs := httptest.NewUnstartedServer(nil)
	a, err := app.New(context.Background(), config.NewLive(cfg), db, clk, slog.New(slog.NewTextHandler(io.Discard, nil)),
		app.Options{BaseURL: "http://" + hs.Listener.Addr().String(), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = a.Web.Handler()
	hs.Start()
	a.Start()
	t.Cleanup(func() { hs.Close(); a.Stop() })
	return &testNines{app: a, url: hs.URL, clock: clk}
}

// token creates an API token with role.
func (n *testNines) token(t *testing.T, name string, role auth.Role) string {
	t.Helper()
	secret, _, err := n.app.Tokens.Create(context.Background(), name, role, 0)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}
