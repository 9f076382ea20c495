package ui

import (
	"net/url"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/incident"
)

// FuzzBulkDone feeds the incident list's done query, which any link can carry: the page says
// only counts of known outcomes, never the text it was given.
func FuzzBulkDone(f *testing.F) {
	for _, s := range []string{"acknowledged.2", "forbidden.1,not_found.3", "none.0", "x.1", "acknowledged.-1", "acknowledged.99999", "<b>.1", ",,."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, done string) {
		got := bulkDone(url.Values{"done": {done}})
		if got == "" || got == "No incident matched." {
			return
		}
		rest := strings.TrimSuffix(got, ".")
		for _, part := range strings.Split(rest, ", ") {
			known := false
			for _, o := range incident.Outcomes {
				known = known || strings.HasSuffix(part, " "+o.Text())
			}
			if !known {
				t.Fatalf("bulkDone(%q) = %q says %q, not a known outcome", done, got, part)
			}
		}
	})
}
