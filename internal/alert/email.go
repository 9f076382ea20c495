package alert

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/invalid"
	"golang.org/x/text/encoding/htmlindex"
)

// EmailOptions says how a mail becomes an event: they come from the email integration.
type EmailOptions struct {
	// DedupKey, run on the subject, gives the dedup key (its first group, or the whole match);
	// without it, or without a match, the Message-ID is the key.
	DedupKey *regexp.Regexp
	// Resolve and Acknowledge, run on the subject, turn the mail into a resolve or an
	// acknowledge of the alert of its dedup key.
	Resolve, Acknowledge *regexp.Regexp
	// Severity of a trigger; default error.
	Severity string
	// Sender is the envelope sender (MAIL FROM), used when the message has no From.
	Sender string
	// Recipient is the address the mail was delivered to.
	Recipient string
}

// Bounds on what one mail can make nines do or keep.
const (
	maxEmailBody  = 64 << 10 // text kept in the alert's details
	maxMIMEParts  = 100      // parts looked at, all levels together
	maxMIMEDepth  = 8        // multipart nested in multipart
	maxHeaderText = 4096     // a header value kept
)

// DecodeEmail turns an RFC 5322 message into an event: the subject (RFC 2047 decoded) is the
// summary, the text body (text/plain, or text/html made plain, from a MIME multipart message
// or not; quoted-printable or base64; any charset) goes into the details, the sender is the
// source. A message whose header cannot be read is refused with an *invalid.Error.
func DecodeEmail(raw []byte, o EmailOptions) (Event, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Event{}, &invalid.Error{What: "Message is invalid", Problems: []invalid.Problem{{Message: "the header cannot be read: " + err.Error()}}}
	}
	h := msg.Header
	subject := oneLine(decodeHeader(h.Get("Subject")))
	from := o.Sender
	if addrs, err := h.AddressList("From"); err == nil && len(addrs) > 0 {
		from = addrs[0].Address
	} else if f := oneLine(h.Get("From")); f != "" && from == "" {
		from = f
	}
	// The sender is written by whoever sent the mail: raw header bytes and envelope
	// addresses are not promised to be UTF-8.
	from = strings.ToValidUTF8(truncateRunes(from, maxHeaderText), "\uFFFD")
	body, truncated := textBody(mailPart{header: h, body: msg.Body}, 0, new(int))
	messageID := strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")

	ev := Event{Action: Trigger, Severity: firstNonEmpty(o.Severity, "error"), Source: truncateRunes(firstNonEmpty(from, "email"), maxSource)}
	ev.Summary = subject
	if ev.Summary == "" {
		ev.Summary = firstLine(body)
	}
	if ev.Summary == "" {
		ev.Summary = "Mail without a subject from " + firstNonEmpty(from, "an unknown sender")
	}
	ev.Summary = truncateRunes(ev.Summary, maxSummary)

	keyed := false
	if o.DedupKey != nil {
		if m := o.DedupKey.FindStringSubmatch(subject); m != nil {
			ev.DedupKey = m[0]
			for _, g := range m[1:] {
				if g != "" {
					ev.DedupKey = g
					break
				}
			}
			keyed = ev.DedupKey != ""
		}
	}
	if !keyed {
		ev.DedupKey = messageID
	}
	if ev.DedupKey == "" {
		ev.DedupKey = NewDedupKey()
	}
	if utf8.RuneCountInString(ev.DedupKey) > maxDedupKey || !utf8.ValidString(ev.DedupKey) {
		sum := sha256.Sum256([]byte(ev.DedupKey))
		ev.DedupKey = hex.EncodeToString(sum[:])
	}
	switch {
	case o.Resolve != nil && o.Resolve.MatchString(subject):
		ev.Action = Resolve
	case o.Acknowledge != nil && o.Acknowledge.MatchString(subject):
		ev.Action = Acknowledge
	}
	if d, err := h.Date(); err == nil {
		ev.Timestamp = d.UTC()
	}
	details := map[string]any{"from": from, "subject": subject, "body": body}
	if o.Recipient != "" {
		details["to"] = o.Recipient
	}
	if messageID != "" {
		details["message_id"] = truncateRunes(messageID, maxHeaderText)
	}
	if truncated {
		details["body_truncated"] = true
	}
	ev.Details, _ = json.Marshal(details)
	ev.Labels = map[string]string{}
	setLabel(ev.Labels, "from", from)
	setLabel(ev.Labels, "severity", ev.Severity)
	return ev, nil
}

type mailPart struct {
	header map[string][]string
	body   io.Reader
}

func (p mailPart) get(name string) string {
	if v := p.header[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// textBody finds the text of a part: itself if it is text, else the first text/plain of a
// multipart (a text/html one if that is all there is). It reports whether the text was cut.
func textBody(p mailPart, depth int, parts *int) (string, bool) {
	*parts++
	ctype := p.get("Content-Type")
	if ctype == "" {
		ctype = "text/plain"
	}
	media, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		media, params = "text/plain", nil
	}
	if strings.HasPrefix(media, "multipart/") {
		if depth >= maxMIMEDepth || params["boundary"] == "" {
			return "", false
		}
		mr := multipart.NewReader(p.body, params["boundary"])
		var html string
		var htmlCut bool
		for *parts < maxMIMEParts {
			part, err := mr.NextRawPart()
			if err != nil {
				break
			}
			if strings.EqualFold(disposition(part.Header.Get("Content-Disposition")), "attachment") {
				continue
			}
			text, cut := textBody(mailPart{header: part.Header, body: part}, depth+1, parts)
			if text == "" {
				continue
			}
			if m, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); m == "text/html" {
				if html == "" {
					html, htmlCut = text, cut
				}
				continue
			}
			return text, cut
		}
		return html, htmlCut
	}
	if !strings.HasPrefix(media, "text/") {
		return "", false
	}
	var r io.Reader = p.body
	switch strings.ToLower(strings.TrimSpace(p.get("Content-Transfer-Encoding"))) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &base64Text{r: r})
	}
	if cs := params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		if enc, err := htmlindex.Get(cs); err == nil {
			r = enc.NewDecoder().Reader(r)
		}
	}
	b, _ := io.ReadAll(io.LimitReader(r, maxEmailBody+1))
	cut := len(b) > maxEmailBody
	if cut {
		b = b[:maxEmailBody]
	}
	text := strings.ToValidUTF8(string(b), "\uFFFD")
	if cut { // do not end in the middle of a character
		text = strings.TrimRight(text, "\uFFFD")
	}
	if media == "text/html" {
		text = htmlText(text)
	}
	return strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n")), cut
}

// base64Text drops what base64 cannot hold (spaces, stray characters some mailers leave).
type base64Text struct{ r io.Reader }

func (b *base64Text) Read(p []byte) (int, error) {
	for {
		n, err := b.r.Read(p)
		out := p[:0]
		for _, c := range p[:n] {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' {
				out = append(out, c)
			}
		}
		if len(out) > 0 || err != nil || n == 0 {
			return len(out), err
		}
	}
}

func disposition(v string) string {
	d, _, _ := mime.ParseMediaType(v)
	return d
}

var (
	htmlDrop  = regexp.MustCompile(`(?is)<(script|style|head)\b.*?</(script|style|head)\s*>`)
	htmlBreak = regexp.MustCompile(`(?i)<\s*(br|/p|/div|/tr|/li|/h[1-6])\b[^>]*>`)
	htmlTag   = regexp.MustCompile(`(?s)<[^>]*>`)
	blankRuns = regexp.MustCompile(`\n[ \t]*\n([ \t]*\n)+`)
)

// htmlText makes an HTML body readable as text: scripts and styles dropped, line breaks kept,
// tags removed, entities decoded.
func htmlText(s string) string {
	s = htmlDrop.ReplaceAllString(s, "")
	s = htmlBreak.ReplaceAllString(s, "\n")
	s = htmlTag.ReplaceAllString(s, "")
	s = htmlUnescape(s)
	return blankRuns.ReplaceAllString(s, "\n\n")
}

var entities = strings.NewReplacer("&nbsp;", " ", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'", "&apos;", "'", "&amp;", "&")

func htmlUnescape(s string) string { return entities.Replace(s) }

var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, fmt.Errorf("unknown charset %q", charset)
	}
	return enc.NewDecoder().Reader(r), nil
}}

// decodeHeader decodes RFC 2047 encoded words (=?UTF-8?Q?...?=); a header it cannot decode
// is kept as written.
func decodeHeader(v string) string {
	if len(v) > maxHeaderText {
		v = v[:maxHeaderText]
	}
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		v = d
	}
	return strings.ToValidUTF8(v, "\uFFFD")
}

// oneLine folds whitespace runs (folded header lines among them) into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = oneLine(l); l != "" {
			return l
		}
	}
	return ""
}
