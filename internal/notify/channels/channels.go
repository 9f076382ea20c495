// Package channels is the registry of nines' notification channels: which Notifier delivers
// each contact method type, as the config in force sets the channels up. Escalation pages
// through it and action item reminders reach their owners through it; adding a channel is a
// subpackage of notify and one line here.
package channels

import (
	"net/http"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/notify/email"
	"github.com/nines-dev/nines/internal/notify/ntfy"
	"github.com/nines-dev/nines/internal/notify/slack"
	"github.com/nines-dev/nines/internal/notify/teams"
	"github.com/nines-dev/nines/internal/notify/twilio"
	"github.com/nines-dev/nines/internal/notify/webhook"
)

// For returns the standard channels, sending HTTP requests with c and reading the config in
// force at each message: the notifier of a contact method type, nil when that type is not set
// up.
func For(c *http.Client) func(cfg *config.Config, typ string) notify.Notifier {
	return func(cfg *config.Config, typ string) notify.Notifier {
		n := &cfg.Notifications
		switch typ {
		case config.ContactEmail:
			if n.Email != nil {
				return email.New(n.Email.SMTP)
			}
		case config.ContactSMS:
			if n.Twilio != nil {
				return &twilio.SMS{Settings: *n.Twilio, Client: c}
			}
		case config.ContactVoice:
			if n.Twilio != nil {
				return &twilio.Voice{Settings: *n.Twilio, Client: c}
			}
		case config.ContactSlack:
			return &slack.Slack{Client: c}
		case config.ContactTeams:
			return &teams.Teams{Client: c}
		case config.ContactWebhook:
			return &webhook.Webhook{Client: c}
		case config.ContactPush:
			return &ntfy.Ntfy{Client: c}
		}
		return nil
	}
}
