package app_test

import (
	"html"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/storetest"
)

const uptimeConfig = `
services:
  - {id: s78, integrations: [{type: events_v2, key: 00000000000000000000000000000078}]}
  - {id: maint, integrations: [{type: events_v2, key: 00000000000000000000000000000001}]}
  - {id: partial, integrations: [{type: events_v2, key: 00000000000000000000000000000002}]}
  - {id: ny, integrations: [{type: events_v2, key: 00000000000000000000000000000003}]}
  - {id: fresh}
status_pages:
  - id: utc
    follow_incidents: true
    components:
      - {name: Seventy-eight, service: s78}
      - {name: Maintained, service: maint}
      - {name: Partial, service: partial}
  - id: ny
    time_zone: America/New_York
    follow_incidents: true
    components:
      - {name: New York, service: ny}
`

type fixtureRow struct{ page, component, figure, shown string }

// readUptimeTable reads the hand-worked table of testdata/uptime.md.
func readUptimeTable(t *testing.T) []fixtureRow {
	t.Helper()
	b, err := os.ReadFile("testdata/uptime.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []fixtureRow
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 7 || strings.TrimSpace(cells[1]) == "page" || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
			continue
		}
		rows = append(rows, fixtureRow{strings.TrimSpace(cells[1]), strings.TrimSpace(cells[2]), strings.TrimSpace(cells[3]), strings.TrimSpace(cells[4])})
	}
	if len(rows) < 10 {
		t.Fatalf("testdata/uptime.md has %d rows", len(rows))
	}
	return rows
}

// TestUptimeFiguresMatchTheHandWorkedTable plays three months of incidents and maintenance
// through the real endpoints and reads every figure of testdata/uptime.md where the public and
// the API see it: the page's uptime beside the bars, the day bars' titles, and the API.
func TestUptimeFiguresMatchTheHandWorkedTable(t *testing.T) {
	db := storetest.SQLite(t, app.Schemas())
	w := startWired(t, db, uptimeConfig, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	utc := func(s string) time.Time {
		at, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	event := func(at, key, action, severity string) {
		w.clock.Set(utc(at))
		w.call("POST", "/v2/enqueue", map[string]any{"routing_key": key, "event_action": action, "dedup_key": "k",
			"payload": map[string]string{"summary": "down", "source": "x", "severity": severity}}, http.StatusAccepted, nil)
	}
	const s78, maint, partial, ny = "00000000000000000000000000000078", "00000000000000000000000000000001", "00000000000000000000000000000002", "00000000000000000000000000000003"
	event("2026-03-08T17:00:00Z", ny, "trigger", "critical")
	event("2026-03-08T17:13:48Z", ny, "resolve", "critical")
	event("2026-03-15T10:00:00Z", s78, "trigger", "critical")
	event("2026-03-15T10:01:18Z", s78, "resolve", "critical")
	w.clock.Set(utc("2026-03-19T12:00:00Z"))
	w.call("POST", "/api/v1/maintenance", map[string]any{"name": "Database upgrade", "services": []string{"maint"},
		"start": "2026-03-20T00:30:00Z", "end": "2026-03-20T02:30:00Z"}, http.StatusCreated, nil)
	event("2026-03-20T01:00:00Z", maint, "trigger", "critical")
	event("2026-03-20T02:30:00Z", ny, "trigger", "critical")
	event("2026-03-20T03:00:00Z", maint, "resolve", "critical")
	event("2026-03-20T03:30:00Z", ny, "resolve", "critical")
	event("2026-03-25T12:00:00Z", partial, "trigger", "error")
	event("2026-03-25T12:16:40Z", partial, "resolve", "error")

	// Fresh joins the page a minute before the figures are read.
	w.clock.Set(utc("2026-04-01T11:59:00Z"))
	cfg, err := config.Parse("nines.yaml", []byte(strings.Replace(uptimeConfig, "      - {name: Partial, service: partial}\n",
		"      - {name: Partial, service: partial}\n      - {name: Fresh, service: fresh}\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	w.app.Config.Swap(cfg)
	w.clock.Set(utc("2026-04-01T12:00:00Z"))

	var api struct {
		StatusPages []struct {
			ID         string
			Components []struct {
				ID     string
				Uptime string
			}
		} `json:"status_pages"`
	}
	w.call("GET", "/api/v1/status-pages", nil, http.StatusOK, &api)
	apiUptime := map[string]string{}
	for _, p := range api.StatusPages {
		for _, c := range p.Components {
			apiUptime[p.ID+"/"+c.ID] = c.Uptime
		}
	}
	pages := map[string]string{"utc": w.get("/status/utc"), "ny": w.get("/status/ny")}
	titles := regexp.MustCompile(`<title>([^<]*)</title>`)
	for _, row := range readUptimeTable(t) {
		t.Run(row.page+" "+row.component+" "+row.figure, func(t *testing.T) {
			page := pages[row.page]
			start := strings.Index(page, `id="component-`+row.component+`"`)
			if start < 0 {
				t.Fatalf("page %s has no component %s", row.page, row.component)
			}
			li := page[start:]
			li = html.UnescapeString(li[:strings.Index(li, "</li>")])
			bars := map[string]string{}
			for _, m := range titles.FindAllStringSubmatch(li, -1) {
				day, text, _ := strings.Cut(m[1], ": ")
				bars[day] = text
			}
			switch {
			case row.figure == "uptime":
				if got := apiUptime[row.page+"/"+row.component]; got != row.shown {
					t.Errorf("the API shows %s, want %s", got, row.shown)
				}
				if !strings.Contains(li, "<span>"+row.shown+" uptime</span>") {
					t.Errorf("the page does not show %q beside the bars:\n%s", row.shown+" uptime", li)
				}
			case row.figure == "no-data days":
				n := 0
				for _, text := range bars {
					if text == "no data" {
						n++
					}
				}
				if want, _ := strconv.Atoi(row.shown); n != want {
					t.Errorf("%d days show no data, want %d", n, want)
				}
			default:
				day, err := time.Parse("2006-01-02", row.figure)
				if err != nil {
					t.Fatal(err)
				}
				got, drawn := bars[day.Format("Jan 2")]
				switch {
				case row.shown == "no incidents" && drawn:
					t.Errorf("the day is drawn as %q, want green (no incidents)", got)
				case row.shown != "no incidents" && got != row.shown:
					t.Errorf("the day shows %q, want %q", got, row.shown)
				}
			}
		})
	}
}
