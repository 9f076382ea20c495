package statuspage

import (
	"testing"

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
