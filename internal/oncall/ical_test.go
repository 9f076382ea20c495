package oncall

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestCalendarMatchesGolden(t *testing.T) {
	c := loadConfig(t)
	ovs := []Override{{ID: 7, ScheduleID: "ops", UserID: "bob", Start: ts("2026-03-31T12:00:00Z"), End: ts("2026-04-01T12:00:00Z")}}
	shifts := Shifts(c.Schedule("ops"), ovs, ts("2026-03-23T00:00:00Z"), ts("2026-04-13T00:00:00Z"))
	got := Calendar("ops; on call, Paris", shifts, map[string]string{"alice": "Alice Durand-Émilie de la Fontaine-Beaumarchais, Site Reliability"}, ts("2026-03-20T00:00:00Z"))
	golden := "testdata/ops.ics"
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("calendar differs from %s (run go test -update):\n%s", golden, got)
	}
	for i, l := range strings.Split(string(got), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line %d is %d octets, over the 75 RFC 5545 allows", i+1, len(l))
		}
	}
	if n := strings.Count(string(got), "BEGIN:VEVENT"); n != 6 {
		t.Errorf("%d events, want 6 (bob, carol, alice split in two by bob's override, bob)", n)
	}
}
