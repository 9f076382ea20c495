package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// TestLoadReadsOnlyRegularFilesOfBoundedSize: a config directory holding a symlink to a
// device, a FIFO, a socket's place or a file over 8 MiB is refused with file:1:1 naming the
// file and why, at once, and the errors of the other files are reported with it.
func TestLoadReadsOnlyRegularFilesOfBoundedSize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		make func(t *testing.T, path string)
		want string
	}{
		{"a symlink to /dev/zero", func(t *testing.T, p string) { must(t, os.Symlink("/dev/zero", p)) }, "not a regular file (a character device)"},
		{"a FIFO nobody writes", func(t *testing.T, p string) { must(t, syscall.Mkfifo(p, 0o600)) }, "not a regular file (a FIFO)"},
		{"a directory named like a file", func(t *testing.T, p string) { must(t, os.Mkdir(p, 0o700)) }, ""}, // skipped, as before
		{"a dangling symlink", func(t *testing.T, p string) { must(t, os.Symlink(p+".missing", p)) }, "cannot be opened: no such file or directory"},
		{"a file of 8 MiB and a byte", func(t *testing.T, p string) {
			f, err := os.Create(p)
			must(t, err)
			must(t, f.Truncate(config.MaxFileSize+1))
			f.Close()
		}, "larger than 8 MiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("services:\n  - id: checkout\n    nmae: x\n"), 0o600))
			bad := filepath.Join(dir, "z.yaml")
			c.make(t, bad)
			done := make(chan error, 1)
			go func() { _, err := config.Load(dir); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Load is still reading after 5s")
			}
			if c.want == "" {
				if err == nil || strings.Contains(err.Error(), bad) {
					t.Errorf("err = %v; want only a.yaml's error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), bad+":1:1: "+c.want) {
				t.Errorf("err = %v; want %s:1:1: %s", err, bad, c.want)
			}
			if err != nil && !strings.Contains(err.Error(), `a.yaml:3:5: unknown field "nmae"`) {
				t.Errorf("err = %v; want a.yaml's own error reported beside it", err)
			}
		})
	}
	t.Run("a FIFO given as the config", func(t *testing.T) {
		fifo := filepath.Join(t.TempDir(), "nines.yaml")
		must(t, syscall.Mkfifo(fifo, 0o600))
		if _, err := config.Load(fifo); err == nil || err.Error() != fifo+":1:1: not a regular file (a FIFO); a config file is a regular file, or a symlink to one" {
			t.Errorf("err = %v", err)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
