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

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
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

	a, err := app.New(ctx, live, db, clock.Real{}, log, app.Options{BaseURL: "http://" + addr, Version: version})
	if err != nil {
		return err
	}
	defer a.Stop()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{Handler: a.Web.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	httpSrv.RegisterOnShutdown(a.Web.StopStreams) // web accounts, status pages: open pages must not hold up shutdown
	a.Start()

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
	a.Stop()
	log.Info("stopped")
	return nil
}
