package alert_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/storetest"
)

// TestTwoNodesTakeTheSameKeysAtOnceWithoutAnError sends rounds of 200 requests at once, each
// triggering two of 5 dedup keys, alternating between two pipelines on one PostgreSQL database
// (two nodes of a cluster), for a service whose alerts each open their incident and for one
// whose alerts share one. The two nodes lock the same rows in different orders: PostgreSQL
// breaks such a deadlock by failing one transaction, which is no fault of its requests. Every
// request is answered without an error, and each trigger counted once on its key's one alert.
func TestTwoNodesTakeTheSameKeysAtOnceWithoutAnError(t *testing.T) {
	t.Parallel()
	db := storetest.Postgres(t, schemas)
	const n, keys, rounds = 200, 5, 10
	nodes := []*spine{newSpine(t, db), newSpine(t, db)}
	for _, target := range []alert.Target{byAlert, byService} {
		for round := 0; round < rounds; round++ {
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Two keys per request (Alertmanager groups alerts so), in one order on
					// one node and the other order on the other.
					a, b := fmt.Sprintf("disk-%d", (i+round)%keys), fmt.Sprintf("disk-%d", (i+round+1)%keys)
					if i%2 == 1 {
						a, b = b, a
					}
					_, err := nodes[i%2].p.Submit(context.Background(), target, []alert.Event{trigger(a, "error", "disk almost full"), trigger(b, "error", "disk almost full")})
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			failed := 0
			var first error
			for err := range errs {
				if err != nil {
					failed++
					if first == nil {
						first = err
					}
				}
			}
			if failed > 0 {
				t.Fatalf("%s, round %d: %d of %d requests failed, first: %v", target.ServiceID, round, failed, n, first)
			}
		}
	}
	rows, err := db.Query(context.Background(), `SELECT service_id, dedup_key, COUNT(*), SUM(count) FROM alerts GROUP BY service_id, dedup_key ORDER BY service_id, dedup_key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var service, key string
		var alerts, total int
		if err := rows.Scan(&service, &key, &alerts, &total); err != nil {
			t.Fatal(err)
		}
		seen++
		if want := 2 * rounds * n / keys; alerts != 1 || total != want {
			t.Errorf("%s %s: %d alerts counting %d triggers, want 1 alert counting %d", service, key, alerts, total, want)
		}
	}
	if seen != 2*keys {
		t.Errorf("%d keys have alerts, want %d", seen, 2*keys)
	}
}
