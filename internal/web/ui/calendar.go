package ui

import (
	"github.com/nines-dev/nines/internal/clock"
	"net/http"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/oncall"
)

// The calendar of a schedule: who is on call, a month (or a week) at a time, in the viewer's
// time zone. Every shift comes from the on-call engine (oncall.Shifts, and oncall.ShiftsOn for
// a lieutenant's layer), exactly what paging reads; the calendar only cuts it into days.

// SecondaryLayer is the layer a lieutenant is on call in (docs/oncall.md): when a schedule has
// one, the calendar shows it on its own line under the final schedule.
const SecondaryLayer = "secondary"

// calBlock is one piece of a day: somebody on call, or nobody (a gap, as restrictions leave).
type calBlock struct {
	From, To string // local times, "24:00" for the end of the day
	Who      string // a person's name; empty for a gap
	Layer    string
	Kind     string // "shift", "override", "secondary" or "gap"
}

// calDay is one day of the calendar.
type calDay struct {
	Date    time.Time
	Label   string // "Mon 7 Dec"
	Day     int
	ISO     string // 2026-12-07
	Outside bool   // a day of the next or last month, shown to fill the week
	Today   bool
	Blocks  []calBlock
}

// calendar is what the schedule page draws.
type calendar struct {
	Zone, Title          string
	Week                 bool
	Prev, Next, PrevText string
	NextText, Switch     string
	SwitchText           string
	Days                 []calDay
	HasSecondary         bool
}

// scheduleCalendar reads ?month=YYYY-MM (the month shown, this month by default) or
// ?week=YYYY-MM-DD (the week from the Monday on or before that day) and lays out the shifts.
func (s *Handler) scheduleCalendar(r *http.Request, sc *config.Schedule) (*calendar, error) {
	loc, ok := s.chosenZone(r) // the viewer's, else the schedule's
	if !ok {
		loc = sc.Location()
	}
	now := s.Clock.Now().In(loc)
	q := r.URL.Query()
	cal, month, from, to, err := calendarSpan(q.Get("week"), q.Get("month"), now)
	if err != nil {
		return nil, err
	}
	cal.Zone = loc.String()
	// With a lieutenant, the first line is the other layers (a step targeting them pages it)
	// and the second the lieutenant's; without one, the final schedule. Both come with the
	// overrides that cover them, and a gap is where the line has nobody.
	ctx := r.Context()
	var first, second []oncall.Shift
	var others []string
	for _, l := range sc.Layers {
		if l.Name == SecondaryLayer {
			cal.HasSecondary = true
		} else {
			others = append(others, l.Name)
		}
	}
	if !cal.HasSecondary {
		first, err = s.OnCall.Shifts(ctx, sc.ID, from, to)
	} else if len(others) > 0 {
		first, err = s.OnCall.ShiftsOn(ctx, sc.ID, others, from, to)
	}
	if err == nil && cal.HasSecondary {
		second, err = s.OnCall.ShiftsOn(ctx, sc.ID, []string{SecondaryLayer}, from, to)
	}
	if err != nil {
		return nil, err
	}
	cfg := s.Config.Get()
	name := func(id string) string {
		if u := cfg.User(id); u != nil {
			return u.Name
		}
		return id
	}
	today := now.Format("2006-01-02")
	for d := from; d.Before(to); d = clock.NextDay(d) { // a day may begin after its midnight
		next := clock.NextDay(d)
		day := calDay{Date: d, Label: d.Format("Mon 2 Jan"), Day: d.Day(), ISO: d.Format("2006-01-02"),
			Outside: !cal.Week && d.Month() != month.Month(), Today: d.Format("2006-01-02") == today}
		if len(others) > 0 || !cal.HasSecondary {
			day.Blocks = dayBlocks(first, d, next, loc, name, false)
		}
		if cal.HasSecondary {
			day.Blocks = append(day.Blocks, dayBlocks(second, d, next, loc, name, true)...)
		}
		cal.Days = append(cal.Days, day)
	}
	return cal, nil
}

// dayBlocks cuts shifts to one day [d, next), with a gap block wherever nobody is on call.
// A lieutenant's line shows no gaps: a schedule without one there is the usual case.
func dayBlocks(shs []oncall.Shift, d, next time.Time, loc *time.Location, name func(string) string, secondary bool) []calBlock {
	clock := func(t time.Time) string {
		if t.Equal(next) {
			return "24:00"
		}
		return t.In(loc).Format("15:04")
	}
	var out []calBlock
	at := d
	for _, sh := range shs {
		if !sh.End.After(d) || !sh.Start.Before(next) {
			continue
		}
		a, b := sh.Start, sh.End
		if a.Before(d) {
			a = d
		}
		if b.After(next) {
			b = next
		}
		if a.After(at) && !secondary {
			out = append(out, calBlock{From: clock(at), To: clock(a), Kind: "gap"})
		}
		kind := "shift"
		switch {
		case sh.OverrideID != 0:
			kind = "override"
		case secondary:
			kind = "secondary"
		}
		out = append(out, calBlock{From: clock(a), To: clock(b), Who: name(sh.UserID), Layer: sh.Layer, Kind: kind})
		if secondary && kind == "override" {
			out[len(out)-1].Layer = SecondaryLayer + " (override)"
		}
		at = b
	}
	if at.Before(next) && !secondary {
		out = append(out, calBlock{From: clock(at), To: "24:00", Kind: "gap"})
	}
	return out
}

// calendarSpan reads what the calendar shows: week (YYYY-MM-DD, the week from the Monday on or
// before it) or else monthText (YYYY-MM, whole weeks from Monday around it; now's month when
// empty), in now's zone. It returns the page's title and links, the month, and [from, to).
func calendarSpan(week, monthText string, now time.Time) (cal *calendar, month, from, to time.Time, err error) {
	loc := now.Location()
	cal = &calendar{}
	if v := week; v != "" {
		d, err := time.ParseInLocation("2006-01-02", v, loc)
		if err != nil || d.Year() < 1970 || d.Year() > 2999 {
			return nil, month, from, to, invalid.Field("week", "%.40q is not a day written YYYY-MM-DD (e.g. 2026-12-07), from 1970 to 2999", v)
		}
		from = d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
		to = from.AddDate(0, 0, 7)
		month = from
		cal.Week = true
		cal.Title = "Week of " + from.Format("Mon 2 Jan 2006")
		cal.Prev, cal.Next = "?week="+from.AddDate(0, 0, -7).Format("2006-01-02"), "?week="+to.Format("2006-01-02")
		cal.PrevText, cal.NextText = "← Previous week", "Next week →"
		cal.Switch, cal.SwitchText = "?month="+from.Format("2006-01"), "Month"
	} else {
		month = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
		if v := monthText; v != "" {
			m, err := time.ParseInLocation("2006-01", v, loc)
			if err != nil || m.Year() < 1970 || m.Year() > 2999 {
				return nil, month, from, to, invalid.Field("month", "%.40q is not a month written YYYY-MM (e.g. 2026-12), from 1970 to 2999", v)
			}
			month = m
		}
		// Whole weeks, Monday to Sunday, around the month.
		from = month.AddDate(0, 0, -((int(month.Weekday()) + 6) % 7))
		last := month.AddDate(0, 1, 0)
		to = last.AddDate(0, 0, (7-(int(last.Weekday())+6)%7)%7)
		cal.Title = month.Format("January 2006")
		cal.Prev, cal.Next = "?month="+month.AddDate(0, -1, 0).Format("2006-01"), "?month="+month.AddDate(0, 1, 0).Format("2006-01")
		cal.PrevText, cal.NextText = "← "+month.AddDate(0, -1, 0).Format("January"), month.AddDate(0, 1, 0).Format("January")+" →"
		day := month
		if now.Year() == month.Year() && now.Month() == month.Month() {
			day = now
		}
		cal.Switch, cal.SwitchText = "?week="+day.Format("2006-01-02"), "Week"
	}
	return cal, month, from, to, nil
}
