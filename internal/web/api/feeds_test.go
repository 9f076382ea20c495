package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// A calendar feed key belongs to whoever asked for the feed URL: it can be rotated, and it
// dies with its owner's access.
func TestFeedKeysCanBeRotatedAndDieWithTheirOwner(t *testing.T) {
	env := startOnCall(t, storetest.SQLite(t, oncallSchemas), clock.NewFake(time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)))
	ctx := context.Background()
	feedURL := func(token string) string {
		t.Helper()
		status, b := env.do(t, "GET", "/api/v1/schedules", token, nil)
		var list struct {
			Schedules []struct {
				FeedURL string `json:"feed_url"`
			} `json:"schedules"`
		}
		json.Unmarshal(b, &list)
		if status != 200 || len(list.Schedules) != 1 {
			t.Fatalf("GET /api/v1/schedules: %d %s", status, b)
		}
		u, _ := url.Parse(list.Schedules[0].FeedURL)
		return u.RequestURI()
	}
	read := func(path string) int {
		t.Helper()
		status, _ := env.do(t, "GET", path, "", nil)
		return status
	}

	mine, _, _ := env.srv.Tokens.Create(ctx, "calendar", auth.Viewer, 0)
	other, otherTok, _ := env.srv.Tokens.Create(ctx, "laptop", auth.Viewer, 0)
	feed := feedURL(mine)
	if read(feed) != http.StatusOK {
		t.Fatalf("the feed URL as issued: %d", read(feed))
	}
	if feedURL(mine) != feed {
		t.Error("asking again gave another feed URL; a calendar would have to be set up again")
	}
	othersFeed := feedURL(other)
	if othersFeed == feed {
		t.Fatal("two tokens got the same feed key")
	}

	t.Run("a rotated key stops working and the new one works", func(t *testing.T) {
		status, b := env.do(t, "POST", "/api/v1/feed-keys/rotate", mine, nil)
		if status != 200 || !strings.Contains(string(b), "feed_url") {
			t.Fatalf("rotate: %d %s", status, b)
		}
		if read(feed) != http.StatusUnauthorized {
			t.Errorf("the feed URL from before the rotation: %d, want 401", read(feed))
		}
		fresh := feedURL(mine)
		if fresh == feed || read(fresh) != http.StatusOK {
			t.Errorf("the feed URL after the rotation: %s: %d", fresh, read(fresh))
		}
		if read(othersFeed) != http.StatusOK {
			t.Error("rotating one owner's keys killed another's")
		}
	})
	t.Run("a revoked token's keys die with it", func(t *testing.T) {
		if err := env.srv.Tokens.Revoke(ctx, otherTok.ID); err != nil {
			t.Fatal(err)
		}
		if read(othersFeed) != http.StatusUnauthorized {
			t.Errorf("a revoked token's feed URL: %d, want 401", read(othersFeed))
		}
	})
	t.Run("a disabled user's keys die with them", func(t *testing.T) {
		if _, err := env.srv.Users.Create(ctx, auth.NewUser{Username: "ann", Role: auth.Viewer, Password: webtest.SignInPassword}); err != nil {
			t.Fatal(err)
		}
		ann := webtest.SignIn(t, env.url, env.srv.Users, "ann", auth.Viewer)
		_, body := ann.Do("GET", "/api/v1/schedules", nil, nil)
		var list struct {
			Schedules []struct {
				FeedURL string `json:"feed_url"`
			} `json:"schedules"`
		}
		json.Unmarshal([]byte(body), &list)
		u, _ := url.Parse(list.Schedules[0].FeedURL)
		if read(u.RequestURI()) != http.StatusOK {
			t.Fatalf("ann's feed URL: %d", read(u.RequestURI()))
		}
		if err := env.srv.Users.Disable(ctx, "ann"); err != nil {
			t.Fatal(err)
		}
		if read(u.RequestURI()) != http.StatusUnauthorized {
			t.Errorf("a disabled user's feed URL: %d, want 401", read(u.RequestURI()))
		}
	})
	t.Run("keys of owners that do not exist open nothing and store nothing", func(t *testing.T) {
		for _, key := range []string{"u999.00000000000000000000000000000000", "t0.00000000000000000000000000000000", "x1.00000000000000000000000000000000", "u1", "00000000000000000000000000000000"} {
			if got := read("/api/v1/schedules/ops/shifts.ics?key=" + key); got != http.StatusUnauthorized {
				t.Errorf("key %q: %d, want 401", key, got)
			}
		}
		var n int
		env.srv.DB.QueryRow(ctx, `SELECT COUNT(*) FROM secrets WHERE name = 'ical-feeds:u999'`).Scan(&n)
		if n != 0 {
			t.Error("a key for an unknown owner created a secret")
		}
	})
}
