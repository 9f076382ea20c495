package drill

import (
	"context"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// The hint that spares incidents a read of drill_runs says "maybe" from the moment this process
// starts a run, and learns runs it did not start (another node, a restart) within its refresh.
func TestTheUnderwayHintNeverHidesARun(t *testing.T) {
	storetest.Each(t, []store.Schema{store.OwnSchema, Schema}, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var u underway
		if may, err := u.may(ctx, db); err != nil || may {
			t.Fatalf("no run: may %v, %v; want false", may, err)
		}
		u.mark()
		if may, _ := u.may(ctx, db); !may {
			t.Fatal("a run this process started is hidden until the next refresh")
		}
		time.Sleep(underwayRefresh + 50*time.Millisecond)
		if may, _ := u.may(ctx, db); may {
			t.Fatal("a refresh finding no run still says maybe")
		}
		// A run another node started: seen at the next refresh.
		if _, err := db.Exec(ctx, `INSERT INTO drill_runs (drill_id, service_id, state, recurring, period_end, scheduled_for, requested_by, spec, created_at)
			VALUES ('d', 's', ?, 0, 0, 0, 'x', '{}', 0)`, Running); err != nil {
			t.Fatal(err)
		}
		time.Sleep(underwayRefresh + 50*time.Millisecond)
		if may, _ := u.may(ctx, db); !may {
			t.Fatal("a run started elsewhere is not seen after a refresh")
		}
	})
}
