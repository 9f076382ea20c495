package probe

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// monitorFromYAML reads one monitor as a user writes it, so the defaults validation fills in
// (max_redirects 10, expiry_warning 14d on https) are the ones checked.
func monitorFromYAML(t *testing.T, yaml string) *config.Monitor {
	t.Helper()
	cfg, err := config.Parse("nines.yaml", []byte("services: [{id: web}]\nmonitors:\n  - "+strings.ReplaceAll(yaml, "\n", "\n    ")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	return &cfg.Monitors[0]
}

// loopServer redirects /a to /b and /b to /a forever, /hop/n down to /hop/0, and answers / with
// a JSON content type.
func loopServer(t *testing.T, tlsCert *tls.Certificate) *httptest.Server {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/a":
			http.Redirect(w, r, "/b", http.StatusFound)
		case r.URL.Path == "/b":
			http.Redirect(w, r, "/a", http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/hop/") && r.URL.Path != "/hop/0":
			var n int
			fmt.Sscanf(r.URL.Path, "/hop/%d", &n)
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":"UP"}`)
		}
	})
	srv := httptest.NewUnstartedServer(h)
	if tlsCert != nil {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{*tlsCert}}
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

func TestProbesSayTheTrueCause(t *testing.T) {
	plain := loopServer(t, nil)
	near, nearPool := selfSigned(t, 5*24*time.Hour)
	far, farPool := selfSigned(t, 90*24*time.Hour)
	nearSrv, farSrv := loopServer(t, &near), loopServer(t, &far)
	cases := []struct {
		name  string
		yaml  string
		roots bool // trust the near certificate's pool (else the far one's)
		cause Cause
		msg   string
	}{
		{"a redirect loop is a redirect failure, not connect",
			"{id: m, service: web, type: http, url: " + plain.URL + "/a}", false, CauseRedirect, "more than 10 redirects"},
		{"more hops than max_redirects is a redirect failure",
			"{id: m, service: web, type: http, url: " + plain.URL + "/hop/3, max_redirects: 2}", false, CauseRedirect, "more than 2 redirects"},
		{"as many hops as max_redirects is up",
			"{id: m, service: web, type: http, url: " + plain.URL + "/hop/2, max_redirects: 2}", false, CauseNone, ""},
		{"a header that differs is a header failure, not body",
			"{id: m, service: web, type: http, url: " + plain.URL + "/, expect: {headers: {Content-Type: text/plain}}}", false, CauseHeader, `header Content-Type is "application/json", want "text/plain"`},
		{"the expected header is up",
			"{id: m, service: web, type: http, url: " + plain.URL + "/, expect: {headers: {Content-Type: application/json}}}", false, CauseNone, ""},
		{"an https monitor whose certificate expires in 5 days warns by default (14d)",
			"{id: m, service: web, type: http, url: " + nearSrv.URL + "/}", true, CauseExpiry, "expires in 5 days"},
		{"an https monitor with a shorter warning is up 5 days before expiry",
			"{id: m, service: web, type: http, url: " + nearSrv.URL + "/, expiry_warning: 72h}", true, CauseNone, ""},
		{"an https monitor with a certificate good for 90 days is up",
			"{id: m, service: web, type: http, url: " + farSrv.URL + "/}", false, CauseNone, ""},
		{"the expiry of the certificate at the end of the redirects is checked",
			"{id: m, service: web, type: http, url: " + nearSrv.URL + "/hop/2}", true, CauseExpiry, "within the 14 days warning"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := monitorFromYAML(t, tc.yaml)
			pool := farPool
			if tc.roots {
				pool = nearPool
			}
			o := check(t, m, Options{RootCAs: pool}, 2*time.Second)
			if o.OK != (tc.cause == CauseNone) || o.Cause != tc.cause || !strings.Contains(o.Message, tc.msg) {
				t.Fatalf("got %+v, want cause %q with %q", o, tc.cause, tc.msg)
			}
		})
	}
}

func TestExpiryWarningNeedsAnHTTPSURL(t *testing.T) {
	_, err := config.Parse("nines.yaml", []byte(`services: [{id: web}]
monitors:
  - {id: m, service: web, type: http, url: "http://127.0.0.1:1/", expiry_warning: 7d}
`))
	if err == nil || !strings.Contains(err.Error(), "expiry_warning needs an https:// url") {
		t.Fatalf("got %v, want expiry_warning refused on an http:// url", err)
	}
}
