package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// cli runs a nines client command against the server and returns stdout, stderr and whether
// it exited 0.
func (s *server) cli(token string, args ...string) (string, string, bool) {
	s.t.Helper()
	cmd := exec.Command(ninesBin, args...)
	cmd.Env = append(cmd.Environ(), "NINES_SERVER="+s.url(""), "NINES_TOKEN="+token)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err == nil
}

func TestAnOperatorTriggersAcknowledgesAndResolvesFromTheCLI(t *testing.T) {
	s := newServer(t, "")
	s.start()
	responder := s.token("responder")
	viewer := s.token("viewer")

	trigger := []string{"event", "trigger", "--routing-key", routingKey, "--dedup-key", "disk-db-1", "--summary", "disk full on db-1",
		"--severity", "critical", "--details", `{"used":"97%"}`}
	for i := 0; i < 2; i++ {
		if out, errOut, ok := s.cli("", trigger...); !ok || !strings.Contains(out, "dedup_key disk-db-1") {
			t.Fatalf("nines event trigger: ok=%v out=%q err=%q", ok, out, errOut)
		}
	}

	// A bad event is refused with what was wrong, and changes nothing.
	_, errOut, ok := s.cli("", "event", "trigger", "--routing-key", routingKey, "--summary", "x", "--severity", "urgent")
	if ok || !strings.Contains(errOut, "payload.severity") || !strings.Contains(errOut, "400") {
		t.Errorf("a trigger with severity urgent: ok=%v, stderr %q; want a 400 naming payload.severity", ok, errOut)
	}

	out, errOut, ok := s.cli(viewer, "incidents", "--state", "open", "--json")
	if !ok {
		t.Fatalf("nines incidents: %s", errOut)
	}
	var list struct {
		Incidents []apiIncident `json:"incidents"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("nines incidents --json: %v: %s", err, out)
	}
	if len(list.Incidents) != 1 {
		t.Fatalf("have %d open incidents, want 1 (the second trigger repeats the first)", len(list.Incidents))
	}
	inc := list.Incidents[0]
	if inc.Title != "disk full on db-1" || inc.ServiceID != "payments" {
		t.Errorf("incident = %+v, want the trigger's summary on payments", inc)
	}
	if alerts := s.alerts(viewer, inc.ID); len(alerts) != 1 || alerts[0].Count != 2 {
		t.Errorf("alerts = %+v, want one alert counted twice", alerts)
	}

	// A viewer may not acknowledge; a responder may.
	if _, errOut, ok := s.cli(viewer, "ack", fmt.Sprint(inc.ID)); ok || !strings.Contains(errOut, "403") {
		t.Errorf("ack as a viewer: ok=%v, stderr %q; want 403", ok, errOut)
	}
	if out, errOut, ok := s.cli(responder, "ack", fmt.Sprint(inc.ID)); !ok || !strings.Contains(out, "acknowledged") {
		t.Fatalf("ack as a responder: ok=%v out=%q err=%q", ok, out, errOut)
	}
	if out, errOut, ok := s.cli("", "event", "resolve", "--routing-key", routingKey, "--dedup-key", "disk-db-1"); !ok {
		t.Fatalf("nines event resolve: %q %q", out, errOut)
	}

	var got apiIncident
	s.get(viewer, fmt.Sprintf("/api/v1/incidents/%d", inc.ID), &got)
	if got.State != "resolved" {
		t.Fatalf("after the resolve event the incident is %s, want resolved", got.State)
	}
	var timeline struct {
		Events []struct {
			Type  string `json:"type"`
			Actor string `json:"actor"`
		} `json:"events"`
	}
	s.get(viewer, fmt.Sprintf("/api/v1/incidents/%d/timeline", inc.ID), &timeline)
	// The incident's and its alert's own entries, in order; other parts of nines (escalation)
	// add theirs in between.
	var types []string
	for _, e := range timeline.Events {
		if strings.HasPrefix(e.Type, "incident.") || strings.HasPrefix(e.Type, "alert.") {
			types = append(types, e.Type)
		}
		if e.Type == "incident.acknowledged" && !strings.Contains(e.Actor, "responder") {
			t.Errorf("acknowledged by %q, want the responder's token", e.Actor)
		}
	}
	want := "incident.triggered alert.triggered alert.repeated incident.acknowledged alert.acknowledged alert.resolved incident.resolved"
	if strings.Join(types, " ") != want {
		t.Errorf("timeline = %s\nwant       %s", strings.Join(types, " "), want)
	}
}
