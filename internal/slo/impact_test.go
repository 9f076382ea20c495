package slo_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/timers"
)

var impactSchemas = append(append([]store.Schema{}, schemas...), change.Schema, postmortem.Schema)

// impactConfig gives checkout an events SLO with an SLA, one without traffic or SLA, and a
// time-slice SLO on a calendar month; search's SLO must stay out of checkout's postmortem.
const impactConfig = `
slos:
  - id: checkout-availability
    service: checkout
    objective: 99
    window: 30d
    sla: 98.5
    sli: {events: {source: push}}
  - id: checkout-latency
    service: checkout
    objective: 95
    window: 30d
    sli: {events: {source: push}}
  - id: checkout-uptime
    service: checkout
    objective: 99.9
    calendar: month
    budgeting_method: timeslices
    timeslice: 5m
    timeslice_target: 99
    sla: 99.5
    sli: {events: {source: push}}
  - id: search-availability
    service: search
    objective: 99
    window: 30d
    sli: {events: {source: push}}
`

// newPostmortems puts the postmortem service on the harness, with the engine as its SLO source.
func newPostmortems(t *testing.T, h *harness, cfgYAML string) *postmortem.Service {
	t.Helper()
	cfg, err := config.Parse("nines.yaml", []byte(services+cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	runner := timers.NewRunner(h.db, h.clock, nil)
	pm, err := postmortem.New(h.db, h.incidents, change.New(h.db, h.incidents, h.clock), config.NewLive(cfg), runner, h.clock,
		postmortem.Options{SLO: h.engine, Publisher: noPages{}})
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

func TestThePostmortemReportsEachSLOsBudgetAndSLAForTheImpactWindow(t *testing.T) {
	storetest.Each(t, impactSchemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		day := at("2026-11-20T00:00:00Z")
		clockAt := func(h *harness, hhmm string) {
			d, _ := time.ParseDuration(strings.Replace(hhmm, ":", "h", 1) + "m")
			h.clock.Set(day.Add(d))
		}
		h := newHarness(t, db, day.Add(9*time.Hour), impactConfig)
		pm := newPostmortems(t, h, impactConfig)
		actor := incident.Actor{Name: "user:alice", Source: "web"}

		// Checkout fails from 09:20; the first alert comes at 09:32, the fix at 10:05, and the
		// impact start is set to 09:20 afterwards.
		clockAt(h, "09:32")
		res, err := h.pipeline.Submit(ctx, alert.Target{ServiceID: "checkout", Integration: "events_v2", Grouping: "alert"},
			[]alert.Event{{Action: alert.Trigger, DedupKey: "checkout-errors", Summary: "Checkout 5xx above 1%", Source: "prometheus", Severity: "critical"}})
		if err != nil {
			t.Fatal(err)
		}
		id := res[0].IncidentID
		clockAt(h, "10:05")
		if _, err := h.incidents.Resolve(ctx, id, actor); err != nil {
			t.Fatal(err)
		}
		clockAt(h, "10:06")
		if _, err := h.incidents.SetImpactStart(ctx, id, day.Add(9*time.Hour+20*time.Minute), actor); err != nil {
			t.Fatal(err)
		}

		// The counts arrive late, as a batch exporter sends them.
		clockAt(h, "10:40")
		h.push(t, "checkout-availability", pt("2026-11-20T08:00:00Z", 8000, 8000), pt("2026-11-20T08:30:00Z", 900, 1000),
			pt("2026-11-20T10:30:00Z", 4000, 5000)) // after the impact: outside the window and the incident
		h.push(t, "checkout-availability", minutes(day.Add(9*time.Hour+20*time.Minute), 10, 95, 100)...)
		// 2,000 good minutes since 2026-11-19 00:00 are 400 good 5-minute slices; 09:20-09:29 are
		// 2 bad slices; 09:40 at exactly 99% keeps its slice good.
		h.push(t, "checkout-uptime", minutes(at("2026-11-19T00:00:00Z"), 2000, 10, 10)...)
		h.push(t, "checkout-uptime", minutes(day.Add(9*time.Hour+20*time.Minute), 10, 0, 10)...)
		h.push(t, "checkout-uptime", pt("2026-11-20T09:40:00Z", 99, 100))
		h.push(t, "search-availability", minutes(day.Add(9*time.Hour+20*time.Minute), 10, 0, 100)...)

		if _, _, err := pm.Draft(ctx, id, actor); err != nil {
			t.Fatal(err)
		}
		doc, err := pm.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}

		got := doc.Impact.SLOs
		if len(got) != 3 {
			t.Fatalf("impact has %d SLOs (%+v), want checkout's three", len(got), got)
		}
		// checkout-availability: 50 bad events in the incident; the 30d window ending 10:05 holds
		// 10,000 events, so the 1% budget allows 100: half of it. November so far: 1,150 bad of
		// 15,000 is 92.33%, under the 98.5% SLA.
		// checkout-latency: no traffic, nothing consumed, no SLA.
		// checkout-uptime: 2 bad slices of the 8,640 of November, whose 0.1% budget allows 8.64:
		// 23.15%; 401 good of 403 slices with data is 99.504%, above the 99.5% SLA; 2 bad slices
		// are 10 minutes down.
		want := []struct {
			slo      string
			consumed float64
			sla      string
			breached *bool
			downtime *int64
		}{
			{"checkout-availability", 0.5, "98.5% in 2026-11", ptr(true), nil},
			{"checkout-latency", 0, "", nil, nil},
			{"checkout-uptime", 2 / 8.64, "99.5% in 2026-11", ptr(false), ptr(int64(600))},
		}
		for i, w := range want {
			g := got[i]
			if g.SLO != w.slo {
				t.Errorf("SLO %d = %s, want %s", i, g.SLO, w.slo)
				continue
			}
			near(t, w.slo+" budget consumed", g.BudgetConsumed, w.consumed)
			if g.SLA != w.sla || !sameBool(g.SLABreached, w.breached) {
				t.Errorf("%s: SLA %q breached %v, want %q breached %v", w.slo, g.SLA, deref(g.SLABreached), w.sla, deref(w.breached))
			}
			if (g.DowntimeSeconds == nil) != (w.downtime == nil) || (w.downtime != nil && *g.DowntimeSeconds != *w.downtime) {
				t.Errorf("%s: downtime %v, want %v", w.slo, deref(g.DowntimeSeconds), deref(w.downtime))
			}
		}

		// The verdict is the SLA report's for the month it names.
		report, err := h.engine.SLA(ctx, h.incidents, "checkout", "2026-11", time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range report.SLOs {
			for _, g := range got {
				if g.SLO == en.SLOID && g.SLABreached != nil && *g.SLABreached == en.Met {
					t.Errorf("%s: postmortem says breached=%v, the SLA report says met=%v", g.SLO, *g.SLABreached, en.Met)
				}
			}
		}

		md := string(must(doc.Markdown()))
		wantMD := `- Duration: 45m
- Downtime: 10m
- SLO error budget consumed: 50% of checkout-availability
- SLA breached: yes (98.5% in 2026-11)
- SLO error budget consumed: 0% of checkout-latency
- SLA breached: no SLA declared
- SLO error budget consumed: 23.1% of checkout-uptime
- SLA breached: no (99.5% in 2026-11)
`
		if !strings.Contains(md, wantMD) {
			t.Errorf("markdown impact lacks\n%s\ngot:\n%s", wantMD, md)
		}
		if html := string(must(doc.HTML())); !strings.Contains(html, "<dd>23.1% of checkout-uptime</dd>") {
			t.Errorf("HTML impact lacks the time-slice SLO:\n%s", html)
		}
		if _, err := json.Marshal(doc); err != nil {
			t.Errorf("postmortem does not marshal (NaN somewhere?): %v", err)
		}
	})
}

func TestImpactIsMeasuredAgainstTheWindowInForceWhenTheImpactEnded(t *testing.T) {
	// A time-slice SLO on a calendar month, 1m slices, 99% objective: November's 43,200 slices
	// allow 432 bad ones.
	const cfg = `
slos:
  - id: uptime
    service: checkout
    objective: 99
    calendar: month
    budgeting_method: timeslices
    timeslice_target: 99
    sli: {events: {source: push}}
  - id: requests
    service: checkout
    objective: 99
    window: 1h
    sla: 90
    sli: {events: {source: push}}
`
	cases := []struct {
		name     string
		from, to string
		// points are pushed to both SLOs: one bad minute at each time.
		bad      []string
		uptime   float64
		requests float64
		breached bool
	}{
		{"an incident across the month's end counts only the minutes of the month it ended in",
			"2026-10-31T23:50:00Z", "2026-11-01T00:10:00Z", []string{"2026-10-31T23:55:00Z", "2026-11-01T00:05:00Z"},
			1.0 / 432, 100, true},
		{"minutes the impact only partly covers count, minutes after its end do not",
			"2026-11-02T10:00:30Z", "2026-11-02T10:02:00Z", []string{"2026-11-02T10:00:00Z", "2026-11-02T10:01:00Z", "2026-11-02T10:02:00Z"},
			2.0 / 432, 100, true},
		{"a window without traffic has consumed nothing",
			"2026-11-03T10:00:00Z", "2026-11-03T11:00:00Z", nil,
			0, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
				h := newHarness(t, db, at("2026-11-04T00:00:00Z"), cfg)
				for _, b := range c.bad {
					h.push(t, "uptime", pt(b, 0, 1))
					h.push(t, "requests", pt(b, 0, 1))
				}
				got, err := h.engine.Impact(context.Background(), "checkout", at(c.from), at(c.to))
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 2 || got[0].SLO != "requests" || got[1].SLO != "uptime" {
					t.Fatalf("figures = %+v, want requests and uptime", got)
				}
				near(t, "uptime budget consumed", got[1].BudgetConsumed, c.uptime)
				near(t, "requests budget consumed", got[0].BudgetConsumed, c.requests)
				if measured := got[1].DowntimeSeconds != nil; measured != (c.bad != nil) {
					t.Errorf("uptime downtime = %v, want one only when the impact saw traffic", deref(got[1].DowntimeSeconds))
				}
				if got[0].SLABreached == nil || *got[0].SLABreached != c.breached {
					t.Errorf("requests SLA breached = %v, want %v", deref(got[0].SLABreached), c.breached)
				}
			})
		})
	}
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func sameBool(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// noPages is a nines without status pages: nothing takes a public report.
type noPages struct{}

func (noPages) PublishPostmortem(context.Context, postmortem.PublicReport, incident.Actor) ([]string, error) {
	return nil, postmortem.ErrNoStatusPage
}
