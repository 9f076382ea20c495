package config

import (
	"strings"
	"testing"
	"time"
)

func TestIncidentSettingsDefaults(t *testing.T) {
	c, err := Parse("nines.yaml", []byte("services: [{id: a}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := &c.Incidents
	if s.ActionItemDays != 5 || s.ChangeLookback.D() != 24*time.Hour || s.ChangeFailureWindow.D() != 24*time.Hour {
		t.Errorf("defaults: %d days, lookback %s, window %s", s.ActionItemDays, s.ChangeLookback.D(), s.ChangeFailureWindow.D())
	}
	if s.SEVFor("critical") != "SEV1" || s.SEVFor("info") != "SEV4" || s.SEVFor("unknown") != "SEV5" {
		t.Error("default SEV mapping is wrong")
	}
	if s.SEVName("SEV2") != "Major" || s.RoleName(RoleCommander) != "Incident commander" || s.Location() != time.UTC {
		t.Error("default names are wrong")
	}
}

func TestIncidentSettingsAreRead(t *testing.T) {
	c, err := Parse("nines.yaml", []byte(`
incidents:
  severities: {SEV1: Outage}
  default_sev: {warning: SEV2}
  roles: {liaison: Customer liaison}
  time_zone: Europe/Berlin
  holidays: ["2026-12-25"]
  action_item_days: 3
  change_lookback: 6h
  working_hours: {start: "08:00", end: "18:00"}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := &c.Incidents
	if s.SEVName("SEV1") != "Outage" || s.SEVName("SEV3") != "Minor" || s.SEVFor("warning") != "SEV2" || s.SEVFor("critical") != "SEV1" {
		t.Error("severities or default_sev not applied over the defaults")
	}
	if got := strings.Join(s.RoleNames(), ","); got != "commander,communications,scribe,liaison" {
		t.Errorf("roles = %s", got)
	}
	if !s.Holiday("2026-12-25") || s.ActionItemDays != 3 || s.ChangeLookback.D() != 6*time.Hour {
		t.Error("holidays, action_item_days or change_lookback not read")
	}

}

func TestBadIncidentSettingsAreReportedWhereTheyAre(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"a level that does not exist", "incidents:\n  severities: {SEV6: Trivial}\n", `nines.yaml:2:15: incidents.severities: "SEV6" is not a level`},
		{"a mapping to a level that does not exist", "incidents:\n  default_sev: {critical: SEV0}\n", `nines.yaml:2:16: incidents.default_sev: critical: "SEV0" is not a level`},
		{"an unknown alert severity", "incidents:\n  default_sev: {fatal: SEV1}\n", `"fatal" is not an alert severity`},
		{"a time zone that does not exist", "incidents:\n  time_zone: Mars/Olympus\n", `nines.yaml:2:14: incidents.time_zone "Mars/Olympus"`},
		{"a holiday that is not a date", "incidents:\n  holidays: [christmas]\n", `nines.yaml:2:13: incidents.holidays: "christmas" is not a date`},
		{"no business days at all", "incidents:\n  action_item_days: 0\n", "nines.yaml:2:21: incidents.action_item_days 0: want 1 to 60"},
		{"a working day that ends before it starts", "incidents:\n  working_hours: {start: \"18:00\", end: \"09:00\"}\n", "end 09:00 is not after start 18:00"},
		{"a working day start that is not a time", "incidents:\n  working_hours: {start: noon}\n", `incidents.working_hours.start: "noon"`},
		{"a role with no name", "incidents:\n  roles: {liaison: \"\"}\n", "incidents.roles: liaison needs a name"},
		{"an unknown field", "incidents:\n  sevs: {}\n", "sevs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("nines.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want one containing %q", err, c.want)
			}
		})
	}
}
