// Package ntfy pushes pages to phones through an ntfy server (self-hosted; no cloud relay):
// the contact method's address is the topic URL.
package ntfy

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify"
)

// Ntfy is the ntfy push channel.
type Ntfy struct{ Client *http.Client }

var _ notify.Notifier = (*Ntfy)(nil)

// pushDetails bounds the alert's details in a push: ntfy keeps a message of up to 4,096 bytes
// as a message (a longer one becomes an attachment, or is refused), and a phone shows a few
// lines anyway.
const pushDetails = 1500

// Notify publishes the page with ntfy's headers: a high-urgency page is priority 5 (urgent,
// which bypasses do-not-disturb on Android), a low one 3.
func (n *Ntfy) Notify(ctx context.Context, to config.ContactMethod, m notify.Message) error {
	h := http.Header{}
	h.Set("Title", m.Subject())
	prio := "5"
	if m.Urgency == "low" {
		prio = "3"
	}
	h.Set("Priority", prio)
	h.Set("Tags", "rotating_light")
	if m.URL != "" {
		h.Set("Click", m.URL)
	}
	var actions []string
	if m.AckAllURL != "" {
		actions = append(actions, fmt.Sprintf("view, Acknowledge all %d, %s", m.Count(), m.AckAllURL))
	} else if m.AckURL != "" {
		actions = append(actions, "view, Acknowledge, "+m.AckURL)
	}
	if m.ResolveURL != "" && m.AckAllURL == "" {
		actions = append(actions, "view, Resolve, "+m.ResolveURL)
	}
	if len(actions) > 0 {
		h.Set("Actions", strings.Join(actions, "; "))
	}
	if to.Secret != "" {
		h.Set("Authorization", "Bearer "+to.Secret)
	}
	return notify.Post(ctx, n.Client, to.Address, "text/plain; charset=utf-8", []byte(m.TextUpTo(pushDetails)), h)
}
