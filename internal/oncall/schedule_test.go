package oncall

import (
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

const testConfig = `
users:
  - {id: alice, time_zone: Europe/Paris}
  - {id: bob, time_zone: Europe/Paris}
  - {id: carol, time_zone: America/New_York}
  - {id: dave, time_zone: America/New_York}
  - {id: erin, time_zone: America/New_York}
  - {id: frank, time_zone: Asia/Tokyo}
schedules:
  - id: ops
    time_zone: Europe/Paris
    layers:
      - name: primary
        rotation: {length: 1w, handoff: "2026-01-05T09:00"}
        users: [alice, bob, carol]
  - id: ny
    time_zone: America/New_York
    layers:
      - name: halves
        rotation: {length: 12h, handoff: "2026-03-01T08:00"}
        users: [dave, erin]
  - id: sun
    time_zone: Europe/Paris
    layers:
      - name: night
        rotation: {length: 1d, handoff: "2026-03-02T00:00"}
        users: [frank]
      - name: office
        rotation: {length: 1w, handoff: "2026-03-02T00:00"}
        users: [alice, bob]
        restrictions: [{days: [weekdays], start: "09:00", end: "18:00"}]
  - id: late
    time_zone: UTC
    layers:
      - name: nights
        rotation: {length: 1w, handoff: "2026-03-02T00:00"}
        users: [dave]
        restrictions: [{days: [mon], start: "22:00", end: "06:00"}]
`

func loadConfig(t testing.TB) *config.Config {
	t.Helper()
	c, err := config.Parse("test.yaml", []byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWhoIsOnCall(t *testing.T) {
	c := loadConfig(t)
	cases := []struct {
		name       string
		schedule   string
		at         string
		user       string // "" means nobody
		start, end string
	}{
		// Europe/Paris moves to summer time on 2026-03-29: the Monday 09:00 hand-off is 08:00Z
		// before and 07:00Z after.
		{"the winter hand-off is at 08:00Z", "ops", "2026-03-23T08:00:00Z", "carol", "2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z"},
		{"a minute before the winter hand-off the previous person is on call", "ops", "2026-03-23T07:59:00Z", "bob", "2026-03-16T08:00:00Z", "2026-03-23T08:00:00Z"},
		{"the turn across the spring change lasts 167 hours", "ops", "2026-03-29T12:00:00Z", "carol", "2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z"},
		{"the summer hand-off is at 07:00Z", "ops", "2026-03-30T07:00:00Z", "alice", "2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z"},
		{"the reference query at 07:30Z finds alice", "ops", "2026-03-30T07:30:00Z", "alice", "2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z"},
		{"a minute before the summer hand-off carol is still on call", "ops", "2026-03-30T06:59:00Z", "carol", "2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z"},
		// Back to winter time on 2026-10-25: that turn lasts 169 hours.
		{"the turn across the autumn change lasts 169 hours", "ops", "2026-10-25T03:00:00Z", "carol", "2026-10-19T07:00:00Z", "2026-10-26T08:00:00Z"},
		{"the first winter hand-off after autumn is at 08:00Z", "ops", "2026-10-26T08:00:00Z", "alice", "2026-10-26T08:00:00Z", "2026-11-02T08:00:00Z"},
		{"at 07:30Z after autumn the previous person is still on call", "ops", "2026-10-26T07:30:00Z", "carol", "2026-10-19T07:00:00Z", "2026-10-26T08:00:00Z"},
		{"before the first hand-off nobody is on call", "ops", "2026-01-05T07:59:00Z", "", "", ""},
		{"the first hand-off starts the rotation", "ops", "2026-01-05T08:00:00Z", "alice", "2026-01-05T08:00:00Z", "2026-01-12T08:00:00Z"},
		{"far in the future the rotation still counts right", "ops", "2027-01-04T08:00:00Z", "bob", "2027-01-04T08:00:00Z", "2027-01-11T08:00:00Z"},
		// America/New_York: summer time from 2026-03-08 02:00, winter from 2026-11-01 02:00.
		{"the night half before the spring change lasts 11 hours", "ny", "2026-03-08T06:30:00Z", "erin", "2026-03-08T01:00:00Z", "2026-03-08T12:00:00Z"},
		{"the day half after the spring change starts at 08:00 EDT", "ny", "2026-03-08T12:00:00Z", "dave", "2026-03-08T12:00:00Z", "2026-03-09T00:00:00Z"},
		{"the night half across the autumn change lasts 13 hours", "ny", "2026-11-01T05:30:00Z", "erin", "2026-11-01T00:00:00Z", "2026-11-01T13:00:00Z"},
		{"the day half after the autumn change starts at 08:00 EST", "ny", "2026-11-01T13:00:00Z", "dave", "2026-11-01T13:00:00Z", "2026-11-02T01:00:00Z"},
		// Follow the sun: the office layer (higher) holds weekdays 09-18 Paris; the night layer the rest.
		{"inside office hours the higher layer wins", "sun", "2026-03-03T10:00:00Z", "alice", "2026-03-03T08:00:00Z", "2026-03-03T17:00:00Z"},
		{"outside office hours the lower layer holds", "sun", "2026-03-03T18:00:00Z", "frank", "2026-03-03T17:00:00Z", "2026-03-03T23:00:00Z"},
		{"office hours follow summer time", "sun", "2026-03-30T07:30:00Z", "alice", "2026-03-30T07:00:00Z", "2026-03-30T16:00:00Z"},
		{"on a saturday the lower layer holds all day", "sun", "2026-03-07T12:00:00Z", "frank", "2026-03-06T23:00:00Z", "2026-03-07T23:00:00Z"},
		{"a restriction past midnight covers the next morning", "late", "2026-03-03T05:00:00Z", "dave", "2026-03-02T22:00:00Z", "2026-03-03T06:00:00Z"},
		{"outside a restriction nobody is on call", "late", "2026-03-03T12:00:00Z", "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := At(c.Schedule(tc.schedule), nil, ts(tc.at))
			if tc.user == "" {
				if len(got) != 0 {
					t.Fatalf("want nobody, got %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want %s, got %+v", tc.user, got)
			}
			sh := got[0]
			if sh.UserID != tc.user || !sh.Start.Equal(ts(tc.start)) || !sh.End.Equal(ts(tc.end)) {
				t.Fatalf("got %s %s..%s, want %s %s..%s", sh.UserID, sh.Start.UTC().Format(time.RFC3339), sh.End.UTC().Format(time.RFC3339), tc.user, tc.start, tc.end)
			}
		})
	}
}

// TestEveryInstantOf2026 walks the reference schedule hour by hour through 2026 and checks each
// answer against the rotation counted in local calendar weeks.
func TestEveryInstantOf2026(t *testing.T) {
	c := loadConfig(t)
	s := c.Schedule("ops")
	paris := s.Location()
	users := []string{"alice", "bob", "carol"}
	first := time.Date(2026, 1, 5, 9, 0, 0, 0, paris)
	for at := ts("2026-01-05T08:00:00Z"); at.Year() < 2027; at = at.Add(17 * time.Minute) {
		local := at.In(paris)
		// Days since the first hand-off's local date, minus one if today's hand-off is yet to come.
		days := int(time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC).Sub(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)).Hours() / 24)
		if local.Hour() < 9 {
			days--
		}
		want := users[(days/7)%3]
		got := At(s, nil, at)
		if len(got) != 1 || got[0].UserID != want {
			t.Fatalf("at %s (%s): got %+v, want %s", at.Format(time.RFC3339), local, got, want)
		}
		if got[0].Start.In(paris).Hour() != 9 && !got[0].Start.Equal(first) {
			t.Fatalf("at %s: shift starts at %s local, not at 09:00", at, got[0].Start.In(paris))
		}
	}
}

func TestOverrides(t *testing.T) {
	c := loadConfig(t)
	s := c.Schedule("ops")
	ovs := []Override{
		{ID: 1, ScheduleID: "ops", UserID: "bob", Start: ts("2026-03-31T12:00:00Z"), End: ts("2026-04-01T12:00:00Z")},
		{ID: 2, ScheduleID: "ops", UserID: "carol", Start: ts("2026-04-02T00:00:00Z"), End: ts("2026-04-03T00:00:00Z")},
		{ID: 3, ScheduleID: "ops", UserID: "alice", Start: ts("2026-04-02T06:00:00Z"), End: ts("2026-04-02T07:00:00Z")},
		{ID: 4, ScheduleID: "other", UserID: "carol", Start: ts("2026-03-30T00:00:00Z"), End: ts("2026-04-30T00:00:00Z")},
	}
	t.Run("an override splits a shift in three", func(t *testing.T) {
		got := Shifts(s, ovs[:1], ts("2026-03-30T07:00:00Z"), ts("2026-04-06T07:00:00Z"))
		want := []Shift{
			{UserID: "alice", Layer: "primary", Start: ts("2026-03-30T07:00:00Z"), End: ts("2026-03-31T12:00:00Z")},
			{UserID: "bob", Layer: OverrideLayer, Start: ts("2026-03-31T12:00:00Z"), End: ts("2026-04-01T12:00:00Z"), OverrideID: 1},
			{UserID: "alice", Layer: "primary", Start: ts("2026-04-01T12:00:00Z"), End: ts("2026-04-06T07:00:00Z")},
		}
		sameShifts(t, got, want)
	})
	cases := []struct {
		name, at, user, start, end string
	}{
		{"inside an override its user is on call for the override's span", "2026-04-01T00:00:00Z", "bob", "2026-03-31T12:00:00Z", "2026-04-01T12:00:00Z"},
		{"after an override the rotation's user is back until the next override", "2026-04-01T12:00:00Z", "alice", "2026-04-01T12:00:00Z", "2026-04-02T00:00:00Z"},
		{"before an override the rotation's shift ends where the override begins", "2026-03-31T11:59:00Z", "alice", "2026-03-30T07:00:00Z", "2026-03-31T12:00:00Z"},
		{"a later override wins inside an earlier one", "2026-04-02T06:30:00Z", "alice", "2026-04-02T06:00:00Z", "2026-04-02T07:00:00Z"},
		{"the earlier override resumes after the later one", "2026-04-02T07:00:00Z", "carol", "2026-04-02T07:00:00Z", "2026-04-03T00:00:00Z"},
		{"an override of another schedule changes nothing", "2026-04-05T00:00:00Z", "alice", "2026-04-03T00:00:00Z", "2026-04-06T07:00:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := At(s, ovs, ts(tc.at))
			if len(got) != 1 || got[0].UserID != tc.user || !got[0].Start.Equal(ts(tc.start)) || !got[0].End.Equal(ts(tc.end)) {
				t.Fatalf("got %+v, want %s %s..%s", got, tc.user, tc.start, tc.end)
			}
		})
	}
	t.Run("an override before the first hand-off puts someone on call", func(t *testing.T) {
		o := []Override{{ID: 9, ScheduleID: "ops", UserID: "bob", Start: ts("2025-12-01T00:00:00Z"), End: ts("2025-12-02T00:00:00Z")}}
		got := At(s, o, ts("2025-12-01T10:00:00Z"))
		if len(got) != 1 || got[0].UserID != "bob" {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("a month-long override is found from its middle", func(t *testing.T) {
		o := []Override{{ID: 9, ScheduleID: "ops", UserID: "bob", Start: ts("2026-05-01T00:00:00Z"), End: ts("2026-07-01T00:00:00Z")}}
		got := At(s, o, ts("2026-06-01T00:00:00Z"))
		if len(got) != 1 || got[0].UserID != "bob" || !got[0].Start.Equal(o[0].Start) || !got[0].End.Equal(o[0].End) {
			t.Fatalf("got %+v", got)
		}
	})
}

func TestLayersAndTheOverridesThatCoverThem(t *testing.T) {
	c := loadConfig(t)
	sun := c.Schedule("sun")
	// Tuesday 2026-03-03: frank holds the night layer all day, alice the office layer 09-18 Paris.
	ov := func(id int64, user, layer, from, to string) Override {
		return Override{ID: id, ScheduleID: "sun", UserID: user, Layer: layer, Start: ts(from), End: ts(to)}
	}
	cases := []struct {
		name      string
		layers    []string
		overrides []Override
		at        string
		user      string
		layer     string
	}{
		{"a layer target sees only that layer", []string{"night"}, nil, "2026-03-03T10:00:00Z", "frank", "night"},
		{"an override of a layer replaces whoever that layer has on call",
			[]string{"night"}, []Override{ov(1, "dave", "night", "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z")}, "2026-03-03T10:00:00Z", "dave", "night"},
		{"an override of the whole schedule covers every layer",
			[]string{"night"}, []Override{ov(1, "dave", "", "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z")}, "2026-03-03T10:00:00Z", "dave", OverrideLayer},
		{"an override of another layer leaves this one alone",
			[]string{"night"}, []Override{ov(1, "dave", "office", "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z")}, "2026-03-03T10:00:00Z", "frank", "night"},
		{"in the final schedule an override of a lower layer stays under the higher layer",
			nil, []Override{ov(1, "dave", "night", "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z")}, "2026-03-03T10:00:00Z", "alice", "office"},
		{"in the final schedule an override of a lower layer shows where that layer holds",
			nil, []Override{ov(1, "dave", "night", "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z")}, "2026-03-03T18:00:00Z", "dave", "night"},
		{"an override of the top layer fills that layer's gaps too",
			nil, []Override{ov(1, "dave", "office", "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z")}, "2026-03-03T20:00:00Z", "dave", "office"},
		{"a whole-schedule override wins over a layer override",
			[]string{"night"}, []Override{ov(1, "dave", "", "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z"), ov(2, "erin", "night", "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z")},
			"2026-03-03T10:00:00Z", "dave", OverrideLayer},
		{"an override of a layer the config no longer has covers nothing",
			[]string{"night"}, []Override{ov(1, "dave", "gone", "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z")}, "2026-03-03T10:00:00Z", "frank", "night"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := AtOn(sun, tc.layers, tc.overrides, ts(tc.at))
			if len(got) != 1 || got[0].UserID != tc.user || got[0].Layer != tc.layer {
				t.Fatalf("got %+v, want %s on %s", got, tc.user, tc.layer)
			}
		})
	}
}

func sameShifts(t *testing.T, got, want []Shift) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d shifts %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.UserID != w.UserID || g.Layer != w.Layer || !g.Start.Equal(w.Start) || !g.End.Equal(w.End) || g.OverrideID != w.OverrideID {
			t.Errorf("shift %d: got %s/%s %s..%s, want %s/%s %s..%s", i, g.UserID, g.Layer, g.Start.UTC(), g.End.UTC(), w.UserID, w.Layer, w.Start.UTC(), w.End.UTC())
		}
	}
}
