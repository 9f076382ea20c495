package web_test

import (
	"os"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/web"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// accessText is a route's access as the table of docs/api.md says it.
func accessText(rt httpx.Route) (string, string) {
	switch rt.Access {
	case httpx.Public:
		return "public", "—"
	case httpx.Key:
		return "integration key", "—"
	case httpx.Secret:
		return "secret in the URL", "—"
	}
	return rt.Role.String(), rt.Scope.String()
}

// TestAPIDocumentStatesEveryRoutesAccessAndScope keeps the table of access and team scope in
// docs/api.md equal to the route table, row for row.
func TestAPIDocumentStatesEveryRoutesAccessAndScope(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(apiDoc)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- access table: generated from the route table; TestAPIDocumentStatesEveryRoutesAccessAndScope names each row missing or wrong -->", "<!-- end of access table -->"
	text := string(doc)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no access table between %q and %q", apiDoc, begin, end)
	}
	var want []string
	for _, rt := range (&web.Server{}).Routes() {
		if !rt.API {
			continue
		}
		access, scope := accessText(rt)
		want = append(want, "| `"+rt.Method+" "+rt.Pattern+"` | "+access+" | "+scope+" |")
	}
	wantText := "\n\n| route | access | team scope |\n| --- | --- | --- |\n" + strings.Join(want, "\n") + "\n\n"
	got := text[i+len(begin) : j]
	if got == wantText {
		return
	}
	// Say only what differs: rows missing or wrong, rows the route table does not have, and
	// where the order departs from the route table's.
	var rows []string
	has := map[string]bool{}
	for _, l := range strings.Split(got, "\n") {
		if strings.HasPrefix(l, "| `") {
			rows = append(rows, l)
			has[l] = true
		}
	}
	wanted := map[string]bool{}
	for _, row := range want {
		wanted[row] = true
		if !has[row] {
			t.Errorf("%s: the access table lacks this row of the route table (missing, or written otherwise):\n%s", apiDoc, row)
		}
	}
	for _, row := range rows {
		if !wanted[row] {
			t.Errorf("%s: the access table has a row the route table does not:\n%s", apiDoc, row)
		}
	}
	if !t.Failed() {
		for k := range want {
			if k >= len(rows) || rows[k] != want[k] {
				t.Errorf("%s: the access table's rows are not in the route table's order (or its header or spacing differs); from row %d, want:\n%s", apiDoc, k+1, want[k])
				return
			}
		}
		t.Errorf("%s: the access table's header or spacing differs from:\n%s", apiDoc, wantText)
	}
}
