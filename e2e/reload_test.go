package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashers are configs that once made the loader panic: a reload of one killed the server,
// and the next start panicked again, so paging stayed down until someone edited the file.
var crashers = []string{
	"crash-empty-alert-condition.yaml",
	"crash-empty-notification-target.yaml",
	"crash-empty-slo-alert-policy.yaml",
}

func TestReloadOfAFileThatOnceCrashedTheLoaderKeepsServing(t *testing.T) {
	for _, name := range crashers {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "internal", "slo", "openslo", "testdata", "bad", name))
			if err != nil {
				t.Fatal(err)
			}
			// The OpenSLO documents, after the file's own services.
			_, docs, _ := strings.Cut(string(data), "---\n")
			crash := []byte(docs)
			s := newServer(t, "")
			s.start()
			tok := s.token("viewer")
			cfgPath := filepath.Join(s.dir, "nines.yaml")

			// The base config with the crashing documents after it, then SIGHUP.
			if err := os.WriteFile(cfgPath, append([]byte(baseConfig+"---\n"), crash...), 0o600); err != nil {
				t.Fatal(err)
			}
			s.cmd.Process.Signal(syscall.SIGHUP)
			eventually(t, 10*time.Second, func() string {
				if !strings.Contains(s.log.String(), "config reload refused") {
					return "no refusal logged yet"
				}
				return ""
			})
			log := s.log.String()
			if strings.Contains(log, "panic") || !strings.Contains(log, cfgPath+":") {
				t.Errorf("the refusal should name file:line:col and nothing should panic:\n%s", log)
			}
			select {
			case <-s.exited:
				t.Fatalf("nines exited on the reload: %v\n%s", s.exitErr, log)
			default:
			}
			// The old config is in force: both services, and the server answers.
			if ids := serviceIDs(s, tok); ids != "checkout payments" {
				t.Errorf("services after the refused reload = %q", ids)
			}

			// Once the file is fixed, the next SIGHUP applies it.
			fixed := baseConfig + "  - id: search\n"
			if err := os.WriteFile(cfgPath, []byte(fixed), 0o600); err != nil {
				t.Fatal(err)
			}
			s.cmd.Process.Signal(syscall.SIGHUP)
			eventually(t, 10*time.Second, func() string {
				if ids := serviceIDs(s, tok); ids != "checkout payments search" {
					return "services after the fixed reload: " + ids
				}
				return ""
			})
			if err := s.stop(30 * time.Second); err != nil {
				t.Errorf("stopping: %v", err)
			}

			// Starting on the crashing file refuses with the position, exit 1, no panic.
			if err := os.WriteFile(cfgPath, append([]byte(baseConfig+"---\n"), crash...), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(ninesBin, append([]string{"serve", "--listen", freeAddr(t)}, s.dbArgs()...)...).CombinedOutput()
			if code := exitCode(err); code != 1 || strings.Contains(string(out), "panic") ||
				!strings.Contains(string(out), "config is invalid, not starting") || !strings.Contains(string(out), cfgPath+":") {
				t.Errorf("starting on the crashing file: exit %d\n%s", code, out)
			}
		})
	}
}

func serviceIDs(s *server, token string) string {
	var body struct {
		Services []struct {
			ID string `json:"id"`
		} `json:"services"`
	}
	s.get(token, "/api/v1/services", &body)
	var ids []string
	for _, svc := range body.Services {
		ids = append(ids, svc.ID)
	}
	return strings.Join(ids, " ")
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// A config directory whose new file is a symlink to /dev/zero, a FIFO or a 2 GB file, then
// SIGHUP: the reload read /dev/zero until memory ran out, blocked forever on the FIFO (and
// every later SIGHUP with it), and held the whole 2 GB. Only regular files of at most 8 MiB
// are read, opened without blocking; anything else is refused with file:line:col naming the
// file, the config in force stays, the next reload works, and validate and serve refuse such
// a file at once.
func TestReloadReadsOnlyRegularFilesOfBoundedSize(t *testing.T) {
	s := newServer(t, "")
	conf := filepath.Join(s.dir, "conf")
	if err := os.Mkdir(conf, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "base.yaml"), []byte(baseConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	s.config = conf
	s.start()
	tok := s.token("viewer")
	before := s.status("VmRSS")
	bad := filepath.Join(conf, "z.yaml")
	refusals := 0
	refused := func(t *testing.T, want string) {
		t.Helper()
		refusals++
		s.cmd.Process.Signal(syscall.SIGHUP)
		eventually(t, 10*time.Second, func() string {
			if n := strings.Count(s.log.String(), "config reload refused"); n < refusals {
				return "no refusal logged yet"
			}
			return ""
		})
		log := s.log.String()
		if !strings.Contains(log, bad+":1:1: "+want) {
			t.Errorf("the refusal should name %s:1:1 and say %q:\n%s", bad, want, log)
		}
		select {
		case <-s.exited:
			t.Fatalf("nines exited on the reload: %v\n%s", s.exitErr, log)
		default:
		}
		if grown := (s.status("VmRSS") - before) >> 10; grown > 64 {
			t.Errorf("the reload grew nines by %d MiB", grown)
		}
		if ids := serviceIDs(s, tok); ids != "checkout payments" {
			t.Errorf("services after the refused reload = %q", ids)
		}
	}

	t.Run("a symlink to /dev/zero", func(t *testing.T) {
		if err := os.Symlink("/dev/zero", bad); err != nil {
			t.Fatal(err)
		}
		refused(t, "not a regular file")
		os.Remove(bad)
	})
	t.Run("a FIFO", func(t *testing.T) {
		if err := syscall.Mkfifo(bad, 0o600); err != nil {
			t.Fatal(err)
		}
		refused(t, "not a regular file")
		os.Remove(bad)
	})
	t.Run("a 2 GB file", func(t *testing.T) {
		f, err := os.Create(bad)
		if err != nil {
			t.Fatal(err)
		}
		f.Truncate(2 << 30) // sparse: no disk is used
		f.Close()
		refused(t, "larger than 8 MiB")
		os.Remove(bad)
	})
	t.Run("the next reload applies a good file", func(t *testing.T) {
		if err := os.WriteFile(bad, []byte("services:\n  - id: search\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		s.cmd.Process.Signal(syscall.SIGHUP)
		eventually(t, 10*time.Second, func() string {
			if ids := serviceIDs(s, tok); ids != "checkout payments search" {
				return "services after the good reload: " + ids
			}
			return ""
		})
	})
	if err := s.stop(30 * time.Second); err != nil {
		t.Errorf("stopping: %v", err)
	}

	t.Run("validate and serve refuse a FIFO at once", func(t *testing.T) {
		fifo := filepath.Join(s.dir, "fifo.yaml")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"validate", "--config", fifo}, {"serve", "--listen", freeAddr(t), "--config", fifo, "--data", filepath.Join(s.dir, "data")}} {
			cmd := exec.Command(ninesBin, args...)
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if code := exitCode(err); code != 1 || !strings.Contains(out.String(), fifo+":1:1: not a regular file") {
					t.Errorf("nines %s: exit %d\n%s", args[0], code, out.String())
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-done:
					t.Errorf("nines %s hung on a FIFO (SIGTERM stopped it)", args[0])
				case <-time.After(5 * time.Second):
					cmd.Process.Kill()
					t.Errorf("nines %s hung on a FIFO and ignored SIGTERM", args[0])
				}
			}
		}
	})
}
