package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/storetest"
)

func TestCommonPasswordsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name, password string
		refused        bool
	}{
		{"a keyboard walk is refused", "qwertyuiop", true},
		{"a common password is refused in any case", "PassWord123", true},
		{"digits in a row are refused", "1234567890", true},
		{"a football club is refused", "manchester", true},
		{"a pattern of the list is refused", "1qaz2wsx3edc", true},
		{"a passphrase of one's own is taken", "marmalade on the ninth floor", false},
		{"a long random password is taken", "vT7#qL2!mZ9@", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPassword(tc.password)
			var inv *invalid.Error
			if tc.refused && (!errors.As(err, &inv) || !strings.Contains(err.Error(), "most common passwords")) {
				t.Errorf("CheckPassword(%q) = %v, want it refused as common", tc.password, err)
			}
			if !tc.refused && err != nil {
				t.Errorf("CheckPassword(%q) = %v, want it taken", tc.password, err)
			}
		})
	}
	// The first and the last of the list are both known.
	if !IsCommonPassword("123456") || !IsCommonPassword(strings.TrimSpace(commonPasswords[strings.LastIndex(strings.TrimSpace(commonPasswords), "\n")+1:])) {
		t.Error("the ends of the list are not on it")
	}
	// Neither creating a user nor changing a password takes one.
	db := storetest.SQLite(t, schemas())
	users := NewUsers(db, clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	ctx := context.Background()
	if _, err := users.Create(ctx, NewUser{Username: "ann", Role: Viewer, Password: "password123"}); err == nil {
		t.Error("a user was created with password123")
	}
	if _, err := users.Create(ctx, NewUser{Username: "ann", Role: Viewer, Password: "marmalade on the ninth floor"}); err != nil {
		t.Fatal(err)
	}
	if err := users.SetPassword(ctx, "ann", "basketball"); err == nil {
		t.Error("a password was changed to basketball")
	}
}
