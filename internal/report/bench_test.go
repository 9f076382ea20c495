package report_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/report"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// BenchmarkIncidentMetrics: MTTD/MTTA/MTTR over a year of 10,000 incidents (each with an alert
// on its timeline), against the ceiling of reading those incident rows alone.
//
//	go test -run '^$' -bench IncidentMetrics -benchtime 20x ./internal/report/
func BenchmarkIncidentMetrics(b *testing.B) {
	db := storetest.SQLite(b, []store.Schema{incident.Schema, alert.Schema, change.Schema})
	ctx := context.Background()
	cfg, _ := config.Parse("nines.yaml", []byte(cfgYAML))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	incs := incident.New(db, clk, nil)
	pipe := alert.NewPipeline(db, incs, clk, alert.Options{})
	actor := incident.Actor{Name: "integration:test", Source: "test"}
	err := db.Tx(ctx, func(tx *store.Tx) error {
		for i := 0; i < 10000; i++ {
			at := start.Add(time.Duration(i) * 52 * time.Minute)
			inc, err := incs.Open(ctx, tx, incident.OpenParams{ServiceID: []string{"checkout", "search"}[i%2], Severity: "error", Title: fmt.Sprint(i), At: at, Actor: actor})
			if err != nil {
				return err
			}
			if err := incs.Append(ctx, tx, inc.ID, alert.EventTriggered, at, actor, nil); err != nil {
				return err
			}
			if _, _, err := incs.Transition(ctx, tx, inc.ID, incident.Acknowledged, at.Add(3*time.Minute), actor, nil); err != nil {
				return err
			}
			if _, _, err := incs.Transition(ctx, tx, inc.ID, incident.Resolved, at.Add(40*time.Minute), actor, nil); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE incidents SET impact_started_at = ? WHERE id = ?`, at.Add(-5*time.Minute).UnixMilli(), inc.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	reports := report.New(incs, pipe, change.New(db, incs, clk), config.NewLive(cfg))
	scope := report.Scope{From: start, To: start.AddDate(1, 0, 0)}
	b.Run("report", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			r, err := reports.IncidentMetrics(ctx, scope)
			if err != nil || r.Incidents != 10000 || *r.MTTDSeconds != 300 {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("ceiling-read-rows", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rows, err := db.Query(ctx, `SELECT id, created_at, acknowledged_at, resolved_at, impact_started_at FROM incidents WHERE created_at >= ? AND created_at < ?`,
				scope.From.UnixMilli(), scope.To.UnixMilli())
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var id, c int64
				var a, r, im *int64
				rows.Scan(&id, &c, &a, &r, &im)
			}
			rows.Close()
		}
	})
}
