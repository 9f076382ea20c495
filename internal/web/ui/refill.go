package ui

import (
	"bytes"
	"slices"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// refill puts a refused form's values back into the page it was posted from, and its problems
// beside the fields they name: one mechanism for every form of the app, so no page writes its
// own. The form is the one posting to f.Action whose hidden fields agree with what was posted
// (several forms post to one path, told apart by a hidden action). Passwords are never put
// back. A problem naming no field of the form is said at the top of the form; the panel the
// form is folded in is opened.
func refill(page []byte, f *httpx.Refused, path string) []byte {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return page
	}
	form := findForm(doc, f, path)
	if form == nil {
		// The page has no such form any more: the problems go at the top of main.
		if main := find(doc, func(n *html.Node) bool { return n.DataAtom == atom.Main }); main != nil {
			main.InsertBefore(problem("", f.Err.Msg), main.FirstChild)
			return render(doc, page)
		}
		return page
	}
	fields := map[string]*html.Node{}
	walk(form, func(n *html.Node) {
		name := attr(n, "name")
		if name == "" {
			return
		}
		switch n.DataAtom {
		case atom.Input:
			switch strings.ToLower(attr(n, "type")) {
			case "hidden", "password", "submit", "button", "file", "image", "reset":
				return
			case "checkbox", "radio":
				setBool(n, "checked", slices.Contains(f.Form[name], attrOr(n, "value", "on")))
			default:
				if v, ok := f.Form[name]; ok && len(v) > 0 {
					setAttr(n, "value", v[0])
				}
			}
		case atom.Textarea:
			if v, ok := f.Form[name]; ok && len(v) > 0 {
				for n.FirstChild != nil {
					n.RemoveChild(n.FirstChild)
				}
				n.AppendChild(&html.Node{Type: html.TextNode, Data: v[0]})
			}
		case atom.Select:
			if v, ok := f.Form[name]; ok {
				walk(n, func(o *html.Node) {
					if o.DataAtom == atom.Option {
						setBool(o, "selected", slices.Contains(v, attrOr(o, "value", text(o))))
					}
				})
			}
		default:
			return
		}
		if _, seen := fields[name]; !seen {
			fields[name] = n
		}
	})
	problems := f.Err.Problems
	if len(problems) == 0 {
		problems = []invalid.Problem{{Message: f.Err.Msg}}
	}
	var top []string
	for _, p := range problems {
		field := fields[p.Field]
		if field == nil {
			top = append(top, p.String())
			continue
		}
		id := "error-" + attrOr(field, "id", p.Field)
		setAttr(field, "aria-invalid", "true")
		setAttr(field, "aria-describedby", strings.TrimSpace(attr(field, "aria-describedby")+" "+id))
		note := problem(id, p.Message)
		at := field
		if at.Parent != nil && at.Parent.DataAtom == atom.Label {
			at = at.Parent
		}
		at.Parent.InsertBefore(note, at.NextSibling)
	}
	if len(top) > 0 {
		first := form.FirstChild
		form.InsertBefore(problem("form-error", strings.Join(top, "; ")), first)
	}
	for n := form.Parent; n != nil; n = n.Parent {
		if n.DataAtom == atom.Details {
			setBool(n, "open", true)
		}
	}
	return render(doc, page)
}

func findForm(doc *html.Node, f *httpx.Refused, path string) *html.Node {
	var forms []*html.Node
	walk(doc, func(n *html.Node) {
		action := attrOr(n, "action", path)
		if n.DataAtom == atom.Form && strings.EqualFold(attr(n, "method"), "post") && action == f.Action {
			forms = append(forms, n)
		}
	})
	for _, n := range forms {
		if agrees(n, f) {
			return n
		}
	}
	if len(forms) > 0 {
		return forms[0]
	}
	return nil
}

// agrees reports whether every hidden field of form holds what was posted.
func agrees(form *html.Node, f *httpx.Refused) bool {
	ok := true
	walk(form, func(n *html.Node) {
		if n.DataAtom == atom.Input && strings.EqualFold(attr(n, "type"), "hidden") && attr(n, "name") != "csrf" {
			if v := f.Form[attr(n, "name")]; len(v) == 0 || v[0] != attr(n, "value") {
				ok = false
			}
		}
	})
	return ok
}

// problem is <p class="error field-error" role="alert" id=id>msg</p>.
func problem(id, msg string) *html.Node {
	p := &html.Node{Type: html.ElementNode, Data: "p", DataAtom: atom.P,
		Attr: []html.Attribute{{Key: "class", Val: "error field-error"}, {Key: "role", Val: "alert"}}}
	if id != "" {
		p.Attr = append(p.Attr, html.Attribute{Key: "id", Val: id})
	}
	p.AppendChild(&html.Node{Type: html.TextNode, Data: msg})
	return p
}

func render(doc *html.Node, fallback []byte) []byte {
	var out bytes.Buffer
	if html.Render(&out, doc) != nil {
		return fallback
	}
	return out.Bytes()
}

func walk(n *html.Node, f func(*html.Node)) {
	if n.Type == html.ElementNode {
		f(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	var found *html.Node
	walk(n, func(c *html.Node) {
		if found == nil && match(c) {
			found = c
		}
	})
	return found
}

func text(n *html.Node) string {
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return strings.TrimSpace(b.String())
}

func attr(n *html.Node, key string) string { return attrOr(n, key, "") }

func attrOr(n *html.Node, key, def string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return def
}

func setAttr(n *html.Node, key, val string) {
	for i, a := range n.Attr {
		if a.Key == key {
			n.Attr[i].Val = val
			return
		}
	}
	n.Attr = append(n.Attr, html.Attribute{Key: key, Val: val})
}

func setBool(n *html.Node, key string, on bool) {
	n.Attr = slices.DeleteFunc(n.Attr, func(a html.Attribute) bool { return a.Key == key })
	if on {
		n.Attr = append(n.Attr, html.Attribute{Key: key})
	}
}
