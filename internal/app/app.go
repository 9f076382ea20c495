// Package app wires nines together: it builds every service on one database, clock and config,
// the web server in front of them, and runs their background loops. `nines serve` and the
// tests that need the whole of nines use it, so every domain is wired in one place and a test
// server answers as production does.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/probe"
	"github.com/nines-dev/nines/internal/report"
	"github.com/nines-dev/nines/internal/slo"
	"github.com/nines-dev/nines/internal/statuspage"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
	"github.com/nines-dev/nines/internal/web"
)

// Schemas lists every package's tables, in the order they must be created.
func Schemas() []store.Schema {
	return []store.Schema{
		store.OwnSchema,
		incident.Schema,
		alert.Schema,
		auth.Schema,
		timers.Schema,

		// on-call (schedules, escalation, notifications)
		oncall.Schema,
		escalate.Schema,

		// monitors (probes, heartbeats)
		probe.Schema,

		// SLOs
		slo.Schema,

		// web accounts, status pages
		statuspage.Schema,

		// response (changes, postmortems, action items)
		change.Schema,
		postmortem.Schema,
	}
}

// Options are what differs between one nines process and another beyond config and database.
type Options struct {
	// BaseURL is where people reach this server, for links sent in pages and reminders.
	BaseURL string
	// Version is shown on pages and in /metrics.
	Version string
	// Mailer sends status page subscribers their mail; nil means through
	// notifications.email.smtp, and without that subscriptions are off.
	Mailer statuspage.Mailer
}

// App is nines assembled: every service, and the web server that fronts them.
type App struct {
	Config    *config.Live
	DB        *store.DB
	Clock     clock.Clock
	Log       *slog.Logger
	Incidents *incident.Service
	Pipeline  *alert.Pipeline
	Runner    *timers.Runner
	Tokens    *auth.Tokens
	Web       *web.Server

	// on-call (schedules, escalation, notifications)
	OnCall     *oncall.Service
	Escalation *escalate.Engine

	// monitors (probes, heartbeats)
	Monitors     *probe.Monitors
	monitorsDone chan struct{}
	stopMonitors context.CancelFunc

	// SLOs
	SLOs *slo.Engine

	// web accounts, status pages
	Users       *auth.Users
	Sessions    *auth.Sessions
	Audit       *auth.Audit
	StatusPages *statuspage.Service

	// response (changes, postmortems, action items)
	Changes     *change.Store
	Postmortems *postmortem.Service
	Reports     *report.Service

	started      bool
	stopOnce     sync.Once
	stopLoops    context.CancelFunc
	pipelineDone chan struct{}
	loops        sync.WaitGroup
}

// New builds every service of nines on db and the web server in front of them. Nothing runs
// until Start.
func New(ctx context.Context, live *config.Live, db *store.DB, clk clock.Clock, log *slog.Logger, opts Options) (*App, error) {
	a := &App{Config: live, DB: db, Clock: clk, Log: log}
	a.Incidents = incident.New(db, clk)
	a.Pipeline = alert.NewPipeline(db, a.Incidents, clk)
	a.Runner = timers.NewRunner(db, clk, log)
	a.Tokens = auth.NewTokens(db, clk)
	srv := &web.Server{Config: live, DB: db, Incidents: a.Incidents, Alerts: a.Pipeline, Tokens: a.Tokens,
		Log: log, Clock: clk, Version: opts.Version}
	a.Web = srv

	// on-call (schedules, escalation, notifications)
	a.OnCall = oncall.New(db, live, clk)
	a.Escalation = escalate.New(db, live, a.Incidents, a.OnCall, a.Runner, clk, log)
	a.Escalation.BaseURL = opts.BaseURL
	srv.OnCall, srv.Escalation, srv.Commanders = a.OnCall, a.Escalation, a.Escalation

	// monitors (probes, heartbeats)
	a.Monitors = probe.New(db, clk, log, live, a.Pipeline, a.Runner, probe.Options{})
	srv.Monitors = a.Monitors

	// SLOs
	a.SLOs = slo.NewEngine(db, clk, a.Pipeline, log)
	a.SLOs.Probes = probeSLIs{a.Monitors.History}
	a.SLOs.Apply(live.Get())
	live.Subscribe(func(_, c *config.Config) { a.SLOs.Apply(c) })
	srv.SLOs = a.SLOs

	// web accounts, status pages
	a.Users, a.Sessions, a.Audit = auth.NewUsers(db, clk), auth.NewSessions(db, clk), auth.NewAudit(db, clk)
	srv.Users, srv.Sessions, srv.Audit = a.Users, a.Sessions, a.Audit
	var err error
	if a.StatusPages, err = statuspage.New(ctx, statuspage.Options{DB: db, Clock: clk, Config: live, Incidents: a.Incidents,
		Runner: a.Runner, Mailer: mailerFor(live, opts.Mailer), Log: log, Monitors: a.Monitors}); err != nil {
		return nil, fmt.Errorf("status pages: %w", err)
	}
	a.Monitors.OnChange = func(string) { a.StatusPages.Invalidate() }
	srv.StatusPages = a.StatusPages
	if err := schedulePruning(ctx, db, a.Runner, a.Sessions, clk); err != nil {
		return nil, fmt.Errorf("session pruning: %w", err)
	}

	// response (changes, postmortems, action items)
	a.Incidents.SEVFor = func(sev string) string { return live.Get().Incidents.SEVFor(sev) }
	a.Changes = change.New(db, a.Incidents, clk)
	a.Postmortems = postmortem.New(db, a.Incidents, a.Changes, live, a.Runner, clk)
	a.Postmortems.SLO = a.SLOs
	a.Postmortems.IndexIncidents()
	// Reminders reach action item owners through the same channels as pages.
	a.Postmortems.Reminder = postmortem.NewContactReminder(a.Postmortems, a.Escalation.Channel, opts.BaseURL)
	a.Reports = report.New(a.Incidents, a.Pipeline, a.Changes, live)
	srv.Changes, srv.Postmortems, srv.Reports = a.Changes, a.Postmortems, a.Reports

	return a, nil
}

// Start runs the background loops: the alert pipeline, the durable timer runner and the SLO
// engine.
func (a *App) Start() {
	a.started = true
	a.pipelineDone = make(chan struct{})
	go func() { a.Pipeline.Run(); close(a.pipelineDone) }()
	ctx, cancel := context.WithCancel(context.Background())
	a.stopLoops = cancel
	a.loops.Add(2)
	go func() { defer a.loops.Done(); a.Runner.Run(ctx) }()
	go func() { defer a.loops.Done(); a.SLOs.Run(ctx) }()
	// Monitors stop first on the way down: they submit to the pipeline Stop drains.
	mctx, stopMonitors := context.WithCancel(context.Background())
	a.stopMonitors, a.monitorsDone = stopMonitors, make(chan struct{})
	go func() {
		defer close(a.monitorsDone)
		if err := a.Monitors.Run(mctx); err != nil {
			a.Log.Error("monitors stopped", "err", err)
		}
	}()
}

// Stop stops the monitors, drains the alert pipeline (every accepted request is committed), then stops the timer
// runner and the SLO engine, then waits for deliveries already under way. Stop the HTTP server
// first: a request in flight waits for its commit. Stop may be called more than once.
func (a *App) Stop() {
	a.stopOnce.Do(func() {
		if a.started {
			a.stopMonitors()
			<-a.monitorsDone
			a.Pipeline.Close()
			<-a.pipelineDone
			a.stopLoops()
			a.loops.Wait()
		}
		a.Escalation.Wait()
	})
}

// probeSLIs reads the probe rollups for SLOs whose SLI is a monitor. It lives here, not in
// probe, so that probe (run by agents too) does not depend on the SLO engine.
type probeSLIs struct{ h *probe.History }

var _ slo.ProbeSource = probeSLIs{}

// ProbeMinutes returns the monitor's minutes with checks in [from, to).
func (p probeSLIs) ProbeMinutes(ctx context.Context, monitorID string, from, to time.Time) ([]slo.ProbeMinute, error) {
	mins, err := p.h.Minutes(ctx, monitorID, from, to)
	out := make([]slo.ProbeMinute, len(mins))
	for i, m := range mins {
		out[i] = slo.ProbeMinute(m)
	}
	return out, err
}

// schedulePruning deletes dead sessions every hour, from a durable timer that re-arms itself,
// so the sessions table stays the size of the people signed in.
func schedulePruning(ctx context.Context, db *store.DB, runner *timers.Runner, sessions *auth.Sessions, clk clock.Clock) error {
	runner.Handle(auth.PruneTimer, func(ctx context.Context, t timers.Timer) error {
		if _, err := sessions.Prune(ctx); err != nil {
			return err
		}
		return db.Tx(ctx, func(tx *store.Tx) error {
			return runner.Set(ctx, tx, auth.PruneTimer, "sessions", clk.Now().Add(auth.PruneEvery), "")
		})
	})
	pending, err := runner.Pending(ctx, auth.PruneTimer)
	if err != nil || len(pending) > 0 {
		return err
	}
	return db.Tx(ctx, func(tx *store.Tx) error {
		return runner.Set(ctx, tx, auth.PruneTimer, "sessions", clk.Now().Add(auth.PruneEvery), "")
	})
}
