package incident_test

import (
	"context"
	"testing"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

func TestBulkActsOnceOnEachIncidentItMayAndSaysWhy(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s, _ := newService(t, db)
		ctx := context.Background()
		a := open(t, db, s, "checkout", "a")
		b := open(t, db, s, "search", "b")
		c := open(t, db, s, "checkout", "c")
		if _, err := s.Resolve(ctx, c, bob); err != nil {
			t.Fatal(err)
		}
		onlyCheckout := func(inc incident.Incident) bool { return inc.ServiceID == "checkout" }
		res, err := s.Bulk(ctx, []int64{c, b, a, a, 77}, incident.Acknowledged, bob, onlyCheckout)
		if err != nil {
			t.Fatal(err)
		}
		want := []incident.BulkResult{
			{ID: c, Outcome: incident.OutcomeAlreadyResolved, State: incident.Resolved},
			{ID: b, Outcome: incident.OutcomeForbidden},
			{ID: a, Outcome: incident.OutcomeAcknowledged, State: incident.Acknowledged},
			{ID: 77, Outcome: incident.OutcomeNotFound},
		}
		if len(res) != len(want) {
			t.Fatalf("results %+v, want %+v", res, want)
		}
		for i := range want {
			if res[i] != want[i] {
				t.Errorf("result %d: %+v, want %+v", i, res[i], want[i])
			}
		}
		if inc, _ := s.Get(ctx, b); inc.State != incident.Triggered {
			t.Errorf("the incident it may not act on is %s", inc.State)
		}
		for _, bad := range []struct {
			ids []int64
			to  incident.State
		}{{nil, incident.Acknowledged}, {[]int64{a}, incident.Triggered}, {make([]int64, incident.MaxBulk+1), incident.Resolved}} {
			ids := bad.ids
			for i := range ids {
				ids[i] = int64(i + 1)
			}
			if _, err := s.Bulk(ctx, ids, bad.to, bob, nil); err == nil {
				t.Errorf("Bulk(%d ids, %s) accepted", len(ids), bad.to)
			}
		}
	})
}

// BenchmarkBulkAcknowledge1000 acknowledges the most incidents one request may name.
func BenchmarkBulkAcknowledge1000(b *testing.B) {
	db := storetest.SQLite(b, schemas)
	s := incident.New(db, clock.NewFake(epoch), nil)
	ctx := context.Background()
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		ids := make([]int64, incident.MaxBulk)
		err := db.Tx(ctx, func(tx *store.Tx) error {
			for i := range ids {
				inc, err := s.Open(ctx, tx, incident.OpenParams{ServiceID: "checkout", Severity: "error", Title: "t", At: s.Now(), Actor: monitor})
				if err != nil {
					return err
				}
				ids[i] = inc.ID
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.Bulk(ctx, ids, incident.Acknowledged, bob, nil); err != nil {
			b.Fatal(err)
		}
	}
}
