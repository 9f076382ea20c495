package config

import (
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/nines-dev/nines/internal/clock"
)

// Maintenance windows: while one covers a service nines records every signal of it but pages
// nobody; uptime figures leave the time out; status pages may announce it.

// Maintenance is a window over services and monitors: one-off (start and end) or recurring
// (cron and duration, in time_zone). The same type holds the windows scheduled through the
// API, so one set of rules validates both.
type Maintenance struct {
	Node
	ID string `yaml:"id"`
	// Name is what people read (default: the id); Description says what is done.
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Services    []string `yaml:"services"`
	Monitors    []string `yaml:"monitors"`
	Start       string   `yaml:"start"`
	End         string   `yaml:"end"`
	Cron        string   `yaml:"cron"`
	Duration    Duration `yaml:"duration"`
	TimeZone    string   `yaml:"time_zone"`
	// Announce lists a one-off window as scheduled maintenance on the status pages that show
	// its services or monitors (only StatusPages, when set).
	Announce    bool     `yaml:"announce"`
	StatusPages []string `yaml:"status_pages"`

	start, end time.Time
	schedule   cron.Schedule
	zone       *time.Location
}

// Interval is a span of time [From, To).
type Interval struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// MaxOccurrences bounds the occurrences of a recurring window listed for one range, so a
// window that recurs every minute cannot make a question about a year unbounded work.
const MaxOccurrences = 20000

// Recurring reports whether the window repeats on a cron schedule.
func (mw *Maintenance) Recurring() bool { return mw.schedule != nil }

// Bounds are the start and end of a one-off window (zero for a recurring one).
func (mw *Maintenance) Bounds() (time.Time, time.Time) { return mw.start, mw.end }

// Zone is the time zone of a recurring window's cron (UTC by default).
func (mw *Maintenance) Zone() *time.Location {
	if mw.zone == nil {
		return time.UTC
	}
	return mw.zone
}

// Occurrences returns the intervals of the window that overlap [from, to), oldest first, each
// whole (not clipped to the range).
func (mw *Maintenance) Occurrences(from, to time.Time) []Interval {
	if !to.After(from) {
		return nil
	}
	if mw.schedule == nil {
		if mw.end.After(from) && mw.start.Before(to) {
			return []Interval{{mw.start, mw.end}}
		}
		return nil
	}
	d := mw.Duration.D()
	// Cron schedules only look forward: an occurrence that started up to one duration before
	// from still overlaps it.
	var out []Interval
	next := mw.schedule.Next(from.In(mw.Zone()).Add(-d - time.Second))
	for !next.IsZero() && next.Before(to) && len(out) < MaxOccurrences {
		if end := next.Add(d); end.After(from) {
			out = append(out, Interval{next.UTC(), end.UTC()})
		}
		next = mw.schedule.Next(next)
	}
	return out
}

// Active reports whether the window covers t.
func (mw *Maintenance) Active(t time.Time) bool {
	return len(mw.Occurrences(t, t.Add(time.Nanosecond))) > 0
}

// Covers reports whether the window names the service, or the monitor.
func (mw *Maintenance) Covers(serviceID, monitorID string) bool {
	for _, s := range mw.Services {
		if serviceID != "" && s == serviceID {
			return true
		}
	}
	for _, m := range mw.Monitors {
		if monitorID != "" && m == monitorID {
			return true
		}
	}
	return false
}

// CheckMaintenance validates a window scheduled outside the config files (through the API) and
// fills in what validation derives; it returns every problem, each naming its field.
func (c *Config) CheckMaintenance(mw *Maintenance) []string {
	var errs Errors
	c.validateMaintenance(mw, &errs)
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Msg
	}
	return out
}

func (c *Config) validateMaintenance(mw *Maintenance, errs *Errors) {
	name := "maintenance " + mw.ID
	if mw.ID == "" {
		name = "maintenance"
	}
	if mw.ID != "" && strings.Trim(mw.ID, "0123456789") == "" {
		errs.add(mw.At("id"), "%s: id %q: use at least one letter (windows scheduled through the API are numbered)", name, mw.ID)
	}
	mw.Name, mw.Description = strings.TrimSpace(mw.Name), strings.TrimSpace(mw.Description)
	if mw.Name == "" {
		mw.Name = mw.ID
	}
	if len(mw.Name) > 256 {
		errs.add(mw.At("name"), "%s: name: at most 256 characters", name)
	}
	if len(mw.Description) > 16<<10 {
		errs.add(mw.At("description"), "%s: description: at most 16 KiB", name)
	}
	if len(mw.Services) == 0 && len(mw.Monitors) == 0 {
		errs.add(mw.Pos, "%s: name the services or monitors it covers", name)
	}
	for _, s := range mw.Services {
		if c.Service(s) == nil {
			errs.add(mw.At("services"), "%s: services: unknown service %q", name, s)
		}
	}
	for _, m := range mw.Monitors {
		if c.Monitor(m) == nil {
			errs.add(mw.At("monitors"), "%s: monitors: unknown monitor %q", name, m)
		}
	}
	for _, p := range mw.StatusPages {
		if c.StatusPage(p) == nil {
			errs.add(mw.At("status_pages"), "%s: status_pages: unknown status page %q", name, p)
		}
	}
	mw.zone = time.UTC
	if mw.TimeZone != "" {
		z, err := time.LoadLocation(mw.TimeZone)
		if err != nil {
			errs.add(mw.At("time_zone"), "%s: time_zone %q: not a known IANA zone such as Europe/Paris", name, mw.TimeZone)
		} else {
			mw.zone = z
		}
	}
	switch {
	case mw.Cron != "":
		if mw.Start != "" || mw.End != "" {
			errs.add(mw.At("cron"), "%s: a recurring window has cron and duration, not start and end", name)
		}
		s, err := cronParser.Parse(mw.Cron)
		if err != nil {
			errs.add(mw.At("cron"), "%s: cron %q: %v", name, mw.Cron, err)
		}
		mw.schedule = s
		if mw.Duration <= 0 {
			errs.add(mw.Pos, "%s: a recurring window needs a duration (e.g. 2h)", name)
		}
		if mw.Announce {
			errs.add(mw.At("announce"), "%s: announce: only one-off windows are announced on status pages", name)
		}
	default:
		var err, endErr error
		if mw.start, err = clock.ParseInstant("start", mw.Start); err != nil && mw.Start == "" {
			errs.add(mw.At("start"), "%s: %v (or cron and duration for a recurring window)", name, err)
		} else if err != nil {
			errs.add(mw.At("start"), "%s: %v", name, err)
		}
		if mw.end, endErr = clock.ParseInstant("end", mw.End); endErr != nil {
			errs.add(mw.At("end"), "%s: %v", name, endErr)
		} else if err == nil && !mw.end.After(mw.start) {
			errs.add(mw.At("end"), "%s: end is not after start", name)
		}
		mw.start, mw.end = mw.start.UTC(), mw.end.UTC()
		if mw.Duration != 0 {
			errs.add(mw.At("duration"), "%s: duration belongs to a recurring window (cron); a one-off window has start and end", name)
		}
	}
}
