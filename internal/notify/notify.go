// Package notify is how a page leaves nines: one small type per channel (email, Slack, Teams,
// webhook, ntfy push, SMS, voice), each behind the Notifier interface in its own subpackage.
// Channels only deliver; deciding who, when, how often and whether again is package escalate's.
package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// Notifier hands one message to a channel for one contact method. An error means the message
// may not have arrived and will be retried with the same Message.Key.
type Notifier interface {
	Notify(ctx context.Context, to config.ContactMethod, m Message) error
}

// Message is one page: an incident (or, when bundled, several) that needs a human.
type Message struct {
	// Key is the idempotency key of (incident, step, contact method): a retry carries the same
	// key, so a receiver that has seen it can drop the duplicate.
	Key        string
	IncidentID int64
	Title      string
	Service    string
	Severity   string
	Urgency    string
	// Step is the escalation step (1-based) that paged; 0 for a reassignment.
	Step       int
	At         time.Time
	URL        string // the incident page
	AckURL     string // signed, expiring; GET shows a confirmation, POST acknowledges
	ResolveURL string
	// Bundle lists further incidents folded into this message by rate limiting.
	Bundle []Message
	// Event, Headline and Body make the message a notice about an incident rather than a page
	// (an action item reminder): channels show Headline and Body in place of the page's fields,
	// and webhooks send Event instead of "incident.page". Pages leave them empty.
	Event    string
	Headline string
	Body     string
	// Headers are extra mail headers (a status page's List-Unsubscribe); other channels ignore
	// them.
	Headers map[string]string
}

// Subject is a one-line summary fit for an email subject or an SMS.
func (m Message) Subject() string {
	if m.Headline != "" {
		return m.Headline
	}
	if n := len(m.Bundle); n > 0 {
		return fmt.Sprintf("[nines] %d incidents need attention (#%d %s and %d more)", n+1, m.IncidentID, m.Title, n)
	}
	return fmt.Sprintf("[nines] #%d %s: %s", m.IncidentID, m.Service, m.Title)
}

// Text is the plain-text body shared by the channels that show text.
func (m Message) Text() string {
	if m.Body != "" {
		return m.Body
	}
	var b strings.Builder
	for i, x := range append([]Message{m}, m.Bundle...) {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Incident #%d on %s: %s\n", x.IncidentID, x.Service, x.Title)
		fmt.Fprintf(&b, "Severity: %s, urgency: %s", x.Severity, x.Urgency)
		if x.Step > 0 {
			fmt.Fprintf(&b, ", escalation step %d", x.Step)
		}
		b.WriteString("\n")
		if x.URL != "" {
			fmt.Fprintf(&b, "Details:     %s\n", x.URL)
		}
		if x.AckURL != "" {
			fmt.Fprintf(&b, "Acknowledge: %s\n", x.AckURL)
		}
		if x.ResolveURL != "" {
			fmt.Fprintf(&b, "Resolve:     %s\n", x.ResolveURL)
		}
	}
	return b.String()
}

// Short is the text of an SMS: subject and the acknowledge link (a notice's: the incident
// page), nothing else.
func (m Message) Short() string {
	s := m.Subject()
	if m.AckURL != "" {
		s += " Ack: " + m.AckURL
	} else if m.Headline != "" && m.URL != "" {
		s += " " + m.URL
	}
	return s
}

// PermanentError marks a failure that retrying cannot fix (a 4xx for a malformed request);
// escalation still goes on, but this contact method is not tried again for this step.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is not worth retrying.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}
