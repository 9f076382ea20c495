package postmortem_test

import (
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/postmortem"
)

func TestAddBusinessDays(t *testing.T) {
	holidays := map[string]bool{"2026-11-26": true, "2026-11-27": true, "2026-12-24": true, "2026-12-25": true, "2026-12-31": true,
		"2027-01-01": true, "2028-02-29": true}
	cal := postmortem.Calendar{Holiday: func(d string) bool { return holidays[d] }}
	cases := []struct {
		name string
		from string
		n    int
		want string
	}{
		{"five business days from a Monday is the next Monday", "2026-11-02", 5, "2026-11-09"},
		{"five business days from a Friday is the next Friday", "2026-11-06", 5, "2026-11-13"},
		{"an item made on a Saturday is due the Friday after", "2026-11-07", 5, "2026-11-13"},
		{"an item made on a Sunday is due the Friday after", "2026-11-08", 5, "2026-11-13"},
		{"Thanksgiving and the day after are skipped", "2026-11-20", 5, "2026-12-01"},
		{"an item made on a holiday counts from the next business day", "2026-11-26", 1, "2026-11-30"},
		{"Christmas Eve, Christmas, New Year's Eve and Day are skipped across the year end", "2026-12-22", 5, "2027-01-04"},
		{"a year end without holidays counts its last Friday", "2027-12-30", 5, "2028-01-06"},
		{"a leap day holiday is skipped", "2028-02-25", 2, "2028-03-01"},
		{"one business day before a Monday is the Friday", "2026-11-09", -1, "2026-11-06"},
		{"one business day before the Monday after Thanksgiving is the Wednesday", "2026-11-30", -1, "2026-11-25"},
		{"one business day before January 4th 2027 is December 30th", "2027-01-04", -1, "2026-12-30"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			from, _ := time.Parse(time.DateOnly, c.from)
			if got := cal.AddBusinessDays(from, c.n).Format(time.DateOnly); got != c.want {
				t.Errorf("AddBusinessDays(%s, %d) = %s, want %s", c.from, c.n, got, c.want)
			}
		})
	}
}

func TestAddBusinessDaysKeepsTheCivilDateInItsZone(t *testing.T) {
	// 23:30 on Friday in Auckland is still Friday there, though it is Friday morning in UTC.
	loc, err := time.LoadLocation("Pacific/Auckland")
	if err != nil {
		t.Fatal(err)
	}
	fri := time.Date(2026, 11, 6, 23, 30, 0, 0, loc)
	if got := (postmortem.Calendar{}).AddBusinessDays(fri, 1).Format(time.DateOnly); got != "2026-11-09" {
		t.Errorf("got %s, want Monday 2026-11-09", got)
	}
}

func TestBusinessDaysBetween(t *testing.T) {
	cal := postmortem.Calendar{Holiday: func(d string) bool { return d == "2026-12-25" }}
	from, _ := time.Parse(time.DateOnly, "2026-12-21")
	to, _ := time.Parse(time.DateOnly, "2026-12-31")
	if got := cal.BusinessDaysBetween(from, to); got != 7 {
		t.Errorf("business days after Mon 21 Dec up to Thu 31 Dec with Christmas off = %d, want 7", got)
	}
	if got := cal.BusinessDaysBetween(to, from); got != -7 {
		t.Errorf("backwards = %d, want -7", got)
	}
}
