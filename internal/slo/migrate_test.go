package slo_test

import (
	"context"
	"testing"

	"github.com/nines-dev/nines/internal/slo"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// Points were once stored per timestamp and summed per minute; a minute is now one row. The
// upgrade keeps what each minute counted.
func TestTheUpgradeMergesEachMinutesPointsIntoOne(t *testing.T) {
	old := append([]store.Schema{}, schemas[:len(schemas)-1]...)
	old = append(old, store.Schema{Component: slo.Schema.Component, Migrations: slo.Schema.Migrations[:1]})
	storetest.Each(t, old, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// 20:00:00, 20:00:10 and 20:00:30 of one minute, and 20:01:00 (2026-11-22).
		const m = int64(1795377600000)
		for _, p := range [][4]int64{{m, 99, 100, 1}, {m + 10000, 190, 200, 2}, {m + 30000, 290, 300, 3}, {m + 60000, 10, 10, 4}} {
			if _, err := db.Exec(ctx, `INSERT INTO slo_points (slo_id, at, good, total, received_at) VALUES ('s', ?, ?, ?, ?)`, p[0], p[1], p[2], p[3]); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Migrate(ctx, schemas); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query(ctx, `SELECT at, good, total, received_at FROM slo_points WHERE slo_id = 's' ORDER BY at`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got [][4]float64
		for rows.Next() {
			var r [4]float64
			if err := rows.Scan(&r[0], &r[1], &r[2], &r[3]); err != nil {
				t.Fatal(err)
			}
			got = append(got, r)
		}
		want := [][4]float64{{float64(m), 579, 600, 3}, {float64(m + 60000), 10, 10, 4}}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("rows after the upgrade = %v, want %v", got, want)
		}
	})
}
