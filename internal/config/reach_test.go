package config

import (
	"strings"
	"testing"
)

func TestPoliciesThatCouldReachNobodyNeedAFallback(t *testing.T) {
	const base = `notifications:
  email: {smtp: {host: 127.0.0.1, port: 2525, from: nines@example.com, tls: none}}
users:
  - {id: alice, contact_methods: [{type: email, address: alice@example.com}]}
  - {id: bob, contact_methods: [{type: email, address: bob@example.com}]}
  - {id: dave}
  - id: hana
    contact_methods: [{type: email, address: hana@example.com}]
    notification_rules: [{contact_method: email, urgency: high}]
teams:
  - {id: quiet, members: [dave]}
schedules:
  - id: day
    time_zone: Europe/Paris
    layers:
      - name: office
        rotation: {length: 1w, handoff: "2026-01-05T09:00"}
        users: [alice]
        restrictions: [{days: [weekdays], start: "09:00", end: "18:00"}]
  - id: round-the-clock
    layers:
      - name: day
        rotation: {length: 1w, handoff: "2026-01-05T09:00"}
        users: [alice]
        restrictions: [{start: "08:00", end: "20:00"}]
      - name: night
        rotation: {length: 1w, handoff: "2026-01-05T09:00"}
        users: [bob]
        restrictions: [{start: "20:00", end: "08:00"}]
  - id: always
    layers:
      - {name: primary, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [alice, bob]}
      - {name: weekend, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [bob], restrictions: [{days: [weekends], start: "00:00", end: "24:00"}]}
  - id: with-dave
    layers:
      - {name: primary, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [alice, dave]}
`
	cases := []struct {
		name, yaml string
		want       string // "" when the config must validate
	}{
		{"a schedule restricted to office hours could leave nobody on call",
			"escalation_policies: [{id: p, steps: [{escalate_after: 5m, targets: [{schedule: day}]}]}]\n",
			"n.yaml:38:23: escalation policy p could reach nobody (step 1: schedule day has nobody on call on Sun 00:00 (Europe/Paris)); add fallback"},
		{"a person without a contact method reaches nobody",
			"escalation_policies: [{id: p, steps: [{escalate_after: 5m, targets: [{user: dave}]}]}]\n",
			"step 1: user dave has no contact method"},
		{"a person with rules for high urgency only reaches nobody at low urgency",
			"escalation_policies: [{id: p, steps: [{escalate_after: 5m, targets: [{user: hana}]}]}]\n",
			"user hana has no contact method for low urgency"},
		{"a team whose members cannot be reached reaches nobody",
			"escalation_policies: [{id: p, steps: [{escalate_after: 5m, targets: [{team: quiet}]}]}]\n",
			"step 1: user dave has no contact method"},
		{"a layer that only covers part of the week is counted alone when a step targets it",
			"escalation_policies: [{id: p, steps: [{escalate_after: 5m, targets: [{schedule: always, layers: [weekend]}]}]}]\n",
			"schedule always (layers weekend) has nobody on call on Mon 00:00 (UTC)"},
		{"someone unreachable in a rotation may be the one on call",
			"escalation_policies: [{id: p, steps: [{escalate_after: 5m, targets: [{schedule: with-dave}]}]}]\n",
			"user dave has no contact method and may be on call on schedule with-dave"},
		{"every step must be able to reach nobody before a fallback is needed",
			"escalation_policies: [{id: p, steps: [{escalate_after: 5m, targets: [{schedule: day}]}, {escalate_after: 5m, targets: [{user: bob}]}]}]\n",
			""},
		{"a step with one reachable target always reaches someone",
			"escalation_policies: [{id: p, steps: [{escalate_after: 5m, targets: [{user: dave}, {schedule: always}]}]}]\n",
			""},
		{"day and night layers together cover the whole week",
			"escalation_policies: [{id: p, steps: [{escalate_after: 5m, targets: [{schedule: round-the-clock}]}]}]\n",
			""},
		{"a fallback on the policy satisfies the check",
			"escalation_policies: [{id: p, fallback: [bob], steps: [{escalate_after: 5m, targets: [{schedule: day}]}]}]\n",
			""},
		{"a top-level fallback satisfies the check for every policy",
			"fallback: [bob]\nescalation_policies: [{id: p, steps: [{escalate_after: 5m, targets: [{user: dave}]}]}]\n",
			""},
		{"a fallback naming an unknown user is refused",
			"escalation_policies: [{id: p, fallback: [zed], steps: [{escalate_after: 5m, targets: [{user: bob}]}]}]\n",
			`escalation policy p: fallback: unknown user "zed"`},
		{"a fallback nobody can reach is refused",
			"fallback: [dave]\n",
			"n.yaml:38:11: config: fallback: user dave has no contact method; a fallback must be reachable at any urgency"},
		{"an empty fallback on a policy is refused",
			"escalation_policies: [{id: p, fallback: [], steps: [{escalate_after: 5m, targets: [{user: bob}]}]}]\n",
			"escalation policy p: fallback is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("n.yaml", []byte(base+"---\n"+tc.yaml))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("config was refused: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("config was accepted; want an error containing %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// Whom a policy reaches counts what people verified on their profile (Live.SetOwnMethods): a
// person of the database with no contact method in the config is reached once they verified
// one, and each person is read once per check.
func TestAPolicyReachesAPersonThroughTheMethodsOfTheirProfile(t *testing.T) {
	const files = `notifications:
  email: {smtp: {host: 127.0.0.1, port: 2525, from: nines@example.com, tls: none}}
users:
  - {id: alice, contact_methods: [{type: email, address: alice@example.com}]}
`
	base, err := Parse("n.yaml", []byte(files))
	if err != nil {
		t.Fatal(err)
	}
	objs := []Object{
		{Kind: "users", ID: "dana", Doc: []byte("id: dana\nname: Dana\n")},
		{Kind: "schedules", ID: "night", Doc: []byte("id: night\nlayers:\n  - name: only\n    rotation: {length: 1w, handoff: \"2026-01-05T00:00\"}\n    users: [dana]\n")},
		{Kind: "escalation_policies", ID: "p", Doc: []byte("id: p\nsteps:\n  - targets: [{schedule: night}, {user: dana}]\n")},
	}
	live := NewLive(base)
	reads := map[string]int{}
	verified := false
	live.SetOwnMethods(func(u *User) *User {
		reads[u.ID]++
		if !verified {
			return u
		}
		c := *u
		c.ContactMethods = append(c.ContactMethods, ContactMethod{ID: "profile-1", Type: ContactEmail, Address: "dana@example.com"})
		return &c
	})
	_, err = live.Check(objs)
	if err == nil || !strings.Contains(err.Error(), "db:escalation_policies/p:1:1: escalation policy p could reach nobody (step 1: user dana has no contact method and may be on call on schedule night; user dana has no contact method)") {
		t.Fatalf("a policy reaching only dana, who verified nothing: %v", err)
	}
	if reads["dana"] != 1 {
		t.Errorf("dana was read %d times in one check, want once", reads["dana"])
	}
	verified = true
	if _, err := live.Check(objs); err != nil {
		t.Fatalf("dana verified a method: %v", err)
	}
	if err := live.SetObjects(objs); err != nil {
		t.Fatalf("put in force: %v", err)
	}
}
