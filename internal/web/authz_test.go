package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/storetest"
)

// pathParam fills a route's wildcards with values that name nothing, so no request of the
// matrix changes anything a later one depends on.
var pathParam = regexp.MustCompile(`\{([a-zA-Z_]+)(\.\.\.)?\}`)

func concretePath(pattern string) string {
	p := strings.ReplaceAll(pattern, "{$}", "")
	return pathParam.ReplaceAllStringFunc(p, func(m string) string {
		switch name := pathParam.FindStringSubmatch(m)[1]; name {
		case "page":
			return "public"
		case "component":
			return "checkout"
		case "file":
			return "checkout.svg"
		case "name":
			return "missing.css"
		case "id":
			return "999999"
		default:
			return "no-such-" + name
		}
	})
}

// TestAuthorizationMatrix sends every route of the route table, as every role and as nobody,
// and checks the answer against the route's declared access: no credentials -> 401, a role
// below the route's -> 403, enough -> neither. A route added to the table is covered without
// touching this test.
func TestAuthorizationMatrix(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, accountSchemas()))
	type principal struct {
		name  string
		role  auth.Role // 0: no credentials
		token string
	}
	principals := []principal{{name: "nobody"}}
	for _, r := range auth.Roles() {
		principals = append(principals, principal{r.String(), r, e.tokens[r]})
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, token string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var body io.Reader
		if method == "POST" || method == "PUT" || method == "PATCH" {
			body = strings.NewReader("{}")
		}
		req, _ := http.NewRequestWithContext(ctx, method, e.http.URL+path, body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		resp.Body.Close() // an event stream answers its headers at once; the rest is not needed
		return resp.StatusCode, resp.Header.Get("Location")
	}
	routes := e.srv.Routes()
	if len(routes) == 0 {
		t.Fatal("the route table is empty")
	}
	for _, rt := range routes {
		path := concretePath(rt.Pattern)
		if rt.Access == Token && rt.Role < auth.Viewer {
			t.Errorf("%s %s needs a token but names no least role", rt.Method, rt.Pattern)
			continue
		}
		var anonymous int
		for _, p := range principals {
			name := fmt.Sprintf("%s %s as %s", rt.Method, rt.Pattern, p.name)
			got, location := do(rt.Method, path, p.token)
			if got == http.StatusSeeOther && strings.HasPrefix(location, "/login?") {
				got = http.StatusUnauthorized // how pages answer a browser that is not signed in
			}
			switch rt.Access {
			case Public:
				// Everyone gets the same answer: a token neither opens nor closes anything.
				if p.role == 0 {
					anonymous = got
				} else if got != anonymous {
					t.Errorf("%s: public route answered %d, but %d without a token", name, got, anonymous)
				}
				if got == http.StatusForbidden {
					t.Errorf("%s: public route answered 403", name)
				}
			case Key:
				// Ingest is authenticated by its integration key alone: an API token is no key.
				if got < 400 {
					t.Errorf("%s: answered %d without an integration key", name, got)
				}
			case Token:
				var want string
				switch {
				case p.role == 0 && got != http.StatusUnauthorized:
					want = "401"
				case p.role != 0 && p.role < rt.Role && got != http.StatusForbidden:
					want = "403"
				case p.role >= rt.Role && (got == http.StatusUnauthorized || got == http.StatusForbidden):
					want = "neither 401 nor 403"
				}
				if want != "" {
					t.Errorf("%s (least role %s): answered %d, want %s", name, rt.Role, got, want)
				}
			}
			if got >= 500 {
				t.Errorf("%s: answered %d", name, got)
			}
		}
	}
}

// TestCookieChangesNeedCSRFOnEveryRoute checks, for every unsafe token route of the table, that
// an admin's browser session without the CSRF token is refused, and that with it the CSRF
// check lets the request through.
func TestCookieChangesNeedCSRFOnEveryRoute(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, accountSchemas()))
	b := e.browser()
	b.login("admin", e.password)
	token := b.csrf("/")
	for _, rt := range e.srv.Routes() {
		if rt.Access != Token || rt.Method == "GET" || rt.Method == "HEAD" {
			continue
		}
		for _, withToken := range []bool{false, true} {
			req, _ := http.NewRequest(rt.Method, e.http.URL+concretePath(rt.Pattern), strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			if withToken {
				req.Header.Set("X-CSRF-Token", token)
			}
			resp, err := b.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			refused := resp.StatusCode == http.StatusForbidden && strings.Contains(string(body), "CSRF")
			if refused == withToken {
				t.Errorf("%s %s with CSRF token %v: answered %d %s", rt.Method, rt.Pattern, withToken, resp.StatusCode, body)
			}
		}
	}
}
