package postmortem

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/timers"
)

func benchService(b testing.TB) (*Service, *store.DB, *clock.Fake) {
	db := storetest.SQLite(b, []store.Schema{store.OwnSchema, incident.Schema, alert.Schema, timers.Schema, change.Schema, Schema})
	cfg, err := config.Parse("nines.yaml", []byte("services: [{id: checkout}, {id: search}]\n"))
	if err != nil {
		b.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
	incs := incident.New(db, clk, nil)
	s, err := New(db, incs, change.New(db, incs, clk), config.NewLive(cfg), timers.NewRunner(db, clk, slog.New(slog.NewTextHandler(io.Discard, nil))), clk,
		Options{SLO: noSLOs{}, Publisher: noPages{}})
	if err != nil {
		b.Fatal(err)
	}
	return s, db, clk
}

var vocabulary = []string{"database", "connection", "pool", "latency", "timeout", "deploy", "rollback", "certificate", "disk", "queue",
	"memory", "leak", "cache", "dns", "replica", "lag", "shard", "index", "payment", "provider", "retry", "storm", "config", "flag"}

// BenchmarkSearch: full-text search over 20,000 documents, for two words 20 of them hold and
// for three words that each appear in a quarter of them (3,334 hold all three and are ranked),
// against what it replaces: a LIKE scan of every document, unranked.
//
//	go test -run '^$' -bench 'Search' -benchtime 200x ./internal/postmortem/
func BenchmarkSearch(b *testing.B) {
	s, db, clk := benchService(b)
	ctx := context.Background()
	const docs = 20000
	err := db.Tx(ctx, func(tx *store.Tx) error {
		for i := 0; i < docs; i++ {
			w := func(k int) string { return vocabulary[(i*7+k*13)%len(vocabulary)] }
			title := fmt.Sprintf("%s %s on %s", w(0), w(1), w(2))
			body := fmt.Sprintf("We saw %s and %s; fixed by %s after %d minutes.", w(3), w(4), w(5), i%90)
			if i%1000 == 0 {
				body += " The cert-manager renewal job was failing."
			}
			if err := s.insertDoc(ctx, tx, kindNote, int64(i), int64(i), "checkout", title, body, clk.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fts-selective", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			hits, err := s.Search(ctx, "renewal failing", 20)
			if err != nil || len(hits) != 20 {
				b.Fatal(len(hits), err)
			}
		}
	})
	b.Run("fts-common-words", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			hits, err := s.Search(ctx, "database dns pool", 20)
			if err != nil || len(hits) == 0 {
				b.Fatal(hits, err)
			}
		}
	})
	b.Run("ceiling-like-scan", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rows, err := db.Query(ctx, `SELECT id FROM search_docs WHERE (title || ' ' || body) LIKE ? AND (title || ' ' || body) LIKE ?
				AND (title || ' ' || body) LIKE ?`, "%database%", "%dns%", "%pool%")
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
			}
			rows.Close()
		}
	})
}

// BenchmarkDraft: reading and rendering the postmortem of an incident with 1,000 timeline
// events, against the ceiling of reading its timeline alone.
//
//	go test -run '^$' -bench 'Draft' -benchtime 200x ./internal/postmortem/
func BenchmarkDraft(b *testing.B) {
	s, db, clk := benchService(b)
	ctx := context.Background()
	actor := incident.Actor{Name: "user:alice", Source: "api"}
	var inc incident.Incident
	err := db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		inc, err = s.incidents.Open(ctx, tx, incident.OpenParams{ServiceID: "checkout", Severity: "critical", Title: "Checkout down", At: clk.Now(), Actor: actor})
		if err != nil {
			return err
		}
		for i := 0; i < 1000; i++ {
			if err := s.incidents.Append(ctx, tx, inc.ID, incident.EventNote, clk.Now().Add(time.Duration(i)*time.Second), actor,
				map[string]string{"text": fmt.Sprintf("step %d: %s", i, vocabulary[i%len(vocabulary)])}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := s.Draft(ctx, inc.ID, actor); err != nil {
		b.Fatal(err)
	}
	b.Run("get-and-render-markdown", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			pm, err := s.Get(ctx, inc.ID)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := pm.Markdown(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ceiling-read-timeline", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := s.incidents.Timeline(ctx, inc.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkIngestWithIndexing: what indexing new incidents for search adds to the ingest path.
// Each op is a batch of 100 triggers with new keys (100 new incidents), with the search hooks
// and, as the ceiling, without them.
//
//	go test -run '^$' -bench IngestWithIndexing -benchtime 50x ./internal/postmortem/
func BenchmarkIngestWithIndexing(b *testing.B) {
	for _, indexed := range []bool{true, false} {
		name := "indexed"
		if !indexed {
			name = "ceiling-not-indexed"
		}
		b.Run(name, func(b *testing.B) {
			db := storetest.SQLite(b, []store.Schema{store.OwnSchema, incident.Schema, alert.Schema, timers.Schema, change.Schema, Schema})
			cfg, _ := config.Parse("nines.yaml", []byte("services: [{id: checkout}]\n"))
			clk := clock.NewFake(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
			incs := incident.New(db, clk, nil)
			pipe := alert.NewPipeline(db, incs, clk, alert.Options{})
			go pipe.Run()
			defer pipe.Close()
			if indexed {
				_, err := New(db, incs, change.New(db, incs, clk), config.NewLive(cfg), timers.NewRunner(db, clk, slog.New(slog.NewTextHandler(io.Discard, nil))), clk,
					Options{SLO: noSLOs{}, Publisher: noPages{}})
				if err != nil {
					b.Fatal(err)
				}
			}
			target := alert.Target{ServiceID: "checkout", Integration: "events_v2", Grouping: "alert"}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				events := make([]alert.Event, 100)
				for j := range events {
					events[j] = alert.Event{Action: alert.Trigger, DedupKey: fmt.Sprintf("k%d-%d", i, j), Summary: "Checkout p99 latency above 2s on " + vocabulary[j%len(vocabulary)],
						Source: "prom", Severity: "error"}
				}
				if _, err := pipe.Submit(context.Background(), target, events); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// noSLOs and noPages stand for a nines without SLOs and status pages: search needs neither.
type noSLOs struct{}

func (noSLOs) Impact(context.Context, string, time.Time, time.Time) ([]SLOFigures, error) {
	return nil, nil
}

type noPages struct{}

func (noPages) PublishPostmortem(context.Context, PublicReport, incident.Actor) ([]string, error) {
	return nil, ErrNoStatusPage
}
