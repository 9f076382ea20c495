package notify_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/notify/slack"
	"github.com/nines-dev/nines/internal/notify/teams"
)

// A title that is Slack markup (a channel-wide mention, a disguised link) is escaped in the
// message's top-level text, which Slack shows in notifications, as it is in the blocks.
func TestAChatMessagesNotificationTextIsEscaped(t *testing.T) {
	m := page
	m.Title = "<!channel> db down <https://evil.example|click here> & more"
	m.Service = "Checkout <@U123>"
	for _, c := range []struct {
		name   string
		ch     notify.Notifier
		typ    string
		field  string
		want   string
		refuse []string
	}{
		{"slack escapes &, < and > in text", &slack.Slack{}, "slack", "text",
			"&lt;!channel&gt; db down &lt;https://evil.example|click here&gt; &amp; more", []string{"<!channel>", "<https://evil", "<@U123>"}},
		{"teams' summary is plain text, shown as sent, never markup", &teams.Teams{}, "teams", "summary",
			"<!channel> db down <https://evil.example|click here> & more", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := notifytest.StartReceiver(t)
			if err := c.ch.Notify(context.Background(), config.ContactMethod{Type: c.typ, Address: rc.URL}, m); err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			if err := json.Unmarshal(rc.Requests()[0].Body, &body); err != nil {
				t.Fatal(err)
			}
			text, _ := body[c.field].(string)
			if !strings.Contains(text, c.want) {
				t.Errorf("%s is %q, want it to hold %q", c.field, text, c.want)
			}
			for _, r := range c.refuse {
				if strings.Contains(text, r) {
					t.Errorf("%s holds %q raw: %q", c.field, r, text)
				}
			}
		})
	}
}

// An Events v2 image links, in chat messages, to the href its event gave, else to itself.
func TestAnImageLinksToItsHrefInChatMessages(t *testing.T) {
	m := page
	m.Details = &notify.Details{Images: []notify.Link{{Href: "https://img.example.com/a.png", Text: "graph", To: "https://grafana.example.com/d/a"}, {Href: "https://img.example.com/b.png"}}}
	for _, c := range []struct {
		name, typ string
		ch        notify.Notifier
		want      []string
	}{
		{"slack", "slack", &slack.Slack{}, []string{"<https://grafana.example.com/d/a|Image: graph>", "<https://img.example.com/b.png|Image: https://img.example.com/b.png>"}},
		{"teams", "teams", &teams.Teams{}, []string{"(https://grafana.example.com/d/a)", "(https://img.example.com/b.png)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := notifytest.StartReceiver(t)
			if err := c.ch.Notify(context.Background(), config.ContactMethod{Type: c.typ, Address: rc.URL}, m); err != nil {
				t.Fatal(err)
			}
			body := string(rc.Requests()[0].Body)
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("lacks %s:\n%s", w, body)
				}
			}
		})
	}
}
