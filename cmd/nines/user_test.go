package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
)

// withStdin runs f with standard input reading text.
func withStdin(t *testing.T, text string, f func()) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "stdin")
	os.WriteFile(p, []byte(text), 0o600)
	in, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	old := os.Stdin
	os.Stdin = in
	defer func() { os.Stdin = old }()
	f()
}

func TestUserCommandWorksOffline(t *testing.T) {
	data := t.TempDir()
	nines := func(stdin string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		var code int
		withStdin(t, stdin, func() { code = run(context.Background(), append(args, "--data", data, "--init"), &out, &errOut) })
		return code, out.String(), errOut.String()
	}
	if code, _, stderr := nines("short\n", "user", "create", "--username", "alice", "--role", "admin"); code == 0 || !strings.Contains(stderr, "at least 10") {
		t.Fatalf("a short password: exit %d, %s", code, stderr)
	}
	if code, _, stderr := nines("a long enough password\n", "user", "create", "--username", "alice", "--role", "admin", "--teams", "payments"); code != 0 {
		t.Fatalf("create: exit %d: %s", code, stderr)
	}
	if code, _, _ := nines("another long password\n", "user", "create", "--username", "alice", "--role", "viewer"); code == 0 {
		t.Fatal("creating alice twice succeeded")
	}
	if code, _, stderr := nines("a changed long password\n", "user", "passwd", "--username", "alice"); code != 0 {
		t.Fatalf("passwd: exit %d: %s", code, stderr)
	}
	if code, _, _ := nines("a changed long password\n", "user", "passwd", "--username", "nobody"); code == 0 {
		t.Fatal("changing an unknown user's password succeeded")
	}
	code, out, _ := nines("", "user", "list")
	if code != 0 || !strings.Contains(out, "alice\tadmin\talice\tpayments") {
		t.Fatalf("list: exit %d: %q", code, out)
	}
	if code, _, _ := nines("", "user", "disable", "--username", "alice"); code != 0 {
		t.Fatal("disable failed")
	}
	if _, out, _ := nines("", "user", "list"); !strings.Contains(out, "disabled") {
		t.Fatalf("list after disable: %q", out)
	}
	db, err := (&dbFlags{data: data}).open(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entries, _ := auth.NewAudit(db, clock.Real{}).List(context.Background(), 10, 0)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, "; "); got != "nines user disable; nines user passwd; nines user create --role admin" {
		t.Fatalf("audit log: %s", got)
	}
}
