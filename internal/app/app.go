// Package app wires nines together: it builds every service on one database, clock and config,
// the web server in front of them, and runs their background loops. `nines serve` and the
// tests that need the whole of nines use it, so every domain is wired in one place and a test
// server answers as production does.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/configdb"
	"github.com/nines-dev/nines/internal/drill"
	"github.com/nines-dev/nines/internal/emailin"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/maintenance"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/notify/channels"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/people"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/probe"
	"github.com/nines-dev/nines/internal/readiness"
	"github.com/nines-dev/nines/internal/report"
	"github.com/nines-dev/nines/internal/slo"
	"github.com/nines-dev/nines/internal/statuspage"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/timers"
	"github.com/nines-dev/nines/internal/watchdog"
	"github.com/nines-dev/nines/internal/web"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// Schemas lists every package's tables, in the order they must be created.
func Schemas() []store.Schema {
	return []store.Schema{
		store.OwnSchema,
		configdb.Schema,
		incident.Schema,
		alert.Schema,
		auth.Schema,
		timers.Schema,

		// on-call (schedules, escalation, notifications)
		oncall.Schema,
		escalate.Schema,
		people.Schema,

		// monitors (probes, heartbeats)
		probe.Schema,

		// SLOs
		slo.Schema,

		// web accounts, status pages, maintenance
		statuspage.Schema,
		maintenance.Schema,

		// changes, postmortems, action items, reports
		change.Schema,
		postmortem.Schema,

		// readiness scorecards, chaos drills
		readiness.Schema,
		drill.Schema,
	}
}

// Options are what differs between one nines process and another beyond config and database.
type Options struct {
	// BaseURL is where people reach this server, for links sent in pages and reminders.
	BaseURL string
	// Version is shown on pages and in /metrics; Commit in /metrics.
	Version, Commit string
}

// App is nines assembled: every service, and the web server that fronts them.
type App struct {
	Config *config.Live
	// ConfigDB holds the config objects made in the web app or the API, merged into Config.
	ConfigDB  *configdb.Store
	DB        *store.DB
	Clock     clock.Clock
	Log       *slog.Logger
	Incidents *incident.Service
	Pipeline  *alert.Pipeline
	Runner    *timers.Runner
	Tokens    *auth.Tokens
	Web       *web.Server
	// Metrics is nines' own metrics, served on /metrics; Notify counts what channels did.
	Metrics *httpx.MetricsRegistry
	Notify  *notify.Metrics
	// Watchdog checks nines' health end to end and pings server.watchdog.url while it holds.
	Watchdog *watchdog.Watchdog

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
	People      *people.Service
	Sessions    *auth.Sessions
	Audit       *auth.Audit
	StatusPages *statuspage.Service
	Maintenance *maintenance.Service

	// changes, postmortems, action items, reports
	Changes     *change.Store
	Postmortems *postmortem.Service
	Reports     *report.Service

	// readiness scorecards, chaos drills
	Readiness *readiness.Service
	Drills    *drill.Service

	// email in (the SMTP listener), when server.smtp_listen is set and ListenEmail called
	EmailIn   *emailin.Server
	emailDone chan struct{}

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
	// Whom a policy can reach counts what people verified on their profile (a person made in
	// nines has no contact method in the config): known before the database's objects are
	// checked with the files.
	a.People = people.New(db, clk)
	live.SetOwnMethods(ownMethods(a.People, log))
	// The config objects held in the database are in force before any service reads the
	// config.
	a.ConfigDB = configdb.New(db, live, clk, log)
	if err := a.ConfigDB.Load(ctx); err != nil {
		return nil, err
	}
	// The incident service's rules: the config decides the SEV level; escalation and drills,
	// built on the incident service, set theirs as they are built, and all are checked below.
	rules := &incident.Rules{SEVFor: func(sev string) string { return live.Get().Incidents.SEVFor(sev) }}
	a.Incidents = incident.New(db, clk, rules)
	a.Incidents.OnAppend(logTimeline(log))
	pipelineMetrics := alert.NewMetrics()
	a.Pipeline = alert.NewPipeline(db, a.Incidents, clk, alert.Options{Config: live, Committed: pipelineMetrics.Committed})
	a.Runner = timers.NewRunner(db, clk, log)
	a.Tokens = auth.NewTokens(db, clk)

	// Pages and action item reminders reach people through the same channels, which count
	// what they do.
	a.Notify = notify.NewMetrics()
	a.Notify.Expect(notify.ChannelTypes(live.Get()))
	live.Subscribe(func(_, c *config.Config) { a.Notify.Expect(notify.ChannelTypes(c)) })
	channel := a.Notify.Wrap(channels.For(notify.DefaultClient))

	// on-call (schedules, escalation, notifications), and maintenance: a window over a service
	// holds its escalations, one over a monitor mutes it
	a.OnCall = oncall.New(db, live, clk)
	a.Maintenance = maintenance.New(db, clk, live)
	// What an override or a window names is not deleted from under it.
	a.ConfigDB.GuardDelete("schedules", a.OnCall.GuardDelete)
	a.ConfigDB.GuardDelete("services", a.Maintenance.GuardService)
	a.ConfigDB.GuardDelete("monitors", a.Maintenance.GuardMonitor)
	a.Escalation = escalate.New(db, live, a.Incidents, a.OnCall, a.Runner, clk, log,
		escalate.Options{Channel: channel, BaseURL: opts.BaseURL, Holds: a.Maintenance, Lead: a.Pipeline.Lead, Rules: rules, People: a.People})

	// monitors (probes, heartbeats); status pages, built next on them, show what they find
	a.Monitors = probe.New(db, clk, log, live, a.Pipeline, a.Runner, probe.Options{
		Muted: func(id string, at time.Time) bool {
			muted, err := a.Maintenance.Muted(context.Background(), id, at)
			if err != nil {
				log.Error("maintenance windows unreadable; the monitor alerts as if none covered it", "monitor", id, "err", err)
			}
			return muted
		}})

	// SLOs
	a.SLOs = slo.NewEngine(db, clk, a.Pipeline, probeSLIs{a.Monitors.History}, log)
	a.SLOs.Apply(live.Get())
	live.Subscribe(func(_, c *config.Config) { a.SLOs.Apply(c) })

	// web accounts, status pages
	a.Users, a.Sessions, a.Audit = auth.NewUsers(db, clk), auth.NewSessions(db, clk), auth.NewAudit(db, clk)
	var err error
	if a.StatusPages, err = statuspage.New(ctx, statuspage.Options{DB: db, Clock: clk, Config: live, Incidents: a.Incidents,
		Runner: a.Runner, Mailer: statuspage.MailerFor(live), Log: log, Monitors: a.Monitors, Maintenance: a.Maintenance}); err != nil {
		return nil, fmt.Errorf("status pages: %w", err)
	}
	if err := schedulePruning(ctx, db, a.Runner, a.Sessions, clk); err != nil {
		return nil, fmt.Errorf("session pruning: %w", err)
	}

	// changes, postmortems, action items, reports
	a.Changes = change.New(db, a.Incidents, clk)
	if a.Postmortems, err = postmortem.New(db, a.Incidents, a.Changes, live, a.Runner, clk, postmortem.Options{
		SLO: a.SLOs, Publisher: reportPublisher{a.StatusPages}, Channel: channel, BaseURL: opts.BaseURL}); err != nil {
		return nil, err
	}
	a.Reports = report.New(a.Incidents, a.Pipeline, a.Changes, live)

	// readiness scorecards, chaos drills
	a.wireReadiness(live, db, clk, log, rules)
	if err := rules.Check(); err != nil {
		return nil, err
	}

	// who watches nines: end-to-end health, pinged to server.watchdog.url while it holds
	a.Watchdog = watchdog.New(live, clk, log,
		watchdog.Check{Name: "database", Run: func(ctx context.Context) error { return db.CheckWrites(ctx, clk.Now().UnixMilli()) }},
		watchdog.Check{Name: "timers", Run: a.Runner.Healthy},
		watchdog.Check{Name: "notifications", Run: func(context.Context) error { return a.Notify.Delivering() }})
	a.Metrics = a.registerMetrics(opts, pipelineMetrics)

	// the web server, in front of every service
	if a.Web, err = web.New(ctx, web.Options{Version: opts.Version, Metrics: a.Metrics, Services: httpx.Services{Config: live, DB: db, Clock: clk, Log: log,
		Incidents: a.Incidents, Alerts: a.Pipeline, Tokens: a.Tokens, OnCall: a.OnCall, Escalation: a.Escalation,
		Monitors: a.Monitors, SLOs: a.SLOs, Users: a.Users, People: a.People, Sessions: a.Sessions, Audit: a.Audit,
		StatusPages: a.StatusPages, Maintenance: a.Maintenance, ConfigDB: a.ConfigDB, Changes: a.Changes, Postmortems: a.Postmortems,
		Reports: a.Reports, Readiness: a.Readiness, Drills: a.Drills}}); err != nil {
		return nil, err
	}
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
	// Before any deadline runs: after nines itself was down, heartbeats get their period and
	// grace from now (their pings could not arrive meanwhile).
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	if n, since, down, err := a.Monitors.Resume(rctx); err != nil {
		a.Log.Error("giving heartbeats their time after a restart failed; one whose deadline passed while nines was down may be late at once", "err", err)
	} else if down && n > 0 {
		attrs := []any{"heartbeats", n}
		if !since.IsZero() {
			attrs = append(attrs, "not_running_since", since)
		}
		a.Log.Info("no node of nines was running: heartbeats get their period and grace from now before they are late", attrs...)
	}
	rcancel()
	a.loops.Add(5)
	go func() { defer a.loops.Done(); a.Runner.Run(ctx) }()
	go func() { defer a.loops.Done(); a.SLOs.Run(ctx) }()
	a.startDrills(ctx)
	// Health is known from the start: no scrape of /metrics finds a node without it.
	a.Watchdog.Check(ctx)
	// Other nodes' changes of the config objects, from now on.
	go func() { defer a.loops.Done(); a.ConfigDB.Run(ctx) }()
	go func() { defer a.loops.Done(); a.Watchdog.Run(ctx) }()
	go func() {
		defer a.loops.Done()
		if err := a.Postmortems.CatchUp(ctx); err != nil && ctx.Err() == nil {
			a.Log.Error("search index catch-up", "err", err)
		}
	}()
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

// ListenEmail starts taking alerts by email on server.smtp_listen and returns the address it
// listens on; nil when the config sets no smtp_listen. Stop stops it.
func (a *App) ListenEmail() (net.Addr, error) {
	addr := a.Config.Get().Server.SMTPListen
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("server.smtp_listen: %w", err)
	}
	a.EmailIn, a.emailDone = emailin.New(a.Config, a.Pipeline, a.Log), make(chan struct{})
	go func() {
		defer close(a.emailDone)
		if err := a.EmailIn.Serve(ln); err != nil {
			a.Log.Error("smtp listener stopped", "err", err)
		}
	}()
	return ln.Addr(), nil
}

// Stop stops taking mail, stops the monitors, drains the alert pipeline (every accepted request is committed), then stops the timer
// runner and the SLO engine, then waits for deliveries already under way. Stop the HTTP server
// first: a request in flight waits for its commit. Stop may be called more than once.
func (a *App) Stop() {
	a.stopOnce.Do(func() {
		if a.EmailIn != nil {
			// Mail in the middle of DATA gets its answer (each commits through the pipeline,
			// still running) or, past the grace, no 250, so its sender sends it again.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			a.EmailIn.Shutdown(ctx)
			cancel()
			<-a.emailDone
		}
		if a.started {
			a.stopMonitors()
			<-a.monitorsDone
			a.Pipeline.Close()
			<-a.pipelineDone
			a.Postmortems.WaitIndexed()
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
