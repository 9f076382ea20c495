package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/nines-dev/nines/internal/storetest"
)

// pages records the webhook pages nines sends, by escalation step.
type pages struct {
	mu   sync.Mutex
	got  []time.Time // when each page arrived
	body []string
}

func (p *pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	p.got = append(p.got, time.Now())
	p.body = append(p.body, string(b))
	p.mu.Unlock()
}

func (p *pages) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.got)
}

func (p *pages) at(i int) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.got[i]
}

func getStatus(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func enqueue(t *testing.T, s *server, dedupKey string) (int, http.Header, string) {
	t.Helper()
	body := fmt.Sprintf(`{"routing_key": %q, "event_action": "trigger", "dedup_key": %q,
		"payload": {"summary": "checkout is down", "source": "probe", "severity": "critical"}}`, routingKey, dedupKey)
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Post(s.url("/v2/enqueue"), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST /v2/enqueue: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// A PostgreSQL outage: while the database is down, readiness fails and ingest answers 503
// with Retry-After (the sender retries; nothing is half-done); once it is back, an escalation
// step that fell due meanwhile goes out within seconds, not after the timer runner's longest
// sleep.
func TestAPostgreSQLOutageIsA503AndEscalationResumesWhenItEnds(t *testing.T) {
	pg := storetest.PrivatePostgres(t)
	dbURL := pg.CreateDatabase(t, "nines_outage")
	hook := &pages{}
	receiver := httptest.NewServer(hook)
	defer receiver.Close()

	s := newServer(t, dbURL)
	s.writeConfig(strings.Replace(baseConfig, "    name: Payments\n", "    name: Payments\n    escalation_policy: payments\n", 1) + `
users:
  - {id: ann, contact_methods: [{type: webhook, address: "` + receiver.URL + `/ann"}]}
escalation_policies:
  - id: payments
    steps:
      - escalate_after: 1m
        targets: [{user: ann}]
      - escalate_after: 1m
        targets: [{user: ann}]
`)
	s.start()

	if code, _, body := enqueue(t, s, "checkout-down"); code != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", code, body)
	}
	eventually(t, 10*time.Second, func() string {
		if hook.count() < 1 {
			return "the first step did not page ann"
		}
		return ""
	})
	triggered := hook.at(0)

	pg.Stop()
	code, hdr, body := enqueue(t, s, "checkout-still-down")
	t.Logf("ingest with PostgreSQL down: %d Retry-After %q %s", code, hdr.Get("Retry-After"), strings.TrimSpace(body))
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Errorf("ingest with the database down: %d (Retry-After %q) %s; want 503 with Retry-After", code, hdr.Get("Retry-After"), body)
	}
	if strings.Contains(body, "internal error") {
		t.Errorf("the 503 says %q; want it to say the database is unavailable", body)
	}
	time.Sleep(1100 * time.Millisecond) // the last readiness answer is kept for a second
	if code, _, body := getStatus(t, s.url("/readyz")); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database down: %d %s; want 503", code, body)
	}

	// The second step falls due a minute after the first, while the database is down.
	if wait := time.Until(triggered.Add(time.Minute + 3*time.Second)); wait > 0 {
		time.Sleep(wait)
	}
	if hook.count() != 1 {
		t.Fatalf("%d pages went out with the database down", hook.count())
	}
	pg.Start(t)
	back := time.Now()
	eventually(t, 45*time.Second, func() string {
		if hook.count() < 2 {
			return "the second step did not page ann after the database came back"
		}
		return ""
	})
	late := hook.at(1).Sub(back)
	t.Logf("the step due during the outage went out %v after PostgreSQL was back", late.Round(time.Millisecond))
	if late > 5*time.Second {
		t.Errorf("the step due during the outage went out %v after the database was back; want within 5s", late.Round(time.Millisecond))
	}

	eventually(t, 10*time.Second, func() string {
		if code, _, body := getStatus(t, s.url("/readyz")); code != http.StatusOK {
			return fmt.Sprintf("/readyz after the outage: %d %s", code, body)
		}
		return ""
	})
	if code, _, body := enqueue(t, s, "checkout-still-down"); code != http.StatusAccepted {
		t.Errorf("ingest after the outage: %d %s", code, body)
	}
}

// mountTmpfs mounts a small file system of the test's own at dir, to fill up.
func mountTmpfs(t *testing.T, dir string, size string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
}

// mountExt4 mounts an ext4 file system in a file (through a loop device) at dir.
func mountExt4(t *testing.T, dir string) {
	t.Helper()
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 256<<20); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v %s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("mkfs.ext4", "-q", "-F", img)
	dev := run("losetup", "--find", "--show", img)
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	run("blockdev", "--setrw", dev)
	os.MkdirAll(dir, 0o700)
	run("mount", dev, dir)
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
}

// failDisk makes every read and write of the ext4 file system at dir fail, as a disk that
// dies does (EXT4_IOC_SHUTDOWN, without flushing the journal).
func failDisk(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const ext4Shutdown, noLogFlush = 0x8004587d, 2
	flags := uint32(noLogFlush)
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), ext4Shutdown, uintptr(unsafe.Pointer(&flags))); errno != 0 {
		t.Fatalf("shutting the file system down: %v", errno)
	}
}

// canMount reports whether this test may mount file systems of its own (it runs as root).
func canMount(t *testing.T) bool {
	probe := t.TempDir()
	if os.Geteuid() != 0 || exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", probe).Run() != nil {
		return false
	}
	exec.Command("umount", probe).Run()
	return true
}

// /readyz says whether the database takes writes, not only whether it answers reads: on a full
// disk, or a disk that fails, the changes clients send fail or are about to.
func TestReadinessFailsWhenTheDatabaseCannotTakeWrites(t *testing.T) {
	ready := func(s *server) (int, string) {
		time.Sleep(1100 * time.Millisecond) // the last answer is kept for a second
		code, _, body := getStatus(t, s.url("/readyz"))
		return code, strings.TrimSpace(body)
	}
	if !canMount(t) {
		t.Run("a read-only data directory", func(t *testing.T) {
			// Without the right to mount a file system, the test makes the data directory
			// read-only before nines starts: nines must say so and stop, not serve and fail
			// every change.
			s := newServer(t, "")
			s.start()
			s.stop(10 * time.Second)
			data := filepath.Join(s.dir, "data")
			filepath.Walk(data, func(p string, fi os.FileInfo, err error) error { return os.Chmod(p, 0o500) })
			defer filepath.Walk(data, func(p string, fi os.FileInfo, err error) error { return os.Chmod(p, 0o700) })
			cmd := exec.Command(ninesBin, append([]string{"serve", "--listen", freeAddr(t)}, s.dbArgs()...)...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "nines.db") {
				t.Fatalf("nines serve on a read-only data directory: %v\n%s\nwant it to stop, naming the database", err, out)
			}
		})
		return
	}
	t.Run("a full disk", func(t *testing.T) {
		s := newServer(t, "")
		data := filepath.Join(s.dir, "data")
		mountTmpfs(t, data, "128m")
		s.start()
		viewer := s.token("viewer")
		if code, body := ready(s); code != http.StatusOK {
			t.Fatalf("/readyz at start: %d %s", code, body)
		}
		fill := filepath.Join(data, "filler")
		f, err := os.Create(fill)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		for {
			if _, err := f.Write(buf); err != nil {
				break
			}
		}
		f.Close()
		code, body := ready(s)
		t.Logf("/readyz with the disk full: %d %s", code, body)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "MiB free") {
			t.Errorf("/readyz with the disk full: %d %s; want 503 saying how much room is left", code, body)
		}
		// Reads still work: the node is alive, only not fit to take changes.
		s.get(viewer, "/api/v1/incidents", &json.RawMessage{})
		os.Remove(fill)
		if code, body := ready(s); code != http.StatusOK {
			t.Errorf("/readyz once the disk has room again: %d %s", code, body)
		}
	})
	t.Run("a disk that fails", func(t *testing.T) {
		s := newServer(t, "")
		data := filepath.Join(s.dir, "data")
		mountExt4(t, data)
		s.start()
		if code, body := ready(s); code != http.StatusOK {
			t.Fatalf("/readyz at start: %d %s", code, body)
		}
		failDisk(t, data)
		code, body := ready(s)
		t.Logf("/readyz with the disk failing: %d %s", code, body)
		if code != http.StatusServiceUnavailable {
			t.Errorf("/readyz with the disk failing: %d %s; want 503", code, body)
		}
		code, hdr, answer := enqueue(t, s, "disk-failed")
		t.Logf("ingest with the disk failing: %d Retry-After %q %s", code, hdr.Get("Retry-After"), strings.TrimSpace(answer))
		if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
			t.Errorf("ingest with the disk failing: %d %s; want 503 with Retry-After", code, answer)
		}
		s.kill()
	})
}
