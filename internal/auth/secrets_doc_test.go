package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/storetest"
)

// TestCredentialsAreWhatDocsWebSays: docs/web.md states the size of what nines hands out and
// what it keeps of it: a session id and an API token are 256 random bits, of which the database
// keeps a SHA-256 (hex). This holds the code to it.
func TestCredentialsAreWhatDocsWebSays(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t, schemas())
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	u, err := NewUsers(db, clk).Create(ctx, NewUser{Username: "ann", Role: Viewer, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := NewSessions(db, clk).Start(ctx, u.ID, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := NewTokens(db, clk).Create(ctx, "ci", Viewer, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ what, value, prefix, table string }{
		{"a session id", id, "ns_", "sessions"},
		{"an API token", secret, "nines_", "api_tokens"},
	} {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(c.value, c.prefix))
		if !strings.HasPrefix(c.value, c.prefix) || err != nil || len(raw)*8 != 256 {
			t.Errorf("%s %q: want %s and 256 bits in base64url", c.what, c.value, c.prefix)
		}
		sum := sha256.Sum256([]byte(c.value))
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM `+c.table+` WHERE hash = ?`, hex.EncodeToString(sum[:])).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s: the database does not keep its SHA-256 in hex (%d rows, %v)", c.what, n, err)
		}
	}
}
