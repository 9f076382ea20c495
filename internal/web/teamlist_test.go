package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/auth"
)

// TestTeamListsWithEmptyNamesAreRefusedByTheAPI: "teams": [""] was read as no team, which is
// every team, for an admin of every team. An empty or malformed team name is refused with 400
// naming teams, and nothing is made.
func TestTeamListsWithEmptyNamesAreRefusedByTheAPI(t *testing.T) {
	w := startWholeNines(t)
	admin := w.tokens[auth.Admin]
	for _, teams := range []string{`[""]`, `[" "]`, `["payments", ""]`, `["payments,search"]`} {
		for _, c := range []struct{ path, body string }{
			{"/api/v1/tokens", `{"name": "ci", "role": "viewer", "teams": ` + teams + `}`},
			{"/api/v1/users", `{"username": "ann", "role": "viewer", "password": "correct horse battery staple", "teams": ` + teams + `}`},
		} {
			status, body := w.call(t, "POST", c.path, admin, c.body)
			if status != http.StatusBadRequest || !strings.Contains(body, "teams: ") {
				t.Errorf("POST %s with teams %s: %d %s, want 400 naming teams", c.path, teams, status, body)
			}
		}
	}
	var toks struct{ Tokens []struct{ Name string } }
	w.mustJSON(t, "GET", "/api/v1/tokens", admin, "", &toks)
	for _, tok := range toks.Tokens {
		if tok.Name == "ci" {
			t.Errorf("a refused token was made: %+v", toks.Tokens)
		}
	}
	if status, body := w.call(t, "POST", "/api/v1/tokens", admin, `{"name": "ci", "role": "viewer", "teams": [" payments "]}`); status != http.StatusCreated || !strings.Contains(body, `"teams":["payments"]`) {
		t.Errorf("a team name with spaces around it: %d %s, want 201 for payments", status, body)
	}
}
