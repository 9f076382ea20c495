package main

import (
	"bytes"
	"context"
	"sort"
	"strings"
	"testing"
)

// TestHelpNeverPrintsASecretFromTheEnvironment runs `-h` of every command and subcommand with
// every variable a flag reads from the environment set: the help says a default is set, never
// what it is (a token, a routing key, a database URL with its password).
func TestHelpNeverPrintsASecretFromTheEnvironment(t *testing.T) {
	envs := []string{"NINES_TOKEN", "NINES_AGENT_TOKEN", "NINES_ROUTING_KEY", "NINES_DB", "NINES_KEY", "NINES_KEY_FILE", "NINES_SERVER",
		"NINES_DATA", "NINES_LOCATION", "GIT_COMMIT"}
	for _, name := range envs {
		t.Setenv(name, "sekrit-"+strings.ToLower(name))
	}
	var names []string
	for name := range commands() {
		names = append(names, name)
	}
	sort.Strings(names)
	invocations := [][]string{
		{"token", "create"}, {"token", "list"}, {"token", "revoke"},
		{"user", "create"}, {"user", "passwd"}, {"user", "disable"}, {"user", "list"},
		{"postmortem", "draft"}, {"postmortem", "show"}, {"postmortem", "action"}, {"postmortem", "done"},
		{"event", "trigger"}, {"event", "ack"}, {"event", "resolve"},
		{"report", "sla"}, {"report", "oncall"}, {"slo", "export"}, {"slo", "status"},
		{"oncall", "override", "add"}, {"oncall", "override", "list"}, {"oncall", "override", "delete"},
		{"maintenance", "list"}, {"maintenance", "schedule"}, {"maintenance", "edit"}, {"maintenance", "cancel"},
	}
	for _, name := range names {
		invocations = append(invocations, []string{name})
	}
	sawSet := false
	for _, inv := range invocations {
		t.Run(strings.Join(inv, " "), func(t *testing.T) {
			var out, errs bytes.Buffer
			run(context.Background(), append(append([]string{}, inv...), "-h"), &out, &errs)
			text := out.String() + errs.String()
			if strings.Contains(text, "sekrit-") {
				t.Errorf("the help prints a value taken from the environment:\n%s", text)
			}
			want := "set from NINES_TOKEN"
			if inv[0] == "agent" {
				want = "set from NINES_AGENT_TOKEN"
			}
			if strings.Contains(text, "-token") && !strings.Contains(text, want) {
				t.Errorf("the help does not say the token is %s:\n%s", want, text)
			}
			sawSet = sawSet || strings.Contains(text, "set from NINES_TOKEN")
		})
	}
	if !sawSet {
		t.Error("no help said a token was set from the environment")
	}
}
