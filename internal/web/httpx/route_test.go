package httpx

import (
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/auth"
)

func TestARouteWhoseScopeNamesAWildcardItsPatternLacksIsRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		rt   Route
		want string // "" when the route is sound
	}{
		{"a scope naming the pattern's wildcard is sound",
			Route{Method: "GET", Pattern: "/api/v1/incidents/{id}", Role: auth.Viewer, Scope: InPath(Incident, "id")}, ""},
		{"a further target naming the pattern's other wildcard is sound",
			Route{Method: "GET", Pattern: "/api/v1/services/{id}/drills/{drill}", Role: auth.Viewer, Scope: InPath(Service, "id").And(InBody(Person, "user_id"))}, ""},
		{"a scope naming a wildcard the pattern lacks is refused, saying which",
			Route{Method: "GET", Pattern: "/api/v1/services/{id}/slos", Role: auth.Viewer, Scope: InPath(Service, "sid")},
			"route GET /api/v1/services/{id}/slos: its scope names the path wildcard {sid}, which the pattern does not have"},
		{"a further target naming a missing wildcard is refused too",
			Route{Method: "POST", Pattern: "/api/v1/incidents/{id}/notes", Role: auth.Responder, Scope: InPath(Incident, "id").And(InPath(Schedule, "schedule"))},
			"its scope names the path wildcard {schedule}"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.rt.Check()
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Check() = %v, want an error saying %q", err, c.want)
			}
		})
	}
}
