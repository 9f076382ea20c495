package statuspage

import (
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/probe"
)

func TestAMonitorMapsToAComponentStatus(t *testing.T) {
	loc := func(status string) *probe.LocationView { return &probe.LocationView{Status: status} }
	for _, c := range []struct {
		name string
		view probe.View
		want Status
	}{
		{"an up monitor is operational", probe.View{Status: probe.StatusUp, Locations: map[string]*probe.LocationView{"eu": loc(probe.StatusUp)}}, Operational},
		{"a minority of locations failing below quorum is operational", probe.View{Status: probe.StatusUp,
			Locations: map[string]*probe.LocationView{"eu": loc(probe.StatusDown), "us": loc(probe.StatusUp), "ap": loc(probe.StatusUp)}}, Operational},
		{"a pending monitor is operational", probe.View{Status: probe.StatusPending}, Operational},
		{"a paused monitor is operational", probe.View{Status: probe.StatusPaused}, Operational},
		{"down everywhere is a major outage", probe.View{Status: probe.StatusDown,
			Locations: map[string]*probe.LocationView{"eu": loc(probe.StatusDown), "us": loc(probe.StatusDown)}}, MajorOutage},
		{"down by quorum while a location sees it up is a partial outage", probe.View{Status: probe.StatusDown,
			Locations: map[string]*probe.LocationView{"eu": loc(probe.StatusDown), "us": loc(probe.StatusUp)}}, PartialOutage},
		{"a missed heartbeat is a major outage", probe.View{Status: probe.StatusDown,
			Locations: map[string]*probe.LocationView{"push": loc(probe.StatusDown)}}, MajorOutage},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := monitorStatus(c.view); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestMonitorBarsShowEachDaysShareOfPassedChecks(t *testing.T) {
	d0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	now := d0.AddDate(0, 0, 2).Add(12 * time.Hour)
	days := []probe.DayBar{
		{Day: d0}, // no checks
		{Day: d0.AddDate(0, 0, 1), Checks: 1440, Failures: 0},
		{Day: d0.AddDate(0, 0, 2), Checks: 720, Failures: 72}, // half a day so far
	}
	bars, uptime := monitorBars(days, now)
	want := []Bar{
		{Index: 0, Day: d0, Status: Operational, Uptime: 100},
		{Index: 1, Day: d0.AddDate(0, 0, 1), Status: Operational, Uptime: 100},
		{Index: 2, Day: d0.AddDate(0, 0, 2), Status: PartialOutage, Uptime: 90, Down: 72 * time.Minute},
	}
	for i := range want {
		if bars[i] != want[i] {
			t.Errorf("bar %d = %+v, want %+v", i, bars[i], want[i])
		}
	}
	if wantUp := 100 * float64(2160-72) / 2160; uptime != wantUp {
		t.Errorf("uptime %v, want %v", uptime, wantUp)
	}
	if bars, _ := monitorBars([]probe.DayBar{{Day: d0, Checks: 5, Failures: 5}}, now); bars[0].Status != MajorOutage || bars[0].Uptime != 0 {
		t.Errorf("a day when every check failed: %+v, want a major outage at 0%%", bars[0])
	}
}
