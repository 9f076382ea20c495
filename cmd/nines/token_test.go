package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/store"
)

func TestTokenCreateScopesATokenToTeams(t *testing.T) {
	data := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "nines.yaml")
	os.WriteFile(cfgPath, []byte("teams:\n  - {id: payments, name: Payments}\n  - {id: search, name: Search}\n"), 0o600)
	nines := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append(args, "--data", data, "--init"), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, secret, stderr := nines("token", "create", "--name", "ci", "--role", "responder", "--teams", "payments, search", "--config", cfgPath)
	if code != 0 {
		t.Fatalf("token create --teams: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "teams payments,search") {
		t.Errorf("token create says %q; want it to name the teams", stderr)
	}
	if code, _, stderr := nines("token", "create", "--name", "ci2", "--teams", "paymnets", "--config", cfgPath); code == 0 || !strings.Contains(stderr, `unknown team "paymnets"`) {
		t.Errorf("a misspelt team: exit %d, %s; want it refused by name", code, stderr)
	}
	code, out, _ := nines("token", "list")
	if code != 0 || !strings.Contains(out, "ci\tresponder\tpayments,search") {
		t.Errorf("token list: exit %d: %q", code, out)
	}
	// The token acts for those teams only.
	db, err := store.Open(context.Background(), store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := auth.NewTokens(db, clock.Real{}).Verify(context.Background(), strings.TrimSpace(secret))
	if err != nil {
		t.Fatal(err)
	}
	if !p.InTeam("payments") || !p.InTeam("search") || p.InTeam("billing") {
		t.Errorf("the token's principal has teams %v, want payments and search only", p.Teams)
	}
}

// TestTeamListsWithEmptyNamesAreRefused: --teams "," made a token with no team, which acts for
// every team: the opposite of what was asked. An empty name in a list of teams is refused,
// naming --teams, and nothing is created.
func TestTeamListsWithEmptyNamesAreRefused(t *testing.T) {
	data := t.TempDir()
	nines := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append(args, "--data", data, "--init"), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	for _, teams := range []string{",", "payments,,search", " ", "", "payments,", "pay ments", "payments;search"} {
		code, out, stderr := nines("token", "create", "--name", "ci", "--teams", teams)
		if code == 0 || out != "" || !strings.Contains(stderr, "--teams") {
			t.Errorf("token create --teams %q: exit %d, stdout %q, stderr %q; want it refused naming --teams", teams, code, out, stderr)
		}
		code, out, stderr = nines("user", "create", "--username", "ann", "--teams", teams, "--password-stdin")
		if code == 0 || !strings.Contains(stderr, "--teams") {
			t.Errorf("user create --teams %q: exit %d, stdout %q, stderr %q; want it refused naming --teams", teams, code, out, stderr)
		}
	}
	if code, out, _ := nines("token", "list"); code != 0 || out != "" {
		t.Errorf("token list after refusals: exit %d, %q; want no token", code, out)
	}
}
