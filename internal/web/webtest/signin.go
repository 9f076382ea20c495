package webtest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
)

// SignedIn is a browser signed in to a running nines server the way a person signs in: a user
// account, a username and password posted to /login, the session cookie kept in a jar, and the
// CSRF token read from a page.
type SignedIn struct {
	t      testing.TB
	URL    string       // the server's base URL
	Client *http.Client // keeps the session cookie; does not follow redirects
	Cookie string       // the session id, for requests built by hand
	CSRF   string       // the token the session's forms carry
}

// SignInPassword is the password of every user SignIn creates.
const SignInPassword = "correct horse battery staple"

// SessionCookie is the cookie a browser's session travels in.
const SessionCookie = "nines_session"

// CSRFField finds the CSRF token a page's forms carry.
var CSRFField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// SignIn creates username with role in users (nines' account store) unless it exists, signs
// in at baseURL with the password, and reads the session's CSRF token from the front page.
func SignIn(t testing.TB, baseURL string, users *auth.Users, username string, role auth.Role) *SignedIn {
	t.Helper()
	if _, err := users.Create(context.Background(), auth.NewUser{Username: username, Role: role, Password: SignInPassword}); err != nil &&
		!errors.Is(err, auth.ErrUserExists) {
		t.Fatalf("creating user %s: %v", username, err)
	}
	jar, _ := cookiejar.New(nil)
	b := &SignedIn{t: t, URL: baseURL, Client: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp, err := b.Client.PostForm(baseURL+"/login", url.Values{"username": {username}, "password": {SignInPassword}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signing in as %s: %d, want 303", username, resp.StatusCode)
	}
	u, _ := url.Parse(baseURL)
	for _, c := range jar.Cookies(u) {
		if c.Name == SessionCookie {
			b.Cookie = c.Value
		}
	}
	if b.Cookie == "" {
		t.Fatalf("signing in as %s set no %s cookie", username, SessionCookie)
	}
	_, page := b.Do("GET", "/", nil, nil)
	m := CSRFField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the front page of %s carries no CSRF token:\n%s", username, page)
	}
	b.CSRF = m[1]
	return b
}

// Do sends a request with the session cookie and returns the answer with its body read.
func (b *SignedIn) Do(method, path string, body io.Reader, header map[string]string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// PostForm posts a form with the session cookie and, when withCSRF, the CSRF token.
func (b *SignedIn) PostForm(path string, form url.Values, withCSRF bool) (*http.Response, string) {
	b.t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	if withCSRF {
		f.Set("csrf", b.CSRF)
	}
	return b.Do("POST", path, strings.NewReader(f.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
}
