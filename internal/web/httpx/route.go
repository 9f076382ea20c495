package httpx

import (
	"fmt"
	"net/http"
	"regexp"

	"github.com/nines-dev/nines/internal/auth"
)

// Access says who may call a route.
type Access int

const (
	// Token routes need a principal with at least the route's role.
	Token Access = iota
	// Public routes need no principal (health, pages for everyone).
	Public
	// Key routes are authenticated by an integration key in the path or body (ingest).
	Key
	// Secret routes carry their credential in the URL: a signed link sent in a page, a
	// calendar feed key, a subscriber's confirmation token. A wrong or missing secret is
	// refused (401, 403, 404 or 410) and opens nothing.
	Secret
)

// Route is one entry of the route table.
type Route struct {
	Method  string
	Pattern string // net/http ServeMux pattern, without the method
	Access  Access
	Role    auth.Role // least role for Token routes
	// Scope says how a Token route finds the team of what it acts on (see scope.go).
	Scope  Scope
	Handle func(w http.ResponseWriter, r *http.Request) error
	// API marks routes documented in docs/api.md.
	API bool
}

// wildcards finds a pattern's path wildcards: {id}, {path...}.
var wildcards = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}`)

// Check refuses a route of the table that cannot be authorized as written: a scope naming a
// path wildcard the pattern does not have would find no target to check the team of.
func (rt Route) Check() error {
	have := map[string]bool{}
	for _, m := range wildcards.FindAllStringSubmatch(rt.Pattern, -1) {
		have[m[1]] = true
	}
	for _, sc := range rt.Scope.Targets() {
		if sc.Rule == TargetInPath && !have[sc.Name] {
			return fmt.Errorf("route %s %s: its scope names the path wildcard {%s}, which the pattern does not have; name the wildcard the pattern has for the %s",
				rt.Method, rt.Pattern, sc.Name, sc.Object)
		}
	}
	return nil
}
