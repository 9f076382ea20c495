package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

var schemas = []store.Schema{store.OwnSchema, auth.Schema}

var epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func TestACreatedTokenVerifiesAsItsNameAndRole(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		toks := auth.NewTokens(db, clock.NewFake(epoch))
		for _, role := range auth.Roles() {
			name := "ci-" + role.String()
			secret, tok, err := toks.Create(ctx, name, role, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(secret, auth.TokenPrefix) || len(secret) < len(auth.TokenPrefix)+40 {
				t.Errorf("secret %q lacks the nines_ prefix or is short", secret)
			}
			if tok.Name != name || tok.Role != role.String() || tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(epoch.Add(time.Hour)) {
				t.Errorf("token = %+v", tok)
			}
			p, err := toks.Verify(ctx, secret)
			if err != nil {
				t.Fatalf("Verify(%s): %v", name, err)
			}
			if p.Kind != "token" || p.Name != name || p.Role != role || p.ID != fmt.Sprint(tok.ID) {
				t.Errorf("principal = %+v, want token %s with role %s", p, name, role)
			}
			if p.Actor() != "token:"+name {
				t.Errorf("Actor() = %q", p.Actor())
			}
		}
	})
}

func TestVerifyRejectsWhatIsNotALiveToken(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := clock.NewFake(epoch)
		toks := auth.NewTokens(db, c)
		short, _, err := toks.Create(ctx, "short-lived", auth.Responder, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		forever, _, err := toks.Create(ctx, "forever", auth.Viewer, 0)
		if err != nil {
			t.Fatal(err)
		}
		revoked, revokedTok, err := toks.Create(ctx, "revoked", auth.Admin, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := toks.Revoke(ctx, revokedTok.ID); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Hour - time.Millisecond)
		if _, err := toks.Verify(ctx, short); err != nil {
			t.Errorf("a token a millisecond before expiry is refused: %v", err)
		}
		c.Advance(time.Millisecond)

		cases := []struct {
			name   string
			secret string
		}{
			{"an expired token", short},
			{"a revoked token", revoked},
			{"an unknown token", auth.TokenPrefix + strings.Repeat("A", 43)},
			{"a token without the prefix", strings.TrimPrefix(forever, auth.TokenPrefix)},
			{"an empty string", ""},
			{"a token with a character changed", forever[:len(forever)-1] + flip(forever[len(forever)-1])},
		}
		for _, tc := range cases {
			if _, err := toks.Verify(ctx, tc.secret); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("%s: Verify err = %v, want ErrInvalidToken", tc.name, err)
			}
		}
		c.Advance(10 * 365 * 24 * time.Hour)
		if _, err := toks.Verify(ctx, forever); err != nil {
			t.Errorf("a token made without expiry expired: %v", err)
		}
	})
}

func flip(b byte) string {
	if b == 'A' {
		return "B"
	}
	return "A"
}

func TestRevokingTwiceOrAnUnknownTokenIsAnError(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		toks := auth.NewTokens(db, clock.NewFake(epoch))
		_, tok, err := toks.Create(ctx, "x", auth.Viewer, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := toks.Revoke(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		if err := toks.Revoke(ctx, tok.ID); err == nil {
			t.Error("revoking a revoked token succeeded")
		}
		if err := toks.Revoke(ctx, 9999); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("revoking an unknown token: %v", err)
		}
	})
}

func TestListShowsOnlyLiveTokens(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := clock.NewFake(epoch)
		toks := auth.NewTokens(db, c)
		toks.Create(ctx, "live", auth.Viewer, 48*time.Hour)
		toks.Create(ctx, "expiring", auth.Viewer, time.Hour)
		_, gone, _ := toks.Create(ctx, "gone", auth.Viewer, 48*time.Hour)
		toks.Revoke(ctx, gone.ID)
		c.Advance(2 * time.Hour)
		list, err := toks.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Name != "live" || list[0].Role != "viewer" || !list[0].CreatedAt.Equal(epoch) {
			t.Errorf("List = %+v, want only the live token", list)
		}
	})
}

func TestTheSecretNeverReachesTheDatabase(t *testing.T) {
	t.Parallel()
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		toks := auth.NewTokens(db, clock.NewFake(epoch))
		secret, tok, err := toks.Create(ctx, "ci", auth.Admin, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := toks.Verify(ctx, secret); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query(ctx, `SELECT id, name, role, hash, created_at, COALESCE(expires_at, 0), COALESCE(last_used_at, 0), COALESCE(revoked_at, 0) FROM api_tokens`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		body := strings.TrimPrefix(secret, auth.TokenPrefix)
		n := 0
		for rows.Next() {
			n++
			var id, created, expires, used, revoked int64
			var name, role, hash string
			if err := rows.Scan(&id, &name, &role, &hash, &created, &expires, &used, &revoked); err != nil {
				t.Fatal(err)
			}
			row := fmt.Sprint(id, name, role, hash, created, expires, used, revoked)
			for _, part := range []string{secret, body, body[:16], body[len(body)-16:]} {
				if strings.Contains(row, part) {
					t.Errorf("the database row %q holds the secret (or part of it)", row)
				}
			}
			if len(hash) != 64 {
				t.Errorf("hash %q is not a SHA-256 hex digest", hash)
			}
			if id != tok.ID {
				t.Errorf("row id %d, want %d", id, tok.ID)
			}
		}
		if n != 1 {
			t.Errorf("%d token rows, want 1", n)
		}
	})
}

func TestCreateRefusesANamelessTokenOrAnUnknownRole(t *testing.T) {
	t.Parallel()
	db := storetest.SQLite(t, schemas)
	toks := auth.NewTokens(db, clock.NewFake(epoch))
	if _, _, err := toks.Create(context.Background(), "  ", auth.Viewer, 0); err == nil {
		t.Error("a token with a blank name was made")
	}
	if _, _, err := toks.Create(context.Background(), "x", auth.Role(99), 0); err == nil {
		t.Error("a token with role 99 was made")
	}
}

func TestRolesIncludeTheOnesBelowThem(t *testing.T) {
	t.Parallel()
	for _, have := range auth.Roles() {
		for _, need := range auth.Roles() {
			p := auth.Principal{Role: have}
			if got, want := p.Can(need), have >= need; got != want {
				t.Errorf("%s.Can(%s) = %v, want %v", have, need, got, want)
			}
		}
		r, err := auth.ParseRole(have.String())
		if err != nil || r != have {
			t.Errorf("ParseRole(%q) = %v, %v", have.String(), r, err)
		}
	}
	if (auth.Principal{}).Can(auth.Viewer) {
		t.Error("a principal without a role can view")
	}
	for _, bad := range []string{"", "root", "Admin", "none"} {
		if _, err := auth.ParseRole(bad); err == nil {
			t.Errorf("ParseRole(%q) accepted it", bad)
		}
	}
}
