package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	want := path + ":5:5: unknown field \"colour\" (known fields: id, name, description, team, escalation_policy, urgency, support_hours, incident_grouping, integrations, runbook, runbooks)\n" +
		"1 error(s)\n"
	if code != 1 || out != "" || errOut != want {
		t.Errorf("exit %d\nstdout %q\nstderr:\n%s\nwant:\n%s", code, out, errOut, want)
	}

	// Once it decodes, validation reports every problem at once.
	os.WriteFile(path, []byte("services:\n  - id: checkout\n    urgency: whenever\n  - id: checkout\n"), 0o600)
	code, _, errOut = runNines(t, "validate", "--config", path)
	want = path + ":3:14: service checkout: urgency \"whenever\": want high or low\n" +
		path + ":4:9: service id \"checkout\" is used twice (first at " + path + ":2:5)\n" +
		"2 error(s)\n"
	if code != 1 || errOut != want {
		t.Errorf("exit %d\nstderr:\n%s\nwant:\n%s", code, errOut, want)
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
