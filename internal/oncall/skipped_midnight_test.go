package oncall

import (
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// Chile moves its clocks from 00:00 to 01:00 on Sunday 2026-09-06 (America/Santiago goes from
// -04 to -03 at 04:00Z): that day has no midnight. A restricted turn across it is cut into its
// weekday windows as on any other week, and who is on call is answered at all. Hand-worked:
// Friday 4 September 09:00-18:00 -04 is 13:00Z-22:00Z; Monday 7 September 09:00-18:00 -03 is
// 12:00Z-21:00Z.
func TestARestrictedTurnAcrossASkippedMidnight(t *testing.T) {
	c, err := config.Parse("test.yaml", []byte(`
users:
  - {id: alice, time_zone: America/Santiago}
schedules:
  - id: chile
    time_zone: America/Santiago
    layers:
      - name: office
        rotation: {length: 1w, handoff: "2026-08-31T09:00"}
        users: [alice]
        restrictions: [{days: [weekdays], start: "09:00", end: "18:00"}]
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ at, start, end string }{
		{"2026-09-04T14:00:00Z", "2026-09-04T13:00:00Z", "2026-09-04T22:00:00Z"},
		{"2026-09-07T13:00:00Z", "2026-09-07T12:00:00Z", "2026-09-07T21:00:00Z"},
		{"2026-09-06T12:00:00Z", "", ""}, // Sunday: nobody
	} {
		done := make(chan []Shift, 1)
		go func() { done <- At(c.Schedule("chile"), nil, ts(tc.at)) }()
		var got []Shift
		select {
		case got = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("who is on call at %s never came", tc.at)
		}
		if tc.start == "" {
			if len(got) != 0 {
				t.Errorf("at %s: %+v, want nobody", tc.at, got)
			}
			continue
		}
		if len(got) != 1 || !got[0].Start.Equal(ts(tc.start)) || !got[0].End.Equal(ts(tc.end)) {
			t.Errorf("at %s: %+v, want alice %s..%s", tc.at, got, tc.start, tc.end)
		}
	}
}
