package postmortem

import (
	"bytes"
	"embed"
	"encoding/json"
	htmltemplate "html/template"
	"math"
	"strconv"
	"strings"
	"text/template"
	"time"
)

//go:embed templates
var templateFS embed.FS

var funcs = map[string]any{
	"ts":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"dur":  func(s int64) string { return Human(time.Duration(s) * time.Second) },
	"pct":  func(f float64) string { return strconv.FormatFloat(math.Round(f*1000)/10, 'f', -1, 64) + "%" },
	"cell": cellEscaper.Replace,
	// yesno reads a *bool: a template's if would test the pointer, not the answer.
	"yesno": func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	},
}

// cellEscaper keeps text inside one Markdown table cell.
var cellEscaper = strings.NewReplacer("|", `\|`, "\n", " ", "\r", "")

var (
	markdownTmpl = template.Must(template.New("postmortem.md.tmpl").Funcs(funcs).ParseFS(templateFS, "templates/postmortem.md.tmpl"))
	// HTMLTemplate renders the postmortem as an <article>, for embedding in a page: execute
	// its "postmortem" template.
	HTMLTemplate = htmltemplate.Must(htmltemplate.New("postmortem.html.tmpl").Funcs(funcs).ParseFS(templateFS, "templates/postmortem.html.tmpl"))
)

// Markdown renders the postmortem as Markdown (for a wiki or a pull request).
func (p Postmortem) Markdown() ([]byte, error) {
	var b bytes.Buffer
	err := markdownTmpl.Execute(&b, p)
	return b.Bytes(), err
}

// HTML renders the postmortem as a standalone HTML document.
func (p Postmortem) HTML() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
	htmltemplate.HTMLEscape(&b, []byte("Postmortem: "+p.Title))
	b.WriteString("</title>\n</head>\n<body>\n")
	if err := HTMLTemplate.ExecuteTemplate(&b, "postmortem", p); err != nil {
		return nil, err
	}
	b.WriteString("\n</body>\n</html>\n")
	return b.Bytes(), nil
}

// JSON renders the postmortem as indented JSON.
func (p Postmortem) JSON() ([]byte, error) {
	return json.MarshalIndent(p, "", "  ")
}
