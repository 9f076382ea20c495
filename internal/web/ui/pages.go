package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// The pages' templates sit beside their handlers: layout.html around each, error.html for
// errors, one file a page.
//
//go:embed *.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Pages renders pages: the parsed templates (each inside layout.html) and the content-hashed
// static assets they link to. Package public renders its pages with it too.
type Pages struct {
	guard *httpx.Guard
	// pages are the parsed templates, never executed themselves: each zone a viewer reads
	// times in gets its clones (zoned), whose time functions show that zone.
	pages  map[string]*template.Template
	mu     sync.Mutex
	zoned  map[string]map[string]*template.Template // zone name -> page name -> template
	zoneOf func(*http.Request) *time.Location
	assets map[string][]byte // hashed name -> content
	urls   map[string]string // plain name -> /static/hashed name
	now    func() time.Time  // the server's clock, so "5 minutes ago" agrees with the timeline
}

// NewPages parses this package's templates and those of more (another package's, named by
// file), each inside this package's layout; the guard gives every page its CSRF token.
func NewPages(clk clock.Clock, guard *httpx.Guard, more ...fs.FS) *Pages {
	u := &Pages{guard: guard, pages: map[string]*template.Template{}, zoned: map[string]map[string]*template.Template{}, assets: map[string][]byte{}, urls: map[string]string{}, now: clk.Now}
	fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := staticFS.ReadFile(p)
		sum := sha256.Sum256(data)
		name := strings.TrimPrefix(p, "static/")
		dot := strings.LastIndexByte(name, '.')
		hashed := name[:dot] + "." + hex.EncodeToString(sum[:6]) + name[dot:]
		u.assets[hashed] = data
		u.urls[name] = "/static/" + hashed
		return nil
	})
	funcs := template.FuncMap{
		"asset": func(name string) string { return u.urls[name] },
		"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"raw":   func(b []byte) string { return string(b) },
		"dec":   func(n int) int { return n - 1 },
		"clip":  clip,
		"secs":  secs,
		"has":   func(list []string, s string) bool { return slices.Contains(list, s) },
		// percent writes a share from 0 to 1 as a percentage to three decimals: "99.950%".
		"percent": func(v float64) string { return strconv.FormatFloat(v*100, 'f', 3, 64) + "%" },
		// minPassword is the rule auth.CheckPassword applies, for minlength and the words.
		"minPassword": func() int { return auth.MinPasswordLength },
		"list":        func(s ...string) []string { return s },
		// sev names a SEV level the one way every page says it: "SEV2 Major".
		"sev": func(level string) string {
			if u.guard != nil && u.guard.Config != nil {
				return u.guard.Config.Get().Incidents.SEVLabel(level)
			}
			return (&config.IncidentSettings{}).SEVLabel(level)
		},
	}
	maps.Copy(funcs, u.timeFuncs(time.UTC))
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "layout.html"))
	for _, fsys := range append([]fs.FS{templateFS}, more...) {
		entries, _ := fs.Glob(fsys, "*.html")
		for _, name := range entries {
			if name == "layout.html" {
				continue
			}
			u.pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(fsys, name))
		}
	}
	return u
}

// timeFuncs are the functions every template shows a time with, in the viewer's zone loc:
//
//	{{ts .T}}     2026-03-30 14:30:00 IST, the instant in UTC on hover
//	{{ago .T}}    5 minutes ago, the time in loc and in UTC on hover
//	{{until .T}}  in 9 minutes, the same hover
//	{{local .T}}  the value of a datetime-local field, in loc (read back with clock.Local in loc)
//	{{zone}}      the zone's name, for labels ("Start (Asia/Kolkata)")
//	{{stamp .T}}  the hover text alone, for an attribute
//
// Each writes a <time> element whose datetime attribute is the instant in UTC, so no page
// formats a time its own way.
func (p *Pages) timeFuncs(loc *time.Location) template.FuncMap {
	return template.FuncMap{
		"ts": func(t time.Time) template.HTML { return timeTag(t, Clock(t, loc), "") },
		"ago": func(t time.Time) template.HTML {
			return timeTag(t, ago(p.now().Sub(t)), Clock(t, loc))
		},
		"until": func(t time.Time) template.HTML {
			return timeTag(t, until(t.Sub(p.now())), Clock(t, loc))
		},
		"local": func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.In(loc).Format("2006-01-02T15:04")
		},
		"zone":  func() string { return loc.String() },
		"stamp": func(t time.Time) string { return Clock(t, loc) + " · " + t.UTC().Format("2006-01-02 15:04:05 UTC") },
	}
}

// Clock writes t as the pages show it in loc: "2026-03-30 14:30:00 IST". Go names a zone
// without an abbreviation by its offset ("+0530").
func Clock(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// timeTag is <time datetime="UTC instant" title="...">text</time>: the title says the local
// time when the text does not (before it), and always the instant in UTC.
func timeTag(t time.Time, text, local string) template.HTML {
	utc := t.UTC()
	title := utc.Format("2006-01-02 15:04:05 UTC")
	if local != "" {
		title = local + " · " + title
	}
	return template.HTML(`<time datetime="` + utc.Format(time.RFC3339) + `" title="` + template.HTMLEscapeString(title) + `">` +
		template.HTMLEscapeString(text) + `</time>`)
}

// SetZone says which zone a request's viewer reads times in; without it, UTC.
func (p *Pages) SetZone(f func(*http.Request) *time.Location) { p.zoneOf = f }

// Zone is the zone the request's viewer reads times in.
func (p *Pages) Zone(r *http.Request) *time.Location {
	if p.zoneOf == nil {
		return time.UTC
	}
	if loc := p.zoneOf(r); loc != nil {
		return loc
	}
	return time.UTC
}

// page returns the template name showing times in loc, cloning the parsed pages for a zone
// the first time one is needed.
func (p *Pages) page(name string, loc *time.Location) (*template.Template, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	set, ok := p.zoned[loc.String()]
	if !ok {
		set = map[string]*template.Template{}
		for n, t := range p.pages {
			c, err := t.Clone()
			if err != nil {
				return nil, err
			}
			set[n] = c.Funcs(p.timeFuncs(loc))
		}
		p.zoned[loc.String()] = set
	}
	t, ok := set[name]
	if !ok {
		return nil, fmt.Errorf("no page template %q", name)
	}
	return t, nil
}

// until says how far off a time is: "in 9 minutes", "now".
func until(d time.Duration) string {
	switch {
	case d < 30*time.Second:
		return "now"
	case d < time.Hour:
		return "in " + Plural(int((d+30*time.Second).Minutes()), "minute")
	case d < 48*time.Hour:
		return "in " + Plural(int(d.Hours()), "hour")
	}
	return "in " + Plural(int(d.Hours()/24), "day")
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return Plural(int(d.Minutes()), "minute") + " ago"
	case d < 48*time.Hour:
		return Plural(int(d.Hours()), "hour") + " ago"
	}
	return Plural(int(d.Hours()/24), "day") + " ago"
}

// Plural is n units: "1 incident", "3 incidents".
func Plural(n int, unit string) string {
	s := strconv.Itoa(n) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}

// page is what every template gets.
type page struct {
	Title     string
	Principal auth.Principal
	CSRF      string // every form posts it back as the field "csrf"
	Data      any
}

// Render writes the page name with data, inside the layout, with status.
func (p *Pages) Render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) error {
	who, _ := httpx.PrincipalFrom(r.Context())
	t, err := p.page(name, p.Zone(r))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", page{Title: title, Principal: who, CSRF: p.guard.CSRFToken(r), Data: data}); err != nil {
		return err
	}
	out := buf.Bytes()
	if f := httpx.RefusedFrom(r.Context()); f != nil {
		out = refill(out, f, r.URL.Path)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	img := "'self' data:"
	if name == "incident.html" {
		img += " https: http:" // an alert's images are thumbnails served by its sender
	}
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src "+img+"; style-src 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	w.Write(out)
	return nil
}

// RenderError answers a browser with the error page; one that must sign in first is sent to
// the sign-in page, and back here after it.
func (p *Pages) RenderError(w http.ResponseWriter, r *http.Request, e *httpx.Error) {
	if e.Status == http.StatusUnauthorized && r.Method == http.MethodGet {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	if err := p.Render(w, r, e.Status, "error.html", http.StatusText(e.Status), e); err != nil {
		http.Error(w, e.Msg, e.Status)
	}
}

// Static serves an asset under its content-hashed name, to be kept for a year.
func (s *Handler) Static(w http.ResponseWriter, r *http.Request) error {
	data, ok := s.pages.assets[r.PathValue("name")]
	if !ok {
		return httpx.Errorf(http.StatusNotFound, "no such asset")
	}
	if strings.HasSuffix(r.PathValue("name"), ".css") {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	} else if strings.HasSuffix(r.PathValue("name"), ".js") {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(data)
	return nil
}

// NotFound answers what no other route does: a 404 of the app's own, a page for people and
// JSON for the API.
func (s *Handler) NotFound(w http.ResponseWriter, r *http.Request) error {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return httpx.Errorf(http.StatusNotFound, "no API route GET %s; docs/api.md lists them", r.URL.Path)
	}
	return httpx.Errorf(http.StatusNotFound, "There is no page at %s. The link may be mistyped, or what it pointed to is gone.", r.URL.Path)
}

// clip is s cut to its first n characters, with "…" when it was longer: a title in a heading
// or a list, whose whole is shown elsewhere.
func clip(n int, s string) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n]), " ") + "…"
}
