package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
)

// liveHub tells open pages that incidents changed: each change closes the channel the pages
// wait on and opens a new one, so any number of listeners cost nothing until something happens.
type liveHub struct {
	mu       sync.Mutex
	ch       chan struct{}
	stop     chan struct{} // closed when the server shuts down: streams end so shutdown need not wait
	stopOnce sync.Once
}

func newLiveHub(incidents *incident.Service) *liveHub {
	h := &liveHub{ch: make(chan struct{}), stop: make(chan struct{})}
	incidents.OnChange(func(ctx context.Context, tx *store.Tx, ch incident.Change) error {
		tx.AfterCommit(h.publish)
		return nil
	})
	return h
}

func (h *liveHub) wait() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ch
}

func (h *liveHub) publish() {
	h.mu.Lock()
	defer h.mu.Unlock()
	close(h.ch)
	h.ch = make(chan struct{})
}

// StopStreams ends every live event stream, so a graceful shutdown does not wait for open
// pages; browsers reconnect to the next server by themselves. Register it with
// http.Server.RegisterOnShutdown.
func (s *Server) StopStreams() {
	if s.live != nil {
		s.live.stopOnce.Do(func() { close(s.live.stop) })
	}
}

// liveEvents is a server-sent event stream with one "change" event per incident change; the
// pages' script reloads what they show when one arrives.
func (s *Server) liveEvents(w http.ResponseWriter, r *http.Request) error {
	flusher, ok := w.(http.Flusher)
	if !ok {
		return errorf(http.StatusInternalServerError, "streaming is not supported here")
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("retry: 5000\n\n"))
	flusher.Flush()
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
			w.Write([]byte("event: change\ndata: {}\n\n"))
		case <-keepAlive.C:
			w.Write([]byte(": keep-alive\n\n"))
		}
		flusher.Flush()
	}
}
