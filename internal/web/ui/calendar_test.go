package ui

import (
	"github.com/nines-dev/nines/internal/clock"
	"testing"
	"time"
)

// FuzzCalendarSpan checks that no ?week= or ?month= of the schedule page panics it, and that
// what it accepts is whole weeks from a Monday midnight: one for a week, four to six for a
// month, the month's first day among them.
func FuzzCalendarSpan(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"2026-12-09", ""}, {"", "2026-12"}, {"", "1970-01"}, {"2999-12-31", ""}, {"", "13-2026"}, {"2026-02-30", ""}} {
		f.Add(s[0], s[1], "America/Santiago")
	}
	f.Fuzz(func(t *testing.T, week, month, zone string) {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			loc = time.UTC
		}
		now := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC).In(loc)
		cal, first, from, to, err := calendarSpan(week, month, now)
		if err != nil {
			return
		}
		days := 0
		for d := from; d.Before(to) && days < 100; d = clock.NextDay(d) {
			days++
		}
		if from.Weekday() != time.Monday || days%7 != 0 || cal.Week && days != 7 || !cal.Week && (days < 28 || days > 42 || first.Before(from) || !first.Before(to)) {
			t.Fatalf("week %q month %q in %s: %s to %s (%d days), month %s", week, month, loc, from, to, days, first)
		}
	})
}
