package app

import (
	"context"
	"log/slog"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/drill"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/readiness"
	"github.com/nines-dev/nines/internal/store"
)

// wireReadiness builds chaos drills (on the incident service, the alert pipeline, the timers and
// maintenance) and the readiness scorecards that read every other domain.
func (a *App) wireReadiness(live *config.Live, db *store.DB, clk clock.Clock, log *slog.Logger, rules *incident.Rules) {
	a.Drills = drill.New(db, clk, live, a.Incidents, rules, a.Pipeline, a.Runner, a.Maintenance, log)
	a.Readiness = readiness.New(db, clk, live, readiness.Sources{Monitors: a.Monitors, SLOs: a.SLOs, OnCall: a.OnCall,
		Changes: a.Changes, Postmortems: a.Postmortems, Drills: a.Drills})
	live.Subscribe(func(_, _ *config.Config) {
		if err := a.Drills.Reconcile(context.Background()); err != nil {
			log.Error("planning recurring drills after a reload", "err", err)
		}
	})
}

// startDrills plans recurring drills and renews the leases of the drills this process runs.
func (a *App) startDrills(ctx context.Context) {
	if err := a.Drills.Reconcile(ctx); err != nil {
		a.Log.Error("planning recurring drills", "err", err)
	}
	a.loops.Add(1)
	go func() { defer a.loops.Done(); a.Drills.Run(ctx) }()
}
