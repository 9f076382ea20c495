package public

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/statuspage"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// Asset answers with the page's pre-rendered asset name: the page, its Statuspage-compatible
// JSON, its Atom feed, its badge.
func (s *Handler) Asset(name string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		a, err := s.StatusPages.Asset(r.Context(), r.PathValue("page"), name)
		if err != nil {
			return err
		}
		serveRendered(w, r, a)
		return nil
	}
}

// ComponentBadge answers GET /status/{page}/badges/{file}.
func (s *Handler) ComponentBadge(w http.ResponseWriter, r *http.Request) error {
	file := r.PathValue("file")
	if !strings.HasSuffix(file, ".svg") {
		return httpx.Errorf(http.StatusNotFound, "badges are at /status/{page}/badges/{component}.svg")
	}
	a, err := s.StatusPages.Asset(r.Context(), r.PathValue("page"), "badge/"+file)
	if err != nil {
		return err
	}
	serveRendered(w, r, a)
	return nil
}

// serveRendered writes a pre-rendered asset: ETag revalidation, a few seconds of shared caching,
// and the gzipped body for clients that take it.
func serveRendered(w http.ResponseWriter, r *http.Request, a *statuspage.Rendered) {
	h := w.Header()
	for k, v := range a.Header {
		h[k] = v
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == a.ETag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.Body
	if a.Gzip != nil && acceptsGzip(r) {
		h["Content-Encoding"] = gzipValue
		body = a.Gzip
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

var gzipValue = []string{"gzip"}

func acceptsGzip(r *http.Request) bool {
	ae := r.Header.Get("Accept-Encoding")
	if !strings.Contains(ae, "gzip") {
		return false
	}
	if !strings.Contains(ae, "q=") {
		return true
	}
	for _, part := range strings.Split(ae, ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// CustomDomains serves a status page at the root of its own domain: a request whose Host is a
// page's domain sees that page and nothing else of nines.
func (s *Handler) CustomDomains(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := s.StatusPages.PageForDomain(r.Host); p != nil {
			prefix := "/status/" + p.ID
			// The page's own paths, and the stylesheet of its subscription pages, pass as they are.
			if r.URL.Path != prefix && !strings.HasPrefix(r.URL.Path, prefix+"/") && !strings.HasPrefix(r.URL.Path, "/static/") {
				r2 := r.Clone(r.Context())
				r2.URL.Path = strings.TrimSuffix(prefix+r.URL.Path, "/")
				r2.URL.RawPath = ""
				r = r2
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Subscribe answers POST /status/{page}/subscribe.
func (s *Handler) Subscribe(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.ReadForm(w, r, 4<<10); err != nil {
		return err
	}
	page := r.PathValue("page")
	// Anyone may ask nines to mail anyone: count every request, so the page cannot be used to
	// flood an inbox with confirmation links.
	email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	if ok, wait := s.subscribes.Allow(email, httpx.RemoteAddr(r)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return httpx.Errorf(http.StatusTooManyRequests, "too many subscription requests; try again in %s", wait.Round(time.Minute))
	}
	s.subscribes.Fail(email, httpx.RemoteAddr(r))
	if err := s.StatusPages.Subscribe(r.Context(), page, r.PostForm.Get("email")); err != nil {
		return err
	}
	return s.publicMessage(w, r, page, "Check your inbox", "We sent a link to "+r.PostForm.Get("email")+". Open it within 48 hours to confirm the subscription.", "")
}

// SubscriptionLink shows the button that confirms or unsubscribes: a GET changes nothing,
// so mail scanners that open links cannot subscribe or unsubscribe anyone.
func (s *Handler) SubscriptionLink(action string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		page := r.PathValue("page")
		if s.StatusPages.Page(page) == nil {
			return httpx.Errorf(http.StatusNotFound, "status page %q not found", page)
		}
		title, msg := "Confirm your subscription", "Press the button to start getting email updates."
		if action == "unsubscribe" {
			title, msg = "Unsubscribe", "Press the button to stop getting email updates."
		}
		return s.publicMessage(w, r, page, title, msg, action)
	}
}

// Confirm answers POST /status/{page}/confirm.
func (s *Handler) Confirm(w http.ResponseWriter, r *http.Request) error {
	page := r.PathValue("page")
	if err := httpx.ReadForm(w, r, 4<<10); err != nil {
		return err
	}
	email, err := s.StatusPages.Confirm(r.Context(), page, r.Form.Get("t"))
	if err != nil {
		return err
	}
	return s.publicMessage(w, r, page, "Subscribed", email+" will get an email whenever there is news on this page.", "")
}

// Unsubscribe works from the page's button and from mail clients' one-click unsubscribe
// (RFC 8058 posts List-Unsubscribe=One-Click to the same link).
func (s *Handler) Unsubscribe(w http.ResponseWriter, r *http.Request) error {
	page := r.PathValue("page")
	if err := httpx.ReadForm(w, r, 4<<10); err != nil {
		return err
	}
	email, err := s.StatusPages.Unsubscribe(r.Context(), page, r.Form.Get("t"))
	if err != nil {
		return err
	}
	return s.publicMessage(w, r, page, "Unsubscribed", email+" will get no more email from this page.", "")
}

func (s *Handler) publicMessage(w http.ResponseWriter, r *http.Request, page, title, msg, action string) error {
	p := s.StatusPages.Page(page)
	return s.pages.Render(w, r, http.StatusOK, "message.html", title, map[string]any{
		"Page": p, "Heading": title, "Message": msg, "Action": action, "Token": r.URL.Query().Get("t")})
}
