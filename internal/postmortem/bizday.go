package postmortem

import "time"

// Calendar says which days are business days: Monday to Friday, less holidays.
type Calendar struct {
	// Holiday reports whether a date (YYYY-MM-DD) is a holiday; nil means none are.
	Holiday func(date string) bool
}

// BusinessDay reports whether the calendar day of d is a business day.
func (c Calendar) BusinessDay(d time.Time) bool {
	switch d.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	return c.Holiday == nil || !c.Holiday(d.Format(time.DateOnly))
}

// AddBusinessDays returns the date n business days after the calendar day of d (n > 0), or
// before it (n < 0). The day d itself never counts: an item opened on a Friday is due five
// business days later, the next Friday, and so is one opened on the Saturday. The time of day
// is dropped; dates are civil dates in d's location.
func (c Calendar) AddBusinessDays(d time.Time, n int) time.Time {
	day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, d.Location())
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	// A calendar with every day a holiday would loop forever; ten years is far past any use.
	for guard := 0; n > 0 && guard < 3660; guard++ {
		day = day.AddDate(0, 0, step)
		if c.BusinessDay(day) {
			n--
		}
	}
	return day
}

// BusinessDaysBetween counts business days after from up to and including to (negative when
// to is before from). Dates are compared as civil dates.
func (c Calendar) BusinessDaysBetween(from, to time.Time) int {
	a := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	b := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, time.UTC)
	sign := 1
	if b.Before(a) {
		a, b, sign = b, a, -1
	}
	n := 0
	for d := a.AddDate(0, 0, 1); !d.After(b); d = d.AddDate(0, 0, 1) {
		if c.BusinessDay(d) {
			n++
		}
	}
	return sign * n
}
