// Package teams posts pages to a Microsoft Teams workflow webhook as an Adaptive Card.
package teams

import (
	"context"
	"fmt"
	"net/http"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify"
)

// Teams is the Teams workflow-webhook channel.
type Teams struct{ Client *http.Client }

var _ notify.Notifier = (*Teams)(nil)

type obj map[string]any

// Body is the workflow payload: a message with one Adaptive Card attachment.
func Body(m notify.Message) ([]byte, error) {
	body := []obj{
		{"type": "TextBlock", "size": "Large", "weight": "Bolder", "wrap": true, "text": fmt.Sprintf("#%d %s", m.IncidentID, m.Title)},
		{"type": "FactSet", "facts": []obj{
			{"title": "Service", "value": m.Service},
			{"title": "Severity", "value": m.Severity},
			{"title": "Urgency", "value": m.Urgency},
		}},
	}
	if m.Headline != "" {
		body = []obj{
			{"type": "TextBlock", "size": "Large", "weight": "Bolder", "wrap": true, "text": m.Headline},
			{"type": "TextBlock", "wrap": true, "text": m.Body},
		}
	}
	for _, b := range m.Bundle {
		body = append(body, obj{"type": "TextBlock", "wrap": true, "text": fmt.Sprintf("#%d %s (%s)", b.IncidentID, b.Title, b.Service)})
	}
	var actions []obj
	for _, a := range []struct{ title, url string }{{"Acknowledge", m.AckURL}, {"Resolve", m.ResolveURL}, {"Open", m.URL}} {
		if a.url != "" {
			actions = append(actions, obj{"type": "Action.OpenUrl", "title": a.title, "url": a.url})
		}
	}
	card := obj{"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": body, "actions": actions}
	return notify.JSON(obj{"type": "message", "summary": m.Subject(), "attachments": []obj{{
		"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card}}})
}

// Notify posts the card to the contact method's workflow URL.
func (t *Teams) Notify(ctx context.Context, to config.ContactMethod, m notify.Message) error {
	body, err := Body(m)
	if err != nil {
		return &notify.PermanentError{Err: err}
	}
	return notify.Post(ctx, t.Client, to.Address, "application/json", body, nil)
}
