package statuspage

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/maintenance"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/timers"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const testConfig = `
server:
  base_url: https://nines.example.com
services:
  - {id: checkout, name: Checkout API}
  - {id: search, name: Search}
  - {id: secret-billing, name: Secret billing}
status_pages:
  - id: public
    title: Acme Status
    follow_incidents: true
    components:
      - {name: Checkout, service: checkout, description: Orders and payments}
      - {name: Search, service: search, group: Discovery}
`

// mailConfig sends subscribers' mail through the SMTP server on the port it is given.
const mailConfig = `
notifications:
  email: {smtp: {host: 127.0.0.1, port: %d, from: status@example.com, tls: none}}
`

func schemas() []store.Schema {
	return []store.Schema{store.OwnSchema, incident.Schema, alert.Schema, auth.Schema, timers.Schema, Schema, maintenance.Schema}
}

type env struct {
	t         *testing.T
	db        *store.DB
	clock     *clock.Fake
	incidents *incident.Service
	runner    *timers.Runner
	sp        *Service
	maint     *maintenance.Service
	mail      *notifytest.SMTP
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	mail := notifytest.StartSMTP(t, "none")
	cfg, err := config.Parse("nines.yaml", []byte(testConfig+fmt.Sprintf(mailConfig, mail.Port())))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	e := &env{t: t, db: db, clock: clk, incidents: incident.New(db, clk, nil), mail: mail}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.runner = timers.NewRunner(db, clk, log)
	live := config.NewLive(cfg)
	e.maint = maintenance.New(db, clk, live)
	e.sp, err = New(context.Background(), Options{DB: db, Clock: clk, Config: live, Incidents: e.incidents,
		Runner: e.runner, Mailer: MailerFor(live), Log: log, Maintenance: e.maint})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.runner.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

func (e *env) open(service, severity, title string) incident.Incident {
	e.t.Helper()
	var inc incident.Incident
	err := e.db.Tx(context.Background(), func(tx *store.Tx) error {
		var err error
		inc, err = e.incidents.Open(context.Background(), tx, incident.OpenParams{ServiceID: service, Severity: severity, Title: title,
			At: e.clock.Now(), Actor: incident.Actor{Name: "test", Source: "test"}})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

func (e *env) summary() summaryDoc {
	e.t.Helper()
	a, err := e.sp.Asset(context.Background(), "public", AssetSummary)
	if err != nil {
		e.t.Fatal(err)
	}
	var d summaryDoc
	if err := json.Unmarshal(a.Body, &d); err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (d summaryDoc) component(name string) componentJSON {
	for _, c := range d.Components {
		if c.Name == name && !c.Group {
			return c
		}
	}
	return componentJSON{}
}

func TestComponentStatusFollowsTheServicesOpenIncidents(t *testing.T) {
	storetest.Each(t, schemas(), func(t *testing.T, db *store.DB) {
		for _, tc := range []struct {
			severity  string
			want      Status
			indicator string
		}{
			{incident.Critical, MajorOutage, "critical"},
			{incident.Error, PartialOutage, "major"},
			{incident.Warning, DegradedPerf, "minor"},
			{incident.Info, Operational, "none"},
		} {
			t.Run("an open "+tc.severity+" incident makes "+string(tc.want), func(t *testing.T) {
				e := newEnv(t, db)
				inc := e.open("checkout", tc.severity, "boom")
				defer e.incidents.Resolve(context.Background(), inc.ID, incident.Actor{Name: "test", Source: "test"})
				d := e.summary()
				if got := d.component("Checkout").Status; got != tc.want {
					t.Fatalf("Checkout is %s, want %s", got, tc.want)
				}
				if got := d.component("Search").Status; got != Operational {
					t.Fatalf("Search is %s, want operational", got)
				}
				if d.Status.Indicator != tc.indicator {
					t.Fatalf("indicator %s, want %s", d.Status.Indicator, tc.indicator)
				}
			})
		}
	})
}

func TestResolvingAndOverridingChangeThePageAtOnce(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, schemas()))
	ctx := context.Background()
	inc := e.open("checkout", incident.Critical, "Checkout down")
	if got := e.summary().component("Checkout").Status; got != MajorOutage {
		t.Fatalf("with a critical incident open: %s", got)
	}
	if err := e.sp.SetOverride(ctx, "public", "checkout", PartialOutage, "user:alice"); err != nil {
		t.Fatal(err)
	}
	if got := e.summary().component("Checkout").Status; got != PartialOutage {
		t.Fatalf("overridden to partial_outage, shows %s", got)
	}
	if err := e.sp.SetOverride(ctx, "public", "checkout", "", "user:alice"); err != nil {
		t.Fatal(err)
	}
	if got := e.summary().component("Checkout").Status; got != MajorOutage {
		t.Fatalf("override cleared, shows %s", got)
	}
	if _, err := e.incidents.Resolve(ctx, inc.ID, incident.Actor{Name: "test", Source: "test"}); err != nil {
		t.Fatal(err)
	}
	if got := e.summary().component("Checkout").Status; got != Operational {
		t.Fatalf("resolved (the cache must be invalidated by the change), shows %s", got)
	}
	for _, tc := range []struct {
		name, page, comp string
		status           Status
	}{
		{"an unknown page", "nope", "checkout", MajorOutage},
		{"an unknown component", "public", "nope", MajorOutage},
		{"an unknown status", "public", "checkout", "on_fire"},
	} {
		if err := e.sp.SetOverride(ctx, tc.page, tc.comp, tc.status, "user:alice"); err == nil {
			t.Errorf("overriding %s was accepted", tc.name)
		}
	}
}

func TestServicesNotOnThePageNeverShow(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, schemas()))
	e.open("secret-billing", incident.Critical, "Secret billing ledger corrupt")
	for _, name := range []string{AssetHTML, AssetSummary, AssetStatus, AssetFeed} {
		a, err := e.sp.Asset(context.Background(), "public", name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToLower(string(a.Body)), "billing") {
			t.Errorf("%s mentions the service that is not on the page", name)
		}
	}
	if d := e.summary(); d.Status.Indicator != "none" {
		t.Fatalf("an incident of a service not on the page moved the indicator to %s", d.Status.Indicator)
	}
	if _, err := e.sp.PostUpdate(context.Background(), UpdateParams{PageID: "public", IncidentID: 1, Status: Investigating, Body: "x"}); err == nil {
		t.Fatal("a public update about a service not on the page was accepted")
	}
}

func TestUptimeBarsComeFromIncidentHistory(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	at := func(day, hour int) time.Time { return start.AddDate(0, 0, day).Add(time.Duration(hour) * time.Hour) }
	spans := []span{
		{at(1, 0), at(1, 6), MajorOutage},     // 6 h major
		{at(3, 12), at(4, 12), PartialOutage}, // partial across midnight
		{at(6, 0), at(6, 1), DegradedPerf},    // degraded: no downtime
		{at(-5, 0), at(0, 12), MajorOutage},   // began before the window
		{at(1, 2), at(1, 4), PartialOutage},   // under the major one: counted once, as major
	}
	now := at(9, 12)
	c := &Component{}
	timeBars(c, spans, dayEdges(now, time.UTC, 10), nil, start.AddDate(0, 0, -30), now)
	got, uptime := c.Bars, c.Uptime
	for _, tc := range []struct {
		day    int
		status Status
		uptime float64
	}{
		{0, MajorOutage, 50},
		{1, MajorOutage, 75},
		{2, Operational, 100},
		{3, PartialOutage, 100 - 0.3*50},
		{4, PartialOutage, 100 - 0.3*50},
		{6, DegradedPerf, 100},
	} {
		b := got[tc.day]
		if b.Status != tc.status || fmt.Sprintf("%.3f", b.Uptime) != fmt.Sprintf("%.3f", tc.uptime) {
			t.Errorf("day %d: %s %.3f%%, want %s %.3f%%", tc.day, b.Status, b.Uptime, tc.status, tc.uptime)
		}
	}
	// 12 h + 6 h of major outage and 24 h of partial outage, over 9.5 days.
	want := 100 * (1 - (18*3600+0.3*24*3600)/(9.5*86400))
	if fmt.Sprintf("%.4f", uptime) != fmt.Sprintf("%.4f", want) {
		t.Fatalf("overall uptime %.4f, want %.4f", uptime, want)
	}
}

func TestPublicUpdatesFollowStatuspageStates(t *testing.T) {
	storetest.Each(t, schemas(), func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		inc := e.open("checkout", incident.Critical, "Checkout is failing")
		lu, _ := e.sp.LastUpdates(ctx, inc)
		if len(lu) != 1 || !lu[0].At.IsZero() || lu[0].Overdue {
			t.Fatalf("before any update: %+v", lu)
		}
		e.clock.Advance(31 * time.Minute)
		if lu, _ = e.sp.LastUpdates(ctx, inc); !lu[0].Overdue {
			t.Fatal("no public update 31 minutes in, with a 30-minute cadence, is not flagged as overdue")
		}
		actor := incident.Actor{Name: "user:alice", Source: "web"}
		for _, st := range []string{Investigating, Identified, Monitoring} {
			if _, err := e.sp.PostUpdate(ctx, UpdateParams{PageID: "public", IncidentID: inc.ID, Status: st, Body: "We are " + st + ".", Name: "Checkout errors", Actor: actor}); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(5 * time.Minute)
		}
		d := e.summary()
		if len(d.Incidents) != 1 {
			t.Fatalf("summary has %d incidents, want 1", len(d.Incidents))
		}
		pi := d.Incidents[0]
		if pi.Name != "Checkout errors" || pi.Status != Monitoring || pi.Impact != "critical" || len(pi.IncidentUpdates) != 3 || pi.MonitoringAt == nil {
			t.Fatalf("public incident %+v", pi)
		}
		if pi.IncidentUpdates[0].Status != Monitoring || pi.IncidentUpdates[2].Status != Investigating {
			t.Fatal("updates are not newest first")
		}
		if lu, _ = e.sp.LastUpdates(ctx, inc); lu[0].Status != Monitoring || lu[0].Overdue {
			t.Fatalf("after an update 5 minutes ago: %+v", lu[0])
		}
		events, _ := e.incidents.Timeline(ctx, inc.ID)
		var onTimeline int
		for _, ev := range events {
			if ev.Type == EventStatusUpdate {
				onTimeline++
			}
		}
		if onTimeline != 3 {
			t.Fatalf("%d status updates on the timeline, want 3", onTimeline)
		}
		if _, err := e.incidents.Resolve(ctx, inc.ID, actor); err != nil {
			t.Fatal(err)
		}
		if lu, _ = e.sp.LastUpdates(ctx, mustGet(t, e, inc.ID)); !lu[0].Unresolved {
			t.Fatal("a resolved incident whose public incident is still open is not flagged")
		}
		if _, err := e.sp.PostUpdate(ctx, UpdateParams{PageID: "public", IncidentID: inc.ID, Status: Resolved, Body: "Fixed.", Actor: actor}); err != nil {
			t.Fatal(err)
		}
		if d := e.summary(); len(d.Incidents) != 0 {
			t.Fatal("a resolved public incident is still listed as unresolved")
		}
		if lu, _ = e.sp.LastUpdates(ctx, mustGet(t, e, inc.ID)); lu[0].Unresolved || lu[0].Overdue {
			t.Fatalf("after the resolved update: %+v", lu[0])
		}
		for _, bad := range []UpdateParams{
			{PageID: "public", IncidentID: inc.ID, Status: "fixed", Body: "x"},
			{PageID: "public", IncidentID: inc.ID, Status: Identified, Body: "  "},
			{PageID: "nope", IncidentID: inc.ID, Status: Identified, Body: "x"},
		} {
			if _, err := e.sp.PostUpdate(ctx, bad); err == nil {
				t.Errorf("update %+v was accepted", bad)
			}
		}
	})
}

func TestMaintenancePutsComponentsUnderMaintenance(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, schemas()))
	now := e.clock.Now()
	_, err := e.maint.Schedule(context.Background(), maintenance.Params{Name: "Database upgrade", Services: []string{"search"},
		Start: now.Add(time.Hour).Format(time.RFC3339), End: now.Add(2 * time.Hour).Format(time.RFC3339), Announce: true}, "user:alice")
	if err != nil {
		t.Fatal(err)
	}
	d := e.summary()
	if len(d.ScheduledMaintenances) != 1 || d.ScheduledMaintenances[0].Status != "scheduled" || d.component("Search").Status != Operational {
		t.Fatalf("before the window: %+v", d.ScheduledMaintenances)
	}
	e.clock.Advance(90 * time.Minute)
	d = e.summary()
	if d.ScheduledMaintenances[0].Status != "in_progress" || d.component("Search").Status != UnderMaintenance || d.component("Checkout").Status != Operational {
		t.Fatalf("during the window: search %s, checkout %s", d.component("Search").Status, d.component("Checkout").Status)
	}
	e.clock.Advance(time.Hour)
	if d = e.summary(); len(d.ScheduledMaintenances) != 0 || d.component("Search").Status != Operational {
		t.Fatal("after the window the maintenance is still shown")
	}
}

func TestRenderedPagesAreServedFromMemoryUntilSomethingChanges(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, schemas()))
	ctx := context.Background()
	a1, _ := e.sp.Asset(ctx, "public", AssetHTML)
	a2, _ := e.sp.Asset(ctx, "public", AssetHTML)
	if a1 != a2 {
		t.Fatal("two requests with nothing changed rendered the page twice")
	}
	e.open("search", incident.Error, "Search errors")
	a3, _ := e.sp.Asset(ctx, "public", AssetHTML)
	if a3 == a2 || a3.ETag == a2.ETag || !strings.Contains(string(a3.Body), "Partial outage") {
		t.Fatal("an incident did not re-render the page")
	}
	e.clock.Advance(MaxAge)
	if a4, _ := e.sp.Asset(ctx, "public", AssetHTML); a4 == a3 {
		t.Fatal("the rendering outlived MaxAge")
	}
}

func TestGoldenDocuments(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, schemas()))
	ctx := context.Background()
	old := e.open("search", incident.Error, "Search index stale")
	e.clock.Advance(2 * time.Hour)
	e.incidents.Resolve(ctx, old.ID, incident.Actor{Name: "test", Source: "test"})
	e.clock.Advance(24 * time.Hour)
	inc := e.open("checkout", incident.Critical, "Checkout 500s")
	e.clock.Advance(4 * time.Minute)
	actor := incident.Actor{Name: "user:alice", Source: "web"}
	e.sp.PostUpdate(ctx, UpdateParams{PageID: "public", IncidentID: inc.ID, Status: Investigating, Body: "Checkout fails for some customers.", Actor: actor})
	e.clock.Advance(10 * time.Minute)
	e.sp.PostUpdate(ctx, UpdateParams{PageID: "public", IncidentID: inc.ID, Status: Identified, Body: "A bad deploy; rolling back.", Actor: actor})
	e.sp.PostUpdate(ctx, UpdateParams{PageID: "public", IncidentID: old.ID, Status: Resolved, Body: "Search results were up to 2 hours stale.", Actor: actor})
	for _, name := range []string{AssetSummary, AssetStatus, AssetFeed, AssetBadge, "badge/checkout.svg", AssetComponents, AssetIncidents, AssetUnresolved, AssetMaintenance} {
		a, err := e.sp.Asset(ctx, "public", name)
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", strings.ReplaceAll(name, "/", "-")+".golden")
		if *update {
			os.WriteFile(golden, a.Body, 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update to write it)", err)
		}
		if string(a.Body) != string(want) {
			t.Errorf("%s differs from %s:\n%s", name, golden, a.Body)
		}
	}
}

func TestSubscribersOptInGetUpdatesAndUnsubscribeInOneClick(t *testing.T) {
	storetest.Each(t, schemas(), func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		if err := e.sp.Subscribe(ctx, "public", "not an address"); err == nil {
			t.Fatal("a malformed address was accepted")
		}
		if err := e.sp.Subscribe(ctx, "public", "Ops@Example.com"); err != nil {
			t.Fatal(err)
		}
		confirm := e.mail.Next(t)
		if strings.Join(confirm.To, ",") != "ops@example.com" || !strings.Contains(confirm.Body(t), "/status/public/confirm?t=") {
			t.Fatalf("confirmation mail: %+v", confirm)
		}
		inc := e.open("checkout", incident.Critical, "Checkout down")
		post := func(body string) {
			if _, err := e.sp.PostUpdate(ctx, UpdateParams{PageID: "public", IncidentID: inc.ID, Status: Investigating, Body: body,
				Actor: incident.Actor{Name: "user:alice", Source: "web"}}); err != nil {
				t.Fatal(err)
			}
		}
		post("Before confirming.")
		e.mail.None(t, "an unconfirmed subscriber was mailed")
		token := linkToken(t, confirm.Body(t), "confirm")
		if _, err := e.sp.Confirm(ctx, "public", token[:len(token)-2]+"xx"); err == nil {
			t.Fatal("a forged confirmation link worked")
		}
		if _, err := e.sp.Confirm(ctx, "other", token); err == nil {
			t.Fatal("a confirmation link worked for another page")
		}
		if email, err := e.sp.Confirm(ctx, "public", token); err != nil || email != "ops@example.com" {
			t.Fatalf("confirming: %q %v", email, err)
		}
		post("Checkout fails for some customers.")
		m := e.mail.Next(t)
		if !strings.Contains(m.Body(t), "Checkout fails for some customers.") || !strings.Contains(m.Header(t).Get("List-Unsubscribe-Post"), "One-Click") {
			t.Fatalf("update mail: %+v", m)
		}
		unsub := strings.Trim(m.Header(t).Get("List-Unsubscribe"), "<>")
		if _, err := e.sp.Unsubscribe(ctx, "public", linkToken(t, unsub, "unsubscribe")); err != nil {
			t.Fatal(err)
		}
		post("After unsubscribing.")
		e.mail.None(t, "an unsubscribed address was mailed")
	})
}

func TestConfirmationLinksExpire(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, schemas()))
	ctx := context.Background()
	e.sp.Subscribe(ctx, "public", "late@example.com")
	token := linkToken(t, e.mail.Next(t).Body(t), "confirm")
	e.clock.Advance(ConfirmTTL)
	if _, err := e.sp.Confirm(ctx, "public", token); err == nil {
		t.Fatal("an expired confirmation link worked")
	}
}

func FuzzLinkToken(f *testing.F) {
	s := &Service{key: []byte("0123456789abcdef0123456789abcdef"), clock: clock.NewFake(time.Unix(0, 0))}
	f.Add(s.sign("u", "public", "a@example.com", time.Time{}))
	f.Add("")
	f.Add(".")
	f.Add("dQpwdWJsaWMKYUBleGFtcGxlLmNvbQow.AAAA")
	f.Fuzz(func(t *testing.T, token string) {
		email, err := s.verify("u", "public", token)
		if err == nil && s.sign("u", "public", email, time.Time{}) != token {
			t.Fatalf("accepted a token nines did not sign: %q", token)
		}
	})
}

var tokenRE = regexp.MustCompile(`/status/public/(confirm|unsubscribe)\?t=([A-Za-z0-9_.%-]+)`)

func linkToken(t *testing.T, text, action string) string {
	t.Helper()
	for _, m := range tokenRE.FindAllStringSubmatch(text, -1) {
		if m[1] == action {
			return strings.ReplaceAll(m[2], "%2E", ".")
		}
	}
	t.Fatalf("no %s link in %q", action, text)
	return ""
}

func TestConcurrentReadersDuringChangesGetWholeRenderings(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, schemas()))
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				a, err := e.sp.Asset(ctx, "public", AssetSummary)
				if err != nil {
					errs <- err
					return
				}
				var d summaryDoc
				if err := json.Unmarshal(a.Body, &d); err != nil || a.Header.Get("ETag") != a.ETag {
					errs <- fmt.Errorf("a torn rendering: %v", err)
					return
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		e.open("checkout", incident.Warning, "flapping")
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, e *env, id int64) incident.Incident {
	t.Helper()
	inc, err := e.incidents.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

// BenchmarkRenderPage renders every document of a page of 100 components with 90 days of
// history (1,000 incidents): what one change costs, once, however many read the page.
func BenchmarkRenderPage(b *testing.B) {
	var yml strings.Builder
	yml.WriteString("services:\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&yml, "  - {id: s%d}\n", i)
	}
	yml.WriteString("status_pages:\n  - id: p\n    follow_incidents: true\n    components:\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&yml, "      - {name: C%d, service: s%d, group: G%d}\n", i, i, i/10)
	}
	cfg, err := config.Parse("b.yaml", []byte(yml.String()))
	if err != nil {
		b.Fatal(err)
	}
	db := storetest.SQLite(b, schemas())
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	incs := incident.New(db, clk, nil)
	ctx := context.Background()
	sp, err := New(ctx, Options{DB: db, Clock: clk, Config: config.NewLive(cfg), Incidents: incs}) // the components exist from the start
	if err != nil {
		b.Fatal(err)
	}
	sevs := []string{incident.Critical, incident.Error, incident.Warning}
	for i := 0; i < 1000; i++ {
		var inc incident.Incident
		db.Tx(ctx, func(tx *store.Tx) error {
			inc, err = incs.Open(ctx, tx, incident.OpenParams{ServiceID: fmt.Sprintf("s%d", i%100), Severity: sevs[i%3], Title: "x", At: clk.Now(), Actor: incident.Actor{Name: "b", Source: "b"}})
			return err
		})
		clk.Advance(time.Hour)
		incs.Resolve(ctx, inc.ID, incident.Actor{Name: "b", Source: "b"})
		clk.Advance(2 * time.Hour)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := sp.build(ctx, sp.Page("p"), 0); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAPageShowsTimesInItsZone(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, schemas()))
	cfg, err := config.Parse("nines.yaml", []byte(strings.Replace(testConfig, "    title: Acme Status\n", "    title: Acme Status\n    time_zone: Europe/Berlin\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	e.sp.cfg.Swap(cfg)
	html, _ := e.sp.Asset(context.Background(), "public", AssetHTML)
	if !strings.Contains(string(html.Body), "Mar 10, 13:00 CET") {
		t.Fatal("the page does not show its time in Europe/Berlin")
	}
	if d := e.summary(); d.Page.TimeZone != "Europe/Berlin" {
		t.Fatalf("time_zone %q", d.Page.TimeZone)
	}
}

func TestAMissedCadenceIsRecordedOnTheTimeline(t *testing.T) {
	storetest.Each(t, schemas(), func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ctx := context.Background()
		inc := e.open("checkout", incident.Critical, "Checkout down")
		other := e.open("secret-billing", incident.Critical, "not on any page")
		due := func(id int64) int {
			events, _ := e.incidents.Timeline(ctx, id)
			n := 0
			for _, ev := range events {
				if ev.Type == EventUpdateDue {
					n++
				}
			}
			return n
		}
		waitFor := func(want int) {
			t.Helper()
			for deadline := time.Now().Add(10 * time.Second); due(inc.ID) != want; {
				if time.Now().After(deadline) {
					t.Fatalf("%d update-due events on the timeline, want %d", due(inc.ID), want)
				}
				time.Sleep(10 * time.Millisecond) // the runner works on its own goroutine
			}
		}
		e.clock.Advance(29 * time.Minute)
		e.mail.None(t, "nothing is due yet")
		if due(inc.ID) != 0 {
			t.Fatal("an update was marked due before the cadence passed")
		}
		e.clock.Advance(time.Minute)
		waitFor(1)
		if _, err := e.sp.PostUpdate(ctx, UpdateParams{PageID: "public", IncidentID: inc.ID, Status: Investigating, Body: "Looking.",
			Actor: incident.Actor{Name: "user:alice", Source: "web"}}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(29 * time.Minute)
		e.mail.None(t, "no mail: nobody subscribed")
		if due(inc.ID) != 1 {
			t.Fatal("an update was marked due although one went out 29 minutes ago")
		}
		e.clock.Advance(time.Minute)
		waitFor(2)
		if due(other.ID) != 0 {
			t.Fatal("an incident of a service on no page owes the public an update")
		}
	})
}

// TestDurationsReadAsPeopleSayThem checks the one way the public page says a length of time: a
// day's bar (its tooltip) under maintenance for 40 s or 2 s, and the forms a report takes.
func TestDurationsReadAsPeopleSayThem(t *testing.T) {
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	for length, want := range map[time.Duration]string{40 * time.Second: "Mar 10: partial outage, 99.95% uptime; under maintenance for 40 seconds",
		2 * time.Second: "Mar 10: partial outage, 99.95% uptime; under maintenance for 2 seconds"} {
		b := Bar{Day: day, Status: PartialOutage, HasData: true, Uptime: 99.95, Maintenance: length}
		if got := b.Title(); got != want {
			t.Errorf("bar title %q, want %q", got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		0: "0 seconds", time.Second: "1 second", 59 * time.Second: "59 seconds", time.Minute: "1 minute",
		89 * time.Second: "1 minute", 90 * time.Second: "2 minutes", 59*time.Minute + 40*time.Second: "1 hour",
		time.Hour + time.Minute: "1 hour 1 minute", 2*time.Hour + 5*time.Minute: "2 hours 5 minutes",
		47*time.Hour + 59*time.Minute: "47 hours 59 minutes", 48 * time.Hour: "2 days", 75 * time.Hour: "3 days 3 hours",
		49*time.Hour + 31*time.Minute: "2 days 2 hours",
	} {
		if got := spokenDuration(d); got != want {
			t.Errorf("spokenDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestUpdatedAtIsWhenTheComponentLastChanged reads summary.json as a Statuspage client does:
// a component's updated_at is when its status last changed, never before its created_at, and
// the page's is the latest change on it; on a fresh install both are when the page appeared.
func TestUpdatedAtIsWhenTheComponentLastChanged(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t, schemas()))
	t0 := e.clock.Now().UTC()
	stamp := func(t time.Time) string { return jsonTime(t) }
	d := e.summary()
	if d.Page.UpdatedAt != stamp(t0) || d.component("Search").UpdatedAt != stamp(t0) || d.component("Search").CreatedAt != stamp(t0) {
		t.Errorf("a fresh page: page updated %s, Search created %s updated %s; want all %s",
			d.Page.UpdatedAt, d.component("Search").CreatedAt, d.component("Search").UpdatedAt, stamp(t0))
	}

	e.clock.Advance(time.Hour)
	e.open("search", incident.Error, "Search errors")
	e.clock.Advance(10 * time.Minute)
	if err := e.sp.SetOverride(context.Background(), "public", d.component("Checkout").ID, DegradedPerf, "user:alice"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(5 * time.Minute)
	d = e.summary()
	for name, want := range map[string]time.Time{"Search": t0.Add(time.Hour), "Checkout": t0.Add(70 * time.Minute)} {
		if got := d.component(name).UpdatedAt; got != stamp(want) {
			t.Errorf("%s (now %s) updated_at %s, want %s, when its status changed", name, d.component(name).Status, got, stamp(want))
		}
	}
	if d.Page.UpdatedAt != stamp(t0.Add(70*time.Minute)) {
		t.Errorf("page updated_at %s, want the last change, %s", d.Page.UpdatedAt, stamp(t0.Add(70*time.Minute)))
	}
	for _, c := range d.Components {
		if c.UpdatedAt < c.CreatedAt {
			t.Errorf("%s updated_at %s is before its created_at %s", c.Name, c.UpdatedAt, c.CreatedAt)
		}
	}
}
