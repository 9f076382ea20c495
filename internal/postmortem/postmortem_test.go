package postmortem_test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/timers"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var schemas = []store.Schema{store.OwnSchema, incident.Schema, alert.Schema, timers.Schema, change.Schema, postmortem.Schema}

const testConfig = `
services:
  - id: checkout
    name: Checkout API
    team: payments
    integrations:
      - type: events_v2
        key: 0123456789abcdef0123456789abcdef
  - id: search
    name: Search
    team: discovery
incidents:
  severities:
    SEV1: Outage
  holidays: ["2026-11-26", "2026-11-27", "2026-12-25", "2027-01-01"]
`

// world is nines' response machinery on a real database with a fake clock.
type world struct {
	db        *store.DB
	clock     *clock.Fake
	cfg       *config.Live
	incidents *incident.Service
	alerts    *alert.Pipeline
	changes   *change.Store
	runner    *timers.Runner
	pm        *postmortem.Service
}

func newWorld(t *testing.T, db *store.DB, start time.Time) *world {
	t.Helper()
	return newWorldFrom(t, db, start, testConfig)
}

// newWorldFrom is newWorld under another config.
func newWorldFrom(t *testing.T, db *store.DB, start time.Time, yaml string) *world {
	t.Helper()
	return newWorldWith(t, db, start, yaml, postmortem.Options{})
}

// noPages is the status pages of a nines that has none: nothing takes a public report.
type noPages struct{}

func (noPages) PublishPostmortem(context.Context, postmortem.PublicReport, incident.Actor) ([]string, error) {
	return nil, postmortem.ErrNoStatusPage
}

// newWorldWith is newWorldFrom with the postmortem service's options: no SLOs and no status
// pages unless o says otherwise.
func newWorldWith(t *testing.T, db *store.DB, start time.Time, yaml string, o postmortem.Options) *world {
	t.Helper()
	if o.SLO == nil {
		o.SLO = budget(nil)
	}
	if o.Publisher == nil {
		o.Publisher = noPages{}
	}
	cfg, err := config.Parse("nines.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{db: db, clock: clock.NewFake(start), cfg: config.NewLive(cfg)}
	w.incidents = incident.New(db, w.clock, &incident.Rules{SEVFor: cfg.Incidents.SEVFor})
	w.alerts = alert.NewPipeline(db, w.incidents, w.clock, alert.Options{})
	go w.alerts.Run()
	t.Cleanup(w.alerts.Close)
	w.changes = change.New(db, w.incidents, w.clock)
	w.runner = timers.NewRunner(db, w.clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if w.pm, err = postmortem.New(db, w.incidents, w.changes, w.cfg, w.runner, w.clock, o); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) at(t *testing.T, hhmm string) {
	t.Helper()
	now := w.clock.Now()
	tm, err := time.Parse("15:04", hhmm)
	if err != nil {
		t.Fatal(err)
	}
	w.clock.Set(time.Date(now.Year(), now.Month(), now.Day(), tm.Hour(), tm.Minute(), 0, 0, time.UTC))
}

func (w *world) trigger(t *testing.T, service, key, summary, severity string) alert.Result {
	t.Helper()
	res, err := w.alerts.Submit(context.Background(), alert.Target{ServiceID: service, Integration: "events_v2", Grouping: "alert"},
		[]alert.Event{{Action: alert.Trigger, DedupKey: key, Summary: summary, Source: "prometheus", Severity: severity}})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

var (
	alice = incident.Actor{Name: "user:alice", Source: "web"}
	bob   = incident.Actor{Name: "user:bob", Source: "cli"}
	ci    = incident.Actor{Name: "token:ci", Source: "api"}
)

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// checkoutOutage plays a real incident on Friday 2026-11-20: a deploy at 09:10, impact from
// 09:20, the first alert at 09:32, acknowledged 09:40, mitigated 09:55, resolved 10:05.
func checkoutOutage(t *testing.T, w *world) incident.Incident {
	ctx := context.Background()
	commit := time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC)
	w.at(t, "09:10")
	must[change.Change](t)(w.changes.Record(ctx, change.Change{ServiceID: "checkout", Kind: change.KindDeploy, Version: "v2.4.1",
		Commit: "9f3c2a1b7e4d5c6b", CommitAt: &commit, Summary: "Deployed checkout v2.4.1"}, ci))
	w.at(t, "09:32")
	res := w.trigger(t, "checkout", "checkout-latency", "Checkout p99 latency above 2s", "critical")
	id := res.IncidentID
	w.at(t, "09:40")
	must[incident.Incident](t)(w.incidents.Acknowledge(ctx, id, alice))
	w.at(t, "09:41")
	must[incident.Incident](t)(w.incidents.AssignRole(ctx, id, "commander", "alice", alice, w.cfg.Get()))
	must[incident.Incident](t)(w.incidents.AssignRole(ctx, id, "scribe", "bob", alice, w.cfg.Get()))
	w.at(t, "09:45")
	must[incident.Event](t)(w.incidents.AddNote(ctx, id, "Latency started with v2.4.1; rolling back to v2.4.0.", bob))
	w.at(t, "09:50")
	must[incident.Link](t)(w.incidents.AddLink(ctx, id, "https://grafana.example.com/d/checkout", "Checkout dashboard", bob))
	w.at(t, "09:55")
	must[incident.Event](t)(w.incidents.AddNote(ctx, id, "Mitigated: rollback to v2.4.0 complete, p99 back under 300ms.", bob))
	w.at(t, "10:05")
	must[incident.Incident](t)(w.incidents.Resolve(ctx, id, alice))
	w.at(t, "10:06")
	must[incident.Incident](t)(w.incidents.SetImpactStart(ctx, id, time.Date(2026, 11, 20, 9, 20, 0, 0, time.UTC), alice))
	return must[incident.Incident](t)(w.incidents.Get(ctx, id))
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

func TestPostmortemIsDraftedFromARealIncidentTimeline(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
		inc := checkoutOutage(t, w)
		w.at(t, "10:10")
		pm, created, err := w.pm.Draft(ctx, inc.ID, alice)
		if err != nil || !created {
			t.Fatalf("draft: created=%v err=%v", created, err)
		}
		if _, again, err := w.pm.Draft(ctx, inc.ID, bob); err != nil || again {
			t.Fatalf("a second draft must keep the first: created=%v err=%v", again, err)
		}
		w.at(t, "10:20")
		must[postmortem.ActionItem](t)(w.pm.AddAction(ctx, inc.ID, postmortem.NewAction{Title: "Load-test the checkout query path in CI", Owner: "alice", Kind: "test"}, alice))
		must[postmortem.ActionItem](t)(w.pm.AddAction(ctx, inc.ID, postmortem.NewAction{Title: "Page on p99 latency above 1s for 5 minutes", Owner: "bob", Kind: "alert"}, alice))
		root := "An N+1 query in v2.4.1 multiplied database round trips per order."
		pm, err = w.pm.Edit(ctx, inc.ID, postmortem.Patch{RootCause: &root}, alice)
		if err != nil {
			t.Fatal(err)
		}
		if pm.Impact.DurationSeconds != 45*60 {
			t.Errorf("impact lasted %ds, want 2700 (09:20 to 10:05)", pm.Impact.DurationSeconds)
		}
		if d := pm.Metrics["time_to_detect"]; d == nil || *d != 12*60 {
			t.Errorf("time to detect = %v, want 720s", d)
		}
		md := must[[]byte](t)(pm.Markdown())
		html := must[[]byte](t)(pm.HTML())
		js := must[[]byte](t)(pm.JSON())
		golden(t, "checkout-outage.md", md)
		golden(t, "checkout-outage.html", html)
		golden(t, "checkout-outage.json", append(js, '\n'))
	})
}

// budget is an SLO answer, as the SLO package gives it.
type budget []postmortem.SLOFigures

func (b budget) Impact(ctx context.Context, service string, from, to time.Time) ([]postmortem.SLOFigures, error) {
	return b, nil
}

func TestThePostmortemImpactShowsTheSLOBudgetAndSLA(t *testing.T) {
	db := storetest.SQLite(t, schemas)
	ctx := context.Background()
	down, breached := int64(1500), true
	w := newWorldWith(t, db, time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), testConfig, postmortem.Options{
		SLO: budget{{SLO: "checkout-availability", BudgetConsumed: 0.125, DowntimeSeconds: &down, SLA: "99.9% monthly", SLABreached: &breached}}})
	inc := checkoutOutage(t, w)
	if _, _, err := w.pm.Draft(ctx, inc.ID, alice); err != nil {
		t.Fatal(err)
	}
	pm, err := w.pm.Get(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	md := string(must[[]byte](t)(pm.Markdown()))
	for _, want := range []string{"- Duration: 45m\n", "- Downtime: 25m\n", "- SLO error budget consumed: 12.5% of checkout-availability\n",
		"- SLA breached: yes (99.9% monthly)\n"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestADraftTellsHowOftenAnAlertRepeatedAndUntilWhen(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC))
		res := w.trigger(t, "checkout", "checkout-latency", "Checkout p99 latency above 2s", "critical")
		for range 2 {
			w.clock.Advance(30 * time.Second)
			w.trigger(t, "checkout", "checkout-latency", "Checkout p99 latency above 2s", "critical")
		}
		pm, _, err := w.pm.Draft(ctx, res.IncidentID, alice)
		if err != nil {
			t.Fatal(err)
		}
		want := "Alert checkout-latency repeated twice, the last at 2026-10-01 09:01:00 UTC"
		for _, e := range pm.Timeline {
			if e.Text == want && e.Kind == postmortem.KindAlert && e.At.Equal(time.Date(2026, 10, 1, 9, 0, 30, 0, time.UTC)) {
				return
			}
		}
		t.Errorf("the draft's timeline %+v lacks %q at 09:00:30", pm.Timeline, want)
	})
}
