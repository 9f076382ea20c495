package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
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
	"github.com/nines-dev/nines/internal/report"
	"github.com/nines-dev/nines/internal/slo"
	"github.com/nines-dev/nines/internal/statuspage"
	"github.com/nines-dev/nines/internal/timers"
	"github.com/nines-dev/nines/internal/web"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	var d dbFlags
	d.register(fs)
	cfgPath := fs.String("config", envOr("NINES_CONFIG", "nines.yaml"), "config file or directory (env NINES_CONFIG)")
	listen := fs.String("listen", envOr("NINES_LISTEN", ""), "address to listen on (default: server.listen from the config, else 127.0.0.1:8080)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return fmt.Errorf("config is invalid, not starting:\n%w", err)
	}
	live := config.NewLive(cfg)
	addr := *listen
	if addr == "" {
		addr = cfg.Server.Listen
	}
	if addr == "" {
		addr = "127.0.0.1:8080"
	}

	db, err := d.open(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()

	clk := clock.Real{}
	incidents := incident.New(db, clk)
	pipeline := alert.NewPipeline(db, incidents, clk)
	runner := timers.NewRunner(db, clk, log)
	srv := &web.Server{Config: live, DB: db, Incidents: incidents, Alerts: pipeline, Tokens: auth.NewTokens(db, clk),
		Log: log, Clock: clk, Version: version}

	// on-call (schedules, escalation, notifications)
	srv.OnCall = oncall.New(db, live, clk)
	srv.Escalation = escalate.New(db, live, incidents, srv.OnCall, runner, clk, log)
	srv.Escalation.BaseURL = "http://" + addr
	srv.Commanders = srv.Escalation
	defer srv.Escalation.Wait()

	// monitors (probes, heartbeats)

	// SLOs
	sloEngine := slo.NewEngine(db, clk, pipeline, log)
	sloEngine.Apply(cfg)
	live.Subscribe(func(_, c *config.Config) { sloEngine.Apply(c) })
	srv.SLOs = sloEngine
	sloCtx, stopSLO := context.WithCancel(context.Background())
	defer stopSLO()
	go sloEngine.Run(sloCtx)

	// web accounts, status pages
	if srv.StatusPages, err = statuspage.New(ctx, statuspage.Options{DB: db, Clock: clk, Config: live, Incidents: incidents,
		Runner: runner, Mailer: subscriberMailer(), Log: log}); err != nil {
		return err
	}
	if err := schedulePruning(ctx, db, runner, auth.NewSessions(db, clk), clk); err != nil {
		return err
	}

	// response (changes, postmortems, action items)
	incidents.SEVFor = func(sev string) string { return live.Get().Incidents.SEVFor(sev) }
	srv.Changes = change.New(db, incidents, clk)
	srv.Postmortems = postmortem.New(db, incidents, srv.Changes, live, runner, clk)
	srv.Postmortems.SLO = sloEngine
	srv.Postmortems.IndexIncidents()
	// Reminders reach action item owners through the same channels as pages.
	srv.Postmortems.Reminder = postmortem.NewContactReminder(srv.Postmortems, srv.Escalation.Channel, srv.Escalation.BaseURL)
	srv.Reports = report.New(incidents, pipeline, srv.Changes, live)

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	httpSrv.RegisterOnShutdown(srv.StopStreams) // web accounts, status pages: open pages must not hold up shutdown

	pipelineDone := make(chan struct{})
	go func() { pipeline.Run(); close(pipelineDone) }()
	runCtx, stopRunner := context.WithCancel(context.Background())
	defer stopRunner()
	runnerDone := make(chan struct{})
	go func() { runner.Run(runCtx); close(runnerDone) }()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := live.Reload(*cfgPath); err != nil {
				log.Error("config reload refused; the config in force is unchanged", "path", *cfgPath, "errors", err.Error())
				continue
			}
			log.Info("config reloaded", "path", *cfgPath)
		}
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	log.Info("nines serving", "addr", ln.Addr().String(), "database", db.Dialect.String(), "version", version)
	fmt.Fprintf(stdout, "nines listening on http://%s\n", ln.Addr())

	select {
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
	}
	// Shutdown order: stop taking requests and let in-flight ones finish (each waits for its
	// commit), then drain the pipeline, then stop the timer runner.
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	pipeline.Close()
	<-pipelineDone
	stopRunner()
	<-runnerDone
	log.Info("stopped")
	return nil
}
