package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
)

func TestMaintenanceCommands(t *testing.T) {
	cfg, err := config.Parse("nines.yaml", []byte(`services: [{id: checkout}, {id: search}]
maintenance:
  - {id: sunday-backups, services: [search], cron: "0 2 * * 0", duration: 2h}
`))
	if err != nil {
		t.Fatal(err)
	}
	srv := startNines(t, cfg, time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC))
	token := srv.token(t, "ops", auth.Responder)
	viewer := srv.token(t, "viewer", auth.Viewer)
	nines := func(tok string, args ...string) (int, string) {
		t.Helper()
		var out, errs bytes.Buffer
		args = append(append(append([]string{}, args[:2]...), "--server", srv.url, "--token", tok), args[2:]...)
		code := run(context.Background(), args, &out, &errs)
		return code, out.String() + errs.String()
	}
	cases := []struct {
		name  string
		token string
		args  []string
		code  int
		want  string
	}{
		{"a window is scheduled", token, []string{"maintenance", "schedule", "--name", "DB upgrade", "--services", "checkout",
			"--start", "2026-03-30T09:00:00Z", "--end", "2026-03-30T10:00:00Z", "--announce"}, 0, "maintenance window 1 scheduled (scheduled): DB upgrade"},
		{"a bad window names its field", token, []string{"maintenance", "schedule", "--name", "x", "--services", "nope",
			"--start", "2026-03-30T09:00:00Z", "--end", "2026-03-30T10:00:00Z"}, 1, `unknown service "nope"`},
		{"a viewer may not schedule", viewer, []string{"maintenance", "schedule", "--name", "x", "--services", "checkout",
			"--start", "2026-03-30T09:00:00Z", "--end", "2026-03-30T10:00:00Z"}, 1, "403"},
		{"windows are listed, the config's beside the stored", viewer, []string{"maintenance", "list"}, 0, "scheduled  2026-03-30 09:00 to 2026-03-30 10:00 UTC  checkout  DB upgrade"},
		{"the config window is listed", viewer, []string{"maintenance", "list"}, 0, "0 2 * * 0 for 2h "},
		{"a window is edited", token, []string{"maintenance", "edit", "--end", "2026-03-30T11:00:00Z", "--name", "DB upgrade, longer", "1"}, 0, "maintenance window 1 updated (scheduled): DB upgrade, longer"},
		{"the edit shows in the list", viewer, []string{"maintenance", "list"}, 0, "2026-03-30 09:00 to 2026-03-30 11:00 UTC"},
		{"a config window is changed in the config", token, []string{"maintenance", "cancel", "sunday-backups"}, 1, "declared in the config"},
		{"a window is cancelled", token, []string{"maintenance", "cancel", "1"}, 0, "maintenance window 1 cancelled; it is cancelled"},
		{"a cancelled window is gone from the list", viewer, []string{"maintenance", "list"}, 0, "ID"},
		{"a cancelled window stays in the past list", viewer, []string{"maintenance", "list", "--past", "1d"}, 0, "cancelled"},
		{"a cancelled window cannot be cancelled again", token, []string{"maintenance", "cancel", "1"}, 1, "409"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := nines(c.token, c.args...)
			if code != c.code || !strings.Contains(out, c.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit %d and %q", code, out, c.code, c.want)
			}
		})
	}
	if _, out := nines(viewer, "maintenance", "list"); strings.Contains(out, "DB upgrade") {
		t.Errorf("a cancelled window is still listed as upcoming:\n%s", out)
	}

	// A window called off while it runs is cancelled, and ends when it was called off.
	if code, out := nines(token, "maintenance", "schedule", "--name", "Cache flush", "--services", "search",
		"--start", "2026-03-30T07:30:00Z", "--end", "2026-03-30T08:30:00Z"); code != 0 || !strings.Contains(out, "(in_progress)") {
		t.Fatalf("scheduling a window running now: exit %d\n%s", code, out)
	}
	srv.clock.Set(time.Date(2026, 3, 30, 7, 40, 0, 0, time.UTC))
	if code, out := nines(token, "maintenance", "cancel", "2"); code != 0 || !strings.Contains(out, "maintenance window 2 cancelled; it is cancelled") {
		t.Fatalf("cancelling a running window: exit %d\n%s", code, out)
	}
	if _, out := nines(viewer, "maintenance", "list", "--past", "1d"); !strings.Contains(strings.Join(strings.Fields(out), " "), "2 cancelled 2026-03-30 07:30 to 2026-03-30 07:40 UTC search Cache flush") {
		t.Errorf("a window cancelled at 07:40 while running is listed as:\n%s\nwant cancelled, 07:30 to 07:40", out)
	}
}
