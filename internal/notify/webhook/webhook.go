// Package webhook posts pages as JSON to any URL, signed with HMAC-SHA256 so the receiver can
// check they come from nines and are fresh.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify"
)

// Webhook is the generic webhook channel.
type Webhook struct {
	Client *http.Client
	// Now stamps the signature; the receiver rejects stale timestamps to stop replays.
	Now func() time.Time
}

var _ notify.Notifier = (*Webhook)(nil)

// Payload is the JSON body of a webhook page.
type Payload struct {
	Event      string    `json:"event"`
	Key        string    `json:"idempotency_key"`
	IncidentID int64     `json:"incident_id"`
	Title      string    `json:"title"`
	Service    string    `json:"service"`
	Severity   string    `json:"severity"`
	SEV        string    `json:"sev,omitempty"`
	SEVName    string    `json:"sev_name,omitempty"`
	Urgency    string    `json:"urgency"`
	Step       int       `json:"step"`
	At         time.Time `json:"at"`
	URL        string    `json:"url"`
	AckURL     string    `json:"ack_url"`
	ResolveURL string    `json:"resolve_url"`
	// Count is how many incidents the page covers: 1, or for a bundle 1 + len(Bundle);
	// AckAllURL then acknowledges all of them.
	Count     int       `json:"count"`
	AckAllURL string    `json:"ack_all_url,omitempty"`
	Bundle    []Payload `json:"bundle,omitempty"`
	// Headline and Text are set on notices that are not pages (event action_item.reminder).
	Headline string `json:"headline,omitempty"`
	Text     string `json:"text,omitempty"`
	// Details are what the alert behind the page said of itself, bounded and with secrets
	// redacted (absent when none, and in the incidents of a bundle).
	Details *notify.Details `json:"details,omitempty"`
}

func payload(m notify.Message) Payload {
	p := Payload{Event: "incident.page", Key: m.Key, IncidentID: m.IncidentID, Title: m.Title, Service: m.Service,
		Severity: m.Severity, SEV: m.SEV, SEVName: m.SEVName, Urgency: m.Urgency, Step: m.Step, At: m.At, URL: m.URL, AckURL: m.AckURL, ResolveURL: m.ResolveURL,
		Headline: m.Headline, Text: m.Body, Count: m.Count(), AckAllURL: m.AckAllURL}
	if len(m.Bundle) == 0 && !m.Details.Empty() {
		p.Details = m.Details
	}
	if m.Event != "" {
		p.Event = m.Event
	}
	for _, b := range m.Bundle {
		p.Bundle = append(p.Bundle, payload(b))
	}
	return p
}

// Sign is the signature header value for body sent at ts: "sha256=" + hex HMAC of
// "<unix seconds>.<body>".
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Notify posts the page. Headers: X-Nines-Timestamp, X-Nines-Signature (when the contact
// method has a secret) and Idempotency-Key.
func (wh *Webhook) Notify(ctx context.Context, to config.ContactMethod, m notify.Message) error {
	body, err := notify.JSON(payload(m))
	if err != nil {
		return &notify.PermanentError{Err: err}
	}
	now := time.Now
	if wh.Now != nil {
		now = wh.Now
	}
	ts := now().Unix()
	h := http.Header{}
	h.Set("X-Nines-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("Idempotency-Key", m.Key)
	if to.Secret != "" {
		h.Set("X-Nines-Signature", Sign(to.Secret, ts, body))
	}
	return notify.Post(ctx, wh.Client, to.Address, "application/json", body, h)
}
