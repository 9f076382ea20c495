package ui

import (
	"crypto/hmac"
	"crypto/sha256"
	"net/url"
	"strings"
	"testing"
)

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "//x", `/\x`, "/\t/x", "/a?b#c", "https://x", "/%2F%2Fx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got != "/" && got != next {
			t.Fatalf("safeNext(%q) = %q: neither kept nor /", next, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") ||
			strings.ContainsAny(got, "\\\t\r\n") {
			t.Fatalf("safeNext(%q) = %q leaves this site", next, got)
		}
	})
}

// FuzzOIDCStateCookie feeds the callback's state cookie, which comes back from the browser:
// only values nines signed are accepted.
func FuzzOIDCStateCookie(f *testing.F) {
	mac := func(msg string) []byte {
		m := hmac.New(sha256.New, []byte("0123456789abcdef0123456789abcdef"))
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	f.Add(signOIDC(mac, "state\nnonce\nverifier\n/\n1700000000"))
	f.Add("")
	f.Add(".")
	f.Add("c3RhdGU.AAAA")
	f.Fuzz(func(t *testing.T, v string) {
		payload, ok := verifyOIDC(mac, v)
		if ok && signOIDC(mac, payload) != v {
			t.Fatalf("accepted a cookie nines did not sign: %q", v)
		}
	})
}
