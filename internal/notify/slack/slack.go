// Package slack posts pages to a Slack incoming webhook, with buttons to the signed
// acknowledge and resolve links.
package slack

import (
	"context"
	"fmt"
	"net/http"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify"
)

// Slack is the Slack incoming-webhook channel.
type Slack struct{ Client *http.Client }

var _ notify.Notifier = (*Slack)(nil)

type block map[string]any

// Body is the webhook payload: text for notifications, blocks for the message itself.
func Body(m notify.Message) ([]byte, error) {
	text := fmt.Sprintf("*<%s|#%d %s>*\n%s · severity %s · urgency %s", m.URL, m.IncidentID, escape(m.Title), escape(m.Service), m.Severity, m.Urgency)
	if m.Headline != "" {
		text = fmt.Sprintf("*<%s|%s>*\n%s", m.URL, escape(m.Headline), escape(m.Body))
	}
	if n := len(m.Bundle); n > 0 {
		text += fmt.Sprintf("\n…and %d more incidents:", n)
		for _, b := range m.Bundle {
			text += fmt.Sprintf("\n• <%s|#%d %s>", b.URL, b.IncidentID, escape(b.Title))
		}
	}
	blocks := []block{{"type": "section", "text": block{"type": "mrkdwn", "text": text}}}
	var buttons []block
	if m.AckURL != "" {
		buttons = append(buttons, block{"type": "button", "style": "primary", "text": block{"type": "plain_text", "text": "Acknowledge"}, "url": m.AckURL})
	}
	if m.ResolveURL != "" {
		buttons = append(buttons, block{"type": "button", "text": block{"type": "plain_text", "text": "Resolve"}, "url": m.ResolveURL})
	}
	if len(buttons) > 0 {
		blocks = append(blocks, block{"type": "actions", "elements": buttons})
	}
	return notify.JSON(map[string]any{"text": m.Subject(), "blocks": blocks})
}

// escape keeps titles from being read as Slack markup.
func escape(s string) string {
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
