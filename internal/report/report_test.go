package report_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/report"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

const cfgYAML = `
services:
  - id: checkout
    team: payments
  - id: search
    team: discovery
`

func nov(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, time.UTC) }

type fixture struct {
	reports *report.Service
	ids     map[string]int64
}

// week plays the first week of November 2026 (Sunday 1st to Saturday 7th):
//
//	A checkout  critical  alert Mon 2 10:00 (x3)  impact 09:50  ack 10:05  resolved 10:30
//	B checkout  warning   alert Tue 3 14:00       impact 13:40  ack 14:10  resolved 16:00
//	C search    declared SEV2  Wed 4 02:00        impact 01:30  ack 02:20  resolved 03:00
//	D search    error     alert Thu 5 22:00       (no impact)   (no ack)   resolved 22:15
//	E checkout  info, low urgency  Fri 6 09:00    still open
//
// and these deploys (commit -> deploy):
//
//	checkout d1 Mon 2 08:45 -> 09:45   A follows within 24h: failed
//	checkout d2 Sun 1 11:00 -> Tue 3 11:00   B follows: failed
//	checkout d3 Wed 4 09:30 -> 10:00   nothing within 24h
//	checkout d4 (no commit time)  Thu 5 10:00   E follows 23h later: failed
//	checkout d5 Sat 7 09:00 -> 10:00   nothing follows
//	search   s1 Wed 4 01:00            C follows: failed
//	checkout a config change (not a deploy) on Tue 3
func week(t *testing.T, db *store.DB) fixture {
	ctx := context.Background()
	cfg, err := config.Parse("nines.yaml", []byte(cfgYAML))
	if err != nil {
		t.Fatal(err)
	}
	live := config.NewLive(cfg)
	clk := clock.NewFake(nov(1, 0, 0))
	incs := incident.New(db, clk, nil)
	pipe := alert.NewPipeline(db, incs, clk, alert.Options{})
	go pipe.Run()
	t.Cleanup(pipe.Close)
	changes := change.New(db, incs, clk)
	person := incident.Actor{Name: "user:alice", Source: "api"}
	ci := incident.Actor{Name: "token:ci", Source: "api"}
	f := fixture{reports: report.New(incs, pipe, changes, live), ids: map[string]int64{}}

	deploy := func(svc, version string, commit *time.Time, at time.Time) {
		t.Helper()
		if _, err := changes.Record(ctx, change.Change{ServiceID: svc, Kind: change.KindDeploy, Version: version, CommitAt: commit, At: at, Summary: version}, ci); err != nil {
			t.Fatal(err)
		}
	}
	ptr := func(t time.Time) *time.Time { return &t }
	deploy("checkout", "d1", ptr(nov(2, 8, 45)), nov(2, 9, 45))
	deploy("checkout", "d2", ptr(nov(1, 11, 0)), nov(3, 11, 0))
	deploy("checkout", "d3", ptr(nov(4, 9, 30)), nov(4, 10, 0))
	deploy("checkout", "d4", nil, nov(5, 10, 0))
	deploy("checkout", "d5", ptr(nov(7, 9, 0)), nov(7, 10, 0))
	deploy("search", "s1", nil, nov(4, 1, 0))
	if _, err := changes.Record(ctx, change.Change{ServiceID: "checkout", Kind: change.KindChange, Summary: "feature flag", At: nov(3, 12, 0)}, ci); err != nil {
		t.Fatal(err)
	}

	trigger := func(name, svc, key, severity, urgency string) int64 {
		t.Helper()
		res, err := pipe.Submit(ctx, alert.Target{ServiceID: svc, Integration: "events_v2", Grouping: "alert", Urgency: urgency},
			[]alert.Event{{Action: alert.Trigger, DedupKey: key, Summary: name + " " + key, Source: "test", Severity: severity}})
		if err != nil {
			t.Fatal(err)
		}
		if name != "" {
			f.ids[name] = res[0].IncidentID
		}
		return res[0].AlertID
	}
	step := func(at time.Time, fn func() error) {
		t.Helper()
		clk.Set(at)
		if err := fn(); err != nil {
			t.Fatal(err)
		}
	}
	ack := func(name string) func() error {
		return func() error { _, err := incs.Acknowledge(ctx, f.ids[name], person); return err }
	}
	resolve := func(name string) func() error {
		return func() error { _, err := incs.Resolve(ctx, f.ids[name], person); return err }
	}
	impact := func(name string, at time.Time) func() error {
		return func() error { _, err := incs.SetImpactStart(ctx, f.ids[name], at, person); return err }
	}
	var alertA, alertD int64
	step(nov(2, 10, 0), func() error { alertA = trigger("A", "checkout", "checkout-latency", "critical", ""); return nil })
	step(nov(2, 10, 1), func() error { trigger("", "checkout", "checkout-latency", "critical", ""); return nil })
	step(nov(2, 10, 2), func() error { trigger("", "checkout", "checkout-latency", "critical", ""); return nil })
	step(nov(2, 10, 5), ack("A"))
	step(nov(2, 10, 30), resolve("A"))
	step(nov(2, 10, 31), impact("A", nov(2, 9, 50)))
	step(nov(3, 14, 0), func() error { trigger("B", "checkout", "checkout-errors", "warning", ""); return nil })
	step(nov(3, 14, 10), ack("B"))
	step(nov(3, 16, 0), resolve("B"))
	step(nov(3, 16, 1), impact("B", nov(3, 13, 40)))
	step(nov(4, 2, 0), func() error {
		inc, err := incs.Declare(ctx, incident.DeclareParams{ServiceID: "search", Title: "C", SEV: "SEV2", ImpactStartedAt: ptr(nov(4, 1, 30)), Actor: person}, cfg)
		f.ids["C"] = inc.ID
		return err
	})
	step(nov(4, 2, 20), ack("C"))
	step(nov(4, 3, 0), resolve("C"))
	step(nov(5, 22, 0), func() error { alertD = trigger("D", "search", "search-down", "error", ""); return nil })
	step(nov(5, 22, 15), resolve("D"))
	step(nov(6, 9, 0), func() error { trigger("E", "checkout", "checkout-latency", "info", "low"); return nil })
	step(nov(7, 12, 0), func() error {
		if err := pipe.MarkActionable(ctx, f.ids["A"], []int64{alertA}, true, person); err != nil {
			return err
		}
		return pipe.MarkActionable(ctx, f.ids["D"], []int64{alertD}, false, person)
	})
	return f
}

func fptr(v float64) *float64 { return &v }

func same(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	d := *a - *b
	return d < 1e-9 && d > -1e-9
}

func show(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestIncidentMetricsMatchTheHandComputedFixture(t *testing.T) {
	storetest.Each(t, []store.Schema{incident.Schema, alert.Schema, change.Schema}, func(t *testing.T, db *store.DB) {
		f := week(t, db)
		cases := []struct {
			name             string
			scope            report.Scope
			n, open          int
			mttd, mtta, mttr *float64
			counted          report.Counted
			bySEV            map[string]int
		}{
			{name: "every service over the week", scope: report.Scope{From: nov(1, 0, 0), To: nov(8, 0, 0)}, n: 5, open: 1,
				// MTTD (600+1200)/2; MTTA (300+600+1200)/3; MTTR (1800+7200+3600+900)/4
				mttd: fptr(900), mtta: fptr(700), mttr: fptr(3375), counted: report.Counted{MTTD: 2, MTTA: 3, MTTR: 4},
				bySEV: map[string]int{"SEV1": 1, "SEV2": 2, "SEV3": 1, "SEV4": 1, "SEV5": 0}},
			{name: "checkout only", scope: report.Scope{Services: []string{"checkout"}, From: nov(1, 0, 0), To: nov(8, 0, 0)}, n: 3, open: 1,
				mttd: fptr(900), mtta: fptr(450), mttr: fptr(4500), counted: report.Counted{MTTD: 2, MTTA: 2, MTTR: 2},
				bySEV: map[string]int{"SEV1": 1, "SEV2": 0, "SEV3": 1, "SEV4": 1, "SEV5": 0}},
			{name: "search has no detection time: its only alert had no impact start", scope: report.Scope{Services: []string{"search"}, From: nov(1, 0, 0), To: nov(8, 0, 0)}, n: 2,
				mttd: nil, mtta: fptr(1200), mttr: fptr(2250), counted: report.Counted{MTTD: 0, MTTA: 1, MTTR: 2},
				bySEV: map[string]int{"SEV1": 0, "SEV2": 2, "SEV3": 0, "SEV4": 0, "SEV5": 0}},
			{name: "from Tuesday on leaves incident A out", scope: report.Scope{From: nov(3, 0, 0), To: nov(8, 0, 0)}, n: 4, open: 1,
				mttd: fptr(1200), mtta: fptr(900), mttr: fptr(3900), counted: report.Counted{MTTD: 1, MTTA: 2, MTTR: 3},
				bySEV: map[string]int{"SEV1": 0, "SEV2": 2, "SEV3": 1, "SEV4": 1, "SEV5": 0}},
			{name: "an empty span has no means", scope: report.Scope{From: nov(20, 0, 0), To: nov(21, 0, 0)},
				bySEV: map[string]int{"SEV1": 0, "SEV2": 0, "SEV3": 0, "SEV4": 0, "SEV5": 0}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r, err := f.reports.IncidentMetrics(context.Background(), c.scope)
				if err != nil {
					t.Fatal(err)
				}
				if r.Incidents != c.n || r.Open != c.open || !same(r.MTTDSeconds, c.mttd) || !same(r.MTTASeconds, c.mtta) ||
					!same(r.MTTRSeconds, c.mttr) || r.Counted != c.counted || show(r.BySEV) != show(c.bySEV) {
					t.Errorf("got %s\nwant n=%d open=%d mttd=%s mtta=%s mttr=%s counted=%+v by=%v", show(r), c.n, c.open,
						show(c.mttd), show(c.mtta), show(c.mttr), c.counted, c.bySEV)
				}
			})
		}
	})
}

func TestDORAFourKeysMatchTheHandComputedFixture(t *testing.T) {
	storetest.Each(t, []store.Schema{incident.Schema, alert.Schema, change.Schema}, func(t *testing.T, db *store.DB) {
		f := week(t, db)
		cases := []struct {
			name  string
			scope report.Scope
			want  report.DORA
		}{
			{name: "checkout: 5 deploys in 7 days, median lead 1h, 3 of 5 failed, median restore 75m",
				scope: report.Scope{Services: []string{"checkout"}, From: nov(1, 0, 0), To: nov(8, 0, 0)},
				want: report.DORA{Deployments: 5, DeploymentFrequency: 5.0 / 7, LeadTimeSeconds: fptr(3600), ChangeFailureRate: fptr(0.6),
					FailedDeployments: 3, TimeToRestoreSeconds: fptr(4500),
					Bands: report.Bands{DeploymentFrequency: "high", LeadTime: "elite", ChangeFailureRate: "low", TimeToRestore: "high"}}},
			{name: "every service: the search deploy before C fails too",
				scope: report.Scope{From: nov(1, 0, 0), To: nov(8, 0, 0)},
				// restore: A 1800, B 7200, C 3600, D 900 -> median (1800+3600)/2 = 45m, under an hour
				want: report.DORA{Deployments: 6, DeploymentFrequency: 6.0 / 7, LeadTimeSeconds: fptr(3600), ChangeFailureRate: fptr(4.0 / 6),
					FailedDeployments: 4, TimeToRestoreSeconds: fptr(2700),
					Bands: report.Bands{DeploymentFrequency: "high", LeadTime: "elite", ChangeFailureRate: "low", TimeToRestore: "elite"}}},
			{name: "Wednesday to Saturday: d3's incident-free day and d4's failure",
				scope: report.Scope{Services: []string{"checkout"}, From: nov(4, 0, 0), To: nov(7, 0, 0)},
				// d3 (lead 30m) and d4 (no commit time); E is open so nothing restored
				want: report.DORA{Deployments: 2, DeploymentFrequency: 2.0 / 3, LeadTimeSeconds: fptr(1800), ChangeFailureRate: fptr(0.5),
					FailedDeployments: 1, TimeToRestoreSeconds: nil,
					Bands: report.Bands{DeploymentFrequency: "high", LeadTime: "elite", ChangeFailureRate: "low", TimeToRestore: ""}}},
			{name: "no deploys is the low band and no rates",
				scope: report.Scope{From: nov(20, 0, 0), To: nov(27, 0, 0)},
				want:  report.DORA{Bands: report.Bands{DeploymentFrequency: "low"}}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := f.reports.Four(context.Background(), c.scope)
				if err != nil {
					t.Fatal(err)
				}
				w := c.want
				if got.Deployments != w.Deployments || !same(&got.DeploymentFrequency, &w.DeploymentFrequency) || !same(got.LeadTimeSeconds, w.LeadTimeSeconds) ||
					!same(got.ChangeFailureRate, w.ChangeFailureRate) || got.FailedDeployments != w.FailedDeployments ||
					!same(got.TimeToRestoreSeconds, w.TimeToRestoreSeconds) || got.Bands != w.Bands {
					t.Errorf("got  %s\nwant %s", show(got), show(w))
				}
			})
		}
	})
}

func TestAlertQualityMatchesTheHandComputedFixture(t *testing.T) {
	storetest.Each(t, []store.Schema{incident.Schema, alert.Schema, change.Schema}, func(t *testing.T, db *store.DB) {
		f := week(t, db)
		got, err := f.reports.Alerts(context.Background(), report.Scope{From: nov(1, 0, 0), To: nov(8, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		// A (x3, actionable), B, D (Thursday 22:00, not actionable), E (low urgency: not a page).
		if got.Alerts != 4 || got.Triggers != 6 || got.Reviewed != 2 || got.NotActionable != 1 || !same(got.NotActionableShare, fptr(0.5)) ||
			got.Pages != 3 || got.OffHoursPages != 1 || !same(got.OffHoursShare, fptr(1.0/3)) {
			t.Errorf("got %s", show(got))
		}
		want := []report.KeyNoise{
			{ServiceID: "checkout", DedupKey: "checkout-latency", Alerts: 2, Triggers: 4},
			{ServiceID: "checkout", DedupKey: "checkout-errors", Alerts: 1, Triggers: 1},
			{ServiceID: "search", DedupKey: "search-down", Alerts: 1, Triggers: 1, NotActionable: 1},
		}
		if len(got.Noisiest) != len(want) {
			t.Fatalf("noisiest = %s", show(got.Noisiest))
		}
		for i, w := range want {
			g := got.Noisiest[i]
			g.Summary = ""
			if g != w {
				t.Errorf("noisiest[%d] = %+v, want %+v", i, g, w)
			}
		}
	})
}

func TestBands(t *testing.T) {
	cases := []struct {
		name    string
		perDay  float64
		deploys int
		want    string
	}{
		{"several deploys a day is elite", 3, 21, "elite"},
		{"one a day is elite", 1, 7, "elite"},
		{"one a week is high", 1.0 / 7, 1, "high"},
		{"one a month is medium", 1.0 / 30, 1, "medium"},
		{"one a quarter is low", 1.0 / 90, 1, "low"},
		{"none is low", 0, 0, "low"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := report.FrequencyBand(c.perDay, c.deploys); got != c.want {
				t.Errorf("FrequencyBand(%v) = %s, want %s", c.perDay, got, c.want)
			}
		})
	}
}
