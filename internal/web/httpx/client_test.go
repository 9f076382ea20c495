package httpx

import (
	"net/http"
	"net/netip"
	"testing"
)

// X-Forwarded-For and Forwarded are believed only from server.trusted_proxies, for the limits
// and for the audit log.
func TestTheClientAddressComesFromTrustedProxiesOnly(t *testing.T) {
	trusted := func(a netip.Addr) bool {
		for _, p := range []string{"10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32"} {
			if netip.MustParsePrefix(p).Contains(a) {
				return true
			}
		}
		return false
	}
	for _, tc := range []struct {
		name, remote string
		header       map[string]string
		want         string
	}{
		{"a direct client is its peer address", "203.0.113.9:5000", nil, "203.0.113.9"},
		{"a direct client's X-Forwarded-For is ignored", "203.0.113.9:5000", map[string]string{"X-Forwarded-For": "198.51.100.1"}, "203.0.113.9"},
		{"a direct client's Forwarded is ignored", "203.0.113.9:5000", map[string]string{"Forwarded": "for=198.51.100.1"}, "203.0.113.9"},
		{"a trusted proxy names the client", "10.1.2.3:80", map[string]string{"X-Forwarded-For": "198.51.100.1"}, "198.51.100.1"},
		{"what the client wrote before the proxy's entry is ignored", "10.1.2.3:80", map[string]string{"X-Forwarded-For": "1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"a chain of trusted proxies is walked back", "10.1.2.3:80", map[string]string{"X-Forwarded-For": "1.1.1.1, 198.51.100.1, 192.0.2.1, 10.9.9.9"}, "198.51.100.1"},
		{"only trusted proxies: the farthest one", "10.1.2.3:80", map[string]string{"X-Forwarded-For": "10.0.0.5"}, "10.0.0.5"},
		{"a trusted proxy without the header is the client", "10.1.2.3:80", nil, "10.1.2.3"},
		{"garbage in the chain stops at the last trusted hop", "10.1.2.3:80", map[string]string{"X-Forwarded-For": "198.51.100.1, not-an-address"}, "10.1.2.3"},
		{"an X-Forwarded-For with a port", "10.1.2.3:80", map[string]string{"X-Forwarded-For": "198.51.100.1:4711"}, "198.51.100.1"},
		{"Forwarded from a trusted proxy", "10.1.2.3:80", map[string]string{"Forwarded": `for=192.0.2.60;proto=http;by=203.0.113.43`}, "192.0.2.60"},
		{"Forwarded with several hops and IPv6", "10.1.2.3:80", map[string]string{"Forwarded": `for=198.51.100.1, for="[2001:db8:cafe::17]:4711"`}, "198.51.100.1"},
		{"Forwarded wins over X-Forwarded-For", "10.1.2.3:80", map[string]string{"Forwarded": "for=198.51.100.2", "X-Forwarded-For": "198.51.100.1"}, "198.51.100.2"},
		{"Forwarded with an obfuscated node stops at the proxy", "10.1.2.3:80", map[string]string{"Forwarded": "for=_hidden"}, "10.1.2.3"},
		{"an IPv4-mapped IPv6 peer is its IPv4 address", "[::ffff:10.1.2.3]:80", map[string]string{"X-Forwarded-For": "198.51.100.1"}, "198.51.100.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			if got := clientAddress(tc.remote, h, trusted); got != tc.want {
				t.Errorf("client of %s with %v = %q, want %q", tc.remote, tc.header, got, tc.want)
			}
		})
	}
}

func FuzzClientAddress(f *testing.F) {
	for _, s := range []string{"198.51.100.1", "1.1.1.1, 10.0.0.1", `for="[2001:db8::1]:80";proto=https`, `for=_x, for="\"`, ",,,", "[::1]:1"} {
		f.Add(s, s)
	}
	trusted := func(a netip.Addr) bool { return netip.MustParsePrefix("10.0.0.0/8").Contains(a) }
	f.Fuzz(func(t *testing.T, xff, fwd string) {
		h := http.Header{}
		h.Set("X-Forwarded-For", xff)
		if fwd != "" {
			h.Set("Forwarded", fwd)
		}
		got := clientAddress("10.0.0.1:80", h, trusted)
		if got == "" {
			t.Fatalf("no client address for %q / %q", xff, fwd)
		}
		if _, err := netip.ParseAddr(got); err != nil {
			t.Fatalf("client address %q of %q / %q is not an address", got, xff, fwd)
		}
	})
}

func TestLimitsCountAnIPv6ClientByItsSlash64(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"198.51.100.1", "198.51.100.2", false},
		{"::ffff:198.51.100.1", "198.51.100.1", true},
	} {
		if got := LimitKey(tc.a) == LimitKey(tc.b); got != tc.same {
			t.Errorf("LimitKey(%s) = %s, LimitKey(%s) = %s; same = %v, want %v", tc.a, LimitKey(tc.a), tc.b, LimitKey(tc.b), got, tc.same)
		}
	}
}
