package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

func runNines(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidateAcceptsAGoodConfig(t *testing.T) {
	t.Parallel()
	code, out, errOut := runNines(t, "validate", "--config", "../../internal/config/testdata/good/reference.yaml")
	if code != 0 || out != "../../internal/config/testdata/good/reference.yaml: ok (1 services, 1 files)\n" || errOut != "" {
		t.Errorf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	code, out, _ = runNines(t, "validate", "--config", "../../internal/config/testdata/dir")
	if code != 0 || !strings.HasSuffix(out, ": ok (2 services, 3 files)\n") {
		t.Errorf("a config directory: exit %d, %q", code, out)
	}
}

func TestValidatePrintsEveryErrorAndFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "nines.yaml")
	os.WriteFile(path, []byte("services:\n  - id: checkout\n    urgency: whenever\n  - id: checkout\n    colour: blue\n"), 0o600)
	code, out, errOut := runNines(t, "validate", "--config", path)
	// Every problem at once: what could not be decoded and what the checks found.
	want := path + ":3:14: service checkout: urgency \"whenever\": want high or low\n" +
		path + ":4:9: service id \"checkout\" is used twice (first at " + path + ":2:5)\n" +
		path + ":5:5: unknown field \"colour\" (known fields: id, name, description, team, escalation_policy, urgency, support_hours, incident_grouping, integrations, runbook, runbooks, readiness)\n" +
		"3 error(s)\n"
	if code != 1 || out != "" || errOut != want {
		t.Errorf("exit %d\nstdout %q\nstderr:\n%s\nwant:\n%s", code, out, errOut, want)
	}

	// A value of the wrong type is reported once: the checks of what it could not be say nothing
	// more, while the file's other mistakes, OpenSLO documents included, are all reported.
	os.WriteFile(path, []byte("services:\n  - id: checkout\n    urgency: [high]\n  - id: search\n    urgency: whenever\n"+
		"---\napiVersion: openslo/v1\nkind: AlertNotificationTarget\nmetadata: {name: OnCall}\nspec: {description: no target}\n"), 0o600)
	code, _, errOut = runNines(t, "validate", "--config", path)
	want = path + ":3:14: services[0].urgency: expected a string, found a list\n" +
		path + ":5:14: service search: urgency \"whenever\": want high or low\n" +
		path + ":9:18: AlertNotificationTarget metadata.name \"OnCall\": OpenSLO names are RFC 1123 labels (lowercase letters, digits and '-', at most 63)\n" +
		path + ":10:7: AlertNotificationTarget OnCall: spec.target is required (email, slack, a webhook...)\n" +
		"4 error(s)\n"
	if code != 1 || errOut != want {
		t.Errorf("exit %d\nstderr:\n%s\nwant:\n%s", code, errOut, want)
	}
}

// TestValidatePrintsEachErrorOnOneLineNamingItsField: an error quoting a value with a newline
// (a regular expression, an id) or another parser's message spread over lines, and a value of
// the wrong type was reported without the field it was the value of. Each error is now one line,
// file:line:col, naming the field.
func TestValidatePrintsEachErrorOnOneLineNamingItsField(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nines.yaml")
	os.WriteFile(path, []byte(`server: [127.0.0.1:8080]
services:
  - id: checkout
    integrations:
      - {type: email, key: checkout-mail, email: {dedup_key: "host (\n x"}}
  - id: "two\nlines"
  - id: search
    urgency: "lo\u001b[31mw"
escalation_policies:
  - id: ops
    steps:
      - {escalate_after: "10 minutes", targets: [{user: alice}]}
monitors:
  - {id: "m\n1", service: checkout, type: http, url: "http://exa mple.com/\nfoo", interval: [30s]}
---
apiVersion: openslo/v1
kind: Service
metadata: {name: checkout, labels: [a, b]}
spec: {description: ok}
`), 0o600)
	code, out, errOut := runNines(t, "validate", "--config", path)
	want := []string{
		path + `:1:9: server: expected a mapping, found a list`,
		path + `:5:62: service checkout: email.dedup_key "host (\n x" is not a regular expression: error parsing regexp: missing closing ): ` + "`host (\\n x`",
		path + `:6:9: service id "two\nlines": use letters, digits, '-', '_' and '.' only`,
		path + `:8:14: service search: urgency "lo\x1b[31mw": want high or low`,
		path + `:12:26: escalation_policies[0].steps[0].escalate_after: duration "10 minutes": unknown unit " minutes" (use ms, s, m, h, d or w)`,
		path + `:12:57: escalation policy ops, step 1: unknown user "alice"`,
		path + `:14:10: monitor id "m\n1": use letters, digits, '-', '_' and '.' only`,
		path + `:14:54: monitor m\n1: url "http://exa mple.com/\nfoo": want an absolute http:// or https:// URL`,
		path + `:14:93: monitors[0].interval: expected a duration such as 30s or 1h30m, found a list`,
		path + `:18:36: metadata.labels: expected a mapping, found a list`,
	}
	lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	// An unknown user might be a person made in nines: the last line says how to check with them.
	if len(lines) > 0 && strings.HasPrefix(lines[len(lines)-1], "(the files alone: with --data or --db") {
		lines = lines[:len(lines)-1]
	} else {
		t.Errorf("no hint that the database may hold the unknown user:\n%s", errOut)
	}
	if code != 1 || out != "" || len(lines) == 0 || lines[len(lines)-1] != fmt.Sprintf("%d error(s)", len(lines)-1) {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
	for _, l := range lines[:len(lines)-1] {
		if !strings.HasPrefix(l, path+":") || strings.ContainsFunc(l, unicode.IsControl) {
			t.Errorf("an error that is not one line starting with the file: %q", l)
		}
	}
	if got := strings.Join(lines[:len(lines)-1], "\n"); got != strings.Join(want, "\n") {
		t.Errorf("stderr:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestValidateExplainsAMissingFileOrFlag(t *testing.T) {
	t.Parallel()
	code, _, errOut := runNines(t, "validate", "--config", filepath.Join(t.TempDir(), "absent.yaml"))
	if code != 1 || !strings.HasPrefix(errOut, "nines validate: config: ") || !strings.Contains(errOut, "absent.yaml") {
		t.Errorf("a missing file: exit %d, %q", code, errOut)
	}
	code, _, errOut = runNines(t, "validate", "--confg", "x")
	if code == 0 || !strings.Contains(errOut, "flag provided but not defined: -confg") {
		t.Errorf("a mistyped flag: exit %d, %q", code, errOut)
	}
	code, _, _ = runNines(t, "validate", "-h")
	if code != 0 {
		t.Errorf("validate -h exits %d", code)
	}
}

func TestValidateRefusesFilesThatOnceCrashedTheLoader(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../../internal/slo/openslo/testdata/bad/crash-*.yaml")
	if len(files) < 3 {
		t.Fatalf("only %d crashing configs found", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			code, out, errOut := runNines(t, "validate", "--config", f)
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if code != 1 || out != "" || len(lines) < 2 || !strings.HasSuffix(lines[len(lines)-1], "error(s)") {
				t.Fatalf("exit %d\nstdout %q\nstderr:\n%s", code, out, errOut)
			}
			for _, l := range lines[:len(lines)-1] {
				if !strings.HasPrefix(l, f+":") || strings.Contains(l, "internal error") {
					t.Errorf("%q: want file:line:col and a message about the file", l)
				}
			}
		})
	}
}

func TestValidateRefusesAPolicyThatCouldReachNobodyWithoutAFallback(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "nines.yaml")
	config := `notifications:
  email: {smtp: {host: 127.0.0.1, port: 2525, from: nines@example.com, tls: none}}
users:
  - {id: alice, contact_methods: [{type: email, address: alice@example.com}]}
  - {id: dave}
schedules:
  - id: day
    layers:
      - {name: office, rotation: {length: 1w, handoff: "2026-01-05T09:00"}, users: [alice], restrictions: [{days: [weekdays], start: "09:00", end: "18:00"}]}
escalation_policies:
  - id: office-only
    steps:
      - {escalate_after: 10m, targets: [{schedule: day}]}
      - {escalate_after: 10m, targets: [{user: dave}]}
`
	os.WriteFile(path, []byte(config), 0o600)
	code, _, errOut := runNines(t, "validate", "--config", path)
	want := path + ":11:5: escalation policy office-only could reach nobody (step 1: schedule day has nobody on call on Sun 00:00 (UTC); " +
		"step 2: user dave has no contact method); add fallback: [user, ...] to the policy or at the top level of the config\n1 error(s)\n" +
		"(the files alone: with --data or --db they are checked as nines serve loads them, with the objects made in nines and the contact methods people verified on their profile)\n"
	if code != 1 || errOut != want {
		t.Errorf("exit %d\nstderr:\n%s\nwant:\n%s", code, errOut, want)
	}

	// A fallback at the top level answers for every policy.
	os.WriteFile(path, []byte(config+"fallback: [alice]\n"), 0o600)
	if code, out, errOut := runNines(t, "validate", "--config", path); code != 0 {
		t.Errorf("with a fallback: exit %d\n%s%s", code, out, errOut)
	}
}

func TestTokenCreateForAPersonChecksThePerson(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "nines.yaml")
	os.WriteFile(cfg, []byte("users: [{id: alice}]\n"), 0o600)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a person's token needs the config to check the person", []string{"--user", "alice"}, 1, "--user needs --config"},
		{"a person the config lacks is refused", []string{"--user", "zed", "--config", cfg}, 1, `--user "zed" is not a user of the config`},
		{"a person of the config gets a token of their own", []string{"--user", "alice", "--config", cfg}, 0, `"alice-laptop" of user alice role responder`},
		{"an agent's token belongs to no person", []string{"--user", "alice", "--config", cfg, "--role", "agent", "--location", "eu-west"}, 1, "an agent token belongs to no person"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"token", "create", "--data", dir, "--init", "--name", "alice-laptop", "--role", "responder"}, tc.args...)
			code, _, errOut := runNines(t, args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d containing %q", code, errOut, tc.code, tc.want)
			}
		})
	}
}
