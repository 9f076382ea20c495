package app

import (
	"context"
	"errors"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/notify/email"
	"github.com/nines-dev/nines/internal/statuspage"
)

// subscriberMail sends status page subscribers their mail through the SMTP server pages go
// out through (notifications.email.smtp), as the config in force says at each send, with
// every TLS and authentication mode the email channel knows.
type subscriberMail struct{ live *config.Live }

var _ statuspage.Mailer = subscriberMail{}

func (m subscriberMail) Send(ctx context.Context, to, subject, body string, headers map[string]string) error {
	n := m.live.Get().Notifications.Email
	if n == nil || n.SMTP.Host == "" {
		return errors.New("status page mail: notifications.email.smtp is not configured any more")
	}
	return email.New(n.SMTP).Notify(ctx, config.ContactMethod{Type: "email", Address: to},
		notify.Message{Headline: subject, Body: body, Headers: headers, At: time.Now()})
}

// mailerFor is the mailer status pages use: the one given, else the configured SMTP server,
// else none (subscriptions off).
func mailerFor(live *config.Live, given statuspage.Mailer) statuspage.Mailer {
	if given != nil {
		return given
	}
	if n := live.Get().Notifications.Email; n != nil && n.SMTP.Host != "" {
		return subscriberMail{live}
	}
	return nil
}
