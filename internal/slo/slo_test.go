package slo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/slo"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/timers"
)

var schemas = []store.Schema{store.OwnSchema, incident.Schema, alert.Schema, auth.Schema, timers.Schema, slo.Schema}

// harness is a real database, incident service and alert pipeline around an engine.
type harness struct {
	db        *store.DB
	clock     *clock.Fake
	incidents *incident.Service
	pipeline  *alert.Pipeline
	engine    *slo.Engine
}

const services = `
services:
  - id: checkout
  - id: search
`

func newHarness(t *testing.T, db *store.DB, now time.Time, cfgYAML string) *harness {
	t.Helper()
	cfg, err := config.Parse("nines.yaml", []byte(services+cfgYAML))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	h := &harness{db: db, clock: clock.NewFake(now)}
	h.incidents = incident.New(db, h.clock, nil)
	h.pipeline = alert.NewPipeline(db, h.incidents, h.clock, alert.Options{})
	done := make(chan struct{})
	go func() { h.pipeline.Run(); close(done) }()
	t.Cleanup(func() { h.pipeline.Close(); <-done })
	h.engine = slo.NewEngine(db, h.clock, h.pipeline, nil, nil)
	h.engine.Apply(cfg)
	return h
}

func (h *harness) push(t *testing.T, id string, pts ...slo.Point) {
	t.Helper()
	if err := h.engine.Push(context.Background(), id, pts); err != nil {
		t.Fatalf("push: %v", err)
	}
}

func (h *harness) status(t *testing.T, id string) slo.Status {
	t.Helper()
	st, err := h.engine.Status(context.Background(), id)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if _, err := json.Marshal(st); err != nil {
		t.Fatalf("status does not marshal (NaN or Inf somewhere?): %v", err)
	}
	return st
}

func pt(ts string, good, total float64) slo.Point {
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		panic(err)
	}
	return slo.Point{Timestamp: t, Good: good, Total: total}
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.12g, want %.12g", what, got, want)
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPushedCountsGiveTheTrafficWeightedBudget(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db, at("2026-11-22T10:30:00Z"), `
slos:
  - id: checkout-availability
    service: checkout
    objective: 99.9
    window: 30d
    sli:
      events: {source: push}
`)
		h.push(t, "checkout-availability",
			pt("2026-11-22T10:00:00Z", 999, 1000),
			pt("2026-11-22T10:01:00Z", 1000, 1000),
			pt("2026-11-22T10:02:00Z", 2000, 2000))
		st := h.status(t, "checkout-availability")
		// 1 bad of 4000: error ratio 0.00025, a quarter of the 0.001 budget. An average of the
		// three minutes' ratios (0.000333) would say two thirds were left.
		near(t, "error_budget_remaining", st.ErrorBudgetRemaining, 0.75)
		near(t, "sli_value", st.SLIValue, 3999.0/4000)
		near(t, "events_total", st.EventsTotal, 4000)

		// Sending the first point again replaces it; it never counts twice.
		h.push(t, "checkout-availability", pt("2026-11-22T10:00:00Z", 998, 1000))
		st = h.status(t, "checkout-availability")
		near(t, "error_budget_remaining after resend", st.ErrorBudgetRemaining, 0.5)
		near(t, "events_total after resend", st.EventsTotal, 4000)
		// The last hour holds everything: 2/4000 over a 0.001 budget is a burn rate of 0.5.
		near(t, "burn_rates[1h]", st.BurnRates["1h"], 0.5)
		// The 5m window (10:26-10:30) saw no traffic: zero, not NaN.
		near(t, "burn_rates[5m]", st.BurnRates["5m"], 0)
		// Half the budget left at 0.5× over a 30-day window lasts 30 days more.
		if st.ExhaustionAt == nil || !st.ExhaustionAt.Equal(at("2026-12-22T10:30:00Z")) {
			t.Errorf("exhaustion_at = %v, want 2026-12-22T10:30:00Z", st.ExhaustionAt)
		}
	})
}

func TestBudgetingMethodsOnTheSameData(t *testing.T) {
	// Four minutes: all good; 10% bad; all 10 bad; 1% bad. Objective 99%, 1-minute slices, a
	// slice is good at 99% good events, rolling one day (1440 slices).
	data := []slo.Point{
		pt("2026-11-22T10:00:00Z", 1000, 1000),
		pt("2026-11-22T10:01:00Z", 900, 1000),
		pt("2026-11-22T10:02:00Z", 0, 10),
		pt("2026-11-22T10:03:00Z", 99, 100),
	}
	// The 1d window holds 1,440 one-minute slices; the 1h window 60. 1% of 1,440 is 14.4.
	cases := []struct {
		name, method, noData string
		sli, remaining, b1h  float64
	}{
		// 111 bad of 2110 events: ratio 0.0526..., 5.26 budgets spent.
		{"occurrences weigh every event the same", "occurrences", "", 1999.0 / 2110, 1 - 111.0/(0.01*2110), (111.0 / 2110) / 0.01},
		// Slices 2 and 3 are bad, the other 1,438 good (minutes without data count as good).
		{"timeslices count every minute of the window", "timeslices", "", 1 - 2.0/1440, 1 - 2/14.4, (2.0 / 60) / 0.01},
		// Skipping minutes without data: slices 1 and 4 good, 2 and 3 bad: SLI 0.5. Only the four
		// are counted, so the budget is 1% of four slices: 2 / 0.04 spent, 49 budgets over.
		{"timeslices skipping minutes without data count the four", "timeslices", "skip", 0.5, 1 - 2/0.04, 50},
		// Minutes without data count as bad: 1,438 bad slices.
		{"timeslices with minutes without data bad", "timeslices", "bad", 2.0 / 1440, 1 - 1438/14.4, (58.0 / 60) / 0.01},
		// Ratios 1, 0.9, 0, 0.99 and 1,436 ratios of 1: 1.11 slices' worth of badness.
		{"ratio timeslices average each minute's ratio", "ratio_timeslices", "", 1 - 1.11/1440, 1 - 1.11/14.4, (1.11 / 60) / 0.01},
		// Skipping minutes without data: the four ratios average to 0.7225; 1.11 slices' worth of
		// badness against 1% of the four slices counted.
		{"ratio timeslices skipping minutes without data", "ratio_timeslices", "skip", 2.89 / 4, 1 - 1.11/0.04, (1 - 2.89/4) / 0.01},
	}
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				extra := ""
				if c.method == "timeslices" {
					extra = "\n    timeslice_target: 99"
				}
				if c.noData != "" {
					extra += "\n    timeslice_no_data: " + c.noData
				}
				h := newHarness(t, db, at("2026-11-22T10:10:00Z"), `
slos:
  - id: m-`+c.method+`
    service: checkout
    objective: 99
    window: 1d
    budgeting_method: `+c.method+extra+`
    sli: {events: {source: push}}
`)
				h.push(t, "m-"+c.method, data...)
				st := h.status(t, "m-"+c.method)
				if c.noData == "bad" {
					// Every minute of the day is counted: spent many times over.
					near(t, "slices", *st.Slices, 1440)
				}
				near(t, "sli_value", st.SLIValue, c.sli)
				near(t, "error_budget_remaining", st.ErrorBudgetRemaining, c.remaining)
				near(t, "burn_rates[1h]", st.BurnRates["1h"], c.b1h)
			})
		}
	})
}

func TestCalendarMonthAcrossDaylightSavingEnd(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		// October 2026 in Berlin runs from 1 Oct 00:00 CEST to 1 Nov 00:00 CET: 31 days and one
		// hour, 44,700 minutes, since clocks go back on 25 October.
		h := newHarness(t, db, at("2026-10-29T12:00:00Z"), `
slos:
  - id: berlin
    service: checkout
    objective: 99.9
    calendar: month
    time_zone: Europe/Berlin
    budgeting_method: timeslices
    timeslice_target: 99
    sli: {events: {source: push}}
`)
		var pts []slo.Point
		// Ten bad minutes on 2 October (held as hourly sums, far older than the minute ring)...
		for i := 0; i < 10; i++ {
			pts = append(pts, slo.Point{Timestamp: at("2026-10-02T08:00:00Z").Add(time.Duration(i) * time.Minute), Good: 0, Total: 5})
		}
		// ...one the minute before the month began in Berlin (30 Sep 23:59 CEST), not counted...
		pts = append(pts, pt("2026-09-30T21:59:00Z", 0, 5))
		// ...and one good minute as the month began.
		pts = append(pts, pt("2026-09-30T22:00:00Z", 5, 5))
		h.push(t, "berlin", pts...)
		st := h.status(t, "berlin")
		if !st.PeriodStart.Equal(at("2026-09-30T22:00:00Z")) || !st.PeriodEnd.Equal(at("2026-10-31T23:00:00Z")) {
			t.Errorf("period = %s .. %s, want 2026-09-30T22:00Z .. 2026-10-31T23:00Z", st.PeriodStart, st.PeriodEnd)
		}
		// 0.1% of 44,700 minutes is 44.7 minutes; ten are spent.
		near(t, "error_budget_remaining", st.ErrorBudgetRemaining, 1-10/44.7)
		// The slices so far: 28 days and 14 hours, and the minute in progress; the ten bad ones
		// aside, all good (minutes without data count as good).
		near(t, "slices", *st.Slices, 28*1440+14*60+1)
		near(t, "good_slices", *st.GoodSlices, 28*1440+14*60+1-10)
	})
}

func TestRollingWindowEdgeIsExactToTheMinute(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		// A 5-day window at 12:34:30 holds minutes from 5 days before 12:35: the edge falls
		// mid-hour, in history older than the minute ring.
		h := newHarness(t, db, at("2026-11-22T12:34:30Z"), `
slos:
  - id: edge
    service: checkout
    objective: 99
    window: 5d
    sli: {events: {source: push}}
`)
		h.push(t, "edge",
			pt("2026-11-17T12:34:00Z", 0, 100),  // one minute before the window: out
			pt("2026-11-17T12:35:00Z", 90, 100), // first minute of the window: in
			pt("2026-11-17T12:59:59Z", 100, 100),
			pt("2026-11-20T00:00:00Z", 100, 100),
			pt("2026-11-22T12:34:00Z", 100, 100)) // the minute in progress: in
		st := h.status(t, "edge")
		near(t, "events_total", st.EventsTotal, 400)
		near(t, "error_budget_remaining", st.ErrorBudgetRemaining, 1-10/(0.01*400))

		// A late point in an old hour is read again, not added twice.
		h.push(t, "edge", pt("2026-11-17T12:35:00Z", 80, 100))
		st = h.status(t, "edge")
		near(t, "error_budget_remaining after a late correction", st.ErrorBudgetRemaining, 1-20/(0.01*400))

		// An hour later the edge has moved past the first minute.
		h.clock.Advance(time.Hour)
		st = h.status(t, "edge")
		near(t, "events_total an hour later", st.EventsTotal, 200)
	})
}

func TestZeroTrafficIsDefinedEverywhere(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		for _, method := range []string{"occurrences", "timeslices", "ratio_timeslices"} {
			t.Run(method, func(t *testing.T) {
				h := newHarness(t, db, at("2026-11-22T10:00:00Z"), `
slos:
  - id: quiet-`+method+`
    service: search
    objective: 99.9
    budgeting_method: `+method+`
    sli: {events: {source: push}}
`)
				// A minute with zero events is traffic of nothing, not a failure.
				h.push(t, "quiet-"+method, pt("2026-11-22T09:00:00Z", 0, 0))
				st := h.status(t, "quiet-"+method)
				near(t, "sli_value", st.SLIValue, 1)
				near(t, "error_budget_remaining", st.ErrorBudgetRemaining, 1)
				for w, b := range st.BurnRates {
					near(t, "burn_rates["+w+"]", b, 0)
				}
				if st.ExhaustionAt != nil {
					t.Errorf("exhaustion_at = %v, want null", st.ExhaustionAt)
				}
			})
		}
	})
}

func TestObjectivesFromNinetyToFiveNines(t *testing.T) {
	cases := []struct {
		objective       string
		remaining, burn float64
	}{
		{"90", 1 - 1e-4/0.1, 1e-4 / 0.1},
		{"99.9", 1 - 1e-4/0.001, 1e-4 / 0.001},
		// One bad in 10,000 is ten times a 99.999% budget: overspent, negative.
		{"99.999", 1 - 1e-4/1e-5, 1e-4 / 1e-5},
	}
	db := storetest.SQLite(t, schemas)
	for _, c := range cases {
		t.Run("objective "+c.objective, func(t *testing.T) {
			id := "o" + strings.ReplaceAll(c.objective, ".", "-")
			h := newHarness(t, db, at("2026-11-22T10:30:00Z"), `
slos:
  - id: `+id+`
    service: checkout
    objective: `+c.objective+`
    sli: {events: {source: push}}
`)
			h.push(t, id, pt("2026-11-22T10:00:00Z", 9999, 10000))
			st := h.status(t, id)
			near(t, "error_budget_remaining", st.ErrorBudgetRemaining, c.remaining)
			near(t, "burn_rates[1h]", st.BurnRates["1h"], c.burn)
		})
	}
}

func TestPushRefusesBadPointsAndStoresNothing(t *testing.T) {
	db := storetest.SQLite(t, schemas)
	h := newHarness(t, db, at("2026-11-22T10:30:00Z"), `
slos:
  - id: p
    service: checkout
    objective: 99
    sli: {events: {source: push}}
  - id: prom
    service: checkout
    objective: 99
    sli: {prometheus: {url: "http://127.0.0.1:1", good: a, total: b}}
`)
	cases := []struct {
		name, id string
		pts      []slo.Point
		want     string
	}{
		{"good above total", "p", []slo.Point{pt("2026-11-22T10:00:00Z", 1, 1), pt("2026-11-22T10:01:00Z", 5, 4)}, "events[1]: good (5) is more than total (4)"},
		{"negative count", "p", []slo.Point{pt("2026-11-22T10:00:00Z", -1, 4)}, "zero or more"},
		{"no timestamp", "p", []slo.Point{{Good: 1, Total: 1}}, "events[0].timestamp is required"},
		{"far future", "p", []slo.Point{pt("2026-11-22T11:00:00Z", 1, 1)}, "in the future"},
		{"older than retention", "p", []slo.Point{pt("2025-01-01T00:00:00Z", 1, 1)}, "older than"},
		{"two points of one minute", "p", []slo.Point{pt("2026-11-22T10:00:00Z", 1, 1), pt("2026-11-22T10:00:40Z", 1, 1)}, "falls in the minute of events[0]"},
		{"an SLO that reads Prometheus", "prom", []slo.Point{pt("2026-11-22T10:00:00Z", 1, 1)}, "takes no pushed events"},
		{"no points", "p", nil, "at least one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := h.engine.Push(context.Background(), c.id, c.pts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to say %q", err, c.want)
			}
		})
	}
	if st := h.status(t, "p"); st.EventsTotal != 0 {
		t.Errorf("refused pushes stored %v events", st.EventsTotal)
	}
	if err := h.engine.Push(context.Background(), "nope", []slo.Point{pt("2026-11-22T10:00:00Z", 1, 1)}); err != slo.ErrNotFound {
		t.Errorf("unknown slo: err = %v, want ErrNotFound", err)
	}
}

func TestTwoNodesSeeEachOthersPushes(t *testing.T) {
	db := storetest.Postgres(t, schemas)
	a := newHarness(t, db, at("2026-11-22T10:30:00Z"), fastBurnConfig)
	b := newHarness(t, db, at("2026-11-22T10:30:00Z"), fastBurnConfig)
	// Both nodes have read the (empty) series before the push lands on a.
	near(t, "b before", b.status(t, "checkout-availability").EventsTotal, 0)
	a.push(t, "checkout-availability", pt("2026-11-22T10:00:00Z", 999, 1000))
	b.clock.Advance(10 * time.Second)
	if err := b.engine.Round(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	st := b.status(t, "checkout-availability")
	near(t, "events seen by b", st.EventsTotal, 1000)
	near(t, "budget seen by b", st.ErrorBudgetRemaining, 0)
}

func TestPeriodsOfEachWindowKind(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	anchor := time.Date(2022, 1, 1, 12, 0, 0, 0, ny)
	cases := []struct {
		name       string
		w          slo.Window
		now        string
		start, end string
	}{
		{"a rolling window ends with the minute in progress", slo.Window{Rolling: true, Length: 24 * time.Hour},
			"2026-11-22T10:30:30Z", "2026-11-21T10:31:00Z", "2026-11-22T10:31:00Z"},
		{"a quarter in UTC", slo.Window{Calendar: "quarter", Loc: time.UTC},
			"2026-11-22T10:30:00Z", "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{"a month in New York across the November change", slo.Window{Calendar: "month", Loc: ny},
			"2026-11-22T10:30:00Z", "2026-11-01T04:00:00Z", "2026-12-01T05:00:00Z"},
		{"fixed weeks count from their anchor", slo.Window{Calendar: "fixed", Loc: ny, Length: 7 * 24 * time.Hour, Anchor: anchor},
			"2026-11-22T10:30:00Z", "2026-11-21T17:00:00Z", "2026-11-28T17:00:00Z"},
		{"a moment before the anchor falls in the week before it", slo.Window{Calendar: "fixed", Loc: ny, Length: 7 * 24 * time.Hour, Anchor: anchor},
			"2021-12-30T00:00:00Z", "2021-12-25T17:00:00Z", "2022-01-01T17:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start, end := c.w.Period(at(c.now))
			if !start.Equal(at(c.start)) || !end.Equal(at(c.end)) {
				t.Errorf("period = %s .. %s, want %s .. %s", start, end, c.start, c.end)
			}
		})
	}
}

func TestHistoryShowsTheBudgetSpentAsThePeriodWentOn(t *testing.T) {
	db := storetest.SQLite(t, schemas)
	h := newHarness(t, db, at("2026-11-04T00:00:00Z"), `
slos:
  - id: monthly
    service: checkout
    objective: 99
    calendar: month
    sli: {events: {source: push}}
`)
	// Clean first day, then a day at 0.5% errors, then a day at 2%.
	h.push(t, "monthly", pt("2026-11-01T12:00:00Z", 1000, 1000), pt("2026-11-02T12:00:00Z", 995, 1000), pt("2026-11-03T12:00:00Z", 980, 1000))
	hist, err := h.engine.History(context.Background(), h.incidents, "monthly", 3)
	if err != nil {
		t.Fatal(err)
	}
	// One point per day, and one for the minute in progress.
	if len(hist.Points) != 4 {
		t.Fatalf("%d points, want one per day and now: %+v", len(hist.Points), hist.Points)
	}
	// Budget left, counted from the month's start: 1; 1 - 5/(0.01*2000) = 0.75; 1 - 25/30 = 1/6.
	for i, want := range []float64{1, 0.75, 1 - 25.0/30} {
		near(t, fmt.Sprintf("remaining after day %d", i+1), hist.Points[i].Remaining, want)
	}
	if !hist.Points[3].At.Equal(at("2026-11-04T00:01:00Z")) {
		t.Errorf("last point at %s, want the end of the minute in progress", hist.Points[3].At)
	}
}
