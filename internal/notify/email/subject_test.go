package email

import (
	"mime"
	"net/mail"
	"strings"
	"testing"
	"unicode/utf8"
)

// A huge title makes a Subject cut with "…" and folded into lines RFC 5322 allows, whatever the
// title's script; the real SMTP server gets a header a mail client reads back whole.
func TestAHugeTitleMakesABoundedFoldedSubject(t *testing.T) {
	for _, c := range []struct {
		name, title string
		longest     int // a Subject line's longest: 78 where spaces allow folding
	}{
		{"an ASCII title of 1,024 characters", strings.Repeat("checkout ", 113) + "down!!!", 78},
		{"an ASCII title without a space", strings.Repeat("x", 1024), 998},
		{"a title in Devanagari", strings.Repeat("चेकआउट बंद है ", 80), 78},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := msg
			m.Title = c.title
			got := send(t, m)
			head, _, _ := strings.Cut(got.Data, "\r\n\r\n")
			for _, line := range strings.Split(head, "\r\n") {
				// The first line holds "Subject: " and at least one word (an encoded-word is at most 75).
				if strings.HasPrefix(line, "Subject: ") && len(line) > c.longest+len("Subject: ") ||
					strings.HasPrefix(line, " ") && len(line) > c.longest || len(line) > 998 {
					t.Errorf("a header line of %d characters: %.100s…", len(line), line)
				}
			}
			parsed, err := mail.ReadMessage(strings.NewReader(got.Data))
			if err != nil {
				t.Fatal(err)
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
			if err != nil {
				t.Fatal(err)
			}
			if n := utf8.RuneCountInString(subject); n > 200 || !strings.HasPrefix(subject, "[nines] #7 Checkout: ") || !strings.HasSuffix(subject, "…") {
				t.Errorf("the subject read back (%d characters): %q", n, subject)
			}
		})
	}
}
