package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

func schemas() []store.Schema { return []store.Schema{store.OwnSchema, Schema} }

func TestPasswordHashes(t *testing.T) {
	h := HashPassword("correct horse battery")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if h == HashPassword("correct horse battery") {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	for _, tc := range []struct {
		name, hash, password string
		want                 bool
	}{
		{"the right password matches", h, "correct horse battery", true},
		{"a wrong password does not", h, "correct horse batterz", false},
		{"an empty password does not", h, "", false},
		{"a truncated hash matches nothing", h[:len(h)-4], "correct horse battery", false},
		{"another algorithm matches nothing", strings.Replace(h, "argon2id", "argon2i", 1), "correct horse battery", false},
		{"absurd cost parameters match nothing", strings.Replace(h, "m=19456", "m=99999999", 1), "correct horse battery", false},
		{"an empty hash matches nothing", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := VerifyPassword(tc.hash, tc.password); got != tc.want {
				t.Fatalf("got %v", got)
			}
		})
	}
}

func TestUsersSessionsAndPasswordChanges(t *testing.T) {
	storetest.Each(t, schemas(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		users, sessions := NewUsers(db, clk), NewSessions(db, clk)
		if _, err := users.Create(ctx, NewUser{Username: "alice", Role: Responder, Teams: []string{"payments"}, Password: "short"}); err == nil {
			t.Fatal("a 5-character password was accepted")
		}
		if _, err := users.Create(ctx, NewUser{Username: "Alice Smith", Role: Responder, Password: "long enough password"}); err == nil {
			t.Fatal("a username with a space and capitals was accepted")
		}
		u, err := users.Create(ctx, NewUser{Username: "alice", Role: Responder, Teams: []string{"payments"}, Password: "long enough password"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := users.Create(ctx, NewUser{Username: "alice", Role: Viewer, Password: "long enough password"}); !errors.Is(err, ErrUserExists) {
			t.Fatalf("a second alice: %v", err)
		}
		if _, err := users.Authenticate(ctx, "alice", "wrong password!"); err != ErrBadLogin {
			t.Fatalf("wrong password: %v", err)
		}
		id, err := sessions.Start(ctx, u.ID, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		p, err := sessions.Verify(ctx, id)
		if err != nil || p.Actor() != "user:alice" || p.Role != Responder || !p.InTeam("payments") || p.InTeam("search") || !p.InTeam("") {
			t.Fatalf("session principal %+v, %v", p, err)
		}
		if err := users.SetPassword(ctx, "alice", "a new long password"); err != nil {
			t.Fatal(err)
		}
		if _, err := sessions.Verify(ctx, id); err != ErrNoSession {
			t.Fatalf("a session survived the password change: %v", err)
		}
		if _, err := users.Authenticate(ctx, "alice", "a new long password"); err != nil {
			t.Fatalf("the new password: %v", err)
		}
		// A session in daily use still ends at MaxSessionAge.
		id, _ = sessions.Start(ctx, u.ID, "127.0.0.1")
		for clk.Now().Before(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(MaxSessionAge - time.Hour)) {
			if _, err := sessions.Verify(ctx, id); err != nil {
				t.Fatalf("a session in use ended early, at %v: %v", clk.Now(), err)
			}
			clk.Advance(6 * time.Hour)
		}
		clk.Advance(2 * time.Hour)
		if _, err := sessions.Verify(ctx, id); err != ErrNoSession {
			t.Fatalf("a session outlived MaxSessionAge: %v", err)
		}
		if n, err := sessions.Prune(ctx); err != nil || n != 1 {
			t.Fatalf("pruned %d sessions (%v), want 1", n, err)
		}
	})
}

func TestLoginLimiter(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fail := func(l *LoginLimiter, user, client, device string) bool {
		a, _ := l.Begin(user, client, device)
		if a != nil {
			a.Failed()
		}
		return a != nil
	}
	t.Run("one client guessing one account is stopped after MaxFailures", func(t *testing.T) {
		clk := clock.NewFake(start)
		l := NewLoginLimiter(clk)
		for i := 0; i < MaxFailures; i++ {
			if !fail(l, "bob", "10.0.0.1", "") {
				t.Fatalf("attempt %d refused", i+1)
			}
			clk.Advance(time.Minute)
		}
		a, wait := l.Begin("bob", "10.0.0.1", "")
		if a != nil || wait != Window-MaxFailures*time.Minute {
			t.Fatalf("after %d failures: attempt %v, wait %v", MaxFailures, a, wait)
		}
		if a, _ := l.Begin("bob", "10.0.0.2", ""); a == nil {
			t.Fatal("bob from another client is refused after one client's 5 failures")
		}
		if a, _ := l.Begin("carol", "10.0.0.1", ""); a == nil {
			t.Fatal("another user from the same client is refused after 5 failures")
		}
		clk.Advance(Window)
		if a, _ := l.Begin("bob", "10.0.0.1", ""); a == nil {
			t.Fatal("still refused after the window")
		}
	})
	t.Run("many clients guessing one account are stopped after AccountFailures, its owner's device is not", func(t *testing.T) {
		l := NewLoginLimiter(clock.NewFake(start))
		for i := 0; i < AccountFailures; i++ {
			if !fail(l, "bob", "10.1.0."+itoa64(int64(i)), "") {
				t.Fatalf("attempt %d refused", i+1)
			}
		}
		if a, _ := l.Begin("bob", "10.2.0.1", ""); a != nil {
			t.Fatal("a new client may go on guessing bob's password")
		}
		if a, _ := l.Begin("bob", "10.2.0.1", "bobs-laptop"); a == nil {
			t.Fatal("bob's own device is locked out by others' guessing")
		}
	})
	t.Run("one client guessing many accounts is stopped after ClientFailures", func(t *testing.T) {
		l := NewLoginLimiter(clock.NewFake(start))
		for i := 0; i < ClientFailures; i++ {
			fail(l, "user"+itoa64(int64(i)), "10.9.9.9", "")
		}
		if a, _ := l.Begin("dave", "10.9.9.9", ""); a != nil {
			t.Fatal("a client that failed on 50 accounts may go on guessing")
		}
		if a, _ := l.Begin("dave", "10.9.9.9", "daves-phone"); a == nil {
			t.Fatal("dave's device behind the same address is locked out")
		}
	})
	t.Run("attempts count before they are checked", func(t *testing.T) {
		l := NewLoginLimiter(clock.NewFake(start))
		var begun []*Attempt
		for i := 0; i < 3*MaxFailures; i++ {
			if a, _ := l.Begin("bob", "10.0.0.1", ""); a != nil {
				begun = append(begun, a)
			}
		}
		if len(begun) != MaxFailures {
			t.Fatalf("%d attempts in flight at once, want %d", len(begun), MaxFailures)
		}
		begun[0].Cancel() // never checked: it gives its place back
		if a, _ := l.Begin("bob", "10.0.0.1", ""); a == nil {
			t.Fatal("a cancelled attempt kept its place")
		}
	})
	t.Run("a success clears its own client's count, not others'", func(t *testing.T) {
		l := NewLoginLimiter(clock.NewFake(start))
		for i := 0; i < MaxFailures-1; i++ {
			fail(l, "bob", "10.0.0.1", "")
		}
		for i := 0; i < MaxFailures; i++ {
			fail(l, "bob", "10.3.0."+itoa64(int64(i)), "")
		}
		a, _ := l.Begin("bob", "10.0.0.1", "")
		a.Succeeded()
		for i := 0; i < MaxFailures; i++ {
			if !fail(l, "bob", "10.0.0.1", "") {
				t.Fatalf("bob's own client is still counted after his success (attempt %d)", i+1)
			}
		}
		// 4 + 5 + 5 failures stay on the account: 6 more reach AccountFailures.
		for i := 0; i < AccountFailures-3*MaxFailures+1; i++ {
			fail(l, "bob", "10.4.0."+itoa64(int64(i)), "")
		}
		if a, _ := l.Begin("bob", "10.5.0.1", ""); a != nil {
			t.Fatal("bob's success cleared the guesses made from elsewhere")
		}
	})
}

func TestAuditLogPagesNewestFirst(t *testing.T) {
	storetest.Each(t, schemas(), func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := NewAudit(db, clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
		for i := 0; i < 5; i++ {
			if err := a.Record(ctx, Entry{Actor: "user:alice", Action: "POST /x", Target: "/x/" + itoa64(int64(i)), Remote: "127.0.0.1", Detail: "200"}); err != nil {
				t.Fatal(err)
			}
		}
		first, _ := a.List(ctx, 3, 0)
		if len(first) != 3 || first[0].Target != "/x/4" {
			t.Fatalf("first page %+v", first)
		}
		rest, _ := a.List(ctx, 3, first[2].ID)
		if len(rest) != 2 || rest[1].Target != "/x/0" {
			t.Fatalf("second page %+v", rest)
		}
	})
}

// A person's role is one of the four roles people hold: an unknown one is refused naming those
// four, and agent, which only probe agents' tokens hold, is refused saying so.
func TestAPersonsRoleIsOneOfThePeoplesRoles(t *testing.T) {
	for _, c := range []struct{ role, want string }{
		{"superuser", `role "superuser": want viewer, responder, manager or admin`},
		{"agent", "agent is the role of probe agents' tokens"},
	} {
		if _, err := PersonRole(c.role); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.role, err, c.want)
		}
	}
	if r, err := PersonRole("manager"); err != nil || r != Manager {
		t.Errorf("manager: %v %v", r, err)
	}
}

// An admin's change to an account is in the audit log with what it was and what it became: role,
// teams, disabled; a delete with what was deleted.
func TestAnAccountChangeIsAuditedWithBeforeAndAfter(t *testing.T) {
	db := storetest.SQLite(t, schemas())
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	users, audit := NewUsers(db, clk), NewAudit(db, clk)
	ctx := context.Background()
	for _, n := range []string{"root", "bob"} {
		role := Admin
		if n == "bob" {
			role = Responder
		}
		if _, err := users.Create(ctx, NewUser{Username: n, Role: role, Password: "marmalade on the ninth floor"}); err != nil {
			t.Fatal(err)
		}
	}
	by := Principal{Kind: "user", Name: "root", Role: Admin}
	manager, teams := Manager, []string{"tz"}
	if _, err := users.Apply(ctx, by, "bob", Change{Role: &manager, Teams: &teams}); err != nil {
		t.Fatal(err)
	}
	if _, err := users.Apply(ctx, by, "bob", Change{Disable: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := users.Apply(ctx, by, "bob", Change{Delete: true}); err != nil {
		t.Fatal(err)
	}
	entries, err := audit.List(ctx, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Actor+" "+e.Action+" "+e.Target+" "+e.Detail)
	}
	want := []string{
		`user:root account.deleted users/bob {"before":{"role":"manager","teams":["tz"],"disabled":true},"after":null}`,
		`user:root account.updated users/bob {"before":{"role":"manager","teams":["tz"],"disabled":false},"after":{"role":"manager","teams":["tz"],"disabled":true}}`,
		`user:root account.updated users/bob {"before":{"role":"responder","teams":[],"disabled":false},"after":{"role":"manager","teams":["tz"],"disabled":false}}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
