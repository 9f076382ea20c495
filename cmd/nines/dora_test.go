package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/report"
)

// TestChangeFailureRateBlamesTheDeployThatCausedIt plays a week of the api service through the
// HTTP API and checks the four keys against this table, worked by hand:
//
//	deploy  at (commit 30m before)  incidents attributed to it
//	p1      Mon 9 Nov 09:00         -
//	p2      Mon 9 Nov 11:00         Y (named on the incident as its cause)
//	p3      Mon 9 Nov 15:00         X (impact 15:30), W (impact 16:50): the last deploy before each
//	p4      Tue 10 Nov 09:00        - (Y opened 3h later but names p2)
//	p5      Wed 11 Nov 09:00        - (Z's impact on Thu 12 Nov 09:30 is 24.5h later: past the 24h window)
//
// 9-16 Nov: 5 deploys, 2 failed (p2, p3): 40%, low (over 15%); 5/7 a day, high; lead time 30m,
// elite. Counting every deploy in the 24h before each incident would fail p1, p2, p3 (X, W) and
// p4 (Y): 80%.
// 10-16 Nov: p4 and p5, neither failed: 0%, elite (the old rule failed p4 for Y: 50%).
func TestChangeFailureRateBlamesTheDeployThatCausedIt(t *testing.T) {
	cfg, err := config.Parse("nines.yaml", []byte("services: [{id: api}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	n := startNines(t, cfg, time.Date(2026, 11, 9, 8, 0, 0, 0, time.UTC))
	s := &sloServer{url: n.url, clock: n.clock, admin: n.token(t, "responder", auth.Responder), viewer: n.token(t, "viewer", auth.Viewer)}
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, time.UTC) }
	call := func(when time.Time, path, body string) map[string]any {
		t.Helper()
		s.clock.Set(when)
		code, out := s.call(t, "POST", path, s.admin, body)
		if code != http.StatusCreated && code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, code, out)
		}
		var v map[string]any
		json.Unmarshal([]byte(out), &v)
		return v
	}
	deploy := func(name string, t time.Time) int64 {
		c := call(t, "/api/v1/changes", fmt.Sprintf(`{"service":"api","version":%q,"commit_time":%q,"timestamp":%q}`,
			name, t.Add(-30*time.Minute).Format(time.RFC3339), t.Format(time.RFC3339)))
		return int64(c["id"].(float64))
	}
	declare := func(title string, opened time.Time, impact *time.Time) int64 {
		body := fmt.Sprintf(`{"service":"api","title":%q}`, title)
		if impact != nil {
			body = fmt.Sprintf(`{"service":"api","title":%q,"impact_started_at":%q}`, title, impact.Format(time.RFC3339))
		}
		return int64(call(opened, "/api/v1/incidents", body)["id"].(float64))
	}
	ptr := func(t time.Time) *time.Time { return &t }

	deploy("p1", at(9, 9, 0))
	p2 := deploy("p2", at(9, 11, 0))
	deploy("p3", at(9, 15, 0))
	declare("X", at(9, 16, 0), ptr(at(9, 15, 30)))
	declare("W", at(9, 17, 0), ptr(at(9, 16, 50)))
	deploy("p4", at(10, 9, 0))
	y := declare("Y", at(10, 12, 0), nil)
	call(at(10, 14, 0), fmt.Sprintf("/api/v1/incidents/%d/cause", y), fmt.Sprintf(`{"change_id":%d}`, p2))
	deploy("p5", at(11, 9, 0))
	declare("Z", at(12, 10, 0), ptr(at(12, 9, 30)))
	s.clock.Set(at(16, 0, 0))

	cases := []struct {
		from, to string
		deploys  int
		failed   int
		rate     float64
		bands    report.Bands
	}{
		{"2026-11-09", "2026-11-16", 5, 2, 0.4, report.Bands{DeploymentFrequency: "high", LeadTime: "elite", ChangeFailureRate: "low"}},
		{"2026-11-10", "2026-11-16", 2, 0, 0, report.Bands{DeploymentFrequency: "high", LeadTime: "elite", ChangeFailureRate: "elite"}},
	}
	for _, c := range cases {
		code, body := s.call(t, "GET", "/api/v1/reports/dora?service=api&from="+c.from+"&to="+c.to, s.viewer, "")
		var r report.DORA
		if err := json.Unmarshal([]byte(body), &r); code != 200 || err != nil {
			t.Fatalf("dora: %d %s", code, body)
		}
		if r.Deployments != c.deploys || r.FailedDeployments != c.failed || r.ChangeFailureRate == nil || *r.ChangeFailureRate != c.rate ||
			r.LeadTimeSeconds == nil || *r.LeadTimeSeconds != 1800 || r.Bands != c.bands {
			t.Errorf("%s..%s: %s\nwant %d deploys, %d failed (%v), lead 1800s, bands %+v", c.from, c.to, body, c.deploys, c.failed, c.rate, c.bands)
		}
	}

	// Naming a change that does not exist is refused.
	if code, body := s.call(t, "POST", fmt.Sprintf("/api/v1/incidents/%d/cause", y), s.admin, `{"change_id":999}`); code != 400 {
		t.Errorf("an unknown change: %d %s", code, body)
	}
}

// TestPerServiceAndOrgWideChangeFailureRatesAddUp plays two services through the HTTP API and
// checks, against this table worked by hand, that the failed deploys of the per-service reports
// add up to the org-wide report's:
//
//	deploy  service  at               incidents attributed to it
//	a1      api      Mon 9 Nov 09:00  A1 (api, impact starts 09:00: the deploy instant counts)
//	a2      api      Mon 9 Nov 13:00  -
//	w1      web      Mon 9 Nov 10:00  W1 (web, impact 10:20); B (api, names w1 as its cause)
//	w2      web      Mon 9 Nov 14:00  -
//
// Org-wide: 4 deploys, 2 failed (a1, w1). api: 2 deploys, 1 failed (a1); web: 2 deploys,
// 1 failed (w1, once for W1 and B): 1 + 1 = 2.
func TestPerServiceAndOrgWideChangeFailureRatesAddUp(t *testing.T) {
	cfg, err := config.Parse("nines.yaml", []byte("services: [{id: api}, {id: web}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	n := startNines(t, cfg, time.Date(2026, 11, 9, 8, 0, 0, 0, time.UTC))
	s := &sloServer{url: n.url, clock: n.clock, admin: n.token(t, "responder", auth.Responder), viewer: n.token(t, "viewer", auth.Viewer)}
	at := func(h, m int) time.Time { return time.Date(2026, 11, 9, h, m, 0, 0, time.UTC) }
	call := func(when time.Time, path, body string) map[string]any {
		t.Helper()
		s.clock.Set(when)
		code, out := s.call(t, "POST", path, s.admin, body)
		if code != http.StatusCreated && code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, code, out)
		}
		var v map[string]any
		json.Unmarshal([]byte(out), &v)
		return v
	}
	deploy := func(svc, name string, when time.Time) int64 {
		c := call(when, "/api/v1/changes", fmt.Sprintf(`{"service":%q,"version":%q,"commit_time":%q,"timestamp":%q}`,
			svc, name, when.Add(-30*time.Minute).Format(time.RFC3339), when.Format(time.RFC3339)))
		return int64(c["id"].(float64))
	}
	declare := func(svc, title string, opened, impact time.Time) int64 {
		return int64(call(opened, "/api/v1/incidents", fmt.Sprintf(`{"service":%q,"title":%q,"impact_started_at":%q}`,
			svc, title, impact.Format(time.RFC3339)))["id"].(float64))
	}
	deploy("api", "a1", at(9, 0))
	declare("api", "A1", at(9, 5), at(9, 0))
	w1 := deploy("web", "w1", at(10, 0))
	declare("web", "W1", at(10, 30), at(10, 20))
	b := declare("api", "B", at(11, 0), at(10, 55))
	deploy("api", "a2", at(13, 0))
	deploy("web", "w2", at(14, 0))
	// Naming the cause answers with the change as stored.
	got := call(at(15, 0), fmt.Sprintf("/api/v1/incidents/%d/cause", b), fmt.Sprintf(`{"change_id":%d}`, w1))
	cause, _ := got["cause"].(map[string]any)
	if cause["received_at"] != at(10, 0).Format(time.RFC3339) || cause["actor"] == "" || cause["actor"] == nil ||
		cause["commit_at"] != at(9, 30).Format(time.RFC3339) || cause["service_id"] != "web" {
		t.Errorf("the cause named: %v; want w1 as stored: received 10:00, its actor, committed 09:30", cause)
	}
	s.clock.Set(time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC))

	failed := map[string]int{}
	for _, scope := range []string{"", "api", "web"} {
		code, body := s.call(t, "GET", "/api/v1/reports/dora?service="+scope+"&from=2026-11-09&to=2026-11-10", s.viewer, "")
		var r report.DORA
		if err := json.Unmarshal([]byte(body), &r); code != 200 || err != nil {
			t.Fatalf("dora %q: %d %s", scope, code, body)
		}
		failed[scope] = r.FailedDeployments
	}
	if failed[""] != 2 || failed["api"] != 1 || failed["web"] != 1 {
		t.Errorf("failed deploys: org-wide %d, api %d, web %d; want 2, 1 and 1", failed[""], failed["api"], failed["web"])
	}
}
