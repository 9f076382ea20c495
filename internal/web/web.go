// Package web is nines over HTTP: one route table (routes.go) in front of the handlers, which
// live by audience in package api (the JSON API and ingest), ui (the pages of people signed in)
// and public (status pages, badges, heartbeat pings, signed links, calendar feeds). Package
// httpx is what they share: the route's access and team scope, who a request acts as, errors.
// Every request is authorized from the table before its handler runs.
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/web/api"
	"github.com/nines-dev/nines/internal/web/httpx"
	"github.com/nines-dev/nines/internal/web/public"
	"github.com/nines-dev/nines/internal/web/ui"
)

// Options are what the web server is built on: every service of nines.
type Options struct {
	httpx.Services
	// Version is the version of nines serving.
	Version string
	// Metrics is where /metrics reads nines' own series (internal/app gathers every domain's
	// there); nil makes the server its own with only the web series.
	Metrics *httpx.MetricsRegistry
}

// Server is the web server: the route table and the handlers it routes to.
type Server struct {
	config  *config.Live
	log     *slog.Logger
	audits  *auth.Audit
	guard   *httpx.Guard
	metrics *httpx.Metrics
	pages   *ui.Pages
	live    *ui.Live
	api     *api.Handler
	ui      *ui.Handler
	public  *public.Handler
	bodies  *httpx.BodyBudget
	mux     atomic.Pointer[http.ServeMux] // the routes, for showing a refused form's page again
}

// New builds the web server in front of the services o names; it refuses a missing one.
func New(ctx context.Context, o Options) (*Server, error) {
	guard, err := httpx.NewGuard(ctx, o.Services)
	if err != nil {
		return nil, err
	}
	metrics := httpx.NewMetrics(o.Services, o.Metrics)
	pages := ui.NewPages(o.Clock, guard, public.Templates)
	live := ui.NewLive(o.Incidents)
	a := api.New(o.Services, guard, metrics)
	s := &Server{config: o.Config, log: o.Log, audits: o.Audit, guard: guard, metrics: metrics, pages: pages, live: live, api: a,
		ui: ui.New(o.Services, guard, pages, live, a), public: public.New(o.Services, guard, pages),
		bodies: httpx.NewBodyBudget(o.Config)}
	// The route table is checked as it is registered: a route it could not authorize as
	// written stops nines from starting.
	for _, rt := range s.Routes() {
		if err := rt.Check(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Handler returns the HTTP handler serving every route.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(rt))
	}
	s.mux.Store(mux)
	return s.recoverPanics(s.guard.WithClient(s.public.CustomDomains(mux)))
}

func (s *Server) wrap(rt httpx.Route) http.Handler {
	label := rt.Method + " " + rt.Pattern
	named := &routeName{label: label, showPath: rt.Access == httpx.Token}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: 200}
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, named))
		r, done := httpx.WithBody(r, s.bodies)
		defer done()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				id := requestID()
				s.log.Error("handler panicked", append(requestAttrs(r), "request_id", id, "panic", p)...)
				if !sw.wrote {
					s.answer(sw, r, &httpx.Error{Status: http.StatusInternalServerError, Msg: "internal error; the server log has the details", RequestID: id})
				}
				s.metrics.Observe(label, http.StatusInternalServerError, time.Since(start))
			}
		}()
		err := s.guard.Authorize(rt, sw, r)
		if err == nil {
			err = rt.Handle(sw, r)
		}
		if err != nil {
			s.writeError(sw, r, err)
		}
		if sw.encodeErr != nil {
			s.log.Error("encoding the answer failed", append(requestAttrs(r), "err", sw.encodeErr)...)
		}
		s.audit(rt, r, sw.status)
		s.metrics.Observe(label, sw.status, time.Since(start))
	})
}

// routeName is how the log names the requests of a route.
type routeName struct {
	label    string // "POST /api/v1/ingest/generic/{key}"
	showPath bool
}

type routeKey struct{}

// requestAttrs name a request in the log: by its route pattern, and by its path only on a
// token route, whose path names objects (incident 5). Any other route's path may carry its
// credential (an integration key, a heartbeat's uuid, a ping key, a signed link), and the log
// must never hold one. The query string is never logged.
func requestAttrs(r *http.Request) []any {
	named, _ := r.Context().Value(routeKey{}).(*routeName)
	if named == nil {
		return []any{"method", r.Method}
	}
	if named.showPath {
		return []any{"route", named.label, "path", r.URL.Path}
	}
	return []any{"route", named.label}
}

// audit records every change made through an authenticated route: who, what, when, from where,
// and with what outcome, and tells open pages. Reads and ingest (recorded on timelines) are not
// changes of this kind; ingest reaches open pages through the incident hooks.
func (s *Server) audit(rt httpx.Route, r *http.Request, status int) {
	if rt.Access != httpx.Token || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return
	}
	who := "anonymous"
	if p, ok := httpx.PrincipalFrom(r.Context()); ok {
		who = p.Actor()
	} else if p, ok := httpx.IdentifiedFrom(r.Context()); ok {
		who = p.Actor() // a refused change is audited under whom its credential named
	}
	e := auth.Entry{Actor: who, Action: rt.Method + " " + rt.Pattern, Target: r.URL.Path, Remote: httpx.RemoteAddr(r), Detail: strconv.Itoa(status)}
	if err := s.audits.Record(context.WithoutCancel(r.Context()), e); err != nil {
		s.log.Error("audit log write failed", "action", e.Action, "err", err)
	}
	if status < 400 {
		// Whatever changed, open pages refresh: notes, public updates, anything else.
		s.live.Publish()
	}
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var raw *httpx.RawError
	if errors.As(err, &raw) {
		httpx.WriteJSON(w, raw.Status, raw.Body)
		return
	}
	e, known := httpx.ErrorOf(err)
	if !known {
		// The answer names the log line, and says nothing of the error.
		c := *e
		c.RequestID = requestID()
		e = &c
	}
	switch {
	case known:
	case store.Unavailable(err):
		s.log.Error("request failed: the database is unavailable", append(requestAttrs(r), "request_id", e.RequestID, "err", err)...)
	default:
		s.log.Error("request failed", append(requestAttrs(r), "request_id", e.RequestID, "err", err)...)
	}
	s.answer(w, r, e)
}

// requestID is a random id naming one failed request in the log and in its answer.
func requestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// answer writes the error e in the form the client reads: text to heartbeat pings, a page
// to browsers, JSON to the API.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, e *httpx.Error) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="nines"`)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Close {
		w.Header().Set("Connection", "close")
	}
	if wantsText(r) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(e.Status)
		io.WriteString(w, e.Msg+"\n")
		return
	}
	if wantsHTML(r) {
		if s.showFormAgain(w, r, e) {
			return
		}
		s.pages.RenderError(w, r, e)
		return
	}
	// Every error carries the list of what was wrong, one item when there is one thing.
	errs := e.Errors
	if len(errs) == 0 {
		errs = []string{e.Msg}
	}
	body := map[string]any{"error": e.Msg, "errors": errs}
	if e.RequestID != "" {
		body["request_id"] = e.RequestID
	}
	for k, v := range e.Detail {
		body[k] = v
	}
	httpx.WriteJSON(w, e.Status, body)
}

// showFormAgain answers a form a browser posted that was refused with the page the form was
// posted from, rendered again (a GET of it, through its route and its authorization) with the
// values typed and the problems beside their fields, and the refusal's status. Every form of
// the app is refused this way; a form posted from nowhere the app knows (no Referer of this
// site) gets the error page.
func (s *Server) showFormAgain(w http.ResponseWriter, r *http.Request, e *httpx.Error) bool {
	mux := s.mux.Load()
	if r.Method != http.MethodPost || r.PostForm == nil || e.Status < 400 || e.Status >= 500 || e.Status == http.StatusUnauthorized || mux == nil {
		return false
	}
	from, err := url.Parse(r.Referer())
	if err != nil || from.Host != r.Host || !strings.HasPrefix(from.Path, "/") || !wantsHTML(&http.Request{URL: from}) || strings.HasPrefix(from.Path, "/ping/") {
		return false
	}
	form := url.Values{}
	for k, v := range r.PostForm {
		if k != "csrf" {
			form[k] = v
		}
	}
	ctx := httpx.WithRefused(r.Context(), &httpx.Refused{Action: r.URL.Path, Form: form, Err: e})
	get := r.Clone(ctx)
	get.Method, get.Body, get.ContentLength = http.MethodGet, http.NoBody, 0
	get.URL = &url.URL{Path: from.Path, RawQuery: from.RawQuery}
	get.RequestURI = get.URL.RequestURI()
	get.Form, get.PostForm = nil, nil
	get.Header = r.Header.Clone()
	get.Header.Del("Content-Type")
	if _, pattern := mux.Handler(get); pattern == "" || pattern == "GET /" {
		return false
	}
	mux.ServeHTTP(&refusedStatus{ResponseWriter: w, status: e.Status}, get)
	return true
}

// refusedStatus answers the page shown again with the refusal's status, not its 200.
type refusedStatus struct {
	http.ResponseWriter
	status int
}

func (w *refusedStatus) WriteHeader(code int) {
	if code == http.StatusOK {
		code = w.status
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *refusedStatus) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wantsText: heartbeat pings are answered in plain text, errors included, as healthchecks.io
// answers them: the clients that send them (curl in a crontab, runitor) show the text.
func wantsText(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/ping/") }

func wantsHTML(r *http.Request) bool {
	p := r.URL.Path
	if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/v2/") || p == "/healthz" || p == "/readyz" || p == "/metrics" || strings.HasSuffix(p, ".json") {
		return false
	}
	return true
}

type statusWriter struct {
	http.ResponseWriter
	status    int
	wrote     bool  // the header is sent
	encodeErr error // WriteJSON could not encode the answer (and sent a 500)
}

func (w *statusWriter) WriteHeader(code int) {
	w.status, w.wrote = code, true
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// EncodeFailed takes note of an answer httpx.WriteJSON could not encode, for the log.
func (w *statusWriter) EncodeFailed(err error) { w.encodeErr = err }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) recoverPanics(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("handler panicked", append(requestAttrs(r), "panic", p)...)
				httpx.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// StopStreams ends every live event stream, so a graceful shutdown does not wait for open
// pages; browsers reconnect to the next server by themselves. Register it with
// http.Server.RegisterOnShutdown.
func (s *Server) StopStreams() {
	if s.live != nil {
		s.live.Stop()
	}
}
