package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
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
	// The database first: the files may name objects made in nines, which it holds.
	db, err := d.open(ctx, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CheckKey(); err != nil {
		return err
	}
	live, err := app.LoadConfig(ctx, *cfgPath, db, log) // it keeps the path, for the admins' reload
	if err != nil {
		return fmt.Errorf("config is invalid, not starting:\n%w", err)
	}
	cfg := live.Get()
	addr := *listen
	if addr == "" {
		addr = cfg.Server.Listen
	}
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	scheme := "http"
	var cert *certificate
	if cfg.Server.TLS != nil {
		if cert, err = loadCertificate(cfg.Server.TLS); err != nil {
			return err
		}
		scheme = "https"
	}

	// Listen first: links in pages and mail start with server.base_url, else with the address
	// nines got (the port of :0, this host's name for an address of every interface).
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	fallback := listenURL(scheme, ln.Addr())
	if cfg.Server.BaseURL == "" {
		log.Warn("server.base_url is not set: links in pages and mail start with "+fallback+
			", and status pages without a domain take no email subscriptions", "fallback", fallback)
	}
	a, err := app.New(ctx, live, db, clock.Real{}, log, app.Options{BaseURL: fallback, Version: version, Commit: buildCommit()})
	if err != nil {
		return err
	}
	defer a.Stop()
	ln = a.Web.LimitConnections(ln)
	httpSrv := web.NewHTTPServer(a.Web.Handler(), cfg.Server)
	httpSrv.ErrorLog = httpErrorLog(log)
	httpSrv.RegisterOnShutdown(a.Web.StopStreams) // web accounts, status pages: open pages must not hold up shutdown
	a.Start()
	// email in: stopped by a.Stop, before the pipeline drains
	mailAddr, err := a.ListenEmail()
	if err != nil {
		return err
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			reload(live, *cfgPath, log)
			reloadCertificate(cert, live, log)
		}
	}()

	serveErr := make(chan error, 1)
	if cert != nil {
		httpSrv.TLSConfig = cert.tlsConfig()
	}
	go func() {
		if cert != nil {
			serveErr <- httpSrv.ServeTLS(ln, "", "")
			return
		}
		serveErr <- httpSrv.Serve(ln)
	}()
	log.Info("nines serving", "addr", ln.Addr().String(), "tls", cert != nil, "database", db.Dialect.String(), "version", version, "commit", buildCommit())
	fmt.Fprintf(stdout, "nines listening on %s://%s\n", scheme, ln.Addr())
	if mailAddr != nil {
		log.Info("nines taking alerts by email", "smtp", mailAddr.String())
		fmt.Fprintf(stdout, "nines taking mail on smtp://%s\n", mailAddr)
	}

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

// listenURL is where nines is reached when server.base_url does not say: the address it
// listens on, with this host's name for an address of every interface (0.0.0.0, ::).
func listenURL(scheme string, a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return scheme + "://" + a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
		if name, err := os.Hostname(); err == nil && name != "" {
			host = name
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// reload applies the config file again on SIGHUP. Whatever the file holds, the process goes on
// serving: a refused file is logged with its positions and the config in force stays.
func reload(live *config.Live, path string, log *slog.Logger) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("config reload failed; the config in force is unchanged", "path", path, "err", fmt.Sprint(r))
		}
	}()
	if err := live.Reload(path); err != nil {
		log.Error("config reload refused; the config in force is unchanged", "path", path, "errors", err.Error())
		return
	}
	log.Info("config reloaded", "path", path)
}

// httpErrorLog is the ErrorLog of the HTTP server: Go's server reports what it cannot hand to
// a handler (a failed TLS handshake, a malformed request, a handler's panic) as lines of text,
// which would break a JSON log. Each becomes a record of nines' log instead. What any client
// can cause by connecting (a handshake cut short, a protocol error) is logged at debug, so a
// scanner cannot flood the log; the rest at warn, a panic at error.
func httpErrorLog(log *slog.Logger) *stdlog.Logger {
	return stdlog.New(httpErrorWriter{log}, "", 0)
}

type httpErrorWriter struct{ log *slog.Logger }

func (w httpErrorWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	switch {
	case strings.HasPrefix(line, "http: TLS handshake error from "):
		// "http: TLS handshake error from ADDR: ERR"
		rest := strings.TrimPrefix(line, "http: TLS handshake error from ")
		remote, err, _ := strings.Cut(rest, ": ")
		w.log.Debug("http: TLS handshake failed", "remote", remote, "err", err)
	case strings.HasPrefix(line, "http: panic serving "):
		w.log.Error("http: a handler panicked", "err", line)
	case strings.HasPrefix(line, "http2: "), strings.HasPrefix(line, "http: URL query contains semicolon"):
		w.log.Debug("http: a client's request was refused", "err", line)
	default:
		w.log.Warn("http server", "err", line)
	}
	return len(p), nil
}
