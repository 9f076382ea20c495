package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/configdb"
	"github.com/nines-dev/nines/internal/drill"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/maintenance"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/people"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/probe"
	"github.com/nines-dev/nines/internal/readiness"
	"github.com/nines-dev/nines/internal/slo"
	"github.com/nines-dev/nines/internal/statuspage"
	"github.com/nines-dev/nines/internal/store"
)

// Error is an error with an HTTP status and a message the caller can act on; Errors lists
// every problem when there are several.
type Error struct {
	Status int
	Msg    string
	Errors []string
	// RetryAfter, in seconds, is sent as Retry-After when set; Close closes the connection
	// after the answer (the rest of the request is not read).
	RetryAfter int
	Close      bool
	// Detail, when set, is written into a JSON answer next to error and errors: what was
	// refused, when the client needs it (the drill run refused, kept on the drill's history).
	Detail map[string]any
	// RequestID names, in the server log, a failure nines did not expect: the answer says it
	// (never the error itself), so whoever saw the failure can point at its log line.
	RequestID string
	// Problems are the fields refused and why, when the input was (an *invalid.Error).
	Problems []invalid.Problem
}

func (e *Error) Error() string { return e.Msg }

// Messages are the problems to show: Errors, or the message alone when it is one.
func (e *Error) Messages() []string {
	if len(e.Errors) == 0 && e.Msg != "" {
		return []string{e.Msg}
	}
	return e.Errors
}

// Errorf is an *Error with status and a formatted message.
func Errorf(status int, format string, args ...any) error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// WriteJSON answers v as JSON with status, HTML characters left as they are. The answer is
// encoded before anything is sent: one that cannot be encoded (a time past year 9999, a NaN)
// is a 500, and the error is handed to the writer underneath that takes it (the route's, which
// logs it), never an empty 200.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		if ew := encodeErrorsOf(w); ew != nil {
			ew.EncodeFailed(err)
		}
		b.Reset()
		b.WriteString(`{"error":"internal error; the server log has the details","errors":["internal error; the server log has the details"]}` + "\n")
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// EncodeErrors is a response writer that takes note of an answer that could not be encoded.
type EncodeErrors interface{ EncodeFailed(err error) }

// encodeErrorsOf finds the writer under w that takes note of encoding errors, if any.
func encodeErrorsOf(w http.ResponseWriter) EncodeErrors {
	for {
		if ew, ok := w.(EncodeErrors); ok {
			return ew
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
}

// answers is the one place a domain's error becomes an HTTP status: each error below (or one
// wrapping it) is answered with its status and its own message. Input refused
// (*invalid.Error) is a 400 listing every problem; anything else is an internal error.
var answers = []struct {
	err    error
	status int
}{
	{incident.ErrNotFound, http.StatusNotFound},
	{oncall.ErrUnknownSchedule, http.StatusNotFound},
	{oncall.ErrOverrideNotFound, http.StatusNotFound},
	{escalate.ErrNotTriggered, http.StatusConflict},
	{escalate.ErrUnknownUser, http.StatusBadRequest},
	{escalate.ErrUnreachable, http.StatusBadRequest},
	{escalate.ErrLinkExpired, http.StatusGone},
	// A signed link's signature is its credential: a forged one is refused, not a bad request.
	{escalate.ErrLinkInvalid, http.StatusForbidden},
	{escalate.ErrNoChannel, http.StatusConflict},
	{auth.ErrNoUser, http.StatusNotFound},
	{auth.ErrSelf, http.StatusConflict},
	{auth.ErrLastAdmin, http.StatusConflict},
	{auth.ErrUserExists, http.StatusConflict},
	{auth.ErrBadInvite, http.StatusGone},
	{auth.ErrWrongPassword, http.StatusForbidden},
	{people.ErrNotFound, http.StatusNotFound},
	{people.ErrFromConfig, http.StatusConflict},
	{people.ErrNotAPerson, http.StatusConflict},
	{people.ErrUnverified, http.StatusConflict},
	{people.ErrBadCode, http.StatusBadRequest},
	{people.ErrTooMany, http.StatusTooManyRequests},
	{people.ErrTooSoon, http.StatusTooManyRequests},
	{slo.ErrNotFound, http.StatusNotFound},
	{statuspage.ErrNotFound, http.StatusNotFound},
	{statuspage.ErrNoMail, http.StatusNotFound},
	{statuspage.ErrNoAddress, http.StatusNotFound},
	{statuspage.ErrBadLink, http.StatusForbidden},
	{configdb.ErrNotFound, http.StatusNotFound},
	{configdb.ErrNoKind, http.StatusNotFound},
	{configdb.ErrDeclared, http.StatusConflict},
	{configdb.ErrExists, http.StatusConflict},
	{config.ErrNoPath, http.StatusConflict},
	{maintenance.ErrNotFound, http.StatusNotFound},
	{maintenance.ErrFromConfig, http.StatusConflict},
	{maintenance.ErrFinished, http.StatusConflict},
	{postmortem.ErrNoPostmortem, http.StatusNotFound},
	{postmortem.ErrNoAction, http.StatusNotFound},
	{postmortem.ErrNoStatusPage, http.StatusConflict},
	{readiness.ErrNoService, http.StatusNotFound},
	{config.ErrNoService, http.StatusNotFound},
	{readiness.ErrNotAPerson, http.StatusForbidden},
	{drill.ErrNotFound, http.StatusNotFound},
	{probe.ErrNoMonitor, http.StatusNotFound},
	{probe.ErrPaused, http.StatusConflict},
	{probe.ErrNotPaused, http.StatusConflict},
	{probe.ErrNotProbed, http.StatusConflict},
	{drill.ErrNoDrill, http.StatusNotFound},
	{context.Canceled, http.StatusServiceUnavailable},
	{alert.ErrClosed, http.StatusServiceUnavailable},
}

// ErrorOf is how err is answered: its status and the message said. An error nines does not
// know is an internal error (known false): the caller logs it, and tells the client nothing of
// it.
func ErrorOf(err error) (e *Error, known bool) {
	if errors.As(err, &e) {
		return e, true
	}
	if inv, ok := invalid.As(err); ok {
		return &Error{Status: http.StatusBadRequest, Msg: inv.Error(), Errors: inv.Messages(), Problems: inv.Problems}, true
	}
	var es *incident.ErrState
	var ds *drill.StateError
	if errors.As(err, &es) || errors.As(err, &ds) {
		return &Error{Status: http.StatusConflict, Msg: err.Error()}, true
	}
	var dr *drill.RefusedError
	if errors.As(err, &dr) {
		return &Error{Status: http.StatusConflict, Msg: err.Error(), Detail: map[string]any{"run": dr.Run}}, true
	}
	for _, a := range answers {
		if errors.Is(err, a.err) {
			if a.status == http.StatusServiceUnavailable {
				return &Error{Status: a.status, Msg: "nines is shutting down; retry"}, true
			}
			return &Error{Status: a.status, Msg: err.Error()}, true
		}
	}
	if store.Unavailable(err) {
		// The database is down, restarting or full: nothing was changed, and the same request
		// will work once it is back.
		return &Error{Status: http.StatusServiceUnavailable, RetryAfter: 5,
			Msg: "the database is unavailable right now and nothing was changed; retry in a few seconds"}, false
	}
	if store.Transient(err) {
		// PostgreSQL broke a deadlock or a serialization conflict with another transaction by
		// rolling this one back: nothing was written and nobody erred; the same request
		// succeeds when sent again. Logged (known is false) so a pattern of them shows.
		return &Error{Status: http.StatusServiceUnavailable, RetryAfter: 1,
			Msg: "this change collided with another one made at the same moment and nothing was changed; send it again"}, false
	}
	return &Error{Status: http.StatusInternalServerError, Msg: "internal error; the server log has the details"}, false
}

// RawError is an error answered with a body of its own shape: the Events API's, which
// PagerDuty's clients read.
type RawError struct {
	Status int
	Body   map[string]any
}

func (e *RawError) Error() string { m, _ := e.Body["message"].(string); return m }

// Refused is a form a browser posted that was refused: the page it was posted from is shown
// again with the values typed and the problems beside their fields (ui fills the form in).
type Refused struct {
	Action string     // the path the form was posted to
	Form   url.Values // what was posted
	Err    *Error
}

type refusedKey struct{}

// WithRefused marks ctx as the rendering of a page again after its form was refused.
func WithRefused(ctx context.Context, f *Refused) context.Context {
	return context.WithValue(ctx, refusedKey{}, f)
}

// RefusedFrom is the refused form a page is rendered again for, if it is.
func RefusedFrom(ctx context.Context) *Refused {
	f, _ := ctx.Value(refusedKey{}).(*Refused)
	return f
}
