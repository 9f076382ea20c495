package statuspage

import (
	"context"
	"net/mail"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/storetest"
)

func TestSubscriberAddressesAreKeptAsTheirOwnersTypedThem(t *testing.T) {
	for _, tc := range []struct {
		name, typed, want string
	}{
		{"a plain address", "ops@example.com", "ops@example.com"},
		{"a plain address in capitals is one mailbox", "Ops@Example.COM", "ops@example.com"},
		{"spaces around are trimmed", "  ops@example.com \t", "ops@example.com"},
		{"a quoted local part keeps its quotes", `"john doe"@example.com`, `"john doe"@example.com`},
		{"a quoted local part keeps its case", `"John Doe"@Example.com`, `"John Doe"@example.com`},
		{"a quoted local part with an at sign", `"a@b"@example.com`, `"a@b"@example.com`},
		{"a quoted local part with an escaped quote", `"say \"hi\""@example.com`, `"say \"hi\""@example.com`},
		{"plus addressing", "ops+status@example.com", "ops+status@example.com"},
		{"a display name is refused", "Ops <ops@example.com>", ""},
		{"two addresses are refused", "a@example.com, b@example.com", ""},
		{"no domain is refused", "ops", ""},
		{"a newline is refused", "ops@example.com\r\nBcc: x@example.com", ""},
		{"an unterminated quote is refused", `"john@example.com`, ""},
		{"too long is refused", strings.Repeat("a", 250) + "@example.com", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SubscriberAddress(tc.typed)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("SubscriberAddress(%q) = %q, want it refused", tc.typed, got)
				}
				if !strings.Contains(err.Error(), "email") {
					t.Errorf("the error %q does not name the field", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("SubscriberAddress(%q) = %q, %v; want %q", tc.typed, got, err, tc.want)
			}
		})
	}
}

// A subscriber who typed a quoted local part gets mail at exactly that address.
func TestAQuotedAddressIsMailedAsTyped(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, schemas()))
	if err := e.sp.Subscribe(context.Background(), "public", `"john doe"@example.com`); err != nil {
		t.Fatal(err)
	}
	if m := e.mail.Next(t); strings.Join(m.To, ",") != `"john doe"@example.com` {
		t.Fatalf("the confirmation went to %q, want \"john doe\"@example.com", m.To)
	}
}

func FuzzSubscriberAddress(f *testing.F) {
	for _, s := range []string{"ops@example.com", `"john doe"@example.com`, `"a@b"@x.y`, "a <b@c>", `"\"@x`, "@", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		got, err := SubscriberAddress(typed)
		if err != nil {
			return
		}
		if strings.ContainsAny(got, "\r\n<>") || len(got) > 254 {
			t.Fatalf("SubscriberAddress(%q) = %q: unsafe to mail", typed, got)
		}
		if _, err := mail.ParseAddress(got); err != nil {
			t.Fatalf("SubscriberAddress(%q) = %q, which does not parse: %v", typed, got, err)
		}
		if again, err := SubscriberAddress(got); err != nil || again != got {
			t.Fatalf("SubscriberAddress is not stable: %q -> %q -> %q, %v", typed, got, again, err)
		}
	})
}
