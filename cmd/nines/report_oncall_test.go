package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/notify/notifytest"
	"github.com/nines-dev/nines/internal/oncall"
	"github.com/nines-dev/nines/internal/storetest"
)

// loadConfig: alice alone is on call from Monday 2026-03-30 00:00 UTC; her email takes one
// message per 10 minutes, so a storm is bundled.
const loadConfig = `
users:
  - id: alice
    time_zone: UTC
    contact_methods: [{type: email, address: alice@example.com, rate_limit: {count: 1, per: 10m}}]
schedules:
  - id: ops
    time_zone: UTC
    layers: [{name: primary, rotation: {length: 1w, handoff: "2026-03-30T00:00"}, users: [alice]}]
escalation_policies:
  - id: ops-policy
    steps: [{escalate_after: 30m, targets: [{schedule: ops}]}]
services:
  - {id: checkout, escalation_policy: ops-policy, integrations: [{type: events_v2, key: 0123456789abcdef0123456789abcdef}]}
notifications:
  email: {smtp: {host: 127.0.0.1, port: SMTP_PORT, from: nines@example.com, tls: none}}
`

// TestTheLoadReportCountsOnlyWhatHappened checks the report against figures worked by hand:
//
//	on call: Monday 00:00 to now (12:00), not to the end of the period asked (next Monday): 12 h
//	pages: 03:00 (incident A), 03:10 (one bundle of B and C): 2, both off hours (09:00-18:00)
//	handled: A acknowledged 03:15 through the API, resolved 04:15: 1 h, all off hours
//	         B acknowledged 03:16 through the CLI, still open at 12:00: 8 h 44 min, 5 h 44 min off hours
//	total: 9.73 h of work, 6.73 h off hours; Monday had off-hours pages and over 4 h of
//	off-hours work: 1 day owed (the default rule).
func TestTheLoadReportCountsOnlyWhatHappened(t *testing.T) {
	smtp := notifytest.StartSMTP(t, "none")
	cfg, err := config.Parse("nines.yaml", []byte(strings.ReplaceAll(loadConfig, "SMTP_PORT", strconv.Itoa(smtp.Port()))))
	if err != nil {
		t.Fatal(err)
	}
	srv := startNines(t, cfg, time.Date(2026, 3, 30, 3, 0, 0, 0, time.UTC))
	admin := srv.token(t, "admin", auth.Admin)
	advance := func(d time.Duration) {
		srv.clock.Advance(d)
		for i := 0; i < 5; i++ {
			srv.app.Runner.Wake()
			time.Sleep(20 * time.Millisecond)
			srv.app.Escalation.Wait()
		}
	}
	api := func(method, path, token string, body any, out any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, srv.url+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
		}
		if out != nil {
			json.Unmarshal(data, out)
		}
	}
	// cli runs a client command: the command words, then the client flags, then the rest.
	cli := func(token, command string, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		full := append(append(strings.Fields(command), "--server", srv.url, "--token", token), args...)
		if code := run(context.Background(), full, &out, &errb); code != 0 {
			t.Fatalf("nines %s %s: exit %d\n%s%s", command, strings.Join(args, " "), code, out.String(), errb.String())
		}
		return out.String()
	}

	// alice's own token: what she does with it is hers.
	var created struct{ Secret string }
	api("POST", "/api/v1/tokens", admin, map[string]string{"name": "alice-laptop", "role": "responder", "ttl": "never", "user": "alice"}, &created)
	mine := created.Secret
	var bad bytes.Buffer
	req, _ := http.NewRequest("POST", srv.url+"/api/v1/tokens", strings.NewReader(`{"name":"x","role":"responder","user":"zed"}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 400 {
		t.Fatalf("a token for a user the config lacks: %v %v", resp, err)
	} else {
		io.Copy(&bad, resp.Body)
		resp.Body.Close()
		if !strings.Contains(bad.String(), `user: \"zed\" is not a user of the config`) {
			t.Errorf("the refusal does not name the user: %s", bad.String())
		}
	}

	trigger := func(key string) int64 {
		t.Helper()
		cli(admin, "event trigger", "--routing-key", "0123456789abcdef0123456789abcdef", "--dedup-key", key, "--summary", "Checkout "+key)
		var list struct{ Incidents []struct{ ID int64 } }
		api("GET", "/api/v1/incidents?limit=1", admin, nil, &list)
		return list.Incidents[0].ID
	}
	a := trigger("a")
	storetest.Eventually(t, 5*time.Second, "the page of incident A", func() bool { return len(smtp.Mails()) == 1 })
	advance(time.Minute)
	b := trigger("b")
	advance(time.Minute)
	trigger("c")
	advance(8 * time.Minute) // 03:10: the rate limit frees up, B and C leave as one message
	storetest.Eventually(t, 5*time.Second, "the bundle", func() bool { return len(smtp.Mails()) == 2 })

	advance(5 * time.Minute)
	api("POST", fmt.Sprintf("/api/v1/incidents/%d/acknowledge", a), mine, nil, nil)
	advance(time.Minute)
	cli(mine, "ack", strconv.FormatInt(b, 10))
	advance(59 * time.Minute)
	api("POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", a), mine, nil, nil)
	srv.clock.Set(time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC))

	var tl struct {
		Events []struct{ Type, Actor, Source string }
	}
	api("GET", fmt.Sprintf("/api/v1/incidents/%d/timeline", b), admin, nil, &tl)
	acked := false
	for _, e := range tl.Events {
		acked = acked || e.Type == "incident.acknowledged" && e.Actor == "user:alice" && e.Source == "cli"
	}
	if !acked {
		t.Errorf("the CLI acknowledgement is not credited to alice: %+v", tl.Events)
	}

	var rep oncall.Report
	out := cli(admin, "report oncall", "--from", "2026-03-30", "--to", "2026-04-06", "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Users) != 1 {
		t.Fatalf("report: %v\n%s", err, out)
	}
	got, mails := rep.Users[0], len(smtp.Mails())
	want := oncall.Load{UserID: "alice", Name: "alice", OnCallHours: 12, Pages: mails, OffHoursPages: 2, Incidents: 2,
		WorkHours: 9.73, OffHoursWork: 6.73, DaysOwed: 1}
	if got != want || mails != 2 {
		t.Fatalf("alice's load = %+v\nwant       %+v (%d messages reached the SMTP server)", got, want, mails)
	}
	if !rep.To.Equal(time.Date(2026, 3, 30, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("the report runs to %v, want now", rep.To)
	}
}
