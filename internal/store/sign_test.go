package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// TestSignedTokensAreTakenBackOnlyAsMade: a token Sign made verifies to its value, under its own
// secret only; changed in any byte, it is ErrForged.
func TestSignedTokensAreTakenBackOnlyAsMade(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t, []store.Schema{store.OwnSchema})
	tok, err := db.Sign(ctx, "cursor", []byte("40"))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := db.Verify(ctx, "cursor", tok); err != nil || string(v) != "40" {
		t.Fatalf("Verify(Sign(40)) = %q, %v", v, err)
	}
	if _, err := db.Verify(ctx, "other", tok); !errors.Is(err, store.ErrForged) {
		t.Errorf("a token checked under another secret: %v, want ErrForged", err)
	}
	// Go's base64 decoder skips line breaks: a token with one inside is not the one made.
	for _, cut := range []string{"\r", "\n", "\r\n"} {
		if _, err := db.Verify(ctx, "cursor", tok[:1]+cut+tok[1:]); !errors.Is(err, store.ErrForged) {
			t.Errorf("the token with %q inside: %v, want ErrForged", cut, err)
		}
	}
	for i := range tok {
		b := []byte(tok)
		b[i] ^= 1
		if _, err := db.Verify(ctx, "cursor", string(b)); !errors.Is(err, store.ErrForged) {
			t.Errorf("the token with byte %d changed (%q): %v, want ErrForged", i, b, err)
		}
	}
}

// FuzzVerify: no token crashes Verify, and one it takes is one Sign makes of the same value.
func FuzzVerify(f *testing.F) {
	ctx := context.Background()
	db := storetest.SQLite(f, []store.Schema{store.OwnSchema})
	good, _ := db.Sign(ctx, "cursor", []byte("40"))
	for _, s := range []string{good, "NDA", "NDA.", ".", "", "NDA.AAAAAAAAAAAAAAAAAAAAAA", "%%%.%%%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		v, err := db.Verify(ctx, "cursor", tok)
		if err != nil {
			if !errors.Is(err, store.ErrForged) {
				t.Fatalf("Verify(%q): %v, want ErrForged", tok, err)
			}
			return
		}
		again, _ := db.Sign(ctx, "cursor", v)
		if again != tok || tok == good && !bytes.Equal(v, []byte("40")) {
			t.Fatalf("Verify took %q for %q, which Sign writes %q", tok, v, again)
		}
	})
}
