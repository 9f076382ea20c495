package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/app"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// truthConfig has two pages on one service: one that follows only what is said in public (the
// default) and one that follows every incident.
const truthConfig = `
services:
  - id: checkout
    integrations: [{type: events_v2, key: 0123456789abcdef0123456789abcdef}]
  - {id: search}
status_pages:
  - id: public
    title: Acme Status
    components:
      - {name: Checkout, service: checkout}
      - {name: Search, service: search}
  - id: internal
    title: Acme internal status
    follow_incidents: true
    components:
      - {name: Checkout, service: checkout}
`

type shapes map[string]json.RawMessage

func readShapes(t *testing.T) shapes {
	t.Helper()
	b, err := os.ReadFile("testdata/statuspage-v2-shapes.json")
	if err != nil {
		t.Fatal(err)
	}
	var s shapes
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// check asserts that obj has every key of the reference shape kind, each of its type.
func (s shapes) check(t *testing.T, kind, where string, obj map[string]any) {
	t.Helper()
	var want map[string]string
	if err := json.Unmarshal(s[kind], &want); err != nil {
		t.Fatalf("shape %s: %v", kind, err)
	}
	for key, typ := range want {
		v, ok := obj[key]
		if !ok {
			t.Errorf("%s: %s has no %q", where, kind, key)
			continue
		}
		got := "null"
		switch v.(type) {
		case string:
			got = "string"
		case float64:
			got = "number"
		case bool:
			got = "boolean"
		case []any:
			got = "array"
		case map[string]any:
			got = "object"
		}
		if got != typ && !(got == "null" && strings.HasSuffix(typ, "|null")) && !(got == "string" && typ == "string|null") {
			t.Errorf("%s: %s.%s is %s, want %s", where, kind, key, got, typ)
		}
	}
}

func (s shapes) enum(t *testing.T, name, where, v string) {
	t.Helper()
	var enums map[string][]string
	json.Unmarshal(s["enums"], &enums)
	for _, x := range enums[name] {
		if x == v {
			return
		}
	}
	t.Errorf("%s: %s %q is not one of %v", where, name, v, enums[name])
}

func (w *wired) doc(path string) map[string]any {
	w.t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(w.get(path)), &d); err != nil {
		w.t.Fatalf("%s: %v", path, err)
	}
	return d
}

func list(d map[string]any, key string) []map[string]any {
	var out []map[string]any
	for _, v := range d[key].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

func componentStatus(d map[string]any, name string) string {
	for _, c := range list(d, "components") {
		if c["name"] == name {
			return c["status"].(string)
		}
	}
	return ""
}

// checkDocs checks every Statuspage document of a page against the published shapes.
func checkDocs(t *testing.T, w *wired, sh shapes, page string) {
	t.Helper()
	sum := w.doc("/status/" + page + "/api/v2/summary.json")
	sh.check(t, "summary", "summary.json", sum)
	sh.check(t, "page", "summary.json", sum["page"].(map[string]any))
	sh.check(t, "status", "summary.json", sum["status"].(map[string]any))
	sh.enum(t, "status.indicator", "summary.json", sum["status"].(map[string]any)["indicator"].(string))
	for _, c := range list(sum, "components") {
		sh.check(t, "component", "summary.json", c)
		sh.enum(t, "component.status", "summary.json", c["status"].(string))
	}
	incs := w.doc("/status/" + page + "/api/v2/incidents.json")
	for _, kind := range []struct{ doc, key, shape string }{
		{"incidents.json", "incidents", "incident"}, {"scheduled-maintenances.json", "scheduled_maintenances", "scheduled_maintenance"},
	} {
		d := incs
		if kind.doc != "incidents.json" {
			d = w.doc("/status/" + page + "/api/v2/" + kind.doc)
		}
		for _, inc := range list(d, kind.key) {
			sh.check(t, kind.shape, kind.doc, inc)
			if kind.shape == "incident" {
				sh.enum(t, "incident.status", kind.doc, inc["status"].(string))
				sh.enum(t, "incident.impact", kind.doc, inc["impact"].(string))
			} else {
				sh.enum(t, "scheduled_maintenance.status", kind.doc, inc["status"].(string))
			}
			for _, u := range list(inc, "incident_updates") {
				sh.check(t, "incident_update", kind.doc, u)
				if aff, ok := u["affected_components"].([]any); ok {
					for _, a := range aff {
						sh.check(t, "affected_component", kind.doc, a.(map[string]any))
					}
				}
			}
		}
	}
}

// TestTheStatusPageTellsTheTruth follows one incident on a page that follows only what is said
// in public and on one that follows every incident: an internal alert turns only the second
// red, and says why; a public update turns the first, with each component's old and new
// status kept per update and started_at at the impact start; every document keeps the
// published Statuspage shapes; updates are corrected and retracted; announced maintenance goes
// scheduled, in progress, completed, and stays in the feed for 14 days.
func TestTheStatusPageTellsTheTruth(t *testing.T) {
	storetest.Each(t, app.Schemas(), func(t *testing.T, db *store.DB) {
		t0 := time.Date(2026, 3, 30, 7, 30, 0, 0, time.UTC)
		w := startWired(t, db, truthConfig, t0)
		sh := readShapes(t)

		w.trigger("cpu")
		inc := w.openIncidents(1)[0]
		id := fmt.Sprintf("/api/v1/incidents/%d", inc.ID)
		if d := w.doc("/status/public/api/v2/summary.json"); componentStatus(d, "Checkout") != "operational" ||
			d["status"].(map[string]any)["indicator"] != "none" {
			t.Fatalf("an internal alert changed the public page: %v", d["status"])
		}
		if page := w.get("/status/public"); strings.Contains(page, `class="why"`) {
			t.Error("an all-operational page explains itself")
		}
		if d := w.doc("/status/internal/api/v2/summary.json"); componentStatus(d, "Checkout") != "major_outage" {
			t.Fatal("a page that follows every incident did not follow the alert")
		}
		if page := w.get("/status/internal"); !strings.Contains(page, "Checkout: We are investigating a problem with Checkout since Mar 30, 07:30 UTC") {
			t.Error("the internal page is red and does not say why")
		}

		impact := t0.Add(-10 * time.Minute)
		w.call("POST", id+"/impact", map[string]string{"impact_started_at": impact.Format(time.RFC3339)}, http.StatusOK, nil)
		w.clock.Advance(5 * time.Minute)
		var pub struct {
			Updates []struct{ ID int64 }
		}
		w.call("POST", id+"/status-updates", map[string]string{"page": "public", "status": "investigating", "body": "Card paymnets fail."}, http.StatusCreated, &pub)
		first := pub.Updates[0].ID
		w.clock.Advance(5 * time.Minute)
		w.call("POST", id+"/status-updates", map[string]string{"page": "public", "status": "identified", "body": "A bad deploy."}, http.StatusCreated, &pub)
		second := pub.Updates[0].ID

		sum := w.doc("/status/public/api/v2/summary.json")
		if componentStatus(sum, "Checkout") != "major_outage" || componentStatus(sum, "Search") != "operational" {
			t.Fatalf("after a public update: checkout %s, search %s", componentStatus(sum, "Checkout"), componentStatus(sum, "Search"))
		}
		pi := list(sum, "incidents")[0]
		if pi["started_at"] != "2026-03-30T07:20:00.000Z" {
			t.Errorf("started_at %v, want the impact start 07:20", pi["started_at"])
		}
		ups := list(pi, "incident_updates")
		aff := func(u map[string]any) string {
			a := u["affected_components"].([]any)[0].(map[string]any)
			return a["code"].(string) + " " + a["old_status"].(string) + "->" + a["new_status"].(string)
		}
		if got := aff(ups[1]); got != "checkout operational->major_outage" {
			t.Errorf("the first update's affected component: %s", got)
		}
		if got := aff(ups[0]); got != "checkout major_outage->major_outage" {
			t.Errorf("the second update's affected component: %s", got)
		}
		if page := w.get("/status/public"); !strings.Contains(page, "Checkout: Checkout 5xx (cpu) (identified)") {
			t.Error("the public page is red and does not say why")
		}
		checkDocs(t, w, sh, "public")

		// Corrected and retracted.
		w.call("PATCH", fmt.Sprintf("%s/status-updates/%d", id, first), map[string]string{"body": "Card payments fail."}, http.StatusOK, nil)
		w.call("DELETE", fmt.Sprintf("%s/status-updates/%d", id, second), nil, http.StatusOK, nil)
		w.call("DELETE", fmt.Sprintf("%s/status-updates/%d", id, second), nil, http.StatusNotFound, nil)
		pi = list(w.doc("/status/public/api/v2/incidents.json"), "incidents")[0]
		ups = list(pi, "incident_updates")
		if pi["status"] != "investigating" || len(ups) != 1 || ups[0]["body"] != "Card payments fail." || ups[0]["updated_at"] == ups[0]["created_at"] {
			t.Errorf("after a correction and a retraction: status %v, updates %v", pi["status"], ups)
		}
		if page := w.get("/status/public"); !strings.Contains(page, "(edited ") || strings.Contains(page, "A bad deploy.") {
			t.Error("the page does not mark the correction, or still shows the retracted update")
		}
		w.call("POST", id+"/status-updates", map[string]string{"page": "public", "status": "resolved", "body": "Fixed."}, http.StatusCreated, &pub)
		resolvedDoc := w.doc("/status/public/api/v2/incidents.json")
		if got := aff(list(list(resolvedDoc, "incidents")[0], "incident_updates")[0]); got != "checkout major_outage->operational" {
			t.Errorf("the resolving update's affected component: %s", got)
		}

		// Announced maintenance, edited, then through its life.
		var win struct{ ID string }
		w.call("POST", "/api/v1/maintenance", map[string]any{"name": "Search reindex", "description": "Search may be slow.", "services": []string{"search"},
			"start": w.clock.Now().Add(time.Hour).Format(time.RFC3339), "end": w.clock.Now().Add(2 * time.Hour).Format(time.RFC3339), "announce": true},
			http.StatusCreated, &win)
		w.call("PATCH", "/api/v1/maintenance/"+win.ID, map[string]string{"name": "Search index rebuild"}, http.StatusOK, nil)
		sm := list(w.doc("/status/public/api/v2/scheduled-maintenances/upcoming.json"), "scheduled_maintenances")
		if len(sm) != 1 || sm[0]["name"] != "Search index rebuild" || sm[0]["status"] != "scheduled" {
			t.Fatalf("upcoming maintenance: %v", sm)
		}
		if len(list(w.doc("/status/internal/api/v2/scheduled-maintenances.json"), "scheduled_maintenances")) != 0 {
			t.Error("maintenance of search is announced on a page that does not show search")
		}
		w.clock.Advance(90 * time.Minute)
		sum = w.doc("/status/public/api/v2/summary.json")
		if componentStatus(sum, "Search") != "under_maintenance" || list(sum, "scheduled_maintenances")[0]["status"] != "in_progress" {
			t.Fatalf("during the window: search %s", componentStatus(sum, "Search"))
		}
		checkDocs(t, w, sh, "public")
		w.clock.Advance(time.Hour)
		if n := len(list(w.doc("/status/public/api/v2/scheduled-maintenances.json"), "scheduled_maintenances")); n != 0 {
			t.Errorf("%d maintenances listed after the window, want 0", n)
		}
		w.clock.Advance(13 * 24 * time.Hour)
		if feed := checkAtom(t, w.get("/status/public/history.atom")); !feedHas(feed, "Search index rebuild") {
			t.Error("completed maintenance left the feed before 14 days")
		}
		w.clock.Advance(2 * 24 * time.Hour)
		if feed := checkAtom(t, w.get("/status/public/history.atom")); feedHas(feed, "Search index rebuild") {
			t.Error("completed maintenance is still in the feed after 14 days")
		}
	})
}

func feedHas(f atomDoc, title string) bool {
	for _, e := range f.Entries {
		if strings.Contains(e.Title, title) {
			return true
		}
	}
	return false
}
