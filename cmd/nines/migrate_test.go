package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/store"
)

// ninesAs runs the CLI as the nines release v would be.
func ninesAs(t *testing.T, v string, args ...string) (int, string, string) {
	t.Helper()
	old := version
	version = v
	defer func() { version = old }()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// nines migrate --dry-run on the previous release's database lists what would run and runs
// none of it; nines migrate then runs it; and once a newer nines has migrated a database, an
// older one refuses it, naming the release to run.
func TestMigrateDryRunListsAndAnOlderNinesNamesTheReleaseToRun(t *testing.T) {
	data := t.TempDir()
	b, err := os.ReadFile("../../internal/app/testdata/upgrade/sqlite/nines.db")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(data, "nines.db"), b, 0o600)

	code, out, errOut := ninesAs(t, "v1.1.0", "migrate", "--dry-run", "--data", data)
	if code != 0 {
		t.Fatalf("migrate --dry-run: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"migrations would run on sqlite", "alert version 3:", "ALTER TABLE alerts ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';", "incident version 3:"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate --dry-run does not list %q:\n%s", want, out)
		}
	}
	if _, again, _ := ninesAs(t, "v1.1.0", "migrate", "--dry-run", "--data", data); again != out {
		t.Errorf("a second dry run lists something else: the first one changed the database\n%s", again)
	}

	alertVersion := 0
	for _, s := range schemas() {
		if s.Component == "alert" {
			alertVersion = len(s.Migrations)
		}
	}
	if code, out, errOut := ninesAs(t, "v1.1.0", "migrate", "--data", data); code != 0 || !strings.Contains(out, fmt.Sprintf("alert        version %d", alertVersion)) {
		t.Fatalf("migrate: exit %d\n%s%s", code, out, errOut)
	}
	if _, out, _ := ninesAs(t, "v1.1.0", "migrate", "--dry-run", "--data", data); !strings.Contains(out, "nothing would run") {
		t.Errorf("after migrate, the dry run says:\n%s", out)
	}

	// A newer release adds a migration to one component and records itself.
	db, err := store.Open(context.Background(), store.Options{DataDir: data, Version: "v1.2.0"})
	if err != nil {
		t.Fatal(err)
	}
	newer := schemas()
	for i := range newer {
		if newer[i].Component == "alert" {
			newer[i].Migrations = append(append([]string{}, newer[i].Migrations...), "CREATE TABLE alert_future (id {{id}})")
		}
	}
	if _, err := db.Migrate(context.Background(), newer); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for _, cmd := range [][]string{{"migrate"}, {"migrate", "--dry-run"}, {"token", "list"}} {
		code, _, errOut := ninesAs(t, "v1.1.0", append(cmd, "--data", data)...)
		if code == 0 || !strings.Contains(errOut, "run nines v1.2.0 (which migrated it) or later") || !strings.Contains(errOut, "this nines (v1.1.0)") {
			t.Errorf("nines %s on a newer database: exit %d: %s; want it refused, naming v1.2.0", strings.Join(cmd, " "), code, errOut)
		}
	}
}
