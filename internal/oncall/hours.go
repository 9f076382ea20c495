package oncall

import (
	"fmt"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// Hours are hours of work, or of support: the same span of the day on some days of the week,
// in a time zone. A span whose end comes before its start runs past midnight: the evening part
// belongs to its day, the morning part to the day before.
type Hours struct {
	Zone       *time.Location
	Days       [7]bool // by time.Weekday
	Start, End int     // minutes after midnight; 24:00 is 1440
}

// HoursOf are the working hours w of the config, read in zone unless w names its own.
func HoursOf(w *config.WorkingHours, zone *time.Location) Hours {
	if z := w.Zone(); z != nil {
		zone = z
	}
	return Hours{Zone: zone, Days: w.Weekdays(), Start: w.Start.Minutes, End: w.End.Minutes}
}

// DefaultHours are weekdays 09:00 to 18:00 in zone.
func DefaultHours(zone *time.Location) Hours {
	h := Hours{Zone: zone, Start: 9 * 60, End: 18 * 60}
	for d := time.Monday; d <= time.Friday; d++ {
		h.Days[d] = true
	}
	return h
}

// UserHours are a person's working hours: their own, or weekdays 09:00 to 18:00, in their
// time zone unless their hours name another.
func UserHours(u *config.User) Hours {
	if u.WorkingHours != nil {
		return HoursOf(u.WorkingHours, u.Location())
	}
	return DefaultHours(u.Location())
}

// TeamHours are the working hours of the team owning a service: the team's, else the
// service's support hours, else weekdays 09:00 to 18:00, in UTC unless they name a zone.
// Chaos drills run only inside them.
func TeamHours(cfg *config.Config, serviceID string) Hours {
	if w := cfg.TeamWorkingHours(serviceID); w != nil {
		return HoursOf(w, time.UTC)
	}
	return DefaultHours(time.UTC)
}

// String says the hours as people write them: "Mon-Fri 09:00-18:00" ("every day", or the
// days one by one, otherwise), without the zone.
func (h Hours) String() string {
	names := []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	var on []string
	for d := 0; d < 7; d++ {
		if h.Days[d] {
			on = append(on, names[d])
		}
	}
	days := strings.Join(on, ",")
	switch days {
	case "Sun,Mon,Tue,Wed,Thu,Fri,Sat":
		days = "every day"
	case "Mon,Tue,Wed,Thu,Fri":
		days = "Mon-Fri"
	}
	hm := func(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }
	return days + " " + hm(h.Start) + "-" + hm(h.End)
}

// Contains reports whether t falls inside the hours.
func (h Hours) Contains(t time.Time) bool {
	lt := t.In(h.Zone)
	return config.InHours(h.Days, h.Start, h.End, lt.Weekday(), lt.Hour()*60+lt.Minute())
}

// Next returns the first instant at or after t inside the hours (t itself if inside).
func (h Hours) Next(t time.Time) time.Time {
	if h.Contains(t) {
		return t
	}
	lt := t.In(h.Zone)
	for i := 0; i < 8; i++ {
		d := time.Date(lt.Year(), lt.Month(), lt.Day()+i, 0, h.Start, 0, 0, h.Zone)
		if d.After(t) && h.Contains(d) {
			return d
		}
	}
	return t // no day is a working day; validation prevents this
}

// InBusinessHours reports whether t falls on a business day (not a weekend, not one of the
// holidays) between the working hours of the incident settings s, in their time zone.
func InBusinessHours(s *config.IncidentSettings, t time.Time) bool {
	lt := t.In(s.Location())
	if wd := lt.Weekday(); wd == time.Saturday || wd == time.Sunday || s.Holiday(lt.Format(time.DateOnly)) {
		return false
	}
	start, end := s.WorkingHours.Span()
	of := time.Duration(lt.Hour())*time.Hour + time.Duration(lt.Minute())*time.Minute + time.Duration(lt.Second())*time.Second
	return of >= start && of < end
}
