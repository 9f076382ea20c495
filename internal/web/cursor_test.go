package web_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/auth"
)

// TestPaginationCursorsAreSignedAndAForgedOneIsRefused: a cursor was the base64 of an incident
// id, so any value a client made up was taken. Cursors are now signed with the server's key:
// one nines did not hand out, or changed in any byte, is refused with 400 naming cursor.
func TestPaginationCursorsAreSignedAndAForgedOneIsRefused(t *testing.T) {
	w := startWholeNines(t)
	viewer, responder := w.tokens[auth.Viewer], w.tokens[auth.Responder]
	for _, title := range []string{"one", "two", "three"} {
		w.mustJSON(t, "POST", "/api/v1/incidents", responder, `{"service": "checkout", "title": "`+title+`"}`, nil)
	}
	type page struct {
		Incidents []struct {
			ID    int64
			Title string
		}
		NextCursor string `json:"next_cursor"`
	}
	var first page
	w.mustJSON(t, "GET", "/api/v1/incidents?limit=1", viewer, "", &first)
	if len(first.Incidents) != 1 || first.Incidents[0].Title != "three" || first.NextCursor == "" {
		t.Fatalf("first page %+v, want the newest incident and a cursor", first)
	}
	var second page
	w.mustJSON(t, "GET", "/api/v1/incidents?limit=1&cursor="+url.QueryEscape(first.NextCursor), viewer, "", &second)
	if len(second.Incidents) != 1 || second.Incidents[0].Title != "two" {
		t.Fatalf("second page %+v, want the incident before", second)
	}

	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for _, c := range []struct{ name, cursor string }{
		{"a cursor made up from an id", base64.RawURLEncoding.EncodeToString([]byte("3"))},
		{"a cursor made up from a huge id", base64.RawURLEncoding.EncodeToString([]byte("9223372036854775807"))},
		{"a cursor with its first byte changed", flip(first.NextCursor, 0)},
		{"a cursor with its last byte changed", flip(first.NextCursor, len(first.NextCursor)-1)},
		{"a cursor with its signature cut off", strings.SplitN(first.NextCursor, ".", 2)[0]},
		{"a cursor with another page's signature", base64.RawURLEncoding.EncodeToString([]byte("1")) + first.NextCursor[strings.LastIndex(first.NextCursor, "."):]},
		{"garbage", "%%%"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body := w.call(t, "GET", "/api/v1/incidents?limit=1&cursor="+url.QueryEscape(c.cursor), viewer, "")
			if status != http.StatusBadRequest || !strings.Contains(body, "cursor: ") {
				t.Errorf("cursor %q: %d %s, want 400 naming cursor", c.cursor, status, body)
			}
		})
	}
}
