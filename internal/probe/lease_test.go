package probe

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

func TestOneNodeAtATimeRunsTheProbesAndAnotherTakesOver(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, testSchemas, func(t *testing.T, db *store.DB) {
		tg := newTarget(t)
		cfg := fmt.Sprintf(`services: [{id: web}]
monitors:
  - {id: api, service: web, type: http, url: %s, interval: 10s, locations: [local, eu-west], quorum: 1}
`, tg.srv.URL)
		a := newNode(t, db, cfg, t0, true)
		b := newNode(t, db, cfg, t0, false)

		a.step(10*time.Second, 1)
		b.clock.Advance(10 * time.Second)
		time.Sleep(50 * time.Millisecond)
		if n := tg.hits.Load(); n != 1 {
			t.Fatalf("the target was checked %d times in one interval by two nodes, want once", n)
		}

		// An agent's result that reaches the node off the lease is decided by the holder.
		if err := b.mon.Accept(ctx, []Result{{MonitorID: "api", Location: "eu-west", At: t0.Add(11 * time.Second), Cause: CauseConnect, Message: "refused"}}); err != nil {
			t.Fatal(err)
		}
		storetest.Eventually(t, 5*time.Second, "the holder to take the result from the inbox", func() bool {
			a.clock.Advance(time.Second)
			v, _ := a.mon.View("api")
			return v.Status == StatusDown && v.Locations["eu-west"] != nil && v.Locations["eu-west"].Cause == CauseConnect
		})
		// The status moves first, then the alert is submitted.
		storetest.Eventually(t, 5*time.Second, "one incident (quorum 1 of 2 locations)", func() bool { return len(a.incidentsOf("web")) == 1 })
		// The other node shows what the holder decided.
		storetest.Eventually(t, 5*time.Second, "the other node to follow the saved state", func() bool {
			b.clock.Advance(time.Second)
			v, _ := b.mon.View("api")
			return v.Status == StatusDown
		})

		// The holder stops; the other node takes the lease and the probes.
		a.cancel()
		storetest.Eventually(t, 5*time.Second, "the other node to take over", func() bool {
			b.clock.Advance(time.Second)
			return b.mon.Leading() && b.mon.sched.Jobs() == 1
		})
		before := tg.hits.Load()
		b.step(10*time.Second, 1)
		if tg.hits.Load() != before+1 {
			t.Fatal("the new holder does not probe")
		}
	})
}
