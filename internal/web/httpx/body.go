package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
)

// Request bodies. A request's body is read once and kept with the request, so everything that
// reads it (the team scope check, the CSRF check, the handler) reads the same bytes, and a form
// is parsed once, by the standard library's parser, into r.Form and r.PostForm: the scope check
// reads the very values the handler reads, whatever the encoding (urlencoded or multipart),
// however often a field repeats.
//
// Bodies arrive at the client's pace, and a client that sends most of one and stalls holds
// what it sent until server.read_timeout. So the bytes held are bounded across all requests
// (server.max_body_memory) and per client address (a quarter of it): memory is taken as bytes
// arrive, never for what a Content-Length only announces, and a request that cannot get its
// share is answered 503 with Retry-After at once. What a request took is given back when it
// has been answered.

// MaxBody is the largest request body nines reads on most routes.
const MaxBody = 512 << 10

// MaxAnyBody is the largest body any route reads (pushed SLI events: 10,000 points of about
// 100 bytes each, with room for whitespace): the checks that run before a handler read up to
// it, and the handler refuses what is over its own limit.
const MaxAnyBody = 2 << 20

// requestBody is a request's body, once read.
type requestBody struct {
	read    bool
	raw     []byte
	err     error
	parsed  bool // r.Form and r.PostForm hold the form of raw
	formErr error

	budget *BodyBudget // nil: not bounded (a request that did not come through the route table)
	client string      // the client address the budget counts it under
	held   int64       // bytes taken from the budget
}

type bodyKey struct{}

// WithBody gives r a place to keep its body once read, bounded by budget; done gives back the
// memory it took.
func WithBody(r *http.Request, budget *BodyBudget) (req *http.Request, done func()) {
	b := &requestBody{budget: budget, client: LimitKey(RemoteAddr(r))}
	return r.WithContext(context.WithValue(r.Context(), bodyKey{}, b)), b.release
}

func bodyOf(r *http.Request) *requestBody {
	if b, ok := r.Context().Value(bodyKey{}).(*requestBody); ok {
		return b
	}
	return &requestBody{} // a request that did not come through the route table
}

// BodyBudget is the memory request bodies may hold at once (server.max_body_memory).
type BodyBudget struct {
	cfg      *config.Live
	mu       sync.Mutex
	total    int64
	byClient map[string]int64
}

// NewBodyBudget returns the budget of the config in force.
func NewBodyBudget(cfg *config.Live) *BodyBudget {
	return &BodyBudget{cfg: cfg, byClient: map[string]int64{}}
}

// take reserves n bytes for client, or reports that its share or the whole is spent.
func (bb *BodyBudget) take(client string, n int64) bool {
	limit := bb.cfg.Get().Server.MaxBodyMemory
	if limit <= 0 {
		limit = config.DefaultMaxBodyMemory
	}
	bb.mu.Lock()
	defer bb.mu.Unlock()
	if bb.total+n > limit || bb.byClient[client]+n > limit/4 {
		return false
	}
	bb.total += n
	bb.byClient[client] += n
	return true
}

func (bb *BodyBudget) give(client string, n int64) {
	if n == 0 {
		return
	}
	bb.mu.Lock()
	defer bb.mu.Unlock()
	bb.total -= n
	if bb.byClient[client] -= n; bb.byClient[client] <= 0 {
		delete(bb.byClient, client)
	}
}

func (b *requestBody) take(n int64) bool {
	if b.budget == nil {
		return true
	}
	if !b.budget.take(b.client, n) {
		return false
	}
	b.held += n
	return true
}

func (b *requestBody) give(n int64) {
	if b.budget != nil {
		b.budget.give(b.client, n)
		b.held -= n
	}
}

func (b *requestBody) release() { b.give(b.held) }

// errBodyBudget answers a request whose body would take more memory than is left.
var errBodyBudget = &Error{Status: http.StatusServiceUnavailable, RetryAfter: 5, Close: true,
	Msg: "nines is holding as many request bodies in memory as it may right now; retry in a few seconds"}

// ReadBody returns r's body, refusing one over MaxBody.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return ReadBodyUpTo(w, r, MaxBody)
}

// ReadBodyUpTo returns r's body, refusing one over limit bytes (413). The first read takes
// the body from the connection; later ones get the same bytes.
func ReadBodyUpTo(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b := bodyOf(r)
	if !b.read {
		b.read = true
		b.raw, b.err = b.readAll(w, r, limit)
		// Whoever reads r.Body after this gets the same bytes.
		r.Body = io.NopCloser(bytes.NewReader(b.raw))
	}
	if b.err != nil {
		return nil, b.err
	}
	if int64(len(b.raw)) > limit {
		return nil, tooLarge(limit)
	}
	return b.raw, nil
}

func tooLarge(limit int64) error {
	return Errorf(http.StatusRequestEntityTooLarge, "request body is larger than %d KiB", limit>>10)
}

// bodyChunk is the most memory taken ahead of the bytes that fill it.
const bodyChunk = 16 << 10

// readAll reads the body as it arrives into a buffer that grows (at most doubling) only when
// what arrived has filled it, and never past the Content-Length announced; each growth is taken
// from the budget first.
func (b *requestBody) readAll(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	return b.readFrom(http.MaxBytesReader(w, r.Body, limit), r.ContentLength, limit)
}

// ReadBodyPrefix returns the first n bytes of r's body (within the budget); the rest is left
// unread.
func ReadBodyPrefix(r *http.Request, n int64) ([]byte, error) {
	announced := r.ContentLength
	if announced > n {
		announced = n
	}
	return bodyOf(r).readFrom(io.LimitReader(r.Body, n), announced, n)
}

// readFrom reads body, of the length announced (-1: unknown) and at most limit bytes.
func (b *requestBody) readFrom(body io.Reader, announced, limit int64) ([]byte, error) {
	var buf []byte
	for announced < 0 || int64(len(buf)) < announced {
		if len(buf) == cap(buf) {
			grow := int64(max(2*cap(buf), bodyChunk))
			if announced >= 0 {
				grow = min(grow, announced)
			} else {
				grow = min(grow, limit+1)
			}
			if !b.take(grow) {
				return nil, errBodyBudget
			}
			next := make([]byte, len(buf), grow)
			copy(next, buf)
			b.give(int64(cap(buf)))
			buf = next
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, tooLarge(limit)
			}
			return nil, Errorf(http.StatusBadRequest, "reading request body: %v", err)
		}
	}
	return buf, nil
}

// ReadForm reads r's body (at most limit bytes) and parses it as a form into r.Form and
// r.PostForm, as urlencoded or multipart per its Content-Type, once. A form that does not
// parse is refused whole (400), never read in part.
func ReadForm(w http.ResponseWriter, r *http.Request, limit int64) error {
	raw, err := ReadBodyUpTo(w, r, limit)
	if err != nil {
		return err
	}
	b := bodyOf(r)
	if !b.parsed {
		b.parsed = true
		r.Body = io.NopCloser(bytes.NewReader(raw))
		r.Form, r.PostForm, r.MultipartForm = nil, nil, nil
		err := r.ParseForm()
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && ct == "multipart/form-data" {
			// Its parts stay in memory: the body is no larger than limit.
			err = r.ParseMultipartForm(limit)
		}
		if err != nil {
			b.formErr = invalid.Field("", "bad form: %v", err)
		} else {
			b.formErr = refuseFormText(r.Form)
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
	}
	return b.formErr
}

// Text people write is refused when it cannot be stored as written: a NUL byte, or bytes that
// are not UTF-8 (which a form, unlike JSON, can carry). The error names the field.

func refuseFormText(form url.Values) error {
	for _, k := range slices.Sorted(maps.Keys(form)) {
		for _, v := range append([]string{k}, form[k]...) {
			if why := badText(v); why != "" {
				name := k
				if badText(k) != "" || len(k) > 60 {
					name = fmt.Sprintf("%.60q", k)
				}
				return invalid.Field(name, "%s", why)
			}
		}
	}
	return nil
}

func badText(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return "holds a NUL byte, which text cannot"
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	}
	return ""
}

// refuseNUL refuses a JSON body with a NUL (\u0000) in a string, naming where it is.
func refuseNUL(raw []byte) error {
	if !bytes.Contains(raw, []byte(`\u0000`)) {
		return nil // the only way a JSON string holds a NUL
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	if path, ok := nulAt(v, ""); ok {
		if path == "" {
			path = "body"
		}
		return invalid.Field(path, "holds a NUL byte, which text cannot")
	}
	return nil
}

// nulAt is the path of the first string (or key) in v holding a NUL: "title", "roles.commander",
// "results[2].message"; false for none.
func nulAt(v any, path string) (string, bool) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch x := v.(type) {
	case string:
		if strings.IndexByte(x, 0) >= 0 {
			return path, true
		}
	case []any:
		for i, e := range x {
			if p, ok := nulAt(e, fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, true
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if strings.IndexByte(k, 0) >= 0 {
				return join(strconv.QuoteToASCII(k)), true
			}
			if p, ok := nulAt(x[k], join(k)); ok {
				return p, true
			}
		}
	}
	return "", false
}

// ReadJSON decodes a JSON request body of at most MaxBody bytes into v, naming what was wrong.
// It is for what people write (notes, titles, names): text holding a NUL byte is refused,
// naming the field, since it cannot be stored as written.
func ReadJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if err := ReadIngestJSON(w, r, v, MaxBody); err != nil {
		return err
	}
	return refuseNUL(bodyOf(r).raw)
}

// jsonKind says a Go type as the JSON it is read from, never naming the Go type.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer of 0 or more"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "object"
}

// ReadIngestJSON is ReadJSON for what machines send (probe results, SLI events), whose bodies
// may be larger than MaxBody: text is kept as sent, and stored with U+FFFD for a NUL
// (store.ValidText), so that no result is lost for a byte in it.
func ReadIngestJSON(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	body, err := ReadBodyUpTo(w, r, limit)
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
			if te.Field == "" {
				return invalid.Field("", "wrong type: the body is a JSON %s; want a JSON %s", te.Value, jsonKind(te.Type))
			}
			return invalid.Field(te.Field, "wrong type: got %s, want %s", te.Value, jsonKind(te.Type))
		case errors.As(err, &se):
			return invalid.Field("", "malformed JSON at byte %d: %v", se.Offset, se)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return invalid.Field("", "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return invalid.Field("", "malformed JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF { // dec.More would take a stray '}' or ']' for the end
		return invalid.Field("", "malformed JSON: the body has data after the JSON object")
	}
	return nil
}
