package oncall_test

import (
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/oncall"
)

func TestWorkingHoursPastMidnight(t *testing.T) {
	c, err := config.Parse("n.yaml", []byte("services: [{id: s, support_hours: {time_zone: UTC, days: [mon], start: '22:00', end: '06:00'}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	w := oncall.HoursOf(c.Service("s").SupportHours, time.UTC)
	mon := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday
	cases := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"monday 23:00 is inside", mon.Add(23 * time.Hour), true},
		{"tuesday 05:59 is inside, as the tail of monday night", mon.Add(29*time.Hour + 59*time.Minute), true},
		{"tuesday 06:00 is outside", mon.Add(30 * time.Hour), false},
		{"monday 05:00 is outside (sunday night is not a working night)", mon.Add(5 * time.Hour), false},
		{"tuesday 23:00 is outside", mon.Add(47 * time.Hour), false},
	}
	for _, tc := range cases {
		if got := w.Contains(tc.at); got != tc.want {
			t.Errorf("%s: Contains = %v", tc.name, got)
		}
	}
	if got := w.Next(mon.Add(30 * time.Hour)); !got.Equal(mon.Add(7*24*time.Hour + 22*time.Hour)) {
		t.Errorf("Next from tuesday 06:00 = %v, want next monday 22:00", got)
	}
}

// TestBusinessHoursAreWorkingHoursOfBusinessDays reads the incidents' working day in their
// time zone, weekends and holidays left out.
func TestBusinessHoursAreWorkingHoursOfBusinessDays(t *testing.T) {
	c, err := config.Parse("nines.yaml", []byte(`
incidents:
  time_zone: Europe/Berlin
  holidays: ["2026-12-25"]
  working_hours: {start: "08:00", end: "18:00"}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := &c.Incidents
	berlin, _ := time.LoadLocation("Europe/Berlin")
	cases := []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2026, 11, 20, 8, 0, 0, 0, berlin), true},     // Friday 08:00 in Berlin
		{time.Date(2026, 11, 20, 7, 59, 0, 0, berlin), false},   // before the day starts
		{time.Date(2026, 11, 20, 18, 0, 0, 0, berlin), false},   // the end is not inside
		{time.Date(2026, 11, 21, 12, 0, 0, 0, berlin), false},   // Saturday
		{time.Date(2026, 12, 25, 12, 0, 0, 0, berlin), false},   // a holiday
		{time.Date(2026, 11, 20, 16, 30, 0, 0, time.UTC), true}, // 17:30 in Berlin
	}
	for _, c := range cases {
		if got := oncall.InBusinessHours(s, c.at); got != c.want {
			t.Errorf("InBusinessHours(%s) = %v, want %v", c.at, got, c.want)
		}
	}
}
