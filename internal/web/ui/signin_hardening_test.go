package ui_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// withConfig serves the accounts config with extra lines under server:.
func withConfig(t *testing.T, server string) webtest.Options {
	return webtest.Options{DB: storetest.SQLite(t, app.Schemas()),
		Config: webtest.Parse(t, strings.Replace(accountsConfig, "server:\n", "server:\n"+server, 1))}
}

func TestSignInRedirectsOnlyToAPathOfThisSite(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	for _, tc := range []struct {
		name, next, want string
	}{
		{"a path of this site is kept", "/incidents/42?tab=timeline#notes", "/incidents/42?tab=timeline#notes"},
		{"the front page is kept", "/", "/"},
		{"an empty next goes home", "", "/"},
		{"an absolute URL elsewhere goes home", "https://evil.example/", "/"},
		{"a scheme-relative URL goes home", "//evil.example/", "/"},
		{"a backslash after the slash goes home", `/\evil.example`, "/"},
		{"a backslash further in goes home", `/a\..\\evil.example`, "/"},
		{"a tab that browsers drop goes home", "/\t/evil.example", "/"},
		{"a newline that browsers drop goes home", "/\n/evil.example", "/"},
		{"a carriage return goes home", "/\r/evil.example", "/"},
		{"DEL goes home", "/\x7f/evil.example", "/"},
		{"a Unicode control character goes home", "/\u0085/evil.example", "/"},
		{"a javascript URL goes home", "javascript:alert(1)", "/"},
		{"a relative path goes home", "evil.example", "/"},
		{"a path with a userinfo-looking part stays a path", "/@evil.example", "/@evil.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			resp, _ := b.post("/login", url.Values{"username": {"viewer"}, "password": {e.password}, "next": {tc.next}})
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in answered %d, want 303", resp.StatusCode)
			}
			if got := resp.Header.Get("Location"); got != tc.want {
				t.Errorf("next %q redirected to %q, want %q", tc.next, got, tc.want)
			}
			// The sign-in page carries next on to its form the same way.
			_, page := e.browser().get("/login?next=" + url.QueryEscape(tc.next))
			if tc.want == "/" && strings.Contains(page, "evil.example") {
				t.Errorf("the sign-in page for next %q carries it on:\n%s", tc.next, page)
			}
		})
	}
	t.Run("a NUL is refused with the form, and goes nowhere", func(t *testing.T) {
		resp, body := e.browser().post("/login", url.Values{"username": {"viewer"}, "password": {e.password}, "next": {"/\x00/evil.example"}})
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, "next: holds a NUL byte") {
			t.Errorf("sign-in answered %d, Location %q; want 400 naming next", resp.StatusCode, resp.Header.Get("Location"))
		}
		if _, page := e.browser().get("/login?next=" + url.QueryEscape("/\x00/evil.example")); strings.Contains(page, "evil.example") {
			t.Errorf("the sign-in page carries a next with a NUL on:\n%s", page)
		}
	})
}

func TestTheSignInFormRefusesPostsFromElsewhere(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	form := "username=viewer&password=" + url.QueryEscape(e.password)
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"Origin null (a sandboxed frame or data: URL) is refused", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"another site's Origin is refused", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"a cross-site fetch is refused even without Origin", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"a same-site but other origin post is refused", map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"an Origin that is not a URL is refused", map[string]string{"Origin": "::"}, http.StatusForbidden},
		{"this site's own page signs in", map[string]string{"Origin": e.srv.URL, "Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
		{"the public address of server.base_url signs in", map[string]string{"Origin": "http://status.test"}, http.StatusSeeOther},
		{"a script without Origin signs in", map[string]string{}, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
			for k, v := range tc.header {
				hdr[k] = v
			}
			resp, _ := e.fetch("POST", "/login", hdr, form)
			if resp.StatusCode != tc.want {
				t.Fatalf("answered %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want != http.StatusSeeOther && len(resp.Cookies()) != 0 {
				t.Fatalf("a refused sign-in set cookies %v", resp.Cookies())
			}
		})
	}
}

// Another site's page cannot sign a visitor out: its auto-submitted form carries no session
// cookie (SameSite=Lax keeps it home), so no CSRF token could be checked, and the answer's
// expired cookie still cleared the browser's own. Sign-out is refused, as sign-in is, when the
// browser says another site posted it, and with a cookie it needs the CSRF token.
func TestSignOutCannotBeForcedFromAnotherSite(t *testing.T) {
	e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"another site's Origin is refused", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"a cross-site post is refused even without Origin", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"Origin null is refused", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"this site's own page signs out", map[string]string{"Origin": e.srv.URL, "Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
			for k, v := range tc.header {
				hdr[k] = v
			}
			resp, _ := e.fetch("POST", "/logout", hdr, "")
			if resp.StatusCode != tc.want {
				t.Fatalf("answered %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == http.StatusForbidden && resp.Header.Get("Set-Cookie") != "" {
				t.Errorf("a refused sign-out set %q", resp.Header.Get("Set-Cookie"))
			}
		})
	}
	t.Run("a signed-in browser needs the CSRF token to sign out", func(t *testing.T) {
		b := webtest.SignIn(t, e.srv.URL, e.srv.Users, "carol", auth.Viewer)
		if resp, _ := b.PostForm("/logout", nil, false); resp.StatusCode != http.StatusForbidden {
			t.Errorf("without the token: %d, want 403", resp.StatusCode)
		}
		if resp, _ := b.PostForm("/logout", nil, true); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("with the token: %d, want 303", resp.StatusCode)
		}
	})
}

// Someone guessing passwords from an office's shared address does not lock the office out, and
// someone guessing an account's password from everywhere does not lock its owner out of the
// browser they sign in from.
func TestFailedSignInsDoNotLockOutOtherPeople(t *testing.T) {
	t.Run("guessing one account from an address leaves the others behind it alone", func(t *testing.T) {
		e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
		attacker := e.browser()
		for i := 0; i < auth.AccountFailures; i++ {
			attacker.login("admin", "wrong password")
		}
		// Same address (loopback), another account, a browser that never signed in here.
		if resp := e.browser().login("viewer", e.password); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("a colleague behind the same address: %d, want 303", resp.StatusCode)
		}
	})
	t.Run("guessing one account from many addresses leaves its owner's browser alone", func(t *testing.T) {
		e := newAccountsEnvWith(t, withConfig(t, "  trusted_proxies: [127.0.0.1]\n"))
		owner := e.browser()
		if resp := owner.login("admin", e.password); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("the owner's first sign-in: %d", resp.StatusCode)
		}
		// A botnet: many addresses (through the trusted proxy), a few guesses each.
		for i := 0; i < 2*auth.AccountFailures; i++ {
			hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "203.0.113." + strconv.Itoa(i%50+1)}
			e.fetch("POST", "/login", hdr, "username=admin&password=guess"+strconv.Itoa(i))
		}
		// A fresh browser now meets the account's limit...
		hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "198.51.100.7"}
		if resp, _ := e.fetch("POST", "/login", hdr, "username=admin&password="+url.QueryEscape(e.password)); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("an unknown browser during the attack: %d, want 429", resp.StatusCode)
		}
		// ...but the owner's browser, which signed in before, is let in.
		if resp := owner.login("admin", e.password); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("the owner's browser during the attack: %d, want 303", resp.StatusCode)
		}
		// And a device cookie for one account is no key to another.
		u, _ := url.Parse(e.srv.URL + "/login")
		stolen := e.browser()
		stolen.client.Jar.SetCookies(u, owner.client.Jar.Cookies(u))
		stolen.client.Jar.SetCookies(u, []*http.Cookie{{Name: webtest.SessionCookie, Value: "", MaxAge: -1}})
		for i := 0; i < auth.MaxFailures; i++ {
			stolen.login("admin", "wrong password")
		}
		if resp := stolen.login("admin", e.password); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("a device that failed %d times: %d, want 429", auth.MaxFailures, resp.StatusCode)
		}
	})
	t.Run("a forged device cookie counts for nothing", func(t *testing.T) {
		e := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
		for i := 0; i < auth.MaxFailures; i++ {
			e.browser().login("admin", "wrong password")
		}
		jar, _ := cookiejar.New(nil)
		b := e.browser()
		b.client.Jar = jar
		u, _ := url.Parse(e.srv.URL + "/login")
		jar.SetCookies(u, []*http.Cookie{{Name: "nines_device", Value: "YWRtaW4.forged.00000000000000000000000000000000", Path: "/login"}})
		if resp := b.login("admin", e.password); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("a forged device cookie: %d, want 429", resp.StatusCode)
		}
	})
}

func TestTheAuditLogRecordsTheAddressATrustedProxyForwardedFor(t *testing.T) {
	e := newAccountsEnvWith(t, withConfig(t, "  trusted_proxies: [127.0.0.0/8, \"::1\"]\n"))
	hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "198.51.100.23"}
	e.fetch("POST", "/login", hdr, "username=viewer&password=wrong")
	entries, err := e.srv.Audit.List(t.Context(), 10, 0)
	if err != nil || len(entries) == 0 {
		t.Fatalf("audit log: %v %v", entries, err)
	}
	if entries[0].Action != "login.failed" || entries[0].Remote != "198.51.100.23" {
		t.Fatalf("audit entry %+v, want login.failed from 198.51.100.23", entries[0])
	}
	// Without the proxy trusted, the same header is ignored.
	e2 := newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
	e2.fetch("POST", "/login", hdr, "username=viewer&password=wrong")
	entries, _ = e2.srv.Audit.List(t.Context(), 10, 0)
	if len(entries) == 0 || entries[0].Remote == "198.51.100.23" {
		t.Fatalf("an untrusted peer chose its address in the audit log: %+v", entries)
	}
}
