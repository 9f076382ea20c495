package alert

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// timestampLayouts are the ISO 8601 date-times senders write, with the offset as Z, ±hh:mm,
// ±hhmm or ±hh. Go reads a fraction of a second after the seconds (with '.' or ',') whatever
// the layout says, so one layout per offset form covers "with or without fractions".
var timestampLayouts = []string{
	"2006-01-02T15:04:05Z07:00", // RFC 3339: Z or +00:00 (Go's time.Format, JavaScript's toISOString)
	"2006-01-02T15:04:05Z0700",  // +0000: PagerDuty's own examples, Python's %z, Java's SimpleDateFormat Z
	"2006-01-02T15:04:05Z07",    // +00
}

// dateTimeShape splits a date-time (once its 'T' and 'Z' are upper case) into the part before
// the seconds, the seconds, the fraction and the offset, so that what Go's layouts do not check
// can be: a leap second, and an offset's range.
var dateTimeShape = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:)(\d{2})([.,]\d+)?(Z|[+-](\d{2})(?::?(\d{2}))?)?$`)

// ParseTimestamp reads an ISO 8601 date-time as the PagerDuty Events APIs accept it: a 'T' or
// a space between date and time, a fraction of a second or none, and an offset written Z,
// ±hh:mm, ±hhmm or ±hh, from -23:59 to +23:59 (RFC 3339's range). A time without an offset is
// taken as UTC, as the Events API does with what Python's datetime.utcnow().isoformat() prints.
// A leap second (second 60, which RFC 3339 allows and a clock synchronised to UTC may print) is
// read as the last instant of its minute, as most parsers that accept it do: the alert is kept,
// in order, a nanosecond before the next minute. The result is in UTC.
func ParseTimestamp(s string) (time.Time, error) {
	in := s
	if len(s) > 10 && (s[10] == ' ' || s[10] == 't') {
		s = s[:10] + "T" + s[11:]
	}
	if strings.HasSuffix(s, "z") {
		s = s[:len(s)-1] + "Z"
	}
	leap := false
	if m := dateTimeShape.FindStringSubmatch(s); m != nil {
		if m[5] > "23" || m[6] > "59" {
			return time.Time{}, fmt.Errorf("%q has the offset %s, out of range: an offset is at most 23 hours and 59 minutes from UTC", in, m[4])
		}
		if m[2] == "60" {
			leap = true
			s = m[1] + "59" + m[4]
		}
	}
	t, err := parseTimestamp(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date-time (e.g. 2015-07-17T08:42:58.315+0000 or 2015-07-17T08:42:58Z)", in)
	}
	if leap {
		t = t.Add(time.Second - time.Nanosecond)
	}
	return t, nil
}

func parseTimestamp(s string) (time.Time, error) {
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	// No offset at all: UTC.
	return time.Parse("2006-01-02T15:04:05", s)
}
