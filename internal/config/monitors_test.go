package config

import (
	"strings"
	"testing"
	"time"
)

const referenceMonitors = `services:
  - {id: checkout, name: Checkout}
  - {id: backups, name: Backups}
monitors:
  - id: checkout-health
    service: checkout
    type: http
    url: http://127.0.0.1:8081/healthCheck
    interval: 30s
    timeout: 2s
    expect: {status: 200}          # also body_contains, json: {path: $.status, equals: UP}, max_response_time
    failures_before_down: 2
  - id: nightly-backup
    service: backups
    type: heartbeat
    uuid: 5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10
    period: 24h                    # or cron: "0 3 * * *" with time_zone
    grace: 1h
`

func TestTheReferenceMonitorsValidateAsWritten(t *testing.T) {
	c, err := Parse("nines.yaml", []byte(referenceMonitors))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Monitor("checkout-health")
	if m == nil || m.Interval.D() != 30*time.Second || m.Timeout.D() != 2*time.Second || m.FailuresBeforeDown != 2 ||
		m.SuccessesBeforeUp != 1 || m.Expect.Status != 200 || m.Method != "GET" || len(m.Locations) != 1 || m.Quorum != 1 {
		t.Fatalf("http monitor decoded wrong: %+v", m)
	}
	hb := c.Monitor("nightly-backup")
	if hb == nil || hb.Period.D() != 24*time.Hour || hb.Grace.D() != time.Hour {
		t.Fatalf("heartbeat decoded wrong: %+v", hb)
	}
}

func TestBadMonitorsAreReportedWithTheirPosition(t *testing.T) {
	base := "services:\n  - {id: web}\nmonitors:\n"
	cases := []struct {
		name, yaml, want string
	}{
		{"an unknown service is named", "  - {id: a, service: nope, type: tcp, address: 'x:1'}\n", "f.yaml:4:22: monitor a: unknown service \"nope\""},
		{"an unknown type is named", "  - {id: a, service: web, type: ping}\n", "unknown type \"ping\""},
		{"an interval under a second is refused", "  - {id: a, service: web, type: tcp, address: 'x:1', interval: 500ms}\n", "below the 1s minimum"},
		{"a timeout longer than the interval is refused", "  - {id: a, service: web, type: tcp, address: 'x:1', interval: 5s, timeout: 10s}\n", "longer than the interval"},
		{"an http monitor needs an absolute url", "  - {id: a, service: web, type: http, url: /health}\n", "want an absolute http"},
		{"a bad json path is refused", "  - {id: a, service: web, type: http, url: 'http://x/', expect: {json: {path: status, equals: UP}}}\n", "expect.json.path"},
		{"a field of another kind is refused", "  - {id: a, service: web, type: tcp, address: 'x:1', url: 'http://x/'}\n", "url applies to http monitors, not tcp"},
		{"a heartbeat needs a uuid", "  - {id: a, service: web, type: heartbeat, period: 1h}\n", "uuid is required"},
		{"a heartbeat uuid must be a uuid", "  - {id: a, service: web, type: heartbeat, uuid: abc, period: 1h}\n", "is not a UUID"},
		{"a heartbeat needs period or cron", "  - {id: a, service: web, type: heartbeat, uuid: 5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10}\n", "needs period"},
		{"a bad cron is refused", "  - {id: a, service: web, type: heartbeat, uuid: 5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10, cron: '61 * * * *'}\n", "cron \"61 * * * *\""},
		{"an unknown time zone is refused", "  - {id: a, service: web, type: heartbeat, uuid: 5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10, cron: '0 3 * * *', time_zone: Mars/Base}\n", "time_zone \"Mars/Base\""},
		{"a quorum above the locations is refused", "  - {id: a, service: web, type: tcp, address: 'x:1', locations: [eu, us], quorum: 3}\n", "quorum 3"},
		{"a dns monitor needs a known record type", "  - {id: a, service: web, type: dns, query: x., address: '127.0.0.1:53', record_type: XYZ}\n", "record_type \"XYZ\""},
		{"two heartbeats cannot share a uuid", "  - {id: a, service: web, type: heartbeat, uuid: 5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10, period: 1h}\n  - {id: b, service: web, type: heartbeat, uuid: 5B6C1C36-1d7e-4d2b-9a43-6f1e0c2b7a10, period: 1h}\n", "uuid is already used"},
		{"a maintenance window must end after it starts", "  - {id: a, service: web, type: tcp, address: 'x:1'}\nmaintenance:\n  - {id: m, monitors: [a], start: '2026-01-02T00:00:00Z', end: '2026-01-01T00:00:00Z'}\n", "end is not after start"},
		{"a maintenance window names known monitors", "maintenance:\n  - {id: m, monitors: [zz], cron: '0 2 * * 0', duration: 2h}\n", "unknown monitor \"zz\""},
		{"a slug uses lower-case letters, digits, '-' and '_'", "  - {id: a, service: web, type: heartbeat, uuid: 5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10, period: 1h, slug: Db/Backup}\n", "slug \"Db/Backup\""},
		{"two heartbeats cannot share a slug", "  - {id: a, service: web, type: heartbeat, uuid: 5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10, period: 1h}\n  - {id: b, service: web, type: heartbeat, uuid: 0f0e0d0c-0b0a-4908-8706-050403020100, period: 1h, slug: a}\n", "slug \"a\" is already used"},
		{"a slug applies to heartbeats", "  - {id: a, service: web, type: tcp, address: 'x:1', slug: a}\n", "slug applies to heartbeat monitors"},
		{"expiry_warning needs an https url", "  - {id: a, service: web, type: http, url: 'http://x/', expiry_warning: 7d}\n", "expiry_warning needs an https:// url"},
		{"a ping key shaped as a uuid is refused", "  - {id: a, service: web, type: tcp, address: 'x:1'}\nprobes: {ping_key: 5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10}\n", "probes.ping_key"},
		{"a short ping key is refused", "  - {id: a, service: web, type: tcp, address: 'x:1'}\nprobes: {ping_key: abc}\n", "probes.ping_key"},
		{"an agent names a known service", "  - {id: a, service: web, type: tcp, address: 'x:1'}\nprobes: {agents: [{location: eu-west, service: nope}]}\n", "probes.agents eu-west: unknown service \"nope\""},
		{"the server's own location is no agent", "  - {id: a, service: web, type: tcp, address: 'x:1'}\nprobes: {agents: [{location: local, service: web}]}\n", "is the server's own location"},
		{"an agent is listed once", "  - {id: a, service: web, type: tcp, address: 'x:1'}\nprobes: {agents: [{location: eu, service: web}, {location: eu, service: web}]}\n", "location \"eu\" is already listed"},
		{"an agent's grace is at least 10s", "  - {id: a, service: web, type: tcp, address: 'x:1'}\nprobes: {agents: [{location: eu, service: web, grace: 2s}]}\n", "give them at least 10s"},
		{"probes.agent_grace is at least 10s", "  - {id: a, service: web, type: tcp, address: 'x:1'}\nprobes: {agent_grace: 5s}\n", "probes.agent_grace 5s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(base+tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestMaintenanceWindowsCoverTheirTimes(t *testing.T) {
	c, err := Parse("f.yaml", []byte(`services: [{id: web}]
monitors: [{id: a, service: web, type: tcp, address: 'x:1'}]
maintenance:
  - {id: once, monitors: [a], start: '2026-03-01T02:00:00Z', end: '2026-03-01T04:00:00Z'}
  - {id: sundays, services: [web], cron: '0 2 * * 0', duration: 2h, time_zone: Europe/Paris}
`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		at   string
		want bool
	}{
		{"2026-03-01T01:59:59Z", true}, // a Sunday: 02:59 in Paris is inside the recurring window
		{"2026-03-01T03:00:00Z", true},
		{"2026-03-01T04:00:00Z", false},
		{"2026-03-02T01:30:00Z", false}, // a Monday
		{"2026-03-08T01:00:00Z", true},  // next Sunday, 02:00 Paris
		{"2026-03-08T03:00:00Z", false}, // 04:00 Paris, the window has ended
	}
	for _, tc := range cases {
		at, _ := time.Parse(time.RFC3339, tc.at)
		if got := c.Maintenance[0].Active(at) || c.Maintenance[1].Active(at); got != tc.want {
			t.Errorf("at %s: in maintenance = %v, want %v", tc.at, got, tc.want)
		}
	}
}

func TestAgentsAreWatchedAsListedOrByDefault(t *testing.T) {
	c, err := Parse("nines.yaml", []byte(`services: [{id: shop}, {id: platform}]
probes:
  agent_grace: 2m
  agents:
    - {location: us-east, service: platform, grace: 30s}
monitors:
  - {id: a, service: shop, type: tcp, address: 'x:1', locations: [local, eu-west, us-east]}
  - {id: hb, service: shop, type: heartbeat, uuid: 5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10, period: 1h}
`))
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := c.Agent("us-east"); !ok || a.Service != "platform" || a.Grace.D() != 30*time.Second {
		t.Fatalf("us-east: %+v %v, want platform with 30s as listed", a, ok)
	}
	if a, ok := c.Agent("eu-west"); !ok || a.Service != "shop" || a.Grace.D() != 2*time.Minute {
		t.Fatalf("eu-west: %+v %v, want the first monitor's service with probes.agent_grace", a, ok)
	}
	if _, ok := c.Agent("local"); ok {
		t.Fatal("the server's own location is watched as an agent")
	}
	if got := c.AgentLocations(); strings.Join(got, ",") != "us-east,eu-west" {
		t.Fatalf("agent locations %v", got)
	}
	if hb := c.HeartbeatBySlug("hb"); hb == nil || hb.ID != "hb" {
		t.Fatal("a heartbeat's id is its slug by default")
	}
}

// A window's start and end are instants like any other nines takes: in the years 1970 to 2999,
// refused in the words the API and the pages use.
func TestMaintenanceWindowsOutsideTheYears1970To2999AreRefused(t *testing.T) {
	_, err := Parse("f.yaml", []byte(`services: [{id: web}]
maintenance:
  - {id: forever, services: [web], start: '2026-04-01T00:00:00Z', end: '9999-12-31T00:00:00Z'}
  - {id: ancient, services: [web], start: '1969-12-31T00:00:00Z', end: '2026-04-01T00:00:00Z'}
`))
	want := "f.yaml:3:72: maintenance forever: end: 9999-12-31T00:00:00Z is outside the years 1970 to 2999\n" +
		"f.yaml:4:43: maintenance ancient: start: 1969-12-31T00:00:00Z is outside the years 1970 to 2999"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestAMonitorReadOnItsOwnNamesTheFieldOfEachProblem(t *testing.T) {
	cfg, err := Parse("nines.yaml", []byte("services: [{id: shop}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, body string
		fields     []string
	}{
		{"a well-formed monitor is read, with the config's defaults", `{"service": "shop", "type": "http", "url": "http://127.0.0.1/"}`, nil},
		{"a value of the wrong type names its field", `{"service": "shop", "type": "http", "url": "http://x/", "expect": {"status": "ok"}}`, []string{"expect.status"}},
		{"an unknown field is named", `{"service": "shop", "type": "http", "url": "http://x/", "timout": "3s"}`, []string{"timout"}},
		{"an unknown service is named", `{"service": "nope", "type": "tcp", "address": "127.0.0.1:1"}`, []string{"service"}},
		{"a field of another kind is named", `{"service": "shop", "type": "tcp", "address": "127.0.0.1:1", "url": "http://x/"}`, []string{"url"}},
		{"every problem is listed", `{"service": "nope", "type": "http", "url": "ftp://x/"}`, []string{"service", "url"}},
		{"a list is not a monitor", `[1]`, []string{"monitor"}},
		{"broken JSON is refused", `{"service": `, []string{"monitor"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, problems := cfg.ReadMonitor([]byte(tc.body))
			var got []string
			for _, p := range problems {
				got = append(got, p.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("problems %+v, want fields %v", problems, tc.fields)
			}
			if tc.fields == nil && (m == nil || m.Method != "GET" || m.Timeout.D() <= 0) {
				t.Fatalf("read %+v, want the defaults filled in", m)
			}
		})
	}
}
