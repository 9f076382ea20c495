package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/nines-dev/nines/internal/config"
)

var (
	_ Checker = (*httpChecker)(nil)
	_ Checker = (*tcpChecker)(nil)
	_ Checker = (*tlsChecker)(nil)
	_ Checker = (*dnsChecker)(nil)
)

// maxBodyRead bounds how much of a response body a check reads.
const maxBodyRead = 1 << 20

// transports are shared by every HTTP monitor with the same TLS settings, so 10,000 monitors
// of one host reuse a bounded pool of connections instead of holding one each.
func newTransport(verify bool, roots *x509.CertPool) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: !verify, RootCAs: roots},
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 0, // the check's context bounds it
		DisableCompression:  true,
	}
}

var (
	verifyingTransport = newTransport(true, nil)
	insecureTransport  = newTransport(false, nil)
)

type httpChecker struct {
	client  *http.Client
	method  string
	url     string
	headers map[string]string
	body    string
	expect  config.Expect
	ua      string
	warn    time.Duration // certificate expiry warning, for https:// URLs
	now     func() time.Time
}

// redirectError is a redirect chain longer than the monitor allows: its own cause, not a
// connection failure.
type redirectError struct {
	max  int
	last string
}

func (e *redirectError) Error() string {
	return fmt.Sprintf("more than %d redirects (the last to %s)", e.max, e.last)
}

func newHTTPChecker(m *config.Monitor, opt Options) *httpChecker {
	verify := m.VerifyTLS == nil || *m.VerifyTLS
	tr := verifyingTransport
	switch {
	case opt.RootCAs != nil:
		tr = newTransport(verify, opt.RootCAs)
	case !verify:
		tr = insecureTransport
	}
	follow := m.FollowRedirects == nil || *m.FollowRedirects
	max := m.MaxRedirects
	c := &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if !follow {
			return http.ErrUseLastResponse
		}
		if len(via) > max {
			return &redirectError{max: max, last: req.URL.Redacted()}
		}
		return nil
	}}
	ua := opt.UserAgent
	if ua == "" {
		ua = "nines-monitor"
	}
	return &httpChecker{client: c, method: m.Method, url: m.URL, headers: m.Headers, body: m.Body, expect: m.Expect, ua: ua,
		warn: m.ExpiryWarning.D(), now: time.Now}
}

func (h *httpChecker) Check(ctx context.Context) Outcome {
	start := time.Now()
	var body io.Reader
	if h.body != "" {
		body = strings.NewReader(h.body)
	}
	req, err := http.NewRequestWithContext(ctx, h.method, h.url, body)
	if err != nil {
		return fail(CauseConnect, 0, "building request: %v", err)
	}
	req.Header.Set("User-Agent", h.ua)
	for k, v := range h.headers {
		req.Header.Set(k, v)
		if strings.EqualFold(k, "host") {
			req.Host = v
		}
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return classify(ctx, err, time.Since(start))
	}
	defer resp.Body.Close()
	var data []byte
	needBody := h.expect.BodyContains != "" || h.expect.JSON != nil
	if needBody {
		data, err = io.ReadAll(io.LimitReader(resp.Body, maxBodyRead))
	} else {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyRead))
	}
	latency := time.Since(start)
	if err != nil {
		return classify(ctx, err, latency)
	}
	if want := h.expect.Status; want != 0 && resp.StatusCode != want || want == 0 && resp.StatusCode/100 != 2 {
		wanted := "2xx"
		if want != 0 {
			wanted = fmt.Sprint(want)
		}
		return fail(CauseStatus, latency, "HTTP %d, want %s", resp.StatusCode, wanted)
	}
	for k, v := range h.expect.Headers {
		if got := resp.Header.Get(k); got != v {
			return fail(CauseHeader, latency, "header %s is %q, want %q", k, got, v)
		}
	}
	if s := h.expect.BodyContains; s != "" && !bytes.Contains(data, []byte(s)) {
		return fail(CauseBody, latency, "body does not contain %q", s)
	}
	if j := h.expect.JSON; j != nil {
		var doc any
		if err := json.Unmarshal(data, &doc); err != nil {
			return fail(CauseBody, latency, "body is not JSON: %v", err)
		}
		got, ok := jsonPath(doc, j.Path)
		if !ok {
			return fail(CauseBody, latency, "%s is missing from the body", j.Path)
		}
		if got != j.Equals {
			return fail(CauseBody, latency, "%s is %q, want %q", j.Path, got, j.Equals)
		}
	}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 && h.warn > 0 {
		if o, soon := expiring(resp.TLS.PeerCertificates[0], resp.Request.URL.Hostname(), h.warn, h.now(), latency); soon {
			return o
		}
	}
	if max := h.expect.MaxResponseTime.D(); max > 0 && latency > max {
		return fail(CauseSlow, latency, "answered in %s, more than %s", latency.Round(time.Millisecond), max)
	}
	return Outcome{OK: true, Latency: latency}
}

// expiring fails a check whose certificate expires within the warning period.
func expiring(leaf *x509.Certificate, name string, warn time.Duration, now time.Time, latency time.Duration) (Outcome, bool) {
	left := leaf.NotAfter.Sub(now)
	if left >= warn {
		return Outcome{}, false
	}
	return fail(CauseExpiry, latency, "certificate for %s expires in %s (%s), within the %s warning",
		name, roundDays(left), leaf.NotAfter.UTC().Format(time.RFC3339), roundDays(warn)), true
}

// classify names the cause of a transport error.
func classify(ctx context.Context, err error, latency time.Duration) Outcome {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	var alert tls.AlertError
	var redirect *redirectError
	switch {
	case errors.As(err, &redirect):
		return fail(CauseRedirect, latency, "%v", redirect)
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fail(CauseTimeout, latency, "no answer within %s", latency.Round(time.Millisecond))
	case errors.As(err, &dnsErr):
		return fail(CauseDNS, latency, "%v", dnsErr)
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &invalid),
		errors.As(err, &recordErr), errors.As(err, &alert), strings.Contains(err.Error(), "tls: "):
		return fail(CauseTLS, latency, "%v", unwrapURL(err))
	}
	return fail(CauseConnect, latency, "%v", unwrapURL(err))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// unwrapURL drops the "Get \"url\": " prefix the HTTP client adds; the monitor names the URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

type tcpChecker struct{ address string }

func (t *tcpChecker) Check(ctx context.Context) Outcome {
	start := time.Now()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", t.address)
	latency := time.Since(start)
	if err != nil {
		return classify(ctx, err, latency)
	}
	c.Close()
	return Outcome{OK: true, Latency: latency}
}

type tlsChecker struct {
	address string
	config  *tls.Config
	warn    time.Duration
	now     func() time.Time
}

func newTLSChecker(m *config.Monitor, opt Options) *tlsChecker {
	name := m.ServerName
	if name == "" {
		name, _, _ = net.SplitHostPort(m.Address)
	}
	return &tlsChecker{address: m.Address, config: &tls.Config{ServerName: name, RootCAs: opt.RootCAs},
		warn: m.ExpiryWarning.D(), now: time.Now}
}

func (t *tlsChecker) Check(ctx context.Context) Outcome {
	start := time.Now()
	d := tls.Dialer{Config: t.config}
	c, err := d.DialContext(ctx, "tcp", t.address)
	latency := time.Since(start)
	if err != nil {
		return classify(ctx, err, latency)
	}
	defer c.Close()
	certs := c.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return fail(CauseTLS, latency, "the server sent no certificate")
	}
	if o, soon := expiring(certs[0], t.config.ServerName, t.warn, t.now(), latency); soon {
		return o
	}
	return Outcome{OK: true, Latency: latency}
}

func roundDays(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d.Hours()/24+0.5))
	}
	return d.Round(time.Minute).String()
}

type dnsChecker struct {
	server string
	query  string
	qtype  uint16
	answer string
}

func newDNSChecker(m *config.Monitor) *dnsChecker {
	return &dnsChecker{server: m.Address, query: dns.Fqdn(m.Query), qtype: dns.StringToType[m.RecordType], answer: m.Expect.Answer}
}

func (d *dnsChecker) Check(ctx context.Context) Outcome {
	msg := new(dns.Msg)
	msg.SetQuestion(d.query, d.qtype)
	c := &dns.Client{}
	start := time.Now()
	in, _, err := c.ExchangeContext(ctx, msg, d.server)
	latency := time.Since(start)
	if err != nil {
		o := classify(ctx, err, latency)
		if o.Cause == CauseConnect {
			o.Cause = CauseDNS
		}
		return o
	}
	if in.Rcode != dns.RcodeSuccess {
		return fail(CauseDNS, latency, "%s %s: %s", dns.TypeToString[d.qtype], d.query, dns.RcodeToString[in.Rcode])
	}
	var got []string
	for _, rr := range in.Answer {
		if rr.Header().Rrtype != d.qtype {
			continue
		}
		v := strings.TrimPrefix(rr.String(), rr.Header().String())
		if d.answer == "" || v == d.answer || strings.TrimSuffix(v, ".") == strings.TrimSuffix(d.answer, ".") {
			return Outcome{OK: true, Latency: latency}
		}
		got = append(got, v)
	}
	if len(got) == 0 {
		return fail(CauseDNS, latency, "no %s record for %s", dns.TypeToString[d.qtype], d.query)
	}
	return fail(CauseBody, latency, "%s %s answered %s, want %s", dns.TypeToString[d.qtype], d.query, strings.Join(got, ", "), d.answer)
}
