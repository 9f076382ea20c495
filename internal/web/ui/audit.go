package ui

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/nines-dev/nines/internal/auth"
)

// auditRow is an audit entry as the page tells it: the outcome in words, and what a change
// changed as lines taken out and put in.
type auditRow struct {
	auth.Entry
	Outcome string
	Diff    template.HTML // a <pre class="diff">, or nothing
	Changed int           // lines taken out or put in
}

// AuditPage answers GET /admin/audit.
func (s *Handler) AuditPage(w http.ResponseWriter, r *http.Request) error {
	entries, err := s.api.AuditEntries(r)
	if err != nil {
		return err
	}
	rows := make([]auditRow, len(entries))
	for i, e := range entries {
		rows[i] = tellAudit(e)
	}
	return s.pages.Render(w, r, http.StatusOK, "audit.html", "Audit log", map[string]any{"Entries": rows})
}

// tellAudit reads an entry's detail: a before and an after (a config object's documents, an
// account's fields) become a line diff; other fields, "name: value" words; anything else is
// shown as it is.
func tellAudit(e auth.Entry) auditRow {
	row := auditRow{Entry: e, Outcome: e.Detail}
	var d map[string]any
	if json.Unmarshal([]byte(e.Detail), &d) != nil || d == nil {
		return row
	}
	before, hasBefore := d["before"]
	after, hasAfter := d["after"]
	var words []string
	keys := make([]string, 0, len(d))
	for k := range d {
		if k != "before" && k != "after" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		words = append(words, k+" "+scalarText(d[k]))
	}
	row.Outcome = strings.Join(words, " · ")
	if hasBefore || hasAfter {
		row.Diff, row.Changed = lineDiff(linesOf(before), linesOf(after))
		switch {
		case before == nil && after != nil:
			row.Outcome = strings.TrimPrefix(row.Outcome+" · made", " · ")
		case after == nil && before != nil:
			row.Outcome = strings.TrimPrefix(row.Outcome+" · deleted", " · ")
		}
	}
	return row
}

// linesOf is a document's lines, or an object's fields as "name: value" lines, by name.
func linesOf(v any) []string {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return strings.Split(strings.TrimRight(v, "\n"), "\n")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = k + ": " + scalarText(v[k])
		}
		return out
	default:
		return []string{scalarText(v)}
	}
}

func scalarText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return "none"
	case float64:
		return fmt.Sprint(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// maxDiffCells bounds the work of one diff (lines before × lines after); past it, every line
// before is shown taken out and every line after put in.
const maxDiffCells = 250_000

// lineDiff writes the lines of a and b as one listing: kept lines as they are, a's lines not
// in b taken out ("- ", <del>), b's not in a put in ("+ ", <ins>), by their longest common
// subsequence.
func lineDiff(a, b []string) (template.HTML, int) {
	n, m := len(a), len(b)
	var out strings.Builder
	out.WriteString(`<pre class="diff">`)
	changed := 0
	line := func(tag, prefix, s string) {
		if tag != "" {
			changed++
			out.WriteString("<" + tag + ">" + template.HTMLEscapeString(prefix+s) + "</" + tag + ">\n")
			return
		}
		out.WriteString(template.HTMLEscapeString(prefix+s) + "\n")
	}
	if n*m > maxDiffCells {
		for _, s := range a {
			line("del", "- ", s)
		}
		for _, s := range b {
			line("ins", "+ ", s)
		}
	} else {
		// lcs[i][j] is the longest common subsequence of a[i:] and b[j:].
		lcs := make([][]int, n+1)
		for i := range lcs {
			lcs[i] = make([]int, m+1)
		}
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if a[i] == b[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && a[i] == b[j]:
				line("", "  ", a[i])
				i, j = i+1, j+1
			case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
				line("del", "- ", a[i])
				i++
			default:
				line("ins", "+ ", b[j])
				j++
			}
		}
	}
	out.WriteString("</pre>")
	return template.HTML(out.String()), changed
}
