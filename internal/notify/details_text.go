package notify

import (
	"fmt"
	"strings"
)

// Fit keeps the rows of t that fit in budget, each costing size(row), and counts the rest as
// left out; budget is what is left after them (never below zero). Channels use it to bound a
// table to their own limits (a Slack section's 3,000 characters, a Teams card's 28 KB).
func Fit(t Table, budget *int, size func(Field) int) Table {
	out := Table{More: t.More}
	for i, r := range t.Rows {
		n := size(r)
		if n > *budget {
			out.More += len(t.Rows) - i
			*budget = 0
			break
		}
		*budget -= n
		out.Rows = append(out.Rows, r)
	}
	return out
}

// FitLinks is Fit for a list of links; more counts those left out.
func FitLinks(links []Link, budget *int, size func(Link) int) (kept []Link, more int) {
	for i, l := range links {
		n := size(l)
		if n > *budget {
			*budget = 0
			return kept, len(links) - i
		}
		*budget -= n
		kept = append(kept, l)
	}
	return kept, 0
}

// MoreText says how many rows or links were left out: "… 12 more".
func MoreText(n int) string { return fmt.Sprintf("… %d more", n) }

// Label is what a link is shown as: its text, else its URL.
func (l Link) Label() string {
	if l.Text != "" {
		return l.Text
	}
	return l.Href
}

// Text renders the details as plain text in at most about budget bytes: a heading per table,
// one "key: value" row a line, then the links and images. What does not fit is counted.
func (d *Details) Text(budget int) string {
	if d.Empty() {
		return ""
	}
	var b strings.Builder
	if d.Source != "" {
		fmt.Fprintf(&b, "Source: %s\n", d.Source)
	}
	for _, t := range d.Titled() {
		t.Table = Fit(t.Table, &budget, func(f Field) int { return len(f.Key) + len(f.Value) + 5 })
		fmt.Fprintf(&b, "%s:\n", t.Title)
		for _, r := range t.Rows {
			fmt.Fprintf(&b, "  %s: %s\n", r.Key, r.Value)
		}
		if t.More > 0 {
			fmt.Fprintf(&b, "  %s\n", MoreText(t.More))
		}
	}
	for _, group := range []struct {
		title string
		links []Link
		more  int
	}{{"Links", d.Links, d.MoreLinks}, {"Images", d.Images, d.MoreImages}} {
		if len(group.links) == 0 {
			continue
		}
		kept, more := FitLinks(group.links, &budget, func(l Link) int { return len(l.Text) + len(l.Href) + len(l.To) + 16 })
		fmt.Fprintf(&b, "%s:\n", group.title)
		for _, l := range kept {
			switch {
			case l.To != "" && l.Text != "":
				fmt.Fprintf(&b, "  %s: %s (image %s)\n", l.Text, l.To, l.Href)
			case l.To != "":
				fmt.Fprintf(&b, "  %s (image %s)\n", l.To, l.Href)
			case l.Text != "":
				fmt.Fprintf(&b, "  %s: %s\n", l.Text, l.Href)
			default:
				fmt.Fprintf(&b, "  %s\n", l.Href)
			}
		}
		if more+group.more > 0 {
			fmt.Fprintf(&b, "  %s\n", MoreText(more+group.more))
		}
	}
	if d.Alerts > 1 {
		fmt.Fprintf(&b, "(These are the details of the first of %d alerts.)\n", d.Alerts)
	}
	return b.String()
}
