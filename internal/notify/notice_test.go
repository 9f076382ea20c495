package notify_test

import (
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/notify/slack"
	"github.com/nines-dev/nines/internal/notify/teams"
)

// notice is an action item reminder: it is about incident 7 but is not a page.
var notice = notify.Message{Key: "action3:1796029200000:alice:email", IncidentID: 7, Title: "Checkout down", Service: "Checkout",
	URL: "http://nines.test/incidents/7", Event: "action_item.reminder",
	Headline: "[nines] Action item due 2026-12-01: Add a <retry>", Body: "It is due on Tuesday 1 December 2026.\n"}

func TestANoticeShowsItsHeadlineAndBodyInsteadOfThePageFields(t *testing.T) {
	slackBody, err := slack.Body(notice)
	if err != nil {
		t.Fatal(err)
	}
	teamsBody, err := teams.Body(notice)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name          string
		got           string
		want, wantNot []string
	}{
		{"the subject is the headline", notice.Subject(), []string{notice.Headline}, []string{"#7"}},
		{"the text is the body", notice.Text(), []string{"Tuesday 1 December 2026"}, []string{"Severity", "Acknowledge"}},
		{"an SMS is the headline and the incident page", notice.Short(), []string{notice.Headline + " http://nines.test/incidents/7"}, []string{"Ack:"}},
		{"slack links the headline to the incident page and escapes it", string(slackBody),
			[]string{`<http://nines.test/incidents/7|[nines] Action item due 2026-12-01: Add a &lt;retry&gt;>`, "Tuesday 1 December 2026"},
			[]string{"severity", `"Acknowledge"`}},
		{"teams shows the headline and body, escaped, with a link to the incident", string(teamsBody),
			[]string{`"text":"\\[nines\\] Action item due 2026-12-01: Add a \\<retry\\>"`, `"text":"It is due on Tuesday 1 December 2026."`, "Tuesday 1 December 2026", `"title":"Open"`},
			[]string{"Severity", `"Acknowledge"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, w := range c.want {
				if !strings.Contains(c.got, w) {
					t.Errorf("lacks %q: %s", w, c.got)
				}
			}
			for _, w := range c.wantNot {
				if strings.Contains(c.got, w) {
					t.Errorf("has %q, which belongs to pages: %s", w, c.got)
				}
			}
		})
	}
}
