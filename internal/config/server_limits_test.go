package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestServerLimitsAreCheckedAndDefaulted(t *testing.T) {
	t.Setenv("NINES_TEST_METRICS_TOKEN", "scrape-me")
	for _, tc := range []struct {
		name, server, want string
	}{
		{"defaults need nothing written", "", ""},
		{"CIDRs and single addresses are trusted proxies", "trusted_proxies: [10.0.0.0/8, 192.0.2.7, \"2001:db8::/32\"]", ""},
		{"a bad CIDR is named", "trusted_proxies: [10.0.0.0/33]", `server.trusted_proxies: "10.0.0.0/33"`},
		{"a host name is not an address", "trusted_proxies: [proxy.internal]", `"proxy.internal": want an address or a CIDR`},
		{"a read timeout under a second is refused", "read_timeout: 500ms", "server.read_timeout: 500ms is too short"},
		{"an idle timeout of zero is refused", "idle_timeout: 0s", "server.idle_timeout: 0s is too short"},
		{"too few connections per client are refused", "max_connections_per_client: 2", "server.max_connections_per_client: 2 is too few"},
		{"a body memory budget under 16 MiB is refused", "max_body_memory: 1048576", "server.max_body_memory: 1048576 bytes is too little"},
		{"a body memory budget of 256 MiB is taken", "max_body_memory: 268435456", ""},
		{"a metrics token comes from the environment", "metrics_token_env: NINES_TEST_METRICS_TOKEN", ""},
		{"an unset metrics token variable is named", "metrics_token_env: NINES_TEST_NO_SUCH_VARIABLE", "NINES_TEST_NO_SUCH_VARIABLE is empty or not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := "services: [{id: a}]\n"
			if tc.server != "" {
				text = "server:\n  " + tc.server + "\n" + text
			}
			c, err := Parse("nines.yaml", []byte(text))
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.want)
				}
				if !strings.HasPrefix(err.Error(), "nines.yaml:2:") {
					t.Errorf("err = %v, want it at line 2", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.server == "" {
				s := c.Server
				if s.ReadTimeout.D() != 30*time.Second || s.IdleTimeout.D() != 2*time.Minute || s.MaxConnectionsPerClient != 256 || s.MetricsToken != "" ||
					s.MaxBodyMemory != 64<<20 {
					t.Errorf("defaults: %+v", s)
				}
				if s.TrustedProxy(netip.MustParseAddr("127.0.0.1")) {
					t.Error("a proxy is trusted by default")
				}
			}
			if strings.Contains(tc.server, "trusted_proxies") {
				for addr, want := range map[string]bool{"10.1.2.3": true, "192.0.2.7": true, "192.0.2.8": false, "2001:db8::1": true, "::ffff:10.0.0.1": true, "203.0.113.1": false} {
					if got := c.Server.TrustedProxy(netip.MustParseAddr(addr)); got != want {
						t.Errorf("TrustedProxy(%s) = %v, want %v", addr, got, want)
					}
				}
			}
			if strings.Contains(tc.server, "metrics_token_env") && c.Server.MetricsToken != "scrape-me" {
				t.Errorf("MetricsToken = %q", c.Server.MetricsToken)
			}
		})
	}
}
