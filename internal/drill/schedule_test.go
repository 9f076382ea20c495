package drill

import (
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/oncall"
)

// TestNextSlotPicksAMinuteInsideTheScheduleAndTheWorkingHours checks NextSlot against minutes
// worked out by hand. The schedule is "once every 2w, weekdays, 10:00-15:00"; the team works
// weekdays 09:00-17:00 in Berlin (UTC+1 until 29 March 2026, UTC+2 from then). From Monday
// 30 March 08:00 UTC (10:00 in Berlin) the period runs to Monday 13 April 08:00 UTC: weekdays
// 30 Mar-3 Apr and 6-10 Apr, 10 days of 300 minutes each (13 April starts as the period ends),
// so 3000 minutes, in order: minute 0 is 30 Mar 10:00 Berlin (08:00Z), 300 is 31 Mar 10:00
// (08:00Z), 2999 is Fri 10 Apr 14:59 Berlin (12:59Z). With working hours ending at 12:00 and a
// 15 minute drill, the last start is 11:45 (the drill must end by 12:00): 106 minutes a day,
// 1060 in the period, and minute 106 is 31 Mar 10:00. From Friday 27 March 09:00 UTC (10:00
// Berlin in winter time) a one-week period, to Friday 3 April 09:00 UTC, has Fri 27 (10:00
// Berlin = 09:00Z, 300 minutes), Mon 30 to Thu 2 Apr (10:00 Berlin = 08:00Z in summer time, 1200)
// and 10:00-10:59 of Fri 3 Apr (08:00Z-08:59Z, 60): 1560; minute 300 is Mon 30 Mar 08:00Z.
func TestNextSlotPicksAMinuteInsideTheScheduleAndTheWorkingHours(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(yaml string) *config.Config {
		cfg, err := config.Parse("nines.yaml", []byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	const base = `
teams:
  - id: payments
    working_hours: {time_zone: Europe/Berlin, days: [weekdays], start: "09:00", end: "END"}
services:
  - {id: checkout, team: payments, readiness: {drills: true}}
drills:
  - id: d
    service: checkout
    kind: page
    limit: 15m
    schedule: {every: EVERY, days: [weekdays], start: "10:00", end: "15:00"}
`
	cases := []struct {
		name      string
		end       string
		every     string
		from      time.Time
		pick      int64
		count     int64
		want      time.Time
		periodEnd time.Time
	}{
		{"the first minute of the period is Monday 10:00 in Berlin", "17:00", "2w", time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC), 0, 3000,
			time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC), time.Date(2026, 4, 13, 8, 0, 0, 0, time.UTC)},
		{"minute 300 is Tuesday 10:00", "17:00", "2w", time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC), 300, 3000,
			time.Date(2026, 3, 31, 8, 0, 0, 0, time.UTC), time.Date(2026, 4, 13, 8, 0, 0, 0, time.UTC)},
		{"the last minute is Friday 10 April 14:59 in Berlin", "17:00", "2w", time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC), 2999, 3000,
			time.Date(2026, 4, 10, 12, 59, 0, 0, time.UTC), time.Date(2026, 4, 13, 8, 0, 0, 0, time.UTC)},
		{"working hours to 12:00 leave 106 minutes a day for a 15 minute drill", "12:00", "2w", time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC), 106, 1060,
			time.Date(2026, 3, 31, 8, 0, 0, 0, time.UTC), time.Date(2026, 4, 13, 8, 0, 0, 0, time.UTC)},
		{"the 105th minute of a day is 11:45, the last start that ends by 12:00", "12:00", "2w", time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC), 105, 1060,
			time.Date(2026, 3, 30, 9, 45, 0, 0, time.UTC), time.Date(2026, 4, 13, 8, 0, 0, 0, time.UTC)},
		{"10:00 in Berlin moves from 09:00Z to 08:00Z across the change to summer time", "17:00", "1w", time.Date(2026, 3, 27, 9, 0, 0, 0, time.UTC), 300, 1560,
			time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC), time.Date(2026, 4, 3, 9, 0, 0, 0, time.UTC)},
		{"a period starting after 15:00 on Friday runs over the weekend to Monday", "17:00", "3d", time.Date(2026, 4, 3, 14, 0, 0, 0, time.UTC), 0, 300,
			time.Date(2026, 4, 6, 8, 0, 0, 0, time.UTC), time.Date(2026, 4, 6, 14, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			yaml := strings.NewReplacer("END", tc.end, "EVERY", tc.every).Replace(base)
			cfg := parse(yaml)
			d := cfg.Drill("d")
			var n int64
			at, end, ok := NextSlot(tc.from, d.Schedule, oncall.TeamHours(cfg, "checkout"), d.Limit.D(), func(count int64) int64 { n = count; return tc.pick })
			if !ok {
				t.Fatal("no slot")
			}
			if n != tc.count {
				t.Errorf("candidate minutes: %d, want %d", n, tc.count)
			}
			if !at.Equal(tc.want) || !end.Equal(tc.periodEnd) {
				t.Errorf("slot %s (%s in Berlin), period end %s; want %s, %s", at, at.In(berlin).Format("Mon 15:04"), end, tc.want, tc.periodEnd)
			}
		})
	}
}

// FuzzReadProxy: whatever a Toxiproxy server (or something pretending to be one) answers about
// a proxy, reading it never panics, and a proxy read has a name.
func FuzzReadProxy(f *testing.F) {
	f.Add([]byte(`{"name":"x","listen":"127.0.0.1:18475","upstream":"127.0.0.1:1","enabled":true,"toxics":[]}`))
	f.Add([]byte(`{"error":"proxy not found","status":404}`))
	f.Add([]byte(`{"name":"x","toxics":[{"name":"t"}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := readProxy(body)
		if err == nil && p.Name == "" {
			t.Fatalf("read a proxy without a name from %q", body)
		}
	})
}
