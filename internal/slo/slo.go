// Package slo measures service level objectives: it keeps per-minute good/total counts for each
// SLO (pushed by clients, read from Prometheus or from nines' own monitors), computes error
// budgets and burn rates as the Google SRE workbook defines them, pages through the alert
// pipeline on fast burns, and answers release-gate and SLA questions from the same figures.
//
// The arithmetic is traffic-weighted everywhere: a window's error ratio is the sum of bad events
// over the sum of events, never an average of per-interval ratios, and a window without traffic
// has an error ratio of zero rather than NaN.
package slo

import (
	"math"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// Definition is an SLO as the engine uses it, resolved from config.
type Definition struct {
	ID          string
	ServiceID   string
	Name        string
	Description string
	// Objective is a fraction (0.999).
	Objective float64
	Method    string // config.Occurrences, config.Timeslices, config.RatioTimeslices
	// Slice is the length of a time slice in minutes (timeslice methods).
	Slice int
	// SliceTarget is the share of good events that makes a slice good (timeslices).
	SliceTarget float64
	// NoData is how a slice without data counts: config.NoDataGood, NoDataBad or NoDataSkip.
	NoData string
	Window Window
	// SLA is the looser customer-facing target as a fraction; 0 when none.
	SLA    float64
	Source Source
	Alerts AlertRules
	// Rev changes when anything that shapes the stored series changes.
	rev string
}

// Budget is the share of events (or time) allowed to fail: 1 - objective.
func (d *Definition) Budget() float64 { return decimal(1 - d.Objective) }

// decimal drops the binary noise of percent arithmetic (99.9/100 is 0.9990000000000001), so
// figures read as the config wrote them: objectives have far fewer than 12 decimals.
func decimal(f float64) float64 { return math.Round(f*1e12) / 1e12 }

// Source says where an SLO's counts come from.
type Source struct {
	Kind       string // "push", "probe", "prometheus"
	Probe      string
	Latency    *config.LatencySLI
	Prometheus *config.PrometheusSLI
}

// Window is a rolling window of Length, or a calendar window (month, quarter, year, or a fixed
// length from an anchor) in a time zone.
type Window struct {
	Rolling  bool
	Length   time.Duration
	Calendar string
	Loc      *time.Location
	Anchor   time.Time
}

// String names the window as config writes it.
func (w Window) String() string {
	if w.Rolling {
		return config.FormatDuration(w.Length)
	}
	if w.Calendar == config.CalendarFixed {
		return "calendar " + config.FormatDuration(w.Length) + " (" + w.Loc.String() + ")"
	}
	return "calendar " + w.Calendar + " (" + w.Loc.String() + ")"
}

// Period is the window in force at t: [Start, End). For a rolling window End is t's minute end
// and Start is Length before it.
func (w Window) Period(t time.Time) (start, end time.Time) {
	if w.Rolling {
		end = t.Truncate(time.Minute).Add(time.Minute)
		return end.Add(-w.Length), end
	}
	lt := t.In(w.Loc)
	switch w.Calendar {
	case config.CalendarMonth:
		start = time.Date(lt.Year(), lt.Month(), 1, 0, 0, 0, 0, w.Loc)
		end = start.AddDate(0, 1, 0)
	case config.CalendarQuarter:
		q := (int(lt.Month()) - 1) / 3 * 3
		start = time.Date(lt.Year(), time.Month(q+1), 1, 0, 0, 0, 0, w.Loc)
		end = start.AddDate(0, 3, 0)
	case config.CalendarYear:
		start = time.Date(lt.Year(), 1, 1, 0, 0, 0, 0, w.Loc)
		end = start.AddDate(1, 0, 0)
	default:
		k := t.Sub(w.Anchor) / w.Length
		if t.Before(w.Anchor) && t.Sub(w.Anchor)%w.Length != 0 {
			k--
		}
		start = w.Anchor.Add(k * w.Length)
		end = start.Add(w.Length)
	}
	return start.UTC(), end.UTC()
}

// MaxLength is the longest a period of the window can be, which bounds what must be kept.
func (w Window) MaxLength() time.Duration {
	if w.Rolling || w.Calendar == config.CalendarFixed {
		return w.Length
	}
	switch w.Calendar {
	case config.CalendarMonth:
		return 31*24*time.Hour + time.Hour
	case config.CalendarQuarter:
		return 92*24*time.Hour + time.Hour
	}
	return 366*24*time.Hour + time.Hour
}

// FromConfig resolves a validated config SLO.
func FromConfig(c *config.SLO) *Definition {
	d := &Definition{ID: c.ID, ServiceID: c.Service, Name: c.Name, Description: c.Description,
		Objective: decimal(c.Objective / 100), Method: c.BudgetingMethod, Slice: 1, SLA: decimal(c.SLA / 100)}
	if d.Method != config.Occurrences {
		d.Slice = int(c.Timeslice.D() / time.Minute)
	}
	if d.Method == config.Timeslices {
		d.SliceTarget = decimal(c.TimesliceTarget / 100)
	}
	if d.Method != config.Occurrences {
		d.NoData = c.TimesliceNoData
		if d.NoData == "" {
			d.NoData = config.NoDataGood
		}
	}
	if c.Calendar == "" {
		d.Window = Window{Rolling: true, Length: c.Window.D()}
	} else {
		d.Window = Window{Calendar: c.Calendar, Loc: c.Location(), Length: c.Window.D(), Anchor: c.CalendarAnchor}
	}
	switch {
	case c.SLI.Prometheus != nil:
		d.Source = Source{Kind: "prometheus", Prometheus: c.SLI.Prometheus}
	case c.SLI.Probe != "":
		d.Source = Source{Kind: "probe", Probe: c.SLI.Probe, Latency: c.SLI.Latency}
	default:
		d.Source = Source{Kind: "push"}
	}
	d.Alerts = rulesFor(d, &c.Alerts)
	d.rev = d.Method + "|" + itoa(int64(d.Slice)) + "|" + ftoa(d.SliceTarget) + "|" + d.NoData + "|" + d.Window.String() + "|" + ftoa(d.Window.Length.Minutes())
	return d
}

// agg sums a stretch of minutes.
type agg struct {
	bad, total float64 // events
	// Timeslice methods: the slices counted (every slice, or only those with data when slices
	// without data are skipped), the good slices among them, the sum of each slice's good ratio
	// (ratio_timeslices), and how many of them had data.
	slices, goodSlices, ratioSum, withData float64
}

func (a *agg) add(b agg) {
	a.bad += b.bad
	a.total += b.total
	a.slices += b.slices
	a.goodSlices += b.goodSlices
	a.ratioSum += b.ratioSum
	a.withData += b.withData
}

// errorRatio is the share of bad in a, by the SLO's method; zero without data.
func (d *Definition) errorRatio(a agg) float64 {
	switch d.Method {
	case config.Timeslices:
		if a.slices == 0 {
			return 0
		}
		return (a.slices - a.goodSlices) / a.slices
	case config.RatioTimeslices:
		if a.slices == 0 {
			return 0
		}
		return clamp01(1 - a.ratioSum/a.slices)
	}
	if a.total <= 0 {
		return 0
	}
	return clamp01(a.bad / a.total)
}

// events is how many events (or slices with data) a holds: what the minimum-traffic guard counts.
func (d *Definition) events(a agg) float64 {
	if d.Method == config.Occurrences {
		return a.total
	}
	return a.withData
}

// bad is what a spends of the budget: bad events (occurrences), bad slices (timeslices), or the
// bad share summed over slices (ratio_timeslices).
func (d *Definition) bad(a agg) float64 {
	switch d.Method {
	case config.Timeslices:
		return a.slices - a.goodSlices
	case config.RatioTimeslices:
		return a.slices - a.ratioSum
	}
	return a.bad
}

// burnRate is the error ratio over the budget: 1 spends the budget exactly over the window.
func (d *Definition) burnRate(a agg) float64 { return d.errorRatio(a) / d.Budget() }

// allowance is how much bad a budget (a share: 1 − objective, or 1 − SLA) allows in a, in the
// unit d.bad counts. One rule for the budget, the gate, SLA reports and postmortems:
// occurrences allow a share of the events counted so far; the timeslice methods budget time, so
// they allow a share of every slice of the period (periodSlices), except when slices without
// data are skipped: those are never counted, so the allowance is a share of the slices counted,
// the slices with data.
func (d *Definition) allowance(a agg, periodSlices, budget float64) float64 {
	switch {
	case d.Method == config.Occurrences:
		return budget * a.total
	case d.NoData == config.NoDataSkip:
		return budget * a.slices
	}
	return budget * periodSlices
}

// remaining is the share of the period's error budget left: 1 untouched, 0 spent, negative
// overspent; 1 while nothing is counted.
func (d *Definition) remaining(a agg, periodSlices float64) float64 {
	allowed := d.allowance(a, periodSlices, d.Budget())
	if allowed <= 0 {
		return 1
	}
	return 1 - d.bad(a)/allowed
}

// within reports whether the bad of a fits the allowance of target (a fraction) over a period
// of periodSlices: an SLA is met while it does, by the rule the error budget follows.
func (d *Definition) within(a agg, periodSlices, target float64) bool {
	allowed := d.allowance(a, periodSlices, decimal(1-target))
	return d.bad(a) <= allowed+1e-9*max(1, allowed)
}

// sliValue is the share of good over the period; 1 when there is no data yet.
func (d *Definition) sliValue(a agg) float64 { return 1 - d.errorRatio(a) }

func clamp01(x float64) float64 {
	switch {
	case x < 0 || math.IsNaN(x):
		return 0
	case x > 1:
		return 1
	}
	return x
}
