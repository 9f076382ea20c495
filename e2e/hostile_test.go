package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests of this file attack a running nines over loopback as a hostile client would, and
// check that it neither crashes, runs out of memory, locks people out nor stops answering.

// writeConfig replaces the server's config before it starts.
func (s *server) writeConfig(yaml string) {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, "nines.yaml"), []byte(yaml), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// createUser makes a local account with `nines user create --password-stdin`.
func (s *server) createUser(username, role, password string) {
	s.t.Helper()
	// nines user takes only where the database is, not --config.
	args := append([]string{"user", "create", "--init", "--username", username, "--role", role, "--password-stdin"}, s.dbArgs()[2:]...)
	cmd := exec.Command(ninesBin, args...)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("nines user create %s: %v\n%s", username, err, out)
	}
}

// status reads a line of /proc/<pid>/status in KiB (VmRSS, VmHWM).
func (s *server) status(field string) int {
	s.t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				s.t.Fatalf("%s: %q", field, rest)
			}
			return kb
		}
	}
	s.t.Fatalf("no %s in /proc/%d/status", field, s.cmd.Process.Pid)
	return 0
}

// postLogin signs in through the form as a browser on this site would and returns the status.
func (s *server) postLogin(c *http.Client, username, password string, header http.Header) (int, http.Header) {
	form := url.Values{"username": {username}, "password": {password}, "next": {"/"}}
	req, _ := http.NewRequest("POST", s.url("/login"), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Errorf("POST /login: %v", err)
		return 0, nil
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func noRedirects() *http.Client {
	return &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Each sign-in costs 19 MiB of argon2id; a crowd of them at once must not grow the process by
// that much per attempt.
func TestSixtyConcurrentSignInsDoNotExhaustMemory(t *testing.T) {
	s := newServer(t, "")
	s.createUser("alice", "responder", "correct horse battery")
	s.start()
	before := s.status("VmRSS")

	const attempts = 60
	var wg sync.WaitGroup
	codes := make(chan int, attempts)
	for i := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Different usernames: the per-account limit must not be what saves the day.
			code, _ := s.postLogin(noRedirects(), fmt.Sprintf("user%d", i), "wrong password number "+strconv.Itoa(i), nil)
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	peak := s.status("VmHWM")
	t.Logf("RSS before %d MiB, peak %d MiB; answers %v", before>>10, peak>>10, count)
	if count[http.StatusUnauthorized] == 0 {
		t.Errorf("no attempt was checked at all: %v", count)
	}
	for c, n := range count {
		if c != http.StatusUnauthorized && c != http.StatusTooManyRequests && c != http.StatusServiceUnavailable {
			t.Errorf("%d attempts answered %d; want 401, or 429/503 for those over the bound", n, c)
		}
	}
	// 60 hashes at once would be over 1 GiB. nines hashes one password per core at once (2 to
	// 8), 19 MiB each: allow twice that for the garbage collector, and 64 MiB besides.
	slots := min(max(runtime.NumCPU(), 2), 8)
	if grown, limit := (peak-before)>>10, 64+2*19*slots; grown > limit {
		t.Errorf("peak RSS grew by %d MiB under %d concurrent sign-ins; want at most %d MiB", grown, attempts, limit)
	}
	// And it still signs the right person in.
	if code, _ := s.postLogin(noRedirects(), "alice", "correct horse battery", nil); code != http.StatusSeeOther {
		t.Errorf("alice's sign-in after the crowd: %d, want 303", code)
	}
}

// The limit of 5 failed sign-ins per account holds when the attempts arrive all at once: an
// attempt is counted before its password is checked.
func TestConcurrentWrongPasswordsForOneUserAreCheckedAtMostFiveTimes(t *testing.T) {
	s := newServer(t, "")
	s.createUser("alice", "responder", "correct horse battery")
	s.start()

	const attempts = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	count := map[int]int{}
	for i := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A 503 says too many passwords are being hashed right now: try again, as a
			// determined attacker would, until the limiter or the password check answers.
			code := http.StatusServiceUnavailable
			for try := 0; code == http.StatusServiceUnavailable && try < 500; try++ {
				code, _ = s.postLogin(noRedirects(), "alice", "wrong password number "+strconv.Itoa(i), nil)
				if code == http.StatusServiceUnavailable {
					time.Sleep(10 * time.Millisecond)
				}
			}
			mu.Lock()
			count[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("answers to %d concurrent wrong passwords for alice: %v", attempts, count)
	if n := count[http.StatusUnauthorized]; n > 5 || n == 0 {
		t.Errorf("%d wrong passwords were checked; want 1 to 5 (the limit), the rest refused unchecked", n)
	}
	if count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != attempts {
		t.Errorf("answers %v: want only 401 and 429", count)
	}
}

// raiseFileLimit lets the test hold many connections at once.
func raiseFileLimit(t *testing.T, need uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= need {
		return
	}
	lim.Cur = min(max(need, lim.Cur), lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < need {
		t.Fatalf("this test holds %d connections; the file limit is %d (raise it with ulimit -n): %v", need, lim.Cur, err)
	}
}

const slowConfig = baseConfig + `  - id: intake
    name: Intake
    integrations:
      - type: generic
        key: intake-generic-key
server:
  read_timeout: 2s
  idle_timeout: 2s
  max_connections_per_client: 100
`

// 1,100 clients that send half a request and stall hold a connection each; nines keeps
// answering everybody else, lets the slow ones go once the read timeout passes, refuses the
// connections one address takes beyond its share, and keeps the live event stream open
// past the read timeout.
func TestSlowClientsCannotStarveTheServer(t *testing.T) {
	const addrs, perAddr = 11, 100 // 1,100 slow connections
	raiseFileLimit(t, addrs*perAddr+500)
	s := newServer(t, "")
	s.writeConfig(slowConfig)
	s.start()
	viewer := s.token("viewer")

	// A responder's page listens to the live event stream.
	events, err := http.NewRequest("GET", s.url("/events"), nil)
	if err != nil {
		t.Fatal(err)
	}
	events.Header.Set("Authorization", "Bearer "+viewer)
	stream, err := http.DefaultClient.Do(events)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("GET /events: %v %v", stream, err)
	}
	defer stream.Body.Close()
	streamLines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			streamLines <- sc.Text()
		}
		close(streamLines)
	}()

	// Slow clients from 11 addresses of the loopback network: headers, a tenth of the body, then
	// nothing.
	_, port, _ := net.SplitHostPort(s.addr)
	var slow []net.Conn
	defer func() {
		for _, c := range slow {
			c.Close()
		}
	}()
	dial := func(i int) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(i+1))}, Timeout: 5 * time.Second}
		return d.Dial("tcp", "127.0.0.1:"+port)
	}
	const head = "POST /api/v1/ingest/generic/intake-generic-key HTTP/1.1\r\nHost: nines\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"summary\":"
	for i := range addrs {
		for range perAddr {
			c, err := dial(i)
			if err != nil {
				t.Fatalf("slow client %d: %v", len(slow), err)
			}
			if _, err := c.Write([]byte(head)); err != nil {
				t.Fatalf("slow client %d: %v", len(slow), err)
			}
			slow = append(slow, c)
		}
	}
	heldAt := time.Now()

	// One more connection from an address that holds its share is refused at once.
	refused := 0
	for i := range addrs {
		c, err := dial(i)
		if err != nil {
			refused++
			continue
		}
		c.SetDeadline(time.Now().Add(time.Second))
		c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: nines\r\n\r\n"))
		line, _ := bufio.NewReader(c).ReadString('\n')
		if line == "" || strings.Contains(line, " 429 ") {
			refused++
		}
		c.Close()
	}
	if refused != addrs {
		t.Errorf("%d of %d addresses holding %d connections each got one more; want none", addrs-refused, addrs, perAddr)
	}

	// Everybody else is still served, promptly.
	quick := &http.Client{Timeout: 2 * time.Second}
	for i := range 5 {
		start := time.Now()
		resp, err := quick.Get(s.url("/healthz"))
		if err != nil {
			t.Fatalf("GET /healthz %d while %d slow clients hold connections: %v", i, len(slow), err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /healthz: %d", resp.StatusCode)
		}
		t.Logf("GET /healthz with %d slow clients holding connections: %v", len(slow), time.Since(start).Round(time.Millisecond))
	}

	// The slow clients are let go once the read timeout (2s) has passed.
	var closedWithin time.Duration
	closed := 0
	for _, c := range slow {
		c.SetReadDeadline(heldAt.Add(8 * time.Second))
		buf := make([]byte, 512)
		for {
			_, err := c.Read(buf)
			if err == nil {
				continue // a 408 or 400 answer before the close
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				break
			}
			closed++
			closedWithin = max(closedWithin, time.Since(heldAt))
			break
		}
	}
	t.Logf("%d of %d slow connections closed by nines, the last %v after they stalled", closed, len(slow), closedWithin.Round(time.Millisecond))
	if closed != len(slow) {
		t.Errorf("%d of %d slow connections still held 8s after they stalled; want all let go after the 2s read timeout", len(slow)-closed, len(slow))
	}

	// The live stream outlived the read timeout: a change made now still reaches it.
	code, _ := postJSON(t, s.url("/api/v1/ingest/generic/intake-generic-key"), `{"summary":"after the slow clients","severity":"critical"}`)
	if code != http.StatusAccepted {
		t.Fatalf("ingest after the slow clients: %d", code)
	}
	deadline := time.After(5 * time.Second)
	for got := false; !got; {
		select {
		case line, ok := <-streamLines:
			if !ok {
				t.Fatal("the live event stream was closed; want it open past the read timeout")
			}
			got = line == "event: change"
		case <-deadline:
			t.Fatal("no change event on the live stream within 5s of an incident opening")
		}
	}

	// An idle kept-alive connection is closed after the idle timeout (2s).
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: nines\r\n\r\n"))
	c.SetReadDeadline(time.Now().Add(6 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	idleFrom := time.Now()
	var ne net.Error
	if _, err := br.ReadByte(); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("an idle kept-alive connection was still open after %v: %v", time.Since(idleFrom).Round(time.Millisecond), err)
	} else {
		t.Logf("an idle connection was closed after %v", time.Since(idleFrom).Round(time.Millisecond))
	}
}

func postJSON(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Bodies held in memory across all requests are bounded (server.max_body_memory): 1,100
// clients from 5 addresses send most of a 500 KB body to /v2/enqueue (no key needed: it is in
// the body) and stall. Without a bound that held over 600 MB; with one, the process grows by
// about the bound, a request that cannot get its share is answered 503 with Retry-After at once,
// a client that announces 512 KiB and sends 1 byte holds almost nothing, and once the slow
// clients are gone an event is taken again.
func TestStalledBodiesHoldNoMoreMemoryThanTheBudget(t *testing.T) {
	const addrs, perAddr = 5, 220 // 1,100 stalled bodies
	raiseFileLimit(t, addrs*perAddr+500)
	s := newServer(t, "")
	s.writeConfig(baseConfig + `server:
  read_timeout: 20s
  max_connections_per_client: 256
  max_body_memory: 16777216
`)
	s.start()
	before := s.status("VmRSS")

	_, port, _ := net.SplitHostPort(s.addr)
	dial := func(i int) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 2, byte(i+1))}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	const size = 500_000
	head := fmt.Sprintf("POST /v2/enqueue HTTP/1.1\r\nHost: nines\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", size)
	part := []byte(head + `{"routing_key": "` + routingKey + `", "event_action": "trigger", "payload": {"summary": "` + strings.Repeat("x", 450_000))
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	for i := range addrs {
		for range perAddr {
			c := dial(i)
			conns = append(conns, c)
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.SetDeadline(time.Now().Add(15 * time.Second))
				if _, err := c.Write(part); err != nil {
					return // refused and closed before all of it was sent: what nines does over budget
				}
				// An answer before the body is complete is the refusal; the rest stall.
				c.SetReadDeadline(time.Now().Add(3 * time.Second))
				line, _ := bufio.NewReader(c).ReadString('\n')
				mu.Lock()
				answers[strings.TrimSpace(line)]++
				mu.Unlock()
			}()
		}
	}
	// One more announces 512 KiB and sends a byte.
	tiny := dial(addrs)
	conns = append(conns, tiny)
	tiny.Write([]byte("POST /v2/enqueue HTTP/1.1\r\nHost: nines\r\nContent-Type: application/json\r\nContent-Length: 524288\r\n\r\n{"))
	wg.Wait()
	held := s.status("VmRSS")
	t.Logf("RSS %d MiB before, %d MiB with %d stalled bodies; answers before the end of a body: %v", before>>10, held>>10, len(conns), answers)
	refused := 0
	for line, n := range answers {
		if strings.Contains(line, " 503 ") {
			refused += n
		} else if line != "" {
			t.Errorf("%d stalled bodies were answered %q; want 503 or nothing yet", n, line)
		}
	}
	if refused == 0 {
		t.Errorf("no stalled body was refused; want 503 once the budget is spent")
	}
	// The bound is 16 MiB of bodies; the garbage collector may keep as much again, and every
	// connection costs its buffers and goroutine.
	if grown := (held - before) >> 10; grown > 96 {
		t.Errorf("RSS grew by %d MiB with %d stalled bodies; want at most 96 MiB for a 16 MiB budget", grown, len(conns))
	}
	// A request that cannot get its share is told at once, with Retry-After.
	c := dial(addrs + 1)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	c.Write(part)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("a body sent while the budget is spent: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a body sent while the budget is spent: %s, Retry-After %q; want 503 with Retry-After", resp.Status, resp.Header.Get("Retry-After"))
	}
	t.Logf("refused in %v", time.Since(start).Round(time.Millisecond))

	// Once the slow clients are gone, events are taken again.
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	eventually(t, 10*time.Second, func() string {
		code, body := postJSON(t, s.url("/v2/enqueue"), `{"routing_key": "`+routingKey+`", "event_action": "trigger", "payload": {"summary": "after", "source": "e2e", "severity": "critical"}}`)
		if code != http.StatusAccepted {
			return fmt.Sprintf("an event after the slow clients left: %d %s", code, body)
		}
		return ""
	})
}
