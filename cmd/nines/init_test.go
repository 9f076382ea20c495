package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOfflineCommandsMakeNoNewDatabaseUnasked(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "nines.yaml")
	os.WriteFile(cfgPath, []byte("users:\n  - {id: alice, name: Alice Martin}\n"), 0o600)
	cases := []struct {
		name  string
		stdin string
		args  []string
	}{
		{"nines token create", "", []string{"token", "create", "--name", "ci"}},
		{"nines user create", "a long enough password\n", []string{"user", "create", "--username", "alice", "--password-stdin"}},
		{"nines user list", "", []string{"user", "list"}},
	}
	for _, tc := range cases {
		t.Run(tc.name+" refuses a directory without a database, and makes one with --init", func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "typo")
			call := func(extra ...string) (int, string, string) {
				var out, errOut bytes.Buffer
				var code int
				withStdin(t, tc.stdin, func() {
					code = run(context.Background(), append(append(append([]string{}, tc.args...), "--data", data), extra...), &out, &errOut)
				})
				return code, out.String(), errOut.String()
			}
			code, _, stderr := call()
			abs, _ := filepath.Abs(data)
			if code == 0 || !strings.Contains(stderr, "no database in "+abs) || !strings.Contains(stderr, "--init") {
				t.Fatalf("exit %d, stderr %q; want a refusal naming the directory and --init", code, stderr)
			}
			if _, err := os.Stat(data); !os.IsNotExist(err) {
				t.Errorf("the refused command left %s behind: %v", data, err)
			}
			code, _, stderr = call("--init")
			if code != 0 || !strings.Contains(stderr, "using the data directory "+abs) {
				t.Fatalf("with --init: exit %d, stderr %q; want success naming the directory", code, stderr)
			}
			if _, err := os.Stat(filepath.Join(data, "nines.db")); err != nil {
				t.Errorf("--init made no database: %v", err)
			}
			// Once the database exists no --init is needed (a second alice is refused by the
			// database, which shows it was opened).
			_, _, stderr = call()
			if !strings.Contains(stderr, "using the data directory "+abs) || strings.Contains(stderr, "no database") {
				t.Errorf("once the database exists: stderr %q", stderr)
			}
		})
	}
	t.Run("a person of the config gets their name from it", func(t *testing.T) {
		data := t.TempDir()
		var out, errOut bytes.Buffer
		var code int
		withStdin(t, "a long enough password\n", func() {
			code = run(context.Background(), []string{"user", "create", "--username", "alice", "--password-stdin", "--config", cfgPath, "--data", data, "--init", "--json"}, &out, &errOut)
		})
		if code != 0 || !strings.Contains(out.String(), `"name":"Alice Martin"`) {
			t.Errorf("exit %d, %s %s", code, out.String(), errOut.String())
		}
	})
}
