package web_test

import (
	"testing"

	"github.com/nines-dev/nines/internal/web"
)

// TestEveryRouteOfTheTableNamesWildcardsItsPatternHas: web.New refuses a route table with a
// route whose scope names a path wildcard its pattern lacks; the table nines ships passes.
func TestEveryRouteOfTheTableNamesWildcardsItsPatternHas(t *testing.T) {
	t.Parallel()
	for _, rt := range (&web.Server{}).Routes() {
		if err := rt.Check(); err != nil {
			t.Error(err)
		}
	}
}
