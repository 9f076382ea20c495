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

// What became of a message handed to a channel, as escalation and action item reminders
// record each delivery.
const (
	// DeliverySent: the channel took the message.
	DeliverySent = "sent"
	// DeliveryFailed: the channel refused it for good, or nobody could be reached.
	DeliveryFailed = "failed"
	// DeliveryHeld: it waits in its contact method's queue (rate limit, failing channel).
	DeliveryHeld = "held"
)

// Notifier hands one message to a channel for one contact method. An error means the message
// may not have arrived and will be retried with the same Message.Key.
type Notifier interface {
	Notify(ctx context.Context, to config.ContactMethod, m Message) error
}

// Message is one page: an incident (or, when bundled, several) that needs a human.
type Message struct {
	// Key is the idempotency key of (incident, step, contact method): a retry carries the same
	// key, so a receiver that has seen it can drop the duplicate. It starts with Thread, so no
	// other installation of nines, and no incident of the same number after a restore, sends it.
	Key string
	// Thread names the incident the message is about (IncidentRef): mail clients thread every
	// message with the same Thread together.
	Thread     string
	IncidentID int64
	Title      string
	Service    string
	// Severity is the alert severity the incident is filed under (critical, warning...); SEV
	// and SEVName its SEV level and that level's name, which is how people read it.
	Severity string
	SEV      string
	SEVName  string
	Urgency  string
	// Step is the escalation step (1-based) that paged; 0 for a reassignment.
	Step       int
	At         time.Time
	URL        string // the incident page
	AckURL     string // signed, expiring; GET shows a confirmation, POST acknowledges
	ResolveURL string
	// Bundle lists further incidents folded into this message by rate limiting; AckAllURL then
	// acknowledges every incident the message covers (signed, expiring, GET confirms, POST acts).
	Bundle    []Message
	AckAllURL string
	// Details are what the alert behind the page said of itself (nil when none, and in the
	// incidents a bundle lists, which are named briefly).
	Details *Details
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

// IncidentRef names one incident of one installation of nines for the whole of its life:
// "inc<number>.<opened, unix ms>.<installation id>". The number alone repeats across
// installations (two nines watching each other both have an incident 1) and after a restore
// (incidents opened after the backup are numbered again); a receiver that drops ids it has
// seen (Gmail drops a repeated Message-ID) would hide a real page.
func IncidentRef(install string, id int64, opened time.Time) string {
	return fmt.Sprintf("inc%d.%d.%s", id, opened.UnixMilli(), install)
}

// Count is how many incidents the message covers.
func (m Message) Count() int { return 1 + len(m.Bundle) }

// SeverityText is the incident's severity as every page of nines says it: "SEV2 Major"; the
// alert severity for a message without a SEV level.
func (m Message) SeverityText() string {
	if m.SEV == "" {
		return OneLine(m.Severity)
	}
	return OneLine(strings.TrimSpace(m.SEV + " " + m.SEVName))
}

// MaxSubject is the most runes a Subject holds: a longer one is cut with "…".
const MaxSubject = 200

// Subject is a one-line summary fit for an email subject or an SMS, of at most MaxSubject
// runes.
func (m Message) Subject() string {
	return truncate(m.subject(), MaxSubject)
}

func (m Message) subject() string {
	if m.Headline != "" {
		return OneLine(m.Headline)
	}
	if n := len(m.Bundle); n > 0 {
		return fmt.Sprintf("[nines] %d incidents need attention (#%d %s and %d more)", n+1, m.IncidentID, OneLine(m.Title), n)
	}
	return fmt.Sprintf("[nines] #%d %s: %s", m.IncidentID, OneLine(m.Service), OneLine(m.Title))
}

// TextDetails bounds the details in Text (about 64 KB).
const TextDetails = 64 << 10

// Text is the plain-text body shared by the channels that show text. Titles and service names
// are put on one line each, so an alert's text cannot add lines that look like nines' own.
func (m Message) Text() string { return m.TextUpTo(TextDetails) }

// TextUpTo is Text with the alert's details in at most about detailBytes (a push notification
// has room for a few rows only).
func (m Message) TextUpTo(detailBytes int) string {
	if m.Body != "" {
		return m.Body
	}
	var b strings.Builder
	if m.AckAllURL != "" {
		fmt.Fprintf(&b, "%d incidents need attention.\nAcknowledge all %d: %s\n\n", m.Count(), m.Count(), m.AckAllURL)
	}
	for i, x := range append([]Message{m}, m.Bundle...) {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Incident #%d on %s: %s\n", x.IncidentID, OneLine(x.Service), OneLine(x.Title))
		fmt.Fprintf(&b, "Severity: %s, urgency: %s", x.SeverityText(), x.Urgency)
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
		if i == 0 && len(m.Bundle) == 0 && !x.Details.Empty() {
			b.WriteString("\n" + x.Details.Text(detailBytes))
		}
	}
	return b.String()
}

// Short is the text of an SMS: subject and the acknowledge link (a bundle's: the link that
// acknowledges all; a notice's: the incident page), nothing else.
func (m Message) Short() string {
	s := m.Subject()
	switch {
	case m.AckAllURL != "":
		s += fmt.Sprintf(" Ack all %d: %s", m.Count(), m.AckAllURL)
	case m.AckURL != "":
		s += " Ack: " + m.AckURL
	case m.Headline != "" && m.URL != "":
		s += " " + m.URL
	}
	return s
}

// OneLine puts s on one line: every run of line breaks and other control characters (CR, LF,
// NEL, the Unicode line and paragraph separators, tabs) becomes one space. Whatever a sender
// writes in an alert then stays inside the field it was written in, in headers and in bodies.
func OneLine(s string) string {
	if !strings.ContainsFunc(s, breaksLine) {
		return s
	}
	var b strings.Builder
	gap := false
	for _, r := range s {
		if breaksLine(r) {
			if !gap {
				b.WriteByte(' ')
			}
			gap = true
			continue
		}
		gap = false
		b.WriteRune(r)
	}
	return b.String()
}

func breaksLine(r rune) bool {
	return r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029
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
