package notify_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/nines-dev/nines/internal/notify"
	"github.com/nines-dev/nines/internal/notify/slack"
	"github.com/nines-dev/nines/internal/notify/teams"
	"github.com/nines-dev/nines/internal/notify/twilio"
)

// bundle is a message covering 40 incidents, with its acknowledge-all link.
func bundle() notify.Message {
	m := page
	m.Key, m.AckAllURL = "bundle9:alice:x", "http://nines.test/a/all"
	for i := 8; i < 47; i++ {
		b := page
		b.IncidentID, b.Title = int64(i), fmt.Sprintf("Disk %d\r\nis full", i)
		b.AckURL, b.ResolveURL = fmt.Sprintf("http://nines.test/a/ack%d", i), fmt.Sprintf("http://nines.test/a/res%d", i)
		m.Bundle = append(m.Bundle, b)
	}
	return m
}

func TestEveryChannelNamesHowManyIncidentsABundleCoversAndOffersToAcknowledgeAll(t *testing.T) {
	m := bundle()
	slackBody, _ := slack.Body(m)
	teamsBody, _ := teams.Body(m)
	cases := []struct {
		name          string
		got           string
		want, wantNot []string
	}{
		{"the subject counts them", m.Subject(), []string{"[nines] 40 incidents need attention (#7 "}, nil},
		{"the text leads with the link for all, then lists each with its own links", m.Text(),
			[]string{"40 incidents need attention.\nAcknowledge all 40: http://nines.test/a/all\n", "Incident #46 on Checkout: Disk 46 is full\n", "http://nines.test/a/ack46"}, nil},
		{"an SMS carries only the link for all", m.Short(), []string{"40 incidents need attention", "Ack all 40: http://nines.test/a/all"}, []string{"a/ack"}},
		{"a call offers to acknowledge all with 1", twilio.TwiML(m),
			[]string{"40 incidents need attention", "Press 1 to acknowledge all 40.", `action="http://nines.test/a/all/voice"`}, []string{"a/ack/voice"}},
		{"slack shows the count, a button for all, and a bounded list", string(slackBody),
			[]string{"*40 incidents need attention*", `"text":"Acknowledge all 40"`, `"url":"http://nines.test/a/all"`, "and 24 more"}, []string{`"text":"Resolve"`, "#46 "}},
		{"teams shows the count, an action for all, and a bounded list", string(teamsBody),
			[]string{"40 incidents need attention", `"title":"Acknowledge all 40"`, "and 14 more"}, []string{`"title":"Resolve"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, w := range c.want {
				if !strings.Contains(c.got, w) {
					t.Errorf("lacks %q:\n%.1500s", w, c.got)
				}
			}
			for _, w := range c.wantNot {
				if strings.Contains(c.got, w) {
					t.Errorf("has %q:\n%.1500s", w, c.got)
				}
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain text is kept", "Disk full on db-1", "Disk full on db-1"},
		{"CRLF becomes one space", "a\r\nb", "a b"},
		{"a run of breaks becomes one space", "a\n\n\r\tb", "a b"},
		{"Unicode line and paragraph separators break too", "a\u2028b\u2029c\u0085d", "a b c d"},
		{"other text is untouched", "Ünïcode — ok", "Ünïcode — ok"},
	}
	for _, c := range cases {
		if got := notify.OneLine(c.in); got != c.want {
			t.Errorf("%s: OneLine(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func FuzzOneLine(f *testing.F) {
	f.Add("Disk full\r\nBcc: x@example.com")
	f.Add("\u2028\x00\x7f")
	f.Fuzz(func(t *testing.T, s string) {
		out := notify.OneLine(s)
		for _, r := range out {
			if r == '\r' || r == '\n' || r == 0x85 || r == 0x2028 || r == 0x2029 || (r < 0x20) || r == 0x7f {
				t.Fatalf("OneLine(%q) = %q keeps a break", s, out)
			}
		}
		if strings.TrimFunc(s, unicode.IsPrint) == "" && out != s {
			t.Fatalf("OneLine changed printable text %q to %q", s, out)
		}
	})
}
