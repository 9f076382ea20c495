package clock

import (
	"testing"
	"time"
)

// A day whose midnight the clock skips starts at the jump, and a walk from day to day over it
// moves forward. The instants are those of the IANA database (Chile moves its clocks from
// 00:00 to 01:00 on 2026-09-06, Cuba on 2026-03-08); a day with a midnight starts at it.
func TestADayStartsWhenItsClockDoes(t *testing.T) {
	for _, c := range []struct {
		zone string
		y    int
		m    time.Month
		d    int
		want string
	}{
		{"America/Santiago", 2026, 9, 6, "2026-09-06T01:00:00-03:00"},
		{"America/Havana", 2026, 3, 8, "2026-03-08T01:00:00-04:00"},
		{"America/Santiago", 1970, 10, 11, "1970-10-11T01:00:00-03:00"},
		{"Europe/Berlin", 2026, 3, 29, "2026-03-29T00:00:00+01:00"},
		{"America/Santiago", 2026, 9, 31, "2026-10-01T00:00:00-03:00"}, // the day overflows its month
	} {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		if got := StartOfDay(c.y, c.m, c.d, loc).Format(time.RFC3339); got != c.want {
			t.Errorf("%s %d-%02d-%02d starts at %s, want %s", c.zone, c.y, c.m, c.d, got, c.want)
		}
		// Walking a year day by day over the jump moves forward and counts 365 days.
		day, n := StartOfDay(c.y, 1, 1, loc), 0
		for end := StartOfDay(c.y+1, 1, 1, loc); day.Before(end) && n < 400; n++ {
			next := NextDay(day)
			if !next.After(day) {
				t.Fatalf("%s: the day after %s is %s", c.zone, day, next)
			}
			day = next
		}
		if want := time.Date(c.y, 12, 31, 12, 0, 0, 0, time.UTC).YearDay(); n != want {
			t.Errorf("%s %d: %d days, want %d", c.zone, c.y, n, want)
		}
	}
}
