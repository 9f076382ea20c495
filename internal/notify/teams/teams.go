// Package teams posts pages to a Microsoft Teams workflow webhook as an Adaptive Card.
package teams

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify"
)

// Teams is the Teams workflow-webhook channel.
type Teams struct{ Client *http.Client }

var _ notify.Notifier = (*Teams)(nil)

type obj map[string]any

// listed is how many incidents of a bundle a card names one by one (a card holds at most 28 KB).
const listed = 25

// Body is the workflow payload: a message with one Adaptive Card attachment.
func Body(m notify.Message) ([]byte, error) {
	body := []obj{
		{"type": "TextBlock", "size": "Large", "weight": "Bolder", "wrap": true, "text": fmt.Sprintf("#%d %s", m.IncidentID, escape(m.Title))},
		{"type": "FactSet", "facts": []obj{
			{"title": "Service", "value": escape(m.Service)},
			{"title": "Severity", "value": escape(m.SeverityText())},
			{"title": "Urgency", "value": escape(m.Urgency)},
		}},
	}
	if m.Headline != "" {
		body = []obj{
			{"type": "TextBlock", "size": "Large", "weight": "Bolder", "wrap": true, "text": escape(m.Headline)},
			{"type": "TextBlock", "wrap": true, "text": escapeLines(m.Body)},
		}
	} else if len(m.Bundle) == 0 {
		body = append(body, detailElements(m.Details)...)
	}
	if n := len(m.Bundle); n > 0 {
		body = append([]obj{{"type": "TextBlock", "weight": "Bolder", "wrap": true, "text": fmt.Sprintf("%d incidents need attention", m.Count())}}, body...)
	}
	for i, b := range m.Bundle {
		if i == listed {
			body = append(body, obj{"type": "TextBlock", "wrap": true, "text": fmt.Sprintf("and %d more", len(m.Bundle)-listed)})
			break
		}
		body = append(body, obj{"type": "TextBlock", "wrap": true, "text": fmt.Sprintf("#%d %s (%s)", b.IncidentID, escape(b.Title), escape(b.Service))})
	}
	links := []struct{ title, url string }{{"Acknowledge", m.AckURL}, {"Resolve", m.ResolveURL}, {"Open", m.URL}}
	if m.AckAllURL != "" {
		links = []struct{ title, url string }{{fmt.Sprintf("Acknowledge all %d", m.Count()), m.AckAllURL}, {"Open", m.URL}}
	}
	var actions []obj
	for _, a := range links {
		if a.url != "" {
			actions = append(actions, obj{"type": "Action.OpenUrl", "title": a.title, "url": a.url})
		}
	}
	card := obj{"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": body, "actions": actions}
	return notify.JSON(obj{"type": "message", "summary": m.Subject(), "attachments": []obj{{
		"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card}}})
}

// detailBudget bounds the bytes of the alert's details in a card, which holds 28 KB in all.
const detailBudget = 16 << 10

// detailElements shows the alert's details: a heading and a FactSet per table, then its links
// and images as Markdown links, within detailBudget.
func detailElements(d *notify.Details) []obj {
	if d.Empty() {
		return nil
	}
	budget := detailBudget
	var out []obj
	heading := func(s string) obj {
		return obj{"type": "TextBlock", "weight": "Bolder", "wrap": true, "spacing": "Medium", "text": s}
	}
	if d.Source != "" {
		out = append(out, obj{"type": "TextBlock", "wrap": true, "isSubtle": true, "text": "Source: " + escape(d.Source)})
	}
	for _, t := range d.Titled() {
		t.Table = notify.Fit(t.Table, &budget, func(f notify.Field) int { return len(escape(f.Key)) + len(escape(f.Value)) + 32 })
		facts := make([]obj, 0, len(t.Rows)+1)
		for _, r := range t.Rows {
			facts = append(facts, obj{"title": escape(r.Key), "value": escape(r.Value)})
		}
		if t.More > 0 {
			facts = append(facts, obj{"title": "…", "value": notify.MoreText(t.More)})
		}
		out = append(out, heading(t.Title), obj{"type": "FactSet", "facts": facts})
	}
	var all []notify.Link
	all = append(all, d.Links...)
	for _, img := range d.Images {
		img.Text = "Image: " + img.Label()
		img.Href = img.Target() // where its sender says the image leads, else the image
		all = append(all, img)
	}
	if len(all) > 0 {
		kept, more := notify.FitLinks(all, &budget, func(l notify.Link) int { return len(link(l)) + 2 })
		lines := make([]string, 0, len(kept)+1)
		for _, l := range kept {
			lines = append(lines, "- "+link(l))
		}
		if more += d.MoreLinks + d.MoreImages; more > 0 {
			lines = append(lines, "- "+notify.MoreText(more))
		}
		out = append(out, heading("Links"), obj{"type": "TextBlock", "wrap": true, "text": strings.Join(lines, "\r")})
	}
	if d.Alerts > 1 {
		out = append(out, obj{"type": "TextBlock", "wrap": true, "isSubtle": true, "text": fmt.Sprintf("The details of the first of %d alerts.", d.Alerts)})
	}
	return out
}

// link is a Markdown link whose text is escaped and whose URL cannot end early.
func link(l notify.Link) string {
	return "[" + escape(l.Label()) + "](" + hrefEscaper.Replace(l.Href) + ")"
}

var hrefEscaper = strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "<", "%3C", ">", "%3E")

// escape makes s, on one line, literal text in a card: Adaptive Cards read TextBlock and
// FactSet text as a subset of CommonMark, so every character that could start markup inline
// (a link, emphasis, code, a date function) is escaped with a backslash, and so is what would
// make the line a list or a heading.
func escape(s string) string {
	s = notify.OneLine(s)
	var b strings.Builder
	lead := true // still in the digits a numbered list item starts with
	for i, r := range s {
		switch {
		case strings.ContainsRune("\\*_[]~`<>{}", r),
			i == 0 && (r == '-' || r == '+' || r == '#'),
			lead && i > 0 && (r == '.' || r == ')'):
			b.WriteByte('\\')
		}
		lead = lead && r >= '0' && r <= '9'
		b.WriteRune(r)
	}
	return b.String()
}

// escapeLines is escape for text of several lines (a notice's body), kept as lines.
func escapeLines(s string) string {
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n"), "\n")
	for i, l := range lines {
		lines[i] = escape(l)
	}
	return strings.Join(lines, "\r")
}

// Notify posts the card to the contact method's workflow URL.
func (t *Teams) Notify(ctx context.Context, to config.ContactMethod, m notify.Message) error {
	body, err := Body(m)
	if err != nil {
		return &notify.PermanentError{Err: err}
	}
	return notify.Post(ctx, t.Client, to.Address, "application/json", body, nil)
}
