package auth

import (
	"context"
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
		if _, err := users.Create(ctx, NewUser{Username: "alice", Role: Viewer, Password: "long enough password"}); err != ErrUserExists {
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
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := NewLoginLimiter(clk)
	for i := 0; i < MaxFailures; i++ {
		if ok, _ := l.Allow("bob", "10.0.0.1"); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
		l.Fail("bob", "10.0.0.1")
		clk.Advance(time.Minute)
	}
	ok, wait := l.Allow("bob", "10.0.0.2")
	if ok || wait != Window-MaxFailures*time.Minute {
		t.Fatalf("after %d failures from anywhere: allowed %v, wait %v", MaxFailures, ok, wait)
	}
	if ok, _ := l.Allow("carol", "10.0.0.1"); !ok {
		t.Fatal("another user from the same address is refused after 5 failures")
	}
	// One address guessing many usernames is stopped too.
	for i := 0; i < 4*MaxFailures; i++ {
		l.Fail("user"+itoa64(int64(i)), "10.9.9.9")
	}
	if ok, _ := l.Allow("dave", "10.9.9.9"); ok {
		t.Fatal("an address that failed 20 times may go on guessing")
	}
	clk.Advance(Window)
	if ok, _ := l.Allow("bob", "10.0.0.1"); !ok {
		t.Fatal("still refused after the window")
	}
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
