package web_test

import (
	"bufio"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/web"
)

// apiDoc is the document of every API route; each route has a "### METHOD /pattern" heading.
const apiDoc = "../../docs/api.md"

var routeHeading = regexp.MustCompile(`^###\s+([A-Z]+)\s+(\S+)\s*$`)

// documentedRoutes reads every route heading of the whole document, outside code blocks, with
// the line it is on.
func documentedRoutes(t *testing.T) map[string]int {
	t.Helper()
	f, err := os.Open(apiDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line, fenced := 0, false
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(text), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		if strings.HasPrefix(text, "### ") && !routeHeading.MatchString(text) && strings.Contains(text, "/") {
			t.Errorf("%s:%d: %q looks like a route heading but is not \"### METHOD /pattern\"", apiDoc, line, text)
		}
		m := routeHeading.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		key := m[1] + " " + m[2]
		if first, dup := out[key]; dup {
			t.Errorf("%s:%d: %s is documented twice (first on line %d)", apiDoc, line, key, first)
		}
		out[key] = line
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAPIDocumentAndRoutesAgree keeps docs/api.md and the route table from drifting apart: every
// route marked API has its heading, and every heading names an API route.
func TestAPIDocumentAndRoutesAgree(t *testing.T) {
	t.Parallel()
	documented := documentedRoutes(t)
	routes := map[string]bool{}
	var missing []string
	for _, rt := range (&web.Server{}).Routes() {
		if !rt.API {
			continue
		}
		key := rt.Method + " " + rt.Pattern
		routes[key] = true
		if _, ok := documented[key]; !ok {
			missing = append(missing, key)
		}
	}
	sort.Strings(missing)
	for _, key := range missing {
		t.Errorf("route %s is in the route table but %s has no \"### %s\" heading", key, apiDoc, key)
	}
	for key, line := range documented {
		if !routes[key] {
			t.Errorf("%s:%d documents %s, which is not an API route of the route table", apiDoc, line, key)
		}
	}
	if len(routes) == 0 {
		t.Fatal("the route table has no API routes")
	}
}
