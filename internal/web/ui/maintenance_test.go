package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/maintenance"
	"github.com/nines-dev/nines/internal/statuspage"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
	"github.com/nines-dev/nines/internal/web/webtest"
)

// newMaintenanceEnv is the accounts server with maintenance windows wired as app wires them.
func newMaintenanceEnv(t *testing.T) *accountsEnv {
	return newAccountsEnv(t, storetest.SQLite(t, app.Schemas()))
}

// TestMaintenanceIsScheduledEditedAndCancelledFromThePage drives the maintenance page as a
// signed-in responder: the form schedules a window (times read in the zone it names), the
// list shows it, the edit form changes it, the cancel button calls it off; a viewer sees the
// list without the forms.
func TestMaintenanceIsScheduledEditedAndCancelledFromThePage(t *testing.T) {
	e := newMaintenanceEnv(t)
	b := webtest.SignIn(t, e.srv.URL, e.srv.Users, "ops", auth.Responder)
	if _, page := b.Do("GET", "/maintenance", nil, nil); !strings.Contains(page, "No maintenance is scheduled") || !strings.Contains(page, "Schedule maintenance") {
		t.Fatalf("the empty maintenance page:\n%s", page)
	}
	resp, page := b.PostForm("/maintenance", url.Values{"name": {"Database upgrade"}, "description": {"Checkout is read-only."},
		"start": {"2026-03-01T14:00"}, "end": {"2026-03-01T15:00"}, "time_zone": {"Europe/Paris"}, "services": {"checkout"}, "announce": {"1"}}, true)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("scheduling from the form: %d %s", resp.StatusCode, page)
	}
	_, page = b.Do("GET", "/maintenance", nil, nil)
	for _, want := range []string{"Database upgrade", "2026-03-01 13:00:00 UTC", "2026-03-01 14:00:00 UTC", "service checkout", "scheduled", "Edit or cancel"} {
		if !strings.Contains(page, want) {
			t.Errorf("the maintenance page lacks %q", want)
		}
	}
	resp, page = b.PostForm("/maintenance", url.Values{"name": {"x"}, "start": {"2026-03-01T14:00"}, "end": {"2026-03-01T13:00"}, "services": {"checkout"}}, true)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "end is not after start") {
		t.Errorf("a window ending before it starts: %d, want 400 naming the field", resp.StatusCode)
	}
	resp, _ = b.PostForm("/maintenance/1", url.Values{"action": {"edit"}, "name": {"Database upgrade, part 1"}, "description": {"Read-only."},
		"start": {"2026-03-01T13:00"}, "end": {"2026-03-01T13:30"}, "time_zone": {"UTC"}, "services": {"checkout"}, "announce": {"1"}}, true)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("editing from the form: %d", resp.StatusCode)
	}
	if _, page = b.Do("GET", "/maintenance", nil, nil); !strings.Contains(page, "Database upgrade, part 1") || !strings.Contains(page, "2026-03-01 13:30:00 UTC") {
		t.Errorf("the edit does not show:\n%s", page)
	}
	if _, doc := e.fetch("GET", "/status/public/api/v2/scheduled-maintenances/upcoming.json", nil, ""); !strings.Contains(string(doc), "Database upgrade, part 1") {
		t.Errorf("the announced window is not on the status page: %s", doc)
	}
	if resp, _ = b.PostForm("/maintenance/1", url.Values{"action": {"cancel"}}, true); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancelling from the page: %d", resp.StatusCode)
	}
	if w, _ := e.srv.Maintenance.Get(context.Background(), "1"); w.State != maintenance.Cancelled {
		t.Fatalf("after the cancel button the window is %s", w.State)
	}
	if _, doc := e.fetch("GET", "/status/public/api/v2/scheduled-maintenances.json", nil, ""); strings.Contains(string(doc), "Database upgrade") {
		t.Errorf("a cancelled window is still announced: %s", doc)
	}
	viewer := webtest.SignIn(t, e.srv.URL, e.srv.Users, "watcher", auth.Viewer)
	if _, page := viewer.Do("GET", "/maintenance", nil, nil); strings.Contains(page, "Schedule maintenance") {
		t.Error("a viewer is offered the schedule form")
	}
}

// TestPublicUpdatesAreCorrectedAndRetractedFromTheStatusPagesPage posts an update, corrects it
// and retracts it with the forms of /status-pages.
func TestPublicUpdatesAreCorrectedAndRetractedFromTheStatusPagesPage(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		e := newAccountsEnv(t, db)
		id := e.openIncident("checkout", "critical", "Checkout down")
		b := webtest.SignIn(t, e.srv.URL, e.srv.Users, "ops", auth.Responder)
		resp, body := e.fetch("POST", fmt.Sprintf("/api/v1/incidents/%d/status-updates", id), map[string]string{
			"Authorization": "Bearer " + e.tokens[auth.Responder], "Content-Type": "application/json"},
			`{"page":"public","status":"investigating","body":"Chekout is down."}`)
		var pi statuspage.PublicIncident
		if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &pi) != nil {
			t.Fatalf("posting an update: %d %s", resp.StatusCode, body)
		}
		upd := pi.Updates[0].ID
		if _, page := b.Do("GET", "/status-pages", nil, nil); !strings.Contains(page, "Correct the public updates of Checkout down") {
			t.Fatal("the status pages page offers no correction")
		}
		path := fmt.Sprintf("/incidents/%d/status-updates/%d", id, upd)
		if resp, _ := b.PostForm(path, url.Values{"action": {"edit"}, "body": {"Checkout is down."}}, true); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("correcting: %d", resp.StatusCode)
		}
		if _, page := e.fetch("GET", "/status/public", nil, ""); !strings.Contains(string(page), "Checkout is down.") || strings.Contains(string(page), "Chekout") {
			t.Error("the public page does not show the correction")
		}
		if resp, _ := b.PostForm(path, url.Values{"action": {"retract"}}, true); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("retracting: %d", resp.StatusCode)
		}
		if _, page := e.fetch("GET", "/status/public", nil, ""); strings.Contains(string(page), "Checkout is down.") {
			t.Error("the public page still shows the retracted update")
		}
		events, _ := e.incidents.Timeline(context.Background(), id)
		var seen []string
		for _, ev := range events {
			seen = append(seen, ev.Type)
		}
		if s := strings.Join(seen, " "); !strings.Contains(s, statuspage.EventUpdateEdited) || !strings.Contains(s, statuspage.EventUpdateRetracted) {
			t.Errorf("the timeline lacks the correction and the retraction: %s", s)
		}
	})
}
