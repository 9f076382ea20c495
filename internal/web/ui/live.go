package ui

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// Live tells open pages that incidents changed: each change closes the channel the pages
// wait on and opens a new one, so any number of listeners cost nothing until something happens.
type Live struct {
	mu       sync.Mutex
	ch       chan struct{}
	stop     chan struct{} // closed when the server shuts down: streams end so shutdown need not wait
	stopOnce sync.Once
}

// NewLive returns the hub, told of every change of incidents.
func NewLive(incidents *incident.Service) *Live {
	h := &Live{ch: make(chan struct{}), stop: make(chan struct{})}
	incidents.OnChange(func(ctx context.Context, tx *store.Tx, ch incident.Change) error {
		tx.AfterCommit(h.Publish)
		return nil
	})
	return h
}

func (h *Live) wait() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ch
}

// Publish tells every open page that something changed.
func (h *Live) Publish() {
	h.mu.Lock()
	defer h.mu.Unlock()
	close(h.ch)
	h.ch = make(chan struct{})
}

// Events is a server-sent event stream with one "change" event per incident change; the
// pages' script reloads what they show when one arrives.
func (s *Handler) Events(w http.ResponseWriter, r *http.Request) error {
	flusher, ok := w.(http.Flusher)
	if !ok {
		return httpx.Errorf(http.StatusInternalServerError, "streaming is not supported here")
	}
	// The stream is meant to last: the server's read timeout must not end it (Go cancels a
	// request whose connection hits its read deadline), and each write gets its own deadline,
	// so a client that stops reading is let go but one that reads stays.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	write := func(b []byte) {
		rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		w.Write(b)
		flusher.Flush()
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write([]byte("retry: 5000\n\n"))
	keepAlive := time.NewTicker(25 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-s.live.stop:
			return nil
		case <-s.live.wait():
			// Let a burst of changes settle into one reload.
			select {
			case <-time.After(200 * time.Millisecond):
			case <-r.Context().Done():
				return nil
			}
			write([]byte("event: change\ndata: {}\n\n"))
		case <-keepAlive.C:
			write([]byte(": keep-alive\n\n"))
		}
	}
}

// Stop ends every stream, for a shutdown that must not wait for open pages.
func (h *Live) Stop() { h.stopOnce.Do(func() { close(h.stop) }) }
