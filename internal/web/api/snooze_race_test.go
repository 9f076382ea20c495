package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// TestSnoozeUnderLoadNeverAnswers500: snoozes, acknowledgements, alert repeats and
// escalations of one incident at once, from many clients, on both databases. Each answer is
// one the API documents (200, 202, 409 for an incident resolved meanwhile, 503 with
// Retry-After for a transaction the database rolled back); never a 500.
func TestSnoozeUnderLoadNeverAnswers500(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		s := webtest.StartSpineOn(t, db)
		other := webtest.StartSpineOn(t, db) // a second node on the same database
		id := s.Trigger("busy", "Checkout is slow")
		// The spine's tokens last an hour of the clock the load moves: this one lasts.
		responder, _, err := s.Tokens.Create(context.Background(), "load", auth.Responder, 0)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { // snoozes end while others begin: each node's timers run its retriggers
			for {
				select {
				case <-done:
					return
				default:
					s.Clock.Advance(61 * time.Minute)
					other.Clock.Advance(61 * time.Minute)
					time.Sleep(2 * time.Millisecond)
				}
			}
		}()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var bad []string
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				node, token := s, responder
				if g%2 == 1 {
					node = other
				}
				for i := 0; i < 15; i++ {
					var r webtest.Reply
					switch (g + i) % 4 {
					case 0, 1:
						r = node.Do(webtest.Request{Method: "POST", Path: fmt.Sprintf("/api/v1/incidents/%d/snooze", id), Body: `{"duration": "1h"}`, Token: token})
					case 2:
						r = node.Do(webtest.Request{Method: "POST", Path: fmt.Sprintf("/api/v1/incidents/%d/acknowledge", id), Body: `{}`, Token: token})
					case 3:
						r = node.Do(webtest.Request{Method: "POST", Path: "/v2/enqueue", Body: webtest.EventsV2("trigger", "busy", "Checkout is slow")})
					}
					// PostgreSQL may roll one of two colliding transactions back to break a
					// deadlock: that answer is 503 with Retry-After, documented as "send it
					// again", never a 500.
					collided := r.Status == http.StatusServiceUnavailable && r.Header.Get("Retry-After") != ""
					if r.Status >= 500 && !collided || r.Status == http.StatusUnauthorized {
						mu.Lock()
						bad = append(bad, fmt.Sprintf("%d %s", r.Status, r.Body))
						mu.Unlock()
					}
				}
			}(g)
		}
		wg.Wait()
		close(done)
		if len(bad) > 0 {
			t.Errorf("%d answers were errors of nines under load, the first: %s", len(bad), bad[0])
		}
		if r := s.Do(webtest.Request{Method: "POST", Path: fmt.Sprintf("/api/v1/incidents/%d/snooze", id), Body: `{"duration": "1h"}`, Token: responder}); r.Status != http.StatusOK {
			t.Errorf("a snooze after the load: %d %s", r.Status, r.Body)
		}
	})
}
