package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

func TestTheAgentRoleIncludesNoOtherAndNoOtherIncludesIt(t *testing.T) {
	t.Parallel()
	agent := auth.Principal{Role: auth.Agent}
	if !agent.Can(auth.Agent) {
		t.Error("an agent cannot do what agents do")
	}
	for _, r := range auth.Roles() {
		if agent.Can(r) {
			t.Errorf("an agent can do what a %s does", r)
		}
		if (auth.Principal{Role: r}).Can(auth.Agent) {
			t.Errorf("a %s can do what an agent does (read monitors' secrets)", r)
		}
	}
	if r, err := auth.ParseRole("agent"); err != nil || r != auth.Agent || r.String() != "agent" {
		t.Errorf("ParseRole(agent) = %v, %v", r, err)
	}
	if got := auth.TokenRoles(); got[len(got)-1] != auth.Agent || len(got) != len(auth.Roles())+1 {
		t.Errorf("TokenRoles() = %v", got)
	}
}

func TestScopedPrincipalsGrantNoMoreThanTheyHave(t *testing.T) {
	t.Parallel()
	payments := auth.Principal{Role: auth.Manager, Teams: []string{"payments"}}
	unscoped := auth.Principal{Role: auth.Admin}
	for _, c := range []struct {
		name  string
		p     auth.Principal
		teams []string
		want  bool
	}{
		{"an unscoped principal covers an unscoped account", unscoped, nil, true},
		{"an unscoped principal covers a scoped account", unscoped, []string{"search"}, true},
		{"a scoped principal covers an account of its team", payments, []string{"payments"}, true},
		{"a scoped principal does not cover an unscoped account", payments, nil, false},
		{"a scoped principal does not cover another team's account", payments, []string{"search"}, false},
		{"a scoped principal does not cover an account of its team and another", payments, []string{"payments", "search"}, false},
		{"a blank team is no team of anyone's", payments, []string{""}, false},
	} {
		if got := c.p.Covers(c.teams); got != c.want {
			t.Errorf("%s: Covers(%q) = %v", c.name, c.teams, got)
		}
	}
	for _, c := range []struct {
		p    auth.Principal
		role auth.Role
		want bool
	}{
		{payments, auth.Manager, true}, {payments, auth.Viewer, true}, {payments, auth.Admin, false}, {payments, auth.Agent, false},
		{unscoped, auth.Admin, true}, {unscoped, auth.Agent, true},
	} {
		if got := c.p.MayGrant(c.role); got != c.want {
			t.Errorf("a %s MayGrant(%s) = %v", c.p.Role, c.role, got)
		}
	}
}

func TestAgentTokensCarryTheirLocation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, []store.Schema{store.OwnSchema, auth.Schema}, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		toks := auth.NewTokens(db, clock.NewFake(epoch))
		for _, bad := range []string{"", "local", "eu west", strings.Repeat("x", 65)} {
			if _, _, err := toks.CreateAgent(ctx, "probe", bad, time.Hour, nil); err == nil {
				t.Errorf("an agent token at location %q was made", bad)
			}
		}
		if _, _, err := toks.CreateScoped(ctx, "probe", auth.Agent, time.Hour, nil); err == nil {
			t.Error("an agent token without a location was made")
		}
		if _, _, err := toks.CreateFor(ctx, "alice", "probe", auth.Agent, time.Hour, nil); err == nil {
			t.Error("an agent token was made for a person")
		}
		secret, tok, err := toks.CreateAgent(ctx, "probe-eu", "eu-west", time.Hour, []string{"payments"})
		if err != nil {
			t.Fatal(err)
		}
		p, err := toks.Verify(ctx, secret)
		if err != nil || p.Role != auth.Agent || p.Location != "eu-west" || len(p.Teams) != 1 || p.Teams[0] != "payments" {
			t.Fatalf("Verify = %+v, %v; want an agent of payments at eu-west", p, err)
		}
		if active, err := toks.Active(ctx, tok.ID); err != nil || active.Location != p.Location || active.Role != p.Role {
			t.Fatalf("Active = %+v, %v; want the principal Verify gives, %+v", active, err, p)
		}
		list, err := toks.List(ctx)
		if err != nil || len(list) != 1 || list[0].Location != "eu-west" || list[0].Role != "agent" || list[0].ID != tok.ID {
			t.Fatalf("List = %+v, %v", list, err)
		}
		if _, err := auth.NewUsers(db, clock.NewFake(epoch)).Create(ctx, auth.NewUser{Username: "robot", Role: auth.Agent, Password: "long enough password"}); err == nil {
			t.Error("a person was given the agent role")
		}
	})
}
