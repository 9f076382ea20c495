package probe

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

const heartbeatConfig = `services: [{id: backups, name: Backups}]
monitors:
  - id: nightly-backup
    service: backups
    type: heartbeat
    uuid: 5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10
    period: 24h
    grace: 1h
  - id: report
    service: backups
    type: heartbeat
    uuid: 0f0e0d0c-0b0a-4908-8706-050403020100
    cron: "0 3 * * *"
    time_zone: Europe/Paris
    grace: 30m
`

const backupUUID = "5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10"

func TestHeartbeats(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, testSchemas, func(t *testing.T, db *store.DB) {
		t.Run("a missed ping opens an incident once period and grace have passed", func(t *testing.T) {
			h := newHarness(t, db, heartbeatConfig, t0)
			if err := h.mon.Ping(ctx, backupUUID, Ping{Kind: PingSuccess, ExitCode: -1}); err != nil {
				t.Fatal(err)
			}
			h.clock.Advance(24*time.Hour + 59*time.Minute)
			time.Sleep(50 * time.Millisecond)
			if n := len(h.incidentsOf("backups")); n != 0 {
				t.Fatalf("%d incidents before the grace ran out, want none", n)
			}
			h.clock.Advance(2 * time.Minute)
			storetest.Eventually(t, 5*time.Second, "the late heartbeat to open an incident", func() bool { return len(h.incidentsOf("backups")) == 1 })
			v, _ := h.mon.View("nightly-backup")
			if v.Status != StatusDown || v.Cause != CauseMissed || !strings.Contains(v.Message, "no ping since 2026-03-02T10:00:00Z") {
				t.Fatalf("view %+v, want down as late with the last ping's time", v)
			}
			// The next success resolves it and sets a new deadline.
			if err := h.mon.Ping(ctx, backupUUID, Ping{Kind: PingSuccess, ExitCode: -1}); err != nil {
				t.Fatal(err)
			}
			if incs := h.incidentsOf("backups"); len(incs) != 1 || incs[0].State != incident.Resolved {
				for _, inc := range incs {
					evs, _ := h.incidents.Timeline(ctx, inc.ID)
					for _, e := range evs {
						t.Logf("incident %d: %v %s %s %s", inc.ID, e.At, e.Type, e.Actor, e.Data)
					}
				}
				t.Fatalf("incidents %+v after a new ping, want the one resolved", incs)
			}
		})
	})
	cases := []struct {
		name   string
		suffix string
		opens  bool
		msg    string
	}{
		{"a /fail ping opens an incident", "fail", true, "reported failure"},
		{"a non-zero exit code opens an incident", "3", true, "exited with code 3"},
		{"exit code 0 is a success", "0", false, ""},
		{"a start ping changes nothing", "start", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, storetest.SQLite(t, testSchemas), heartbeatConfig, t0)
			kind, code, err := ParsePingPath(tc.suffix)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.mon.Ping(ctx, backupUUID, Ping{Kind: kind, ExitCode: code, Body: "backup log"}); err != nil {
				t.Fatal(err)
			}
			incs := h.incidentsOf("backups")
			if (len(incs) == 1) != tc.opens {
				t.Fatalf("%d incidents, want opened=%v", len(incs), tc.opens)
			}
			if tc.opens && !strings.Contains(incs[0].Title, tc.msg) {
				t.Fatalf("incident title %q, want it to say %q", incs[0].Title, tc.msg)
			}
		})
	}
	t.Run("a run's duration goes from its start ping to its success and its body is kept", func(t *testing.T) {
		h := newHarness(t, storetest.SQLite(t, testSchemas), heartbeatConfig, t0)
		h.mon.Ping(ctx, backupUUID, Ping{Kind: PingStart, ExitCode: -1})
		h.clock.Advance(95 * time.Second)
		h.mon.Ping(ctx, backupUUID, Ping{Kind: PingSuccess, ExitCode: 0, Body: strings.Repeat("x", MaxPingBody+10)})
		pings, err := h.mon.Pings(ctx, "nightly-backup", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(pings) != 2 || pings[0].Duration != 95*time.Second || len(pings[0].Body) != MaxPingBody {
			t.Fatalf("pings %+v, want the success with a 95s duration and a body cut to %d bytes", pings, MaxPingBody)
		}
	})
	t.Run("an unknown uuid is refused", func(t *testing.T) {
		h := newHarness(t, storetest.SQLite(t, testSchemas), heartbeatConfig, t0)
		if err := h.mon.Ping(ctx, "00000000-0000-4000-8000-000000000000", Ping{Kind: PingSuccess}); !errors.Is(err, ErrUnknownHeartbeat) {
			t.Fatalf("got %v, want ErrUnknownHeartbeat", err)
		}
	})
}

func TestCronHeartbeatDeadlinesFollowTheSchedule(t *testing.T) {
	h := newHarness(t, storetest.SQLite(t, testSchemas), heartbeatConfig, t0)
	mon := h.live.Get().Monitor("report")
	// 2026-03-02 10:00 UTC is 11:00 in Paris: the next run is 03:00 Paris on the 3rd (02:00 UTC),
	// late 30 minutes after.
	got := Deadline(mon, t0)
	want := time.Date(2026, 3, 3, 2, 30, 0, 0, time.UTC)
	if !got.Equal(want) {
		t.Fatalf("deadline %s, want %s", got, want)
	}
}

func FuzzParsePingPath(f *testing.F) {
	for _, s := range []string{"", "start", "fail", "log", "0", "1", "255", "256", "-1", "01", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, code, err := ParsePingPath(s)
		if err != nil {
			return
		}
		if kind == "" || code > 255 || (kind == PingSuccess && code > 0) {
			t.Fatalf("%q parsed to %s %d", s, kind, code)
		}
	})
}

func TestHeartbeatsAgreeAcrossNodes(t *testing.T) {
	ctx := context.Background()
	storetest.Each(t, testSchemas, func(t *testing.T, db *store.DB) {
		// Two nodes on one database, as behind a load balancer: the failure reaches one, the
		// recovery the other.
		a := newHarness(t, db, heartbeatConfig, t0)
		b := newNode(t, db, heartbeatConfig, t0, false)
		if err := a.mon.Ping(ctx, backupUUID, Ping{Kind: PingFail, ExitCode: -1}); err != nil {
			t.Fatal(err)
		}
		if err := b.mon.Ping(ctx, backupUUID, Ping{Kind: PingSuccess, ExitCode: -1}); err != nil {
			t.Fatal(err)
		}
		incs := a.incidentsOf("backups")
		if len(incs) != 1 || incs[0].State != incident.Resolved {
			t.Fatalf("incidents %+v, want the one opened on node a resolved by the ping to node b", incs)
		}
	})
}

func FuzzParsePingURL(f *testing.F) {
	for _, s := range []string{"5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10", "5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10/start",
		"5B6C1C36-1D7E-4D2B-9A43-6F1E0C2B7A10/255", "fqOOd6-F4MMNuCEnzTU01w/db-backups", "fqOOd6-F4MMNuCEnzTU01w/db-backups/fail",
		"key/slug/log/x", "", "/", "a//b", "key", "5b6c1c36-1d7e-4d2b-9a43-6f1e0c2b7a10/start/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		target, kind, code, err := ParsePingURL(s)
		if err != nil {
			if len(err.Error()) > 300 {
				t.Fatalf("%q: an error of %d bytes echoes too much of the URL", s, len(err.Error()))
			}
			return
		}
		if (target.UUID == "") == (target.PingKey == "") || (target.PingKey != "") != (target.Slug != "") {
			t.Fatalf("%q parsed to %+v: want a uuid, or a ping key with a slug", s, target)
		}
		if target.UUID != "" && (!IsUUID(target.UUID) || target.UUID != strings.ToLower(target.UUID)) {
			t.Fatalf("%q parsed to uuid %q", s, target.UUID)
		}
		if strings.Contains(target.PingKey+target.Slug, "/") || kind == "" || code > 255 || (kind == PingSuccess && code > 0) {
			t.Fatalf("%q parsed to %+v %s %d", s, target, kind, code)
		}
	})
}
