package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestTokenCreateMakesAgentTokensOfOneLocation(t *testing.T) {
	data := t.TempDir()
	nines := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append(args, "--data", data, "--init"), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"an agent token needs its location", []string{"--role", "agent"}, "location"},
		{"no agent may post as the server's own probes", []string{"--role", "agent", "--location", "local"}, "local"},
		{"a location is a plain name", []string{"--role", "agent", "--location", "eu west"}, "letters, digits"},
		{"only agent tokens have a location", []string{"--role", "responder", "--location", "eu-west"}, "agent tokens only"},
		{"people's roles are no agent's", []string{"--role", "root"}, "agent"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, stderr := nines(append([]string{"token", "create", "--name", "x"}, c.args...)...)
			if code == 0 || out != "" || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want a failure naming %q", code, out, stderr, c.want)
			}
		})
	}
	code, out, stderr := nines("token", "create", "--name", "probe-eu", "--role", "agent", "--location", "eu-west", "--ttl", "never")
	if code != 0 || !strings.HasPrefix(out, "nines_") || !strings.Contains(stderr, "agent at eu-west") {
		t.Fatalf("creating an agent token: exit %d, %q, %q", code, out, stderr)
	}
	if code, out, _ := nines("token", "list"); code != 0 || !strings.Contains(out, "probe-eu\tagent@eu-west") {
		t.Fatalf("token list: exit %d, %q", code, out)
	}
	if code, _, stderr := nines("user", "create", "--username", "robot", "--role", "agent", "--password-stdin"); code == 0 || !strings.Contains(stderr, "not of people") {
		t.Fatalf("a person with the agent role: exit %d, %s", code, stderr)
	}
}
