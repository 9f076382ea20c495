package main

import (
	"context"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/web/webtest"
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
	clk := clock.NewFake(now)
	n := webtest.Start(t, webtest.Options{Config: cfg, Clock: clk})
	return &testNines{app: n.App, url: n.URL, clock: clk}
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
