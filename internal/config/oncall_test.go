package config

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestReferenceOnCallConfigValidates(t *testing.T) {
	data, err := os.ReadFile("testdata/oncall_reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("oncall_reference.yaml", data)
	if err != nil {
		t.Fatalf("reference config does not validate:\n%v", err)
	}
	s := c.Schedule("ops")
	if s == nil || s.Location().String() != "Europe/Paris" {
		t.Fatalf("schedule ops: %+v", s)
	}
	l := s.Layers[0]
	if l.Rotation.Length != (RotationLength{Days: 7}) {
		t.Errorf("rotation length = %+v, want 7 days", l.Rotation.Length)
	}
	if got := l.Rotation.Handoff.In(s.Location()).UTC(); !got.Equal(time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("first hand-off = %v, want 2026-01-05 08:00Z", got)
	}
	p := c.EscalationPolicy("ops-policy")
	if p.Repeat != 1 || len(p.Steps) != 2 || p.Steps[0].EscalateAfter.D() != 10*time.Minute {
		t.Errorf("policy = %+v", p)
	}
	if c.Notifications.Email.SMTP.Port != 2525 || c.Notifications.Email.SMTP.TLS != "none" {
		t.Errorf("smtp = %+v", c.Notifications.Email.SMTP)
	}
	if c.User("carol").Location().String() != "America/New_York" {
		t.Errorf("carol's zone = %v", c.User("carol").Location())
	}
}

func TestOnCallConfigErrorsNameTheSpot(t *testing.T) {
	base := `
users:
  - {id: alice, time_zone: Europe/Paris, contact_methods: [{type: email, address: alice@example.com}]}
notifications:
  email: {smtp: {host: 127.0.0.1, port: 2525, from: nines@example.com, tls: none}}
`
	cases := []struct {
		name, yaml, want string
	}{
		{"a service naming an unknown policy is refused",
			"services: [{id: s, escalation_policy: nope}]\n", "n.yaml:7:39: service s: unknown escalation policy \"nope\""},
		{"a service naming an undeclared team is refused once teams are declared",
			"teams: [{id: payments}]\nservices: [{id: s, team: nope}]\n", "unknown team \"nope\""},
		{"an unknown time zone is refused",
			"schedules: [{id: x, time_zone: Mars/Olympus, layers: [{rotation: {length: 1w, handoff: '2026-01-05T09:00'}, users: [alice]}]}]\n", "unknown time zone \"Mars/Olympus\""},
		{"a rotation length with minutes is refused",
			"schedules: [{id: x, layers: [{rotation: {length: 90m, handoff: '2026-01-05T09:00'}, users: [alice]}]}]\n", "rotation length \"90m\""},
		{"a hand-off with an offset is refused",
			"schedules: [{id: x, layers: [{rotation: {length: 1w, handoff: '2026-01-05T09:00+01:00'}, users: [alice]}]}]\n", "without an offset"},
		{"a layer naming an unknown user is refused",
			"schedules: [{id: x, layers: [{rotation: {length: 1d, handoff: '2026-01-05T09:00'}, users: [alice, zed]}]}]\n", "unknown user \"zed\""},
		{"a restriction with an unknown day is refused",
			"schedules: [{id: x, layers: [{rotation: {length: 1d, handoff: '2026-01-05T09:00'}, users: [alice], restrictions: [{days: [moonday], start: '09:00', end: '18:00'}]}]}]\n", "day \"moonday\""},
		{"a time of day past 24:00 is refused",
			"schedules: [{id: x, layers: [{rotation: {length: 1d, handoff: '2026-01-05T09:00'}, users: [alice], restrictions: [{start: '09:00', end: '25:00'}]}]}]\n", "time of day \"25:00\""},
		{"a target with two kinds is refused",
			"escalation_policies: [{id: p, steps: [{escalate_after: 5m, targets: [{user: alice, team: t}]}]}]\n", "exactly one of user, schedule or team"},
		{"a target naming an unknown layer is refused",
			"schedules: [{id: x, layers: [{name: primary, rotation: {length: 1d, handoff: '2026-01-05T09:00'}, users: [alice]}]}]\nescalation_policies: [{id: p, steps: [{escalate_after: 5m, targets: [{schedule: x, layers: [secondary]}]}]}]\n", "has no layer \"secondary\""},
		{"a zero escalation delay before another step is refused",
			"escalation_policies: [{id: p, steps: [{escalate_after: 0s, targets: [{user: alice}]}, {escalate_after: 5m, targets: [{user: alice}]}]}]\n", "escalate_after must be at least 1m"},
		{"an sms contact without twilio is refused",
			"users: [{id: bob, contact_methods: [{type: sms, address: '+33612345678'}]}]\n", "sms needs notifications.twilio"},
		{"a malformed phone number is refused",
			"users: [{id: bob, contact_methods: [{type: voice, address: '0612345678'}]}]\n", "not a phone number in E.164 form"},
		{"a notification rule naming an unknown method is refused",
			"users: [{id: bob, contact_methods: [{type: email, address: b@example.com}], notification_rules: [{contact_method: sms, after: 1m}]}]\n", "unknown contact method \"sms\""},
		{"an unknown smtp tls mode is refused",
			"", ""},
		{"a duplicate user id is refused",
			"users: [{id: alice}]\n", "user id \"alice\" is used twice"},
		{"a team naming an unknown member is refused",
			"teams: [{id: t, members: [zed]}]\n", "team t: unknown user \"zed\""},
		{"working hours without an end are refused",
			"services: [{id: s, support_hours: {start: '09:00'}}]\n", "start and end are required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" {
				_, err := Parse("n.yaml", []byte(strings.Replace(base, "tls: none", "tls: maybe", 1)))
				if err == nil || !strings.Contains(err.Error(), `tls "maybe"`) {
					t.Fatalf("got %v", err)
				}
				return
			}
			_, err := Parse("n.yaml", []byte(base+"---\n"+tc.yaml))
			if err == nil {
				t.Fatalf("config was accepted; want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "n.yaml:") {
				t.Errorf("error %q has no file:line:col", err)
			}
		})
	}
}

// FuzzOnCallScalars feeds the on-call scalar forms (rotation length, local time, time of day,
// days) through the whole parser: a bad value must be an error at its position, never a panic.
func FuzzOnCallScalars(f *testing.F) {
	f.Add("1w", "2026-01-05T09:00", "09:00", "18:00", "weekdays")
	f.Add("12h", "2026-03-29T02:30", "22:00", "06:00", "mon")
	f.Add("0d", "2026-13-01T00:00", "24:00", "-1:00", "funday")
	f.Add("99999999999999999999w", "2026-01-05T09:00", "09:00", "18:00", "sun")
	f.Fuzz(func(t *testing.T, length, handoff, start, end, day string) {
		y := fmt.Sprintf("users: [{id: a}]\nschedules:\n  - id: s\n    layers:\n      - {rotation: {length: %q, handoff: %q}, users: [a], restrictions: [{days: [%q], start: %q, end: %q}]}\n",
			length, handoff, day, start, end)
		c, err := Parse("f.yaml", []byte(y))
		if err != nil {
			if !strings.Contains(err.Error(), "f.yaml:") {
				t.Fatalf("error without a position: %v", err)
			}
			return
		}
		l := c.Schedule("s").Layers[0]
		if l.Rotation.Length.Approx() < time.Hour {
			t.Fatalf("accepted a rotation shorter than an hour: %q", length)
		}
		r := l.Restrictions[0]
		if r.Start.Minutes < 0 || r.Start.Minutes > 1440 || r.End.Minutes < 0 || r.End.Minutes > 1440 || r.Start == r.End {
			t.Fatalf("accepted restriction %q-%q as %+v-%+v", start, end, r.Start, r.End)
		}
	})
}
