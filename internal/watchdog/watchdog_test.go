package watchdog_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/watchdog"
)

// checker is an outside checker (healthchecks.io-style) on loopback: it records each ping.
type checker struct {
	mu    sync.Mutex
	pings []string // "path: body"
}

func (c *checker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.pings = append(c.pings, r.URL.Path+": "+string(b))
	c.mu.Unlock()
}

func (c *checker) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pings) == 0 {
		return ""
	}
	return c.pings[len(c.pings)-1]
}

func TestTheWatchdogPingsOnlyWhileEveryCheckHolds(t *testing.T) {
	chk := &checker{}
	srv := httptest.NewServer(chk)
	defer srv.Close()
	cfg, err := config.Parse("nines.yaml", []byte("server:\n  watchdog: {url: \""+srv.URL+"/ping/abc\", interval: 1s}\nservices: [{id: api}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var dbErr, timersErr error
	w := watchdog.New(config.NewLive(cfg), clock.Real{}, slog.New(slog.DiscardHandler),
		watchdog.Check{Name: "database", Run: func(context.Context) error { return dbErr }},
		watchdog.Check{Name: "timers", Run: func(context.Context) error { return timersErr }})
	for _, tc := range []struct {
		name       string
		db, timers error
		want       string
	}{
		{"healthy pings the URL", nil, nil, "/ping/abc: nines is healthy"},
		{"a database that takes no writes pings /fail with why", errors.New("disk full"), nil, "/ping/abc/fail: database: disk full"},
		{"late timers ping /fail with why", nil, errors.New("3 timers are due and unclaimed"), "/ping/abc/fail: timers: 3 timers are due and unclaimed"},
		{"healthy again pings the URL again", nil, nil, "/ping/abc: nines is healthy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbErr, timersErr = tc.db, tc.timers
			w.Round(context.Background())
			if got := chk.last(); got != tc.want {
				t.Errorf("last ping %q; want %q", got, tc.want)
			}
		})
	}
}

func TestWithoutAURLTheWatchdogOnlyChecks(t *testing.T) {
	cfg, err := config.Parse("nines.yaml", []byte("services: [{id: api}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	w := watchdog.New(config.NewLive(cfg), clock.Real{}, slog.New(slog.DiscardHandler),
		watchdog.Check{Name: "database", Run: func(context.Context) error { ran++; return nil }})
	w.Round(context.Background())
	if ran != 1 {
		t.Errorf("the checks ran %d times; want 1", ran)
	}
	if err := w.Check(context.Background()); err != nil || ran != 2 {
		t.Errorf("Check: %v after %d runs; want nil after 2", err, ran)
	}
}

func TestRedactKeepsWhereAPingGoesButNotItsSecret(t *testing.T) {
	for _, tc := range []struct{ name, url, want string }{
		{"a healthchecks.io uuid is cut to four characters", "https://hc-ping.com/0b0b0b0b-0000-4000-8000-00000000000b", "https://hc-ping.com/0b0b…"},
		{"a ping key is cut and a slug kept", "https://hc.example.com/ping/fqOOd6-F4MMNuCEnzTU01w/db-backup", "https://hc.example.com/ping/fqOO…/db-backup"},
		{"a user, a password and a query are left out", "https://user:pw@b.example.com/ping/0b0b0b0b-0000-4000-8000-00000000000b?rid=1", "https://b.example.com/ping/0b0b…"},
		{"an unparsable URL says so and nothing more", "http://[::1/x", "(an unparsable URL)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := watchdog.Redact(tc.url); got != tc.want {
				t.Errorf("Redact(%q) = %q; want %q", tc.url, got, tc.want)
			}
		})
	}
}
