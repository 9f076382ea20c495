// Package web is nines over HTTP: the ingest endpoints, the REST API under /api/v1, the
// server-rendered pages, health and metrics. Every route is declared once in the route table
// with the least role that may call it; the table drives routing, authorization, the API
// document check and the authorization matrix tests.
package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
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
)

// Server holds what the handlers need. Wiring is done by cmd/nines.
type Server struct {
	Config    *config.Live
	DB        *store.DB
	Incidents *incident.Service
	Alerts    *alert.Pipeline
	Tokens    *auth.Tokens
	Log       *slog.Logger
	Clock     clock.Clock
	Version   string

	// on-call (schedules, escalation, notifications)
	OnCall     *oncall.Service
	Escalation *escalate.Engine

	// monitors (probes, heartbeats)
	Monitors *probe.Monitors

	// SLOs
	SLOs *slo.Engine

	// web accounts, status pages
	Users       *auth.Users
	Sessions    *auth.Sessions
	Audit       *auth.Audit
	Limiter     *auth.LoginLimiter
	StatusPages *statuspage.Service
	live        *liveHub
	oidc        oidcClient
	subscribes  *auth.LoginLimiter // bounds confirmation mail per address and per client

	// response (changes, postmortems, action items)
	Changes     *change.Store
	Postmortems *postmortem.Service
	Reports     *report.Service
	// Commanders, when set, names who is on call for a service, to make them commander of an
	// incident declared without one (an adapter over the on-call package's schedules).
	Commanders OnCallFinder

	metrics *metrics
	ui      *ui
	csrfKey []byte
}

// Access says who may call a route.
type Access int

const (
	// Token routes need a principal with at least the route's role.
	Token Access = iota
	// Public routes need no principal (health, pages for everyone).
	Public
	// Key routes are authenticated by an integration key in the path or body (ingest).
	Key
	// Secret routes carry their credential in the URL: a signed link sent in a page, a
	// calendar feed key, a subscriber's confirmation token. A wrong or missing secret is
	// refused (401, 403, 404 or 410) and opens nothing.
	Secret
)

// Route is one entry of the route table.
type Route struct {
	Method  string
	Pattern string // net/http ServeMux pattern, without the method
	Access  Access
	Role    auth.Role // least role for Token routes
	Handle  func(w http.ResponseWriter, r *http.Request) error
	// API marks routes documented in docs/api.md.
	API bool
}

// Routes is the whole route table.
func (s *Server) Routes() []Route {
	var rs []Route
	rs = append(rs, s.healthRoutes()...)
	rs = append(rs, s.ingestRoutes()...)
	rs = append(rs, s.incidentRoutes()...)
	rs = append(rs, s.uiRoutes()...)
	rs = append(rs, s.oncallRoutes()...)
	rs = append(rs, s.monitorsRoutes()...)
	rs = append(rs, s.sloRoutes()...)
	rs = append(rs, s.statuspageRoutes()...)
	rs = append(rs, s.responseRoutes()...)
	return rs
}

// Handler returns the HTTP handler serving every route.
func (s *Server) Handler() http.Handler {
	if s.metrics == nil {
		s.metrics = newMetrics(s)
	}
	if s.ui == nil {
		s.ui = newUI()
	}
	s.initAccounts() // web accounts, status pages
	if s.csrfKey == nil {
		key, err := s.DB.Secret(context.Background(), "csrf")
		if err != nil {
			panic(fmt.Sprintf("web: reading the CSRF key: %v", err))
		}
		s.csrfKey = key
	}
	mux := http.NewServeMux()
	for _, rt := range s.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(rt))
	}
	return s.recoverPanics(s.customDomains(mux))
}

func (s *Server) wrap(rt Route) http.Handler {
	label := rt.Method + " " + rt.Pattern
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: 200}
		err := s.authorize(rt, r)
		if err == nil {
			err = rt.Handle(sw, r)
		}
		if err != nil {
			s.writeError(sw, r, err)
		}
		s.audit(rt, r, sw.status)
		s.metrics.observe(label, sw.status, time.Since(start))
	})
}

type principalKey struct{}

// PrincipalFrom returns the principal a request acts as.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

// authorize finds the principal of r and checks the route's role. On success the principal is
// stored in r's context (r is updated in place).
func (s *Server) authorize(rt Route, r *http.Request) error {
	if rt.Access != Token {
		return nil
	}
	p, viaCookie, err := s.principal(r)
	if err != nil {
		return err
	}
	// A browser sends its cookie with any request, including one a hostile page makes it send;
	// a change made with the cookie must carry the CSRF token that only our pages know.
	if viaCookie && r.Method != http.MethodGet && r.Method != http.MethodHead && !s.validCSRF(r) {
		return &Error{Status: http.StatusForbidden, Msg: "forbidden: missing or wrong CSRF token; reload the page and try again"}
	}
	if !p.Can(rt.Role) {
		return &Error{Status: http.StatusForbidden, Msg: fmt.Sprintf("forbidden: this needs the %s role; %s has %s", rt.Role, p.Actor(), p.Role)}
	}
	*r = *r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
	return nil
}

// principal finds who r acts as, and whether the credential came from the session cookie.
func (s *Server) principal(r *http.Request) (auth.Principal, bool, error) {
	secret, viaCookie := bearer(r), false
	if secret == "" {
		if c, err := r.Cookie(sessionCookie); err == nil {
			secret, viaCookie = c.Value, true
		}
	}
	if secret == "" {
		return auth.Principal{}, false, &Error{Status: http.StatusUnauthorized, Msg: "unauthorized: send an API token as 'Authorization: Bearer <token>'"}
	}
	if viaCookie {
		p, err := s.Sessions.Verify(r.Context(), secret)
		if errors.Is(err, auth.ErrNoSession) {
			return p, viaCookie, &Error{Status: http.StatusUnauthorized, Msg: "unauthorized: " + err.Error()}
		}
		return p, viaCookie, err
	}
	p, err := s.Tokens.Verify(r.Context(), secret)
	if errors.Is(err, auth.ErrInvalidToken) {
		return p, viaCookie, &Error{Status: http.StatusUnauthorized, Msg: "unauthorized: " + err.Error()}
	}
	return p, viaCookie, err
}

// csrfToken is the token forms of this session must send back: an HMAC of the session
// credential, so it needs no storage and changes when the session does.
func (s *Server) csrfToken(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(c.Value))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

func (s *Server) validCSRF(r *http.Request) bool {
	want := s.csrfToken(r)
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.FormValue("csrf")
	}
	return want != "" && hmac.Equal([]byte(got), []byte(want))
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// actor is the timeline actor of an authorized request.
func actor(r *http.Request, source string) incident.Actor {
	p, _ := PrincipalFrom(r.Context())
	return incident.Actor{Name: p.Actor(), Source: source}
}

// Error is an error with an HTTP status and a message the caller can act on.
type Error struct {
	Status int
	Msg    string
	Errors []string
}

func (e *Error) Error() string { return e.Msg }

func errorf(status int, format string, args ...any) error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var pe *pdErr
	if errors.As(err, &pe) {
		writeJSON(w, pe.status, pe.body)
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		switch {
		case errors.Is(err, incident.ErrNotFound):
			e = &Error{Status: http.StatusNotFound, Msg: err.Error()}
		case errors.Is(err, context.Canceled), errors.Is(err, alert.ErrClosed):
			e = &Error{Status: http.StatusServiceUnavailable, Msg: "nines is shutting down; retry"}
		default:
			var es *incident.ErrState
			if errors.As(err, &es) {
				e = &Error{Status: http.StatusConflict, Msg: err.Error()}
				break
			}
			s.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			e = &Error{Status: http.StatusInternalServerError, Msg: "internal error; the server log has the details"}
		}
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="nines"`)
	}
	if wantsHTML(r) {
		s.renderError(w, r, e)
		return
	}
	body := map[string]any{"error": e.Msg}
	if len(e.Errors) > 0 {
		body["errors"] = e.Errors
	}
	writeJSON(w, e.Status, body)
}

func wantsHTML(r *http.Request) bool {
	p := r.URL.Path
	if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/v2/") || p == "/healthz" || p == "/readyz" || p == "/metrics" || strings.HasSuffix(p, ".json") {
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// maxBody is the largest request body nines reads.
const maxBody = 512 << 10

// readJSON decodes a JSON request body into v, naming what was wrong.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return errorf(http.StatusBadRequest, "%s: wrong type: got %s, want %s", te.Field, te.Value, te.Type)
		case errors.As(err, &se):
			return errorf(http.StatusBadRequest, "malformed JSON at byte %d: %v", se.Offset, se)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return errorf(http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return errorf(http.StatusBadRequest, "malformed JSON: %v", err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "malformed JSON: the body has data after the JSON object")
	}
	return nil
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "request body is larger than %d KiB", maxBody>>10)
		}
		return nil, errorf(http.StatusBadRequest, "reading request body: %v", err)
	}
	return body, nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

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
				s.Log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", p)
				writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
			}
		}()
		h.ServeHTTP(w, r)
	})
}
