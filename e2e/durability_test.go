package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/storetest"
)

// backends runs fn against a nines on SQLite and against one on PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, dbURL string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "") })
	t.Run("postgres", func(t *testing.T) { fn(t, storetest.PostgresURL(t)) })
}

// load sends Events API v2 triggers from several clients at once and records, per dedup key,
// how many were answered 202 and how many got anything else (a connection error, a 5xx): an
// event without a 202 may or may not have been committed.
type load struct {
	target   string
	clients  int
	client   *http.Client
	stop     atomic.Bool
	accepted atomic.Int64
	inFlight atomic.Int64

	mu       sync.Mutex
	got202   map[string]int
	unknown  map[string]int
	statuses map[int]int // answers other than 202; 0 is a transport error
	wg       sync.WaitGroup
}

func newLoad(target string, clients int) *load {
	return &load{target: target, clients: clients, got202: map[string]int{}, unknown: map[string]int{}, statuses: map[int]int{},
		client: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}}
}

// key picks the dedup key of a client's n-th event: mostly unique, every fourth one of a few
// keys every client repeats, so the same alert is triggered concurrently from many clients.
func key(client, n int) string {
	if n%4 == 3 {
		return fmt.Sprintf("repeat-%d", n%5)
	}
	return fmt.Sprintf("unique-%d-%d", client, n)
}

func (l *load) run() {
	for c := 0; c < l.clients; c++ {
		l.wg.Add(1)
		go func(c int) {
			defer l.wg.Done()
			for n := 0; !l.stop.Load(); n++ {
				k := key(c, n)
				status := l.send(k)
				l.mu.Lock()
				if status == http.StatusAccepted {
					l.got202[k]++
				} else {
					l.unknown[k]++
					l.statuses[status]++
				}
				l.mu.Unlock()
				if status == http.StatusAccepted {
					l.accepted.Add(1)
				} else {
					// The server is going away: stop after the first failure, as no answer
					// can be trusted until it is back.
					return
				}
			}
		}(c)
	}
}

// send posts one trigger and returns the status, or 0 for a transport error.
func (l *load) send(dedupKey string) int {
	body, _ := json.Marshal(map[string]any{
		"routing_key": routingKey, "event_action": "trigger", "dedup_key": dedupKey,
		"payload": map[string]string{"summary": "checkout " + dedupKey + " failing", "source": "e2e", "severity": "error"},
	})
	l.inFlight.Add(1)
	defer l.inFlight.Add(-1)
	resp, err := l.client.Post(l.target+"/v2/enqueue", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitAccepted waits until n events have been answered 202. It polls often so that what
// follows (a kill, a SIGTERM) lands while requests are in flight.
func (l *load) waitAccepted(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for l.accepted.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d events answered 202 within 20s", l.accepted.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func (l *load) finish() {
	l.stop.Store(true)
	l.wg.Wait()
}

// storedAlert is one row of the alerts table with the timeline entries that record it.
type storedAlert struct {
	rows     int // alerts with this key: more than one would be a duplicate
	count    int
	timeline int // deliveries the timeline records: its alert.triggered entry and the count of each alert.repeated burst
}

// checkExactlyOnce compares what the server kept with what it answered.
//
// "Exactly once" for an event stream with client retries means: every dedup key answered 202 is
// one alert (never two, whatever the concurrency or the crash), and its count is the number of
// deliveries the server accepted. A request that got no 202 may have committed just before the
// answer was lost (the crash came between commit and reply); a client that retries it, as the
// Events API asks clients to, then adds one more delivery to the same alert, never a second
// alert. So the count lies between the 202s for that key and the 202s plus the unanswered
// attempts; a key never answered 202 has at most one alert; a key never sent has none. The
// timeline, written in the same transaction, must agree with the count exactly.
func checkExactlyOnce(t *testing.T, s *server, l *load) {
	t.Helper()
	db := s.openDB()
	ctx := context.Background()
	stored := map[string]*storedAlert{}
	byID := map[int64]*storedAlert{}
	// The burst of repeats still counting is counted in its alert's row (burst_entry,
	// burst_count); its timeline entry gets the final figures when the next burst starts, and
	// reads of the timeline complete it meanwhile.
	current := map[int64]int{} // burst entry -> repeats counted in the alert's row
	rows, err := db.Query(ctx, `SELECT id, dedup_key, count, COALESCE(burst_entry, 0), burst_count FROM alerts WHERE service_id = 'payments'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, entry int64
		var k string
		var n, inBurst int
		if err := rows.Scan(&id, &k, &n, &entry, &inBurst); err != nil {
			t.Fatal(err)
		}
		if entry != 0 {
			current[entry] = inBurst
		}
		a := stored[k]
		if a == nil {
			a = &storedAlert{}
			stored[k] = a
		}
		a.rows++
		a.count += n
		byID[id] = a
	}
	rows.Close()
	rows, err = db.Query(ctx, `SELECT id, type, data FROM timeline WHERE type IN ('alert.triggered', 'alert.repeated')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var typ, data string
		if err := rows.Scan(&id, &typ, &data); err != nil {
			t.Fatal(err)
		}
		var d struct {
			AlertID int64 `json:"alert_id"`
			Count   int   `json:"count"`
		}
		json.Unmarshal([]byte(data), &d)
		if n, ok := current[id]; ok {
			d.Count = n
		}
		if typ == "alert.repeated" && d.Count < 1 {
			t.Errorf("repeat burst %s counts no repeat", data)
		}
		if typ == "alert.triggered" {
			d.Count = 1
		}
		if a := byID[d.AlertID]; a != nil {
			a.timeline += d.Count
		} else {
			t.Errorf("timeline entry %s names no stored alert", data)
		}
	}
	rows.Close()

	l.mu.Lock()
	defer l.mu.Unlock()
	var accepted, unanswered, committedUnanswered int
	for k, n := range l.got202 {
		accepted += n
		a := stored[k]
		switch {
		case a == nil:
			t.Errorf("%s: answered 202 %d times but not stored: an accepted event was lost", k, n)
		case a.rows != 1:
			t.Errorf("%s: stored as %d alerts, want 1", k, a.rows)
		case a.count < n || a.count > n+l.unknown[k]:
			t.Errorf("%s: count %d, want between %d (202s) and %d (202s plus unanswered)", k, a.count, n, n+l.unknown[k])
		}
	}
	for k, n := range l.unknown {
		unanswered += n
		a := stored[k]
		if a != nil {
			committedUnanswered += a.count - l.got202[k]
		}
		if l.got202[k] == 0 && a != nil && (a.rows != 1 || a.count > n) {
			t.Errorf("%s: never answered 202, sent %d times, stored as %d alerts with count %d", k, n, a.rows, a.count)
		}
	}
	for k, a := range stored {
		if l.got202[k] == 0 && l.unknown[k] == 0 {
			t.Errorf("%s: stored but never sent", k)
		}
		if a.timeline != a.count {
			t.Errorf("%s: count %d but the timeline records %d deliveries", k, a.count, a.timeline)
		}
	}
	for status, n := range l.statuses {
		if status != 0 && status != http.StatusServiceUnavailable {
			t.Errorf("%d requests answered %d; the only answers besides 202 should be a transport error or 503 while stopping", n, status)
		}
	}
	t.Logf("%d events answered 202; %d unanswered, of which %d committed; %d alerts stored", accepted, unanswered, committedUnanswered, len(stored))
}

func TestEveryAcceptedEventSurvivesKill9(t *testing.T) {
	backends(t, func(t *testing.T, dbURL string) {
		s := newServer(t, dbURL)
		s.start()
		l := newLoad(s.url(""), 16)
		l.run()
		l.waitAccepted(t, 1500)
		s.kill()
		l.finish()

		// The same data directory (or database) after the crash: everything answered 202 is
		// there, once.
		s.start()
		checkExactlyOnce(t, s, l)
		l.target = s.url("")

		// Incidents the crash caught between their commit and their search indexing are
		// indexed by the catch-up at start.
		deadline := time.Now().Add(20 * time.Second)
		db := s.openDB()
		for {
			var unindexed int
			if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM incidents i
				WHERE NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.kind = 'incident' AND d.ref_id = i.id)`).Scan(&unindexed); err != nil {
				t.Fatal(err)
			}
			if unindexed == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d incidents still not in the search index 20s after the restart", unindexed)
			}
			time.Sleep(50 * time.Millisecond)
		}

		// And the restarted server goes on deduplicating against what it kept.
		if status := l.send("repeat-3"); status != http.StatusAccepted {
			t.Fatalf("after restart, a repeat trigger got %d, want 202", status)
		}
		var count int
		if err := s.openDB().QueryRow(context.Background(),
			`SELECT COUNT(*) FROM alerts WHERE service_id = 'payments' AND dedup_key = 'repeat-3'`).Scan(&count); err != nil || count != 1 {
			t.Fatalf("after restart, repeat-3 has %d alerts (err %v), want 1", count, err)
		}
	})
}

func TestSIGTERMAnswersInFlightRequestsAndLosesNothing(t *testing.T) {
	backends(t, func(t *testing.T, dbURL string) {
		s := newServer(t, dbURL)
		s.start()
		l := newLoad(s.url(""), 16)
		l.run()
		l.waitAccepted(t, 1500)
		inFlight := l.inFlight.Load()
		if err := s.stop(20 * time.Second); err != nil {
			t.Errorf("nines exited with %v after SIGTERM, want a clean exit", err)
		}
		l.finish()
		if inFlight == 0 {
			t.Fatal("no request was in flight when SIGTERM was sent; the test proved nothing")
		}
		// Once the process has exited nobody can answer 202 any more: what it answered must
		// all be in the database.
		checkExactlyOnce(t, s, l)
	})
}
