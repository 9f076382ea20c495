package oncall

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Calendar renders shifts as an iCalendar (RFC 5545) feed that calendar apps can subscribe to.
// Names maps user ids to display names. UIDs are stable across fetches, so a calendar updates
// a shift in place instead of duplicating it.
func Calendar(name string, shifts []Shift, names map[string]string, stamp time.Time) []byte {
	var b bytes.Buffer
	line := func(s string) { foldLine(&b, s) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//nines//on-call//EN")
	line("CALSCALE:GREGORIAN")
	line("METHOD:PUBLISH")
	line("X-WR-CALNAME:" + escapeText(name))
	for _, sh := range shifts {
		who := sh.UserID
		if n := names[sh.UserID]; n != "" {
			who = n
		}
		line("BEGIN:VEVENT")
		line(fmt.Sprintf("UID:%s-%s-%s-%d@nines", sh.ScheduleID, sh.Layer, sh.UserID, sh.Start.Unix()))
		line("DTSTAMP:" + icsTime(stamp))
		line("DTSTART:" + icsTime(sh.Start))
		line("DTEND:" + icsTime(sh.End))
		line("SUMMARY:" + escapeText(fmt.Sprintf("On call: %s (%s)", who, sh.ScheduleID)))
		desc := fmt.Sprintf("%s is on call for schedule %s, layer %s.", who, sh.ScheduleID, sh.Layer)
		if sh.OverrideID != 0 {
			desc = fmt.Sprintf("%s covers schedule %s (override %d).", who, sh.ScheduleID, sh.OverrideID)
		}
		line("DESCRIPTION:" + escapeText(desc))
		line("TRANSP:TRANSPARENT")
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	return b.Bytes()
}

func icsTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

func escapeText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`).Replace(s)
}

// foldLine writes s ending in CRLF, folded so no line exceeds 75 octets (RFC 5545 3.1),
// never inside a UTF-8 sequence.
func foldLine(b *bytes.Buffer, s string) {
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(s)
	b.WriteString("\r\n")
}
