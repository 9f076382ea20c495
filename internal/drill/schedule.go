package drill

import (
	"sort"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/oncall"
)

// NextSlot picks when a recurring drill runs next, as Chaos Monkey picks its victims: once in
// the period [from, from+every), at a random minute of a random allowed day between the
// schedule's start and end (in the time zone of the team's working hours), such that the whole
// drill, start to limit, falls inside those working hours. Each such minute is equally likely.
// A period with no such minute is skipped for the next one, up to a year on; ok is false when
// none of them has one. It returns the minute and the end of its period (the next period's
// start). rnd(n) returns a number in [0, n).
func NextSlot(from time.Time, s *config.DrillSchedule, hours oncall.Hours, limit time.Duration, rnd func(n int64) int64) (at, periodEnd time.Time, ok bool) {
	every := s.Every.D()
	if every <= 0 {
		return time.Time{}, time.Time{}, false
	}
	loc := hours.Zone
	days := s.Weekdays()
	start := from
	for p := 0; start.Sub(from) < 366*24*time.Hour; p++ {
		end := start.Add(every)
		var minutes []time.Time
		lt := start.In(loc)
		for day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc); day.Before(end); day = day.AddDate(0, 0, 1) {
			if !days[day.Weekday()] {
				continue
			}
			for m := s.Start.Minutes; m < s.End.Minutes; m++ {
				t := time.Date(day.Year(), day.Month(), day.Day(), 0, m, 0, 0, loc)
				if t.Before(start) || !t.Before(end) || t.In(loc).Hour()*60+t.In(loc).Minute() != m { // DST gap
					continue
				}
				if hours.Contains(t) && hours.Contains(t.Add(limit-time.Second)) {
					minutes = append(minutes, t)
				}
			}
		}
		if len(minutes) > 0 {
			sort.Slice(minutes, func(i, j int) bool { return minutes[i].Before(minutes[j]) })
			return minutes[rnd(int64(len(minutes)))].UTC(), end.UTC(), true
		}
		start = end
	}
	return time.Time{}, time.Time{}, false
}
