package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/incident"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// sessionCookie carries the browser's credential.
const sessionCookie = "nines_session"

// ui holds parsed templates and the content-hashed static assets.
type ui struct {
	pages  map[string]*template.Template
	assets map[string][]byte // hashed name -> content
	urls   map[string]string // plain name -> /static/hashed name
}

func newUI() *ui {
	u := &ui{pages: map[string]*template.Template{}, assets: map[string][]byte{}, urls: map[string]string{}}
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
		"ago":   ago,
		"ts":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
		"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"raw":   func(b []byte) string { return string(b) },
	}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	entries, _ := fs.Glob(templateFS, "templates/*.html")
	for _, e := range entries {
		name := strings.TrimPrefix(e, "templates/")
		if name == "layout.html" {
			continue
		}
		u.pages[name] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, e))
	}
	return u
}

func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d.Minutes()), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d.Hours()), "hour") + " ago"
	}
	return plural(int(d.Hours()/24), "day") + " ago"
}

func plural(n int, unit string) string {
	s := itoa(n) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

func (s *Server) uiRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/static/{name}", Access: Public, Handle: s.static},
		{Method: "GET", Pattern: "/login", Access: Public, Handle: s.loginPage},
		{Method: "POST", Pattern: "/login", Access: Public, Handle: s.login},
		{Method: "POST", Pattern: "/logout", Access: Public, Handle: s.logout},
		{Method: "GET", Pattern: "/{$}", Role: auth.Viewer, Handle: s.incidentsPage},
		{Method: "GET", Pattern: "/incidents/{id}", Role: auth.Viewer, Handle: s.incidentPage},
	}
}

func (s *Server) static(w http.ResponseWriter, r *http.Request) error {
	data, ok := s.ui.assets[r.PathValue("name")]
	if !ok {
		return errorf(http.StatusNotFound, "no such asset")
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

// page is what every template gets.
type page struct {
	Title     string
	Principal auth.Principal
	CSRF      string // every form posts it back as the field "csrf"
	Data      any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) error {
	p, _ := PrincipalFrom(r.Context())
	var buf bytes.Buffer
	if err := s.ui.pages[name].ExecuteTemplate(&buf, "layout.html", page{Title: title, Principal: p, CSRF: s.csrfToken(r), Data: data}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, e *Error) {
	if e.Status == http.StatusUnauthorized && r.Method == http.MethodGet {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	if err := s.render(w, r, e.Status, "error.html", http.StatusText(e.Status), e); err != nil {
		http.Error(w, e.Msg, e.Status)
	}
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "login.html", "Sign in", map[string]string{"Next": safeNext(r.URL.Query().Get("next"))})
}

// login signs a browser in with an API token, kept in an HttpOnly, SameSite=Strict cookie.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return errorf(http.StatusBadRequest, "bad form: %v", err)
	}
	secret := strings.TrimSpace(r.PostForm.Get("token"))
	if _, err := s.Tokens.Verify(r.Context(), secret); err != nil {
		return s.render(w, r, http.StatusUnauthorized, "login.html", "Sign in", map[string]string{
			"Next": safeNext(r.PostForm.Get("next")), "Error": "That token is unknown, expired or revoked."})
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 12 * 3600})
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, MaxAge: -1, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// safeNext keeps redirects after login on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (s *Server) incidentsPage(w http.ResponseWriter, r *http.Request) error {
	open, _, err := s.Incidents.List(r.Context(), incident.Filter{States: []incident.State{incident.Triggered, incident.Acknowledged}, Limit: 200})
	if err != nil {
		return err
	}
	recent, _, err := s.Incidents.List(r.Context(), incident.Filter{States: []incident.State{incident.Resolved}, Limit: 50})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "incidents.html", "Incidents", map[string]any{"Open": open, "Recent": recent,
		"OnCall": s.onCallNow(r.Context())})
}

func (s *Server) incidentPage(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	inc, err := s.Incidents.Get(r.Context(), id)
	if err != nil {
		return err
	}
	events, err := s.Incidents.Timeline(r.Context(), id)
	if err != nil {
		return err
	}
	alerts, err := s.Alerts.ForIncident(r.Context(), id)
	if err != nil {
		return err
	}
	svc := s.Config.Get().Service(inc.ServiceID)
	name := inc.ServiceID
	if svc != nil {
		name = svc.Name
	}
	return s.render(w, r, http.StatusOK, "incident.html", inc.Title, map[string]any{
		"Incident": inc, "Events": events, "Alerts": alerts, "ServiceName": name})
}
