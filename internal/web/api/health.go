package api

import (
	"context"
	"crypto/hmac"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/web/httpx"
)

// Healthz answers while the process runs.
func (s *Handler) Healthz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
	return nil
}

// Readyz answers 200 only while the database answers reads and takes writes: a database that
// reads but cannot write (a full disk, a read-only file system or server) would refuse every
// change clients send, so the node is not ready for them. The check writes one small row, at
// most once a second however often it is asked.
func (s *Handler) Readyz(w http.ResponseWriter, r *http.Request) error {
	if err := s.ready.check(r.Context(), s); err != nil {
		w.Header().Set("Retry-After", "5")
		return httpx.Errorf(http.StatusServiceUnavailable, "not ready: %v", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ready\n"))
	return nil
}

// readyCheck keeps the last answer of the readiness check for a second.
type readyCheck struct {
	mu   sync.Mutex
	at   time.Time
	last error
}

func (rd *readyCheck) check(ctx context.Context, s *Handler) error {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	now := s.Clock.Now()
	if !rd.at.IsZero() && now.Sub(rd.at) < time.Second && now.After(rd.at) {
		return rd.last
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	err := s.DB.Ping(ctx)
	if err != nil {
		err = fmt.Errorf("the database does not answer: %w", err)
	} else if err = s.DB.CheckWrites(ctx, now.UnixMilli()); err != nil {
		err = fmt.Errorf("the database does not take writes: %w", err)
	}
	if err != nil && (rd.last == nil || rd.last.Error() != err.Error()) {
		s.Log.Warn("readiness check failed", "err", err)
	}
	rd.at, rd.last = now, err
	return err
}

// ServeMetrics answers Prometheus. With server.metrics_token_env set, only a scrape that
// sends that token as a bearer token is answered, with every series. Without it /metrics is
// public, and so leaves out the series that name services (open incidents by service): a
// stranger learns nothing of what runs here.
func (s *Handler) ServeMetrics(w http.ResponseWriter, r *http.Request) error {
	token := s.Config.Get().Server.MetricsToken
	if token == "" {
		s.metrics.Handler(false).ServeHTTP(w, r)
		return nil
	}
	if !hmac.Equal([]byte(httpx.Bearer(r)), []byte(token)) {
		return &httpx.Error{Status: http.StatusUnauthorized, Msg: "unauthorized: /metrics wants the token of server.metrics_token_env as 'Authorization: Bearer <token>'"}
	}
	s.metrics.Handler(true).ServeHTTP(w, r)
	return nil
}
