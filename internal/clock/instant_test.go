package clock_test

import (
	"errors"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/invalid"
)

func TestInstantsOutsideTheYears1970To2999AreRefusedNamingTheField(t *testing.T) {
	cases := []struct {
		name string
		at   time.Time
		want string // "" when taken
	}{
		{"the first instant of 1970 is taken", time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), ""},
		{"the last second of 2999 is taken", time.Date(2999, 12, 31, 23, 59, 59, 0, time.UTC), ""},
		{"the last second of 1969 is refused", time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), "end: 1969-12-31T23:59:59Z is outside the years 1970 to 2999"},
		{"the first instant of 3000 is refused", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), "end: 3000-01-01T00:00:00Z is outside the years 1970 to 2999"},
		{"an instant in another zone is said in UTC", time.Date(3000, 1, 1, 0, 30, 0, 0, time.FixedZone("+01", 3600)), ""},
		{"the end of year 9999 is refused", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), "end: 9999-12-31T23:59:59Z is outside the years 1970 to 2999"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := clock.CheckInstant("end", c.at)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ie *invalid.Error
			if !errors.As(err, &ie) || err.Error() != c.want || ie.Problems[0].Field != "end" {
				t.Errorf("CheckInstant = %#v, want input refused for end: %q", err, c.want)
			}
		})
	}
}

func TestParseInReadsTheFormsACallerAcceptsAndRefusesTheRestNamingTheField(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		value    string
		accepted clock.Form
		loc      *time.Location
		want     time.Time
		wantErr  string // "" when taken
	}{
		{"an RFC 3339 instant is read in UTC", "2026-03-30T09:30:00+02:00", clock.RFC3339, nil, time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC), ""},
		{"fractions of a second are kept", "2026-03-30T07:30:00.250Z", clock.RFC3339, nil, time.Date(2026, 3, 30, 7, 30, 0, 250e6, time.UTC), ""},
		{"a date is refused where only RFC 3339 is accepted", "2026-03-30", clock.RFC3339, nil, time.Time{},
			`at: "2026-03-30" is not an RFC 3339 instant such as 2026-03-30T07:30:00Z`},
		{"a date is midnight in the zone given", "2026-03-30", clock.RFC3339 | clock.Date, paris, time.Date(2026, 3, 29, 22, 0, 0, 0, time.UTC), ""},
		{"a datetime-local value is read in the zone given", "2026-03-30T09:30", clock.Local, paris, time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC), ""},
		{"a datetime-local value is read in UTC without a zone", "2026-03-30T09:30", clock.Local, nil, time.Date(2026, 3, 30, 9, 30, 0, 0, time.UTC), ""},
		{"every accepted form is named in the refusal", "tomorrow", clock.RFC3339 | clock.Date | clock.Local, nil, time.Time{},
			`at: "tomorrow" is not an RFC 3339 instant such as 2026-03-30T07:30:00Z, a date such as 2026-03-30 or a date and time such as 2026-03-30T07:30`},
		{"a time in a readable form outside 1970 to 2999 is refused", "0001-01-01", clock.Date, nil, time.Time{},
			"at: 0001-01-01T00:00:00Z is outside the years 1970 to 2999"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := clock.ParseIn("at", c.value, c.accepted, c.loc)
			if c.wantErr == "" {
				if err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
					t.Fatalf("ParseIn(%q) = %v, %v; want %v in UTC", c.value, got, err, c.want)
				}
				return
			}
			var ie *invalid.Error
			if !errors.As(err, &ie) || err.Error() != c.wantErr || ie.Problems[0].Field != "at" {
				t.Errorf("ParseIn(%q) = %#v, want input refused for at: %q", c.value, err, c.wantErr)
			}
		})
	}
}

func FuzzParseIn(f *testing.F) {
	for _, s := range []string{"2026-03-30T07:30:00Z", "2026-03-30", "2026-03-30T07:30", "9999-12-31T23:59:59Z", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, err := clock.ParseIn("at", v, clock.RFC3339|clock.Date|clock.Local, nil)
		if err != nil {
			if _, ok := invalid.As(err); !ok {
				t.Fatalf("ParseIn(%q) refused with %T, want *invalid.Error", v, err)
			}
			return
		}
		if clock.CheckInstant("at", got) != nil || got.Location() != time.UTC {
			t.Fatalf("ParseIn(%q) = %v, outside the range or not in UTC", v, got)
		}
	})
}
