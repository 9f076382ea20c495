package oncall

import (
	"fmt"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// FuzzShifts builds schedules from fuzzed rotations, restrictions and zones and checks that the
// final shifts never overlap, stay in the window, and agree with At.
func FuzzShifts(f *testing.F) {
	f.Add(uint8(0), uint8(7), uint8(9), uint8(0), uint16(540), uint16(1080), int64(0), uint8(0))
	f.Add(uint8(12), uint8(0), uint8(8), uint8(30), uint16(1320), uint16(360), int64(86400*180), uint8(1))
	f.Add(uint8(1), uint8(1), uint8(2), uint8(30), uint16(0), uint16(0), int64(86400*83), uint8(2))
	zones := []string{"Europe/Paris", "America/New_York", "Australia/Lord_Howe", "UTC"}
	f.Fuzz(func(t *testing.T, hours, days, hh, mm uint8, rs, re uint16, offset int64, zone uint8) {
		if hours == 0 && days == 0 {
			hours = 1
		}
		length := fmt.Sprintf("%dd%dh", days%30, hours%48)
		if days%30 == 0 {
			length = fmt.Sprintf("%dh", hours%48+1)
		}
		restriction := ""
		if rs%1440 != re%1440 {
			restriction = fmt.Sprintf(`, restrictions: [{start: "%02d:%02d", end: "%02d:%02d"}]`, rs%1440/60, rs%60, re%1440/60, re%60)
		}
		y := fmt.Sprintf(`
users: [{id: a}, {id: b}, {id: c}]
schedules:
  - id: s
    time_zone: %s
    layers:
      - {name: base, rotation: {length: 1d, handoff: "2026-01-01T00:00"}, users: [c]}
      - {name: top, rotation: {length: %s, handoff: "2026-01-05T%02d:%02d"}, users: [a, b]%s}
`, zones[int(zone)%len(zones)], length, hh%24, mm%60, restriction)
		c, err := config.Parse("f.yaml", []byte(y))
		if err != nil {
			t.Skip(err)
		}
		s := c.Schedule("s")
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(offset%(86400*400)) * time.Second)
		if offset < 0 {
			from = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		to := from.Add(10 * 24 * time.Hour)
		ovs := []Override{{ID: 1, ScheduleID: "s", UserID: "b", Start: from.Add(30 * time.Hour), End: from.Add(50 * time.Hour)}}
		shs := Shifts(s, ovs, from, to)
		for i, sh := range shs {
			if !sh.End.After(sh.Start) || sh.Start.Before(from) || sh.End.After(to) {
				t.Fatalf("shift %d out of order or window: %+v", i, sh)
			}
			if i > 0 && sh.Start.Before(shs[i-1].End) {
				t.Fatalf("shifts %d and %d overlap: %+v %+v", i-1, i, shs[i-1], sh)
			}
		}
		for _, probe := range []time.Duration{31 * time.Hour, 100 * time.Hour, 200 * time.Hour} {
			at := from.Add(probe)
			got := At(s, ovs, at)
			var want *Shift
			for i := range shs {
				if !shs[i].Start.After(at) && shs[i].End.After(at) {
					want = &shs[i]
				}
			}
			if (want == nil) != (len(got) == 0) || (want != nil && got[0].UserID != want.UserID) {
				t.Fatalf("At(%s) = %+v, Shifts says %+v", at, got, want)
			}
		}
	})
}
