package slo

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/postmortem"
)

var _ postmortem.SLOImpact = (*Engine)(nil)

// Impact measures what an incident's impact window [from, to) cost each SLO of a service, as
// its postmortem reports it.
//
// The budget consumed is the incident's bad events over the allowance of the SLO window in force
// when the impact ended (the rolling window ending then, or the calendar period holding that
// moment): bad / (budget × events of that window), traffic-weighted like the rest of the
// package. A window without traffic has consumed nothing. The timeslice methods budget time, so
// there it is bad slices / (budget × slices of the whole window). Minutes the incident touches
// count, clipped to the window.
//
// The SLA, when the SLO declares one, is judged as `nines report sla` judges it, over the
// calendar month (a quarter for SLOs with a quarterly calendar) holding the end of the impact,
// in the SLO's time zone: so far, if that period is still running.
func (e *Engine) Impact(ctx context.Context, serviceID string, from, to time.Time) ([]postmortem.SLOFigures, error) {
	var out []postmortem.SLOFigures
	for _, d := range e.Definitions() {
		if d.ServiceID != serviceID {
			continue
		}
		f, err := e.impact(ctx, d, from, to)
		if err != nil {
			return nil, fmt.Errorf("slo %s: %w", d.ID, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func (e *Engine) impact(ctx context.Context, d *Definition, from, to time.Time) (postmortem.SLOFigures, error) {
	f := postmortem.SLOFigures{SLO: d.ID}
	// The last instant of the impact names its window: an end on 10:05:00 lies in the minute
	// before it, not the one after.
	last := to
	if to.After(from) {
		last = to.Add(-time.Millisecond)
	}
	ws, we := d.Window.Period(last)
	wsM, weM := unixMinute(ws), unixMinute(we)
	ps, pe, period := slaPeriod(d, last)
	psM, peM := unixMinute(ps), unixMinute(pe)
	if d.SLA == 0 {
		psM, peM = wsM, weM
	}
	sum, err := e.summer(ctx, d, min(wsM, psM), max(weM, peM))
	if err != nil {
		return f, err
	}
	window, err := sum(wsM, weM)
	if err != nil {
		return f, err
	}
	var inc agg
	if m0, m1 := max(floorDiv(from.UnixMilli(), 60000), wsM), min(floorDiv(to.UnixMilli()+59999, 60000), weM); m0 < m1 {
		if inc, err = sum(m0, m1); err != nil {
			return f, err
		}
	}
	allowance := d.allowance(window, float64(weM-wsM)/float64(d.Slice), d.Budget())
	if d.Method != config.Occurrences {
		// Bad slices are bad time, but only where the SLI saw traffic: silence measures nothing.
		if inc.withData > 0 {
			down := int64(math.Round(d.bad(inc) * float64(d.Slice) * 60))
			f.DowntimeSeconds = &down
		}
	}
	if allowance > 0 {
		f.BudgetConsumed = d.bad(inc) / allowance
	}

	if d.SLA > 0 {
		// So far: slices still to come are not judged yet.
		a, err := sum(psM, min(peM, unixMinute(e.clock.Now())+1))
		if err != nil {
			return f, err
		}
		breached := !d.within(a, float64(peM-psM)/float64(d.Slice), d.SLA)
		f.SLA = fmt.Sprintf("%s%% in %s", ftoa(decimal(d.SLA*100)), period)
		f.SLABreached = &breached
	}
	return f, nil
}

// summer returns what adds up an SLO's minutes [m0, m1) within [from, to) as its method judges
// them. Events add up whatever the minute, so for occurrences the database sums them without
// sending a row per minute; time slices are judged one by one from the minutes, read once.
func (e *Engine) summer(ctx context.Context, d *Definition, from, to int64) (func(m0, m1 int64) (agg, error), error) {
	if d.Method == config.Occurrences {
		return func(m0, m1 int64) (agg, error) {
			var a agg
			err := e.db.QueryRow(ctx, `SELECT COALESCE(SUM(total - good), 0), COALESCE(SUM(total), 0) FROM slo_points
				WHERE slo_id = ? AND at >= ? AND at < ?`, d.ID, m0*60000, m1*60000).Scan(&a.bad, &a.total)
			return a, err
		}, nil
	}
	rows, err := e.loader(d.ID)(ctx, from, to)
	if err != nil {
		return nil, err
	}
	mins := make([]minute, to-from)
	for _, r := range rows {
		mins[r.m-from] = minute{bad: r.total - r.good, total: r.total}
	}
	s := &series{def: d}
	return func(m0, m1 int64) (agg, error) {
		var a agg
		s.addMinutes(&a, m0, m1, func(m int64) minute { return mins[m-from] })
		return a, nil
	}, nil
}

// slaPeriod is the calendar period an SLA report would cover for t, and its name as
// `nines report sla` takes it (2026-11, 2026-Q4).
func slaPeriod(d *Definition, t time.Time) (start, end time.Time, name string) {
	loc := d.Window.Loc
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	if d.Window.Calendar == config.CalendarQuarter {
		q := (int(lt.Month()) - 1) / 3
		start = time.Date(lt.Year(), time.Month(3*q+1), 1, 0, 0, 0, 0, loc)
		return start, start.AddDate(0, 3, 0), fmt.Sprintf("%d-Q%d", lt.Year(), q+1)
	}
	start = time.Date(lt.Year(), lt.Month(), 1, 0, 0, 0, 0, loc)
	return start, start.AddDate(0, 1, 0), lt.Format("2006-01")
}
