package slo

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
)

// IncidentLister lists incidents; *incident.Service is one.
type IncidentLister interface {
	List(ctx context.Context, f incident.Filter) ([]incident.Incident, string, error)
}

var _ IncidentLister = (*incident.Service)(nil)

// SLAReport is a service's achieved availability over a calendar month, quarter or year (so
// far, for a period still running), against the SLA of each of its SLOs.
type SLAReport struct {
	ServiceID string     `json:"service_id"`
	Period    string     `json:"period"`
	TimeZone  string     `json:"time_zone"`
	Start     time.Time  `json:"start"`
	End       time.Time  `json:"end"`
	Met       bool       `json:"met"`
	SLOs      []SLAEntry `json:"slos"`
}

// SLAEntry is one SLO over the report's period.
type SLAEntry struct {
	SLOID     string  `json:"slo_id"`
	Name      string  `json:"name"`
	Objective float64 `json:"objective"`
	// Target is the SLA, or the objective when the SLO states none.
	Target   float64 `json:"target"`
	Achieved float64 `json:"achieved"`
	Met      bool    `json:"met"`
	// Downtime is bad time: bad slices for the timeslice methods, and for occurrences the
	// period's length times its error ratio.
	DowntimeSeconds        float64 `json:"downtime_seconds"`
	Downtime               string  `json:"downtime"`
	AllowedDowntimeSeconds float64 `json:"allowed_downtime_seconds"`
	AllowedDowntime        string  `json:"allowed_downtime"`
	// The downtime the target allows in an average month and an average year, as uptime.is
	// counts them (a year of 365.2425 days, a month of a twelfth of it), rounded to the second.
	AllowedDowntimeMonthSeconds float64 `json:"allowed_downtime_average_month_seconds"`
	AllowedDowntimeMonth        string  `json:"allowed_downtime_average_month"`
	AllowedDowntimeYearSeconds  float64 `json:"allowed_downtime_average_year_seconds"`
	AllowedDowntimeYear         string  `json:"allowed_downtime_average_year"`
	EventsTotal                 float64 `json:"events_total"`
	EventsBad                   float64 `json:"events_bad"`
	// Incidents are the service's incidents open during the period, with the bad events (or bad
	// minutes) that fell while each was open.
	Incidents []IncidentImpact `json:"incidents"`
}

// IncidentImpact is the share of an SLO's damage that fell during one incident.
type IncidentImpact struct {
	ID         int64      `json:"id"`
	Title      string     `json:"title"`
	State      string     `json:"state"`
	CreatedAt  time.Time  `json:"created_at"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	// BadEvents is bad events (occurrences) or bad slices (timeslice methods) while it was open.
	BadEvents float64 `json:"bad_events"`
	// BudgetSpent is that damage as a share of the period's SLA allowance.
	BudgetSpent float64 `json:"budget_spent"`
}

// AllowedDowntime is the time a target lets fail over a period: 99.99% allows 4m23s of an
// average month and 52m36s of an average year.
func AllowedDowntime(target float64, period time.Duration) time.Duration {
	return time.Duration((1 - target) * float64(period)).Round(time.Millisecond)
}

// AverageYear and AverageMonth are the lengths uptime.is and most SLA tables count allowed
// downtime in: the Gregorian calendar's mean year of 365.2425 days, and a twelfth of it.
const (
	AverageYear  = time.Duration(365.2425 * 24 * float64(time.Hour))
	AverageMonth = AverageYear / 12
)

// ParsePeriod reads "2026-10" (a month), "2026-Q4" (a quarter) or "2026" (a year) in loc.
func ParsePeriod(s string, loc *time.Location) (start, end time.Time, err error) {
	bad := fmt.Errorf("period %q: want a month (2026-10), a quarter (2026-Q4) or a year (2026)", s)
	if y, q, ok := strings.Cut(s, "-Q"); ok {
		year, err1 := strconv.Atoi(y)
		n, err2 := strconv.Atoi(q)
		if err1 != nil || err2 != nil || n < 1 || n > 4 || year < 1970 || year > 9999 {
			return start, end, bad
		}
		start = time.Date(year, time.Month(3*(n-1)+1), 1, 0, 0, 0, 0, loc)
		return start, start.AddDate(0, 3, 0), nil
	}
	if len(s) == 4 {
		year, err := strconv.Atoi(s)
		if err != nil || year < 1970 {
			return start, end, bad
		}
		start = time.Date(year, 1, 1, 0, 0, 0, 0, loc)
		return start, start.AddDate(1, 0, 0), nil
	}
	t, err := time.ParseInLocation("2006-01", s, loc)
	if err != nil {
		return start, end, bad
	}
	return t, t.AddDate(0, 1, 0), nil
}

// SLA reports on a service over a period ("2026-10", "2026-Q4", "2026") in loc, reading the
// stored points of the period, so any period still kept can be reported. A period still running
// is reported so far: its slices up to now.
func (e *Engine) SLA(ctx context.Context, incidents IncidentLister, serviceID, period string, loc *time.Location) (SLAReport, error) {
	start, end, err := ParsePeriod(period, loc)
	if err != nil {
		return SLAReport{}, invalid.Field("", "%v", err)
	}
	now := e.clock.Now()
	if start.After(now) {
		return SLAReport{}, invalid.Field("", "period %s has not begun", period)
	}
	// The minutes so far: the minute in progress counts, as in the SLO's own figures.
	upTo := min(unixMinute(end), unixMinute(now)+1)
	r := SLAReport{ServiceID: serviceID, Period: period, TimeZone: loc.String(), Start: start.UTC(), End: end.UTC(), Met: true, SLOs: []SLAEntry{}}
	incs, err := incidentsBetween(ctx, incidents, serviceID, start, end)
	if err != nil {
		return r, err
	}
	for _, d := range e.Definitions() {
		if d.ServiceID != serviceID {
			continue
		}
		get, err := e.periodMinutes(ctx, d, start, end)
		if err != nil {
			return r, err
		}
		s := &series{def: d}
		var a agg
		s.addMinutes(&a, unixMinute(start), upTo, get)
		target := d.SLA
		if target == 0 {
			target = d.Objective
		}
		length := end.Sub(start)
		en := SLAEntry{SLOID: d.ID, Name: d.Name, Objective: d.Objective, Target: target, Achieved: d.sliValue(a),
			EventsTotal: a.total, EventsBad: a.bad}
		soFar := time.Duration(upTo-unixMinute(start)) * time.Minute
		periodSlices := float64(length/time.Minute) / float64(d.Slice)
		en.Met = d.within(a, periodSlices, target)
		down := downtime(d, a, soFar)
		allowed := allowedDowntime(d, a, periodSlices, target, soFar)
		en.DowntimeSeconds, en.Downtime = down.Seconds(), down.String()
		en.AllowedDowntimeSeconds, en.AllowedDowntime = allowed.Seconds(), allowed.String()
		month := AllowedDowntime(target, AverageMonth).Round(time.Second)
		year := AllowedDowntime(target, AverageYear).Round(time.Second)
		en.AllowedDowntimeMonthSeconds, en.AllowedDowntimeMonth = month.Seconds(), month.String()
		en.AllowedDowntimeYearSeconds, en.AllowedDowntimeYear = year.Seconds(), year.String()
		en.Incidents = impacts(d, get, incs, start, end, upTo, periodSlices, target, a)
		if !en.Met {
			r.Met = false
		}
		r.SLOs = append(r.SLOs, en)
	}
	return r, nil
}

func downtime(d *Definition, a agg, length time.Duration) time.Duration {
	slice := time.Duration(d.Slice) * time.Minute
	switch d.Method {
	case config.Timeslices:
		return time.Duration(a.slices-a.goodSlices) * slice
	case config.RatioTimeslices:
		return time.Duration((a.slices - a.ratioSum) * float64(slice)).Round(time.Second)
	}
	return time.Duration(d.errorRatio(a) * float64(length)).Round(time.Second)
}

// allowedDowntime is the downtime target allows, by the rule the error budget follows (see
// allowance): for occurrences a share of the time so far, the time their downtime is measured
// over; for the timeslice methods the allowance's slices, every slice of the period or, when
// slices without data are skipped, the slices with data.
func allowedDowntime(d *Definition, a agg, periodSlices, target float64, soFar time.Duration) time.Duration {
	if d.Method == config.Occurrences {
		return AllowedDowntime(target, soFar)
	}
	slice := time.Duration(d.Slice) * time.Minute
	return time.Duration(d.allowance(a, periodSlices, decimal(1-target)) * float64(slice)).Round(time.Millisecond)
}

// incidentsBetween lists the service's incidents open at any time in [start, end).
func incidentsBetween(ctx context.Context, l IncidentLister, serviceID string, start, end time.Time) ([]incident.Incident, error) {
	var out []incident.Incident
	f := incident.Filter{ServiceIDs: []string{serviceID}, Limit: 1000}
	for pages := 0; pages < 100; pages++ {
		incs, next, err := l.List(ctx, f)
		if err != nil {
			return nil, err
		}
		old := false
		for _, inc := range incs {
			if !inc.CreatedAt.Before(end) {
				continue
			}
			if inc.ResolvedAt != nil && inc.ResolvedAt.Before(start) {
				old = old || inc.CreatedAt.Before(start.AddDate(0, 0, -31))
				continue
			}
			out = append(out, inc)
		}
		if next == "" || old {
			break
		}
		f.Cursor = next
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// periodMinutes reads an SLO's minutes [start, end) from the database.
func (e *Engine) periodMinutes(ctx context.Context, d *Definition, start, end time.Time) (func(int64) minute, error) {
	rows, err := e.loader(d.ID)(ctx, unixMinute(start), unixMinute(end))
	if err != nil {
		return nil, err
	}
	byMinute := make(map[int64]minute, len(rows))
	for _, row := range rows {
		byMinute[row.m] = minute{bad: row.total - row.good, total: row.total}
	}
	return func(m int64) minute { return byMinute[m] }, nil
}

// impacts measures the damage done while each incident was open, up to minute upTo (now), as a
// share of the allowance of target over [start, end), worst first.
func impacts(d *Definition, get func(int64) minute, incs []incident.Incident, start, end time.Time, upTo int64, periodSlices, target float64, period agg) []IncidentImpact {
	s := &series{def: d}
	allowance := d.allowance(period, periodSlices, decimal(1-target))
	out := []IncidentImpact{}
	for _, inc := range incs {
		from := inc.CreatedAt
		if from.Before(start) {
			from = start
		}
		to := end
		if inc.ResolvedAt != nil && inc.ResolvedAt.Before(end) {
			to = *inc.ResolvedAt
		}
		var ia agg
		s.addMinutes(&ia, unixMinute(from), min(unixMinute(to)+1, upTo), get)
		bad := d.bad(ia)
		spent := 0.0
		if allowance > 0 {
			spent = bad / allowance
		}
		out = append(out, IncidentImpact{ID: inc.ID, Title: inc.Title, State: string(inc.State),
			CreatedAt: inc.CreatedAt, ResolvedAt: inc.ResolvedAt, BadEvents: bad, BudgetSpent: spent})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].BadEvents > out[j].BadEvents })
	return out
}

// BudgetPoint is the budget left at one moment of the current period.
type BudgetPoint struct {
	At        time.Time `json:"at"`
	Remaining float64   `json:"remaining"`
}

// History is the current period of an SLO as its page shows it: the budget left as the period
// went on, and the incidents that spent it.
type History struct {
	Start, End time.Time
	Points     []BudgetPoint
	Incidents  []IncidentImpact
}

// History reads the current period from the database and samples the budget left at about
// samples moments, counting from the period's start.
func (e *Engine) History(ctx context.Context, incidents IncidentLister, id string, samples int) (History, error) {
	d, ok := e.Definition(id)
	if !ok {
		return History{}, ErrNotFound
	}
	now := e.clock.Now()
	start, end := d.Window.Period(now)
	get, err := e.periodMinutes(ctx, d, start, end)
	if err != nil {
		return History{}, err
	}
	h := History{Start: start, End: end}
	s := &series{def: d}
	from, nowM := unixMinute(start), min(unixMinute(now)+1, unixMinute(end))
	periodSlices := float64(unixMinute(end)-from) / float64(d.Slice)
	step := max((nowM-from)/int64(max(samples, 1)), int64(d.Slice))
	step -= step % int64(d.Slice)
	var cum agg
	for m := from; m < nowM; m += step {
		s.addMinutes(&cum, m, min(m+step, nowM), get)
		h.Points = append(h.Points, BudgetPoint{At: time.Unix(min(m+step, nowM)*60, 0).UTC(), Remaining: d.remaining(cum, periodSlices)})
	}
	if incidents != nil {
		incs, err := incidentsBetween(ctx, incidents, d.ServiceID, start, end)
		if err != nil {
			return h, err
		}
		for _, im := range impacts(d, get, incs, start, end, nowM, periodSlices, d.Objective, cum) {
			if im.BadEvents > 0 {
				h.Incidents = append(h.Incidents, im)
			}
		}
	}
	return h, nil
}
