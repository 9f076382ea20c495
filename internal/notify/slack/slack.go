// Package slack posts pages to a Slack incoming webhook, with buttons to the signed
// acknowledge and resolve links.
package slack

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify"
)

// Slack is the Slack incoming-webhook channel.
type Slack struct{ Client *http.Client }

var _ notify.Notifier = (*Slack)(nil)

type block map[string]any

// listed is how many incidents of a bundle are named one by one: a section holds at most 3,000
// characters.
const listed = 15

// Body is the webhook payload: text for notifications, blocks for the message itself.
func Body(m notify.Message) ([]byte, error) {
	text := fmt.Sprintf("*<%s|#%d %s>*\n%s · %s · urgency %s", m.URL, m.IncidentID, escape(m.Title), escape(m.Service), escape(m.SeverityText()), m.Urgency)
	if m.Headline != "" {
		text = fmt.Sprintf("*<%s|%s>*\n%s", m.URL, escape(m.Headline), escape(m.Body))
	}
	if n := len(m.Bundle); n > 0 {
		text = fmt.Sprintf("*%d incidents need attention*\n", m.Count()) + text
		text += fmt.Sprintf("\n…and %d more incidents:", n)
		for i, b := range m.Bundle {
			if i == listed {
				text += fmt.Sprintf("\n• and %d more", n-listed)
				break
			}
			text += fmt.Sprintf("\n• <%s|#%d %s>", b.URL, b.IncidentID, escape(b.Title))
		}
	}
	blocks := []block{{"type": "section", "text": block{"type": "mrkdwn", "text": text}}}
	if len(m.Bundle) == 0 && m.Headline == "" {
		blocks = append(blocks, detailBlocks(m.Details)...)
	}
	var buttons []block
	if m.AckAllURL != "" {
		buttons = append(buttons, block{"type": "button", "style": "primary", "text": block{"type": "plain_text", "text": fmt.Sprintf("Acknowledge all %d", m.Count())}, "url": m.AckAllURL})
	} else if m.AckURL != "" {
		buttons = append(buttons, block{"type": "button", "style": "primary", "text": block{"type": "plain_text", "text": "Acknowledge"}, "url": m.AckURL})
	}
	if m.ResolveURL != "" && m.AckAllURL == "" {
		buttons = append(buttons, block{"type": "button", "text": block{"type": "plain_text", "text": "Resolve"}, "url": m.ResolveURL})
	}
	if len(buttons) > 0 {
		blocks = append(blocks, block{"type": "actions", "elements": buttons})
	}
	// The text is what Slack shows in notifications: mrkdwn too, so escaped as the blocks are.
	return notify.JSON(map[string]any{"text": escape(m.Subject()), "blocks": blocks})
}

// sectionText is the most a section block's text holds.
const sectionText = 3000

// detailBlocks shows the alert's details: a section per table, one "*key*: value" row a line,
// and one for its links and images, each within a section's 3,000 characters.
func detailBlocks(d *notify.Details) []block {
	if d.Empty() {
		return nil
	}
	var out []block
	section := func(text string) {
		out = append(out, block{"type": "section", "text": block{"type": "mrkdwn", "text": text}})
	}
	if d.Source != "" {
		out = append(out, block{"type": "context", "elements": []block{{"type": "mrkdwn", "text": "Source: " + escape(d.Source)}}})
	}
	for _, t := range d.Titled() {
		head := "*" + t.Title + "*"
		budget := sectionText - len([]rune(head)) - 20 // room for the "… N more" line
		t.Table = notify.Fit(t.Table, &budget, func(f notify.Field) int { return runes("\n*" + escape(f.Key) + "*: " + escape(f.Value)) })
		var b strings.Builder
		b.WriteString(head)
		for _, r := range t.Rows {
			b.WriteString("\n*" + escape(r.Key) + "*: " + escape(r.Value))
		}
		if t.More > 0 {
			b.WriteString("\n" + notify.MoreText(t.More))
		}
		section(b.String())
	}
	if len(d.Links)+len(d.Images) > 0 {
		var all []notify.Link
		all = append(all, d.Links...)
		for _, img := range d.Images {
			img.Text = "Image: " + img.Label()
			img.Href = img.Target() // where its sender says the image leads, else the image
			all = append(all, img)
		}
		budget := sectionText - 30
		kept, more := notify.FitLinks(all, &budget, func(l notify.Link) int { return runes(link(l)) + 1 })
		lines := []string{"*Links*"}
		for _, l := range kept {
			lines = append(lines, link(l))
		}
		if more += d.MoreLinks + d.MoreImages; more > 0 {
			lines = append(lines, notify.MoreText(more))
		}
		section(strings.Join(lines, "\n"))
	}
	if d.Alerts > 1 {
		out = append(out, block{"type": "context", "elements": []block{{"type": "mrkdwn", "text": fmt.Sprintf("The details of the first of %d alerts.", d.Alerts)}}})
	}
	return out
}

// link is a Slack link: the URL escaped as Slack asks (&, <, >) and without the '|' that would
// end it early.
func link(l notify.Link) string {
	return "<" + strings.ReplaceAll(escape(l.Href), "|", "%7C") + "|" + escape(l.Label()) + ">"
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// escape keeps titles from being read as Slack markup, on one line.
func escape(s string) string {
	s = notify.OneLine(s)
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&':
			out = append(out, "&amp;"...)
		case '<':
			out = append(out, "&lt;"...)
		case '>':
			out = append(out, "&gt;"...)
		default:
			out = append(out, s[i])
		}
	}
	return string(out)
}

// Notify posts the page to the contact method's webhook URL.
func (s *Slack) Notify(ctx context.Context, to config.ContactMethod, m notify.Message) error {
	body, err := Body(m)
	if err != nil {
		return &notify.PermanentError{Err: err}
	}
	return notify.Post(ctx, s.Client, to.Address, "application/json", body, nil)
}
