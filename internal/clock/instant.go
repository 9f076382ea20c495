package clock

import (
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/invalid"
)

// Instants nines takes as input (from a request, a form, a command's flag or a config file) lie
// in the years 1970 to 2999. Storage keeps unix milliseconds (nothing before 1970 happened in
// nines), and JSON answers write RFC 3339, which has no year past 9999: an instant near that end,
// or a shift or window computed from it, could not be answered at all. A wider range serves
// nobody; a narrower one might refuse a long plan.
var (
	earliestInstant = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	latestInstant   = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) // exclusive
)

// CheckInstant refuses an instant taken as input outside the years 1970 to 2999, as input
// refused for field (an *invalid.Error), so every way in says it in the same words.
func CheckInstant(field string, t time.Time) error {
	if t.Before(earliestInstant) || !t.Before(latestInstant) {
		return invalid.Field(field, "%s is outside the years 1970 to 2999", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// Form is a way an instant taken as input may be written; forms combine with |.
type Form uint8

const (
	// RFC3339 is an instant with its offset, such as 2026-03-30T07:30:00Z (fractions of a
	// second allowed).
	RFC3339 Form = 1 << iota
	// Date is a day, such as 2026-03-30: its midnight in the zone given.
	Date
	// Local is a date and time without an offset, as an HTML datetime-local field sends it,
	// such as 2026-03-30T07:30: read in the zone given.
	Local
)

var forms = []struct {
	form   Form
	layout string
	says   string
}{
	{RFC3339, time.RFC3339Nano, "an RFC 3339 instant such as 2026-03-30T07:30:00Z"},
	{Date, time.DateOnly, "a date such as 2026-03-30"},
	{Local, "2006-01-02T15:04", "a date and time such as 2026-03-30T07:30"},
}

// ParseInstant reads an RFC 3339 instant taken as input for field: the way every API
// parameter and body field, and every command's flag, writes one.
func ParseInstant(field, value string) (time.Time, error) {
	return ParseIn(field, value, RFC3339, time.UTC)
}

// ParseIn reads an instant taken as input for field, written in any of accepted; a date or a
// datetime-local value is read in loc (UTC when nil). The instant is answered in UTC. A value
// in none of the forms, or outside the years 1970 to 2999 (CheckInstant), is refused as input
// refused for field (an *invalid.Error) saying which forms are accepted, so the API, the pages
// and the CLI refuse a time in the same words.
func ParseIn(field, value string, accepted Form, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	var says []string
	for _, f := range forms {
		if accepted&f.form == 0 {
			continue
		}
		says = append(says, f.says)
		if t, err := time.ParseInLocation(f.layout, value, loc); err == nil {
			return t.UTC(), CheckInstant(field, t)
		}
	}
	want := says[len(says)-1]
	if len(says) > 1 {
		want = strings.Join(says[:len(says)-1], ", ") + " or " + want
	}
	return time.Time{}, invalid.Field(field, "%q is not %s", value, want)
}
