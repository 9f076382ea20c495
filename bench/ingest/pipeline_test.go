package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// BenchmarkPipeline measures the alert pipeline alone, without HTTP: 32 submitters, half the
// events repeating a key. It isolates the database work per event that the ingest command
// measures end to end; run it with -cpuprofile to see where that work goes.
//
//	go test ./bench/ingest -run '^$' -bench Pipeline -benchtime 20000x
func BenchmarkPipeline(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			db := backend.Open(b, []store.Schema{store.OwnSchema, incident.Schema, alert.Schema})
			incidents := incident.New(db, clock.Real{}, nil)
			p := alert.NewPipeline(db, incidents, clock.Real{}, alert.Options{})
			done := make(chan struct{})
			go func() { p.Run(); close(done) }()
			defer func() { p.Close(); <-done }()
			target := alert.Target{ServiceID: "checkout", Integration: "events_v2", Grouping: "alert", Urgency: "high"}
			details := json.RawMessage(`{"custom_details":{"error_rate":0.124,"threshold":0.05,"region":"eu-west-1"}}`)
			var next atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				rng := rand.New(rand.NewPCG(uint64(next.Add(1)), 7))
				for pb.Next() {
					key := "hot-" + strconv.Itoa(rng.IntN(1000))
					if rng.IntN(2) == 0 {
						key = "new-" + strconv.FormatInt(next.Add(1), 10)
					}
					ev := alert.Event{Action: alert.Trigger, DedupKey: key, Summary: "High 5xx rate on checkout-api (" + key + ")",
						Source: "checkout-api-1.prod", Severity: "error", Details: details}
					if _, err := p.Submit(context.Background(), target, []alert.Event{ev}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
