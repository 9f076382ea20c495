package clock

import "time"

// StartOfDay is the first instant of the calendar day y-m-d in loc (d may overflow the month, as
// time.Date allows). Where a day begins with the clock jumping past midnight (America/Santiago
// on 2026-09-06, America/Havana on 2026-03-08), time.Date gives 23:00 of the day before; this is
// the instant of the jump, so a walk from day to day always moves forward.
func StartOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	noon := time.Date(y, m, d, 12, 0, 0, 0, loc)
	y, m, d = noon.Date()
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if ty, tm, td := t.Date(); ty == y && tm == m && td == d {
		return t
	}
	// Midnight was skipped: the day starts at the jump, between t (the day before) and noon.
	lo, hi := t, noon
	for hi.Sub(lo) > 1 {
		mid := lo.Add(hi.Sub(lo) / 2)
		if my, mm, md := mid.Date(); my == y && mm == m && md == d {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// NextDay is the first instant of the calendar day after t's, in t's location.
func NextDay(t time.Time) time.Time {
	return StartOfDay(t.Year(), t.Month(), t.Day()+1, t.Location())
}
