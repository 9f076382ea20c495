package probe

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/nines-dev/nines/internal/config"
)

// target is an HTTP server whose status, delay and body the test changes as it goes.
type target struct {
	status atomic.Int32
	delay  atomic.Int64
	body   atomic.Value
	hits   atomic.Int64
	srv    *httptest.Server
}

func newTarget(t *testing.T) *target {
	tg := &target{}
	tg.status.Store(200)
	tg.body.Store(`{"status":"UP","checks":[{"state":"ok"}]}`)
	tg.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.hits.Add(1)
		if d := time.Duration(tg.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/", http.StatusFound)
			return
		}
		w.WriteHeader(int(tg.status.Load()))
		w.Write([]byte(tg.body.Load().(string)))
	}))
	t.Cleanup(tg.srv.Close)
	return tg
}

func check(t *testing.T, m *config.Monitor, opt Options, timeout time.Duration) Outcome {
	t.Helper()
	c, err := NewChecker(m, opt)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.Check(ctx)
}

func httpMonitor(url string, e config.Expect) *config.Monitor {
	return &config.Monitor{ID: "m", Type: config.MonitorHTTP, URL: url, Method: "GET", MaxRedirects: 10, Expect: e}
}

func TestHTTPChecksAgainstARealServer(t *testing.T) {
	tg := newTarget(t)
	no := false
	cases := []struct {
		name   string
		status int
		delay  time.Duration
		body   string
		path   string
		expect config.Expect
		mod    func(*config.Monitor)
		cause  Cause
	}{
		{name: "a 200 with no expectations is up", status: 200},
		{name: "a 500 is down for its status", status: 500, cause: CauseStatus},
		{name: "an expected 204 is up", status: 204, expect: config.Expect{Status: 204}},
		{name: "a 200 when 201 is expected is down", status: 200, expect: config.Expect{Status: 201}, cause: CauseStatus},
		{name: "a body containing the text is up", status: 200, body: "all good", expect: config.Expect{BodyContains: "good"}},
		{name: "a body without the text is down", status: 200, body: "degraded", expect: config.Expect{BodyContains: "good"}, cause: CauseBody},
		{name: "a JSON value that matches is up", status: 200, expect: config.Expect{JSON: &config.JSONExpect{Path: "$.status", Equals: "UP"}}},
		{name: "a nested JSON value that matches is up", status: 200, expect: config.Expect{JSON: &config.JSONExpect{Path: "$.checks[0].state", Equals: "ok"}}},
		{name: "a JSON value that differs is down", status: 200, body: `{"status":"DOWN"}`, expect: config.Expect{JSON: &config.JSONExpect{Path: "$.status", Equals: "UP"}}, cause: CauseBody},
		{name: "a body that is not JSON is down when JSON is expected", status: 200, body: `<html>`, expect: config.Expect{JSON: &config.JSONExpect{Path: "$.status", Equals: "UP"}}, cause: CauseBody},
		{name: "an answer slower than max_response_time is down", status: 200, delay: 80 * time.Millisecond, expect: config.Expect{MaxResponseTime: config.Duration(20 * time.Millisecond)}, cause: CauseSlow},
		{name: "no answer within the timeout is down for timeout", status: 200, delay: 2 * time.Second, cause: CauseTimeout},
		{name: "a redirect is followed by default", status: 200, path: "/redirect"},
		{name: "a redirect not followed is its own status", status: 200, path: "/redirect", mod: func(m *config.Monitor) { m.FollowRedirects = &no }, cause: CauseStatus},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tg.status.Store(int32(tc.status))
			tg.delay.Store(int64(tc.delay))
			body := tc.body
			if body == "" {
				body = `{"status":"UP","checks":[{"state":"ok"}]}`
			}
			tg.body.Store(body)
			m := httpMonitor(tg.srv.URL+tc.path, tc.expect)
			if tc.mod != nil {
				tc.mod(m)
			}
			start := time.Now()
			o := check(t, m, Options{}, 300*time.Millisecond)
			if time.Since(start) > time.Second {
				t.Fatalf("the check took %s: its timeout was not enforced", time.Since(start))
			}
			if o.OK != (tc.cause == CauseNone) || o.Cause != tc.cause {
				t.Fatalf("got %+v, want cause %q", o, tc.cause)
			}
			if !o.OK && o.Message == "" {
				t.Fatal("a failure must say what was wrong")
			}
		})
	}
}

func TestConnectionFailuresNameTheirCause(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	cases := []struct {
		name  string
		m     *config.Monitor
		cause Cause
	}{
		{"a refused HTTP connection is a connect failure", httpMonitor("http://"+closed+"/", config.Expect{}), CauseConnect},
		{"an unresolvable host is a DNS failure", httpMonitor("http://no-such-host.invalid/", config.Expect{}), CauseDNS},
		{"a refused TCP connection is a connect failure", &config.Monitor{Type: config.MonitorTCP, Address: closed}, CauseConnect},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if o := check(t, tc.m, Options{}, 2*time.Second); o.OK || o.Cause != tc.cause {
				t.Fatalf("got %+v, want cause %s", o, tc.cause)
			}
		})
	}
}

// tcpListener accepts and closes connections until the test ends; it returns its address.
func tcpListener(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func TestTCPCheckConnectsToAListener(t *testing.T) {
	o := check(t, &config.Monitor{Type: config.MonitorTCP, Address: tcpListener(t)}, Options{}, time.Second)
	if !o.OK || o.Latency <= 0 {
		t.Fatalf("got %+v, want up with a latency", o)
	}
}

// selfSigned makes a certificate for 127.0.0.1 valid for the given time from now.
func selfSigned(t *testing.T, valid time.Duration) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(valid),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func tlsServer(t *testing.T, cert tls.Certificate) string {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func TestTLSChecksReadTheCertificate(t *testing.T) {
	shortCert, shortPool := selfSigned(t, 3*24*time.Hour)
	longCert, longPool := selfSigned(t, 60*24*time.Hour)
	short, long := tlsServer(t, shortCert), tlsServer(t, longCert)
	cases := []struct {
		name    string
		address string
		roots   *x509.CertPool
		cause   Cause
		msg     string
	}{
		{"a certificate valid for 60 days is up with a 14-day warning", long, longPool, CauseNone, ""},
		{"a certificate expiring in 3 days is down with a 14-day warning", short, shortPool, CauseExpiry, "expires in 3 days"},
		{"a certificate from an unknown authority is a TLS failure", long, nil, CauseTLS, "certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &config.Monitor{Type: config.MonitorTLS, Address: tc.address, ExpiryWarning: config.Duration(14 * 24 * time.Hour)}
			o := check(t, m, Options{RootCAs: tc.roots}, 2*time.Second)
			if o.Cause != tc.cause || o.OK != (tc.cause == CauseNone) || !strings.Contains(o.Message, tc.msg) {
				t.Fatalf("got %+v, want cause %q and a message with %q", o, tc.cause, tc.msg)
			}
		})
	}
	t.Run("an https monitor fails verification of an unknown authority", func(t *testing.T) {
		o := check(t, httpMonitor("https://"+long+"/", config.Expect{}), Options{}, 2*time.Second)
		if o.Cause != CauseTLS {
			t.Fatalf("got %+v, want a TLS failure", o)
		}
		no := false
		m := httpMonitor("https://"+long+"/", config.Expect{})
		m.VerifyTLS = &no
		if o := check(t, m, Options{}, 2*time.Second); !o.OK {
			t.Fatalf("with verify_tls false: got %+v, want up", o)
		}
	})
}

// dnsServer answers A queries for ok.test. with 10.0.0.1 and NXDOMAIN for anything else.
func dnsServer(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := dns.NewServeMux()
	mux.HandleFunc(".", func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		switch {
		case q.Name == "ok.test." && q.Qtype == dns.TypeA:
			rr, _ := dns.NewRR("ok.test. 60 IN A 10.0.0.1")
			m.Answer = append(m.Answer, rr)
		case q.Name == "ok.test." && q.Qtype == dns.TypeTXT:
			rr, _ := dns.NewRR(`ok.test. 60 IN TXT "v=spf1 -all"`)
			m.Answer = append(m.Answer, rr)
		case q.Name == "slow.test.":
			time.Sleep(time.Second)
		default:
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})
	srv := &dns.Server{PacketConn: pc, Handler: mux}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestDNSChecksAskARealServer(t *testing.T) {
	addr := dnsServer(t)
	cases := []struct {
		name, query, rtype, answer string
		cause                      Cause
	}{
		{"an A record that resolves is up", "ok.test", "A", "", CauseNone},
		{"the expected address is up", "ok.test", "A", "10.0.0.1", CauseNone},
		{"another address is down for its body", "ok.test", "A", "10.0.0.2", CauseBody},
		{"a TXT record is compared as text", "ok.test", "TXT", `"v=spf1 -all"`, CauseNone},
		{"NXDOMAIN is a DNS failure", "missing.test", "A", "", CauseDNS},
		{"a server that does not answer in time is a timeout", "slow.test", "A", "", CauseTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &config.Monitor{Type: config.MonitorDNS, Address: addr, Query: tc.query, RecordType: tc.rtype, Expect: config.Expect{Answer: tc.answer}}
			o := check(t, m, Options{}, 300*time.Millisecond)
			if o.Cause != tc.cause || o.OK != (tc.cause == CauseNone) {
				t.Fatalf("got %+v, want cause %q", o, tc.cause)
			}
		})
	}
}

func FuzzJSONPath(f *testing.F) {
	f.Add(`{"status":"UP","checks":[{"state":"ok"}]}`, "$.checks[0].state")
	f.Add(`[1,2,3]`, "$[2]")
	f.Add(`{"a":{"b":null}}`, "$.a.b")
	f.Fuzz(func(t *testing.T, doc, path string) {
		var v any
		if json.Unmarshal([]byte(doc), &v) != nil {
			return
		}
		jsonPath(v, path) // must not panic, whatever the body and path
	})
}
