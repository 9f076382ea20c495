package change_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

const key = "0123456789abcdef0123456789abcdef"

func TestDecodeEnqueue(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		want    change.Change
		wantErr string
	}{
		{name: "a PagerDuty example with a +0000 offset is a change at that time",
			body: `{"routing_key":"` + key + `","payload":{"summary":"Build Success: Increase snapshot create timeout to 30 seconds","timestamp":"2020-07-17T08:42:58.315+0000","source":"acme-build-pipeline-tool-default-i-9999","custom_details":{"build_state":"passed","build_number":"2"}},"links":[{"href":"https://acme-pipeline-tool.com/builds/2","text":"View more details in Acme!"}]}`,
			want: change.Change{Kind: change.KindChange, Summary: "Build Success: Increase snapshot create timeout to 30 seconds",
				Source: "acme-build-pipeline-tool-default-i-9999", At: time.Date(2020, 7, 17, 8, 42, 58, 315e6, time.UTC)}},
		{name: "a version in custom_details makes it a deploy with its commit and commit time",
			body: `{"routing_key":"` + key + `","payload":{"summary":"checkout v2","custom_details":{"version":"v2","commit":"abc123","commit_time":"2026-11-20T08:00:00Z"}}}`,
			want: change.Change{Kind: change.KindDeploy, Summary: "checkout v2", Version: "v2", Commit: "abc123"}},
		{name: "a missing summary is named", body: `{"routing_key":"` + key + `","payload":{"source":"ci"}}`, wantErr: "'payload.summary' is missing"},
		{name: "a short routing key is named", body: `{"routing_key":"abc","payload":{"summary":"x"}}`, wantErr: "Length of 'routing_key' is incorrect"},
		{name: "a missing payload is named", body: `{"routing_key":"` + key + `"}`, wantErr: "'payload' is missing"},
		{name: "a bad timestamp is named", body: `{"routing_key":"` + key + `","payload":{"summary":"x","timestamp":"yesterday"}}`, wantErr: "'payload.timestamp' is not an ISO 8601"},
		{name: "a link that is not http is left out, with a warning, as /v2/enqueue leaves it out", body: `{"routing_key":"` + key + `","payload":{"summary":"x"},"links":[{"href":"javascript:alert(1)"}]}`,
			want: change.Change{Kind: change.KindChange, Summary: "x", Warnings: []string{"'links[0].href' is not an absolute http(s) URL; the link is left out"}}},
		{name: "custom_details must be an object", body: `{"routing_key":"` + key + `","payload":{"summary":"x","custom_details":"text"}}`, wantErr: "'payload.custom_details' must be an object"},
		{name: "a summary over 1024 characters is refused", body: `{"routing_key":"` + key + `","payload":{"summary":"` + strings.Repeat("x", 1025) + `"}}`, wantErr: "'payload.summary' is too long"},
		{name: "malformed JSON is named", body: `{"routing_key":`, wantErr: "Malformed JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, got, err := change.DecodeEnqueue([]byte(c.body))
			if c.wantErr != "" {
				var inv *invalid.Error
				if !errors.As(err, &inv) || !strings.Contains(inv.Error(), c.wantErr) {
					t.Fatalf("error = %v, want one naming %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k != key || got.Kind != c.want.Kind || got.Summary != c.want.Summary || got.Source != c.want.Source ||
				got.Version != c.want.Version || got.Commit != c.want.Commit || !got.At.Equal(c.want.At) ||
				strings.Join(got.Warnings, "|") != strings.Join(c.want.Warnings, "|") {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
			for _, l := range got.Links {
				if !alert.SafeHref(l.Href) {
					t.Errorf("link %q kept", l.Href)
				}
			}
			if got.Kind == change.KindDeploy && (got.CommitAt == nil || !got.CommitAt.Equal(time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC))) {
				t.Errorf("commit time = %v", got.CommitAt)
			}
		})
	}
}

// TestDecodeEnqueueReadsPagerDutysExampleInEveryTimestampForm: the Change Events example of
// PagerDuty's docs, with its timestamp written in each ISO 8601 form /v2/enqueue accepts
// (testdata/pagerduty-timestamps.json of package alert), is a change at that instant.
func TestDecodeEnqueueReadsPagerDutysExampleInEveryTimestampForm(t *testing.T) {
	doc, err := os.ReadFile("../alert/testdata/pagerduty-docs-change.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../alert/testdata/pagerduty-timestamps.json")
	if err != nil {
		t.Fatal(err)
	}
	var forms struct {
		Forms []struct {
			Timestamp string    `json:"timestamp"`
			UTC       time.Time `json:"utc"`
			WrittenBy string    `json:"written_by"`
		}
	}
	if err := json.Unmarshal(raw, &forms); err != nil {
		t.Fatal(err)
	}
	for _, f := range forms.Forms {
		t.Run(f.WrittenBy, func(t *testing.T) {
			var m map[string]any
			json.Unmarshal(doc, &m)
			m["payload"].(map[string]any)["timestamp"] = f.Timestamp
			body, _ := json.Marshal(m)
			k, c, err := change.DecodeEnqueue(body)
			if err != nil {
				t.Fatalf("%q refused: %v", f.Timestamp, err)
			}
			if k != key || c.Summary != "Build Success: Increase snapshot create timeout to 30 seconds" || !c.At.Equal(f.UTC) ||
				len(c.Links) != 1 || c.Links[0].Text != "View more details in Acme!" {
				t.Errorf("%q decoded to %+v, want the change at %v", f.Timestamp, c, f.UTC)
			}
		})
	}
}

func FuzzDecodeEnqueue(f *testing.F) {
	if doc, err := os.ReadFile("../alert/testdata/pagerduty-docs-change.json"); err == nil {
		f.Add(doc)
	}
	f.Add([]byte(`{"routing_key": 7, "payload": {"summary": ["x"], "timestamp": 1}, "links": {"href": 1}}`))
	f.Add([]byte(`{"routing_key":"` + key + `","payload":{"summary":"x","timestamp":"2020-07-17T08:42:58.315+0000","custom_details":{"version":"1","commit_time":"2020-07-17T08:00:00Z"}},"links":[{"href":"https://x"}]}`))
	f.Add([]byte(`{"payload":null,"links":[{}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, c, err := change.DecodeEnqueue(body)
		if err == nil && (c.Summary == "" || (c.Kind != change.KindDeploy && c.Kind != change.KindChange)) {
			t.Fatalf("accepted an event without a summary or kind: %+v", c)
		}
	})
}

func TestDeployValidation(t *testing.T) {
	cases := []struct {
		name string
		in   change.Deploy
		want string
	}{
		{"a deploy without a version is refused", change.Deploy{Service: "checkout"}, "'version' is missing"},
		{"a deploy without a service is refused", change.Deploy{Version: "1"}, "service: which service"},
		{"a bad commit time is named", change.Deploy{Service: "s", Version: "1", CommitTime: "noon"}, "commit_time"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, bad := c.in.Change(func(string) bool { return true })
			if !strings.Contains(fmt.Sprint(bad), c.want) {
				t.Errorf("problems %q do not name %q", bad, c.want)
			}
		})
	}
	c, bad := change.Deploy{Service: "checkout", Version: "v9"}.Change(func(string) bool { return true })
	if bad != nil || c.Summary != "Deployed checkout v9" || c.Kind != change.KindDeploy {
		t.Errorf("a good deploy became %+v, %q", c, bad)
	}
}

func TestADeployShowsOnTheIncidentThatFollowsIt(t *testing.T) {
	storetest.Each(t, []store.Schema{incident.Schema, change.Schema}, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
		incs := incident.New(db, clk, nil)
		cs := change.New(db, incs, clk)
		ci := incident.Actor{Name: "token:ci", Source: "api"}
		record := func(svc, version string, at time.Time) {
			t.Helper()
			if _, err := cs.Record(ctx, change.Change{ServiceID: svc, Kind: change.KindDeploy, Version: version, Summary: "deploy " + version, At: at}, ci); err != nil {
				t.Fatal(err)
			}
		}
		record("checkout", "v1-two-days-early", clk.Now().Add(-48*time.Hour))
		record("checkout", "v2", clk.Now().Add(-20*time.Minute))
		record("search", "s1", clk.Now().Add(-10*time.Minute))
		clk.Advance(5 * time.Minute)
		inc, err := incs.Declare(ctx, incident.DeclareParams{ServiceID: "checkout", Title: "Checkout is slow", SEV: "SEV2", Actor: ci}, directory(t))
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(5 * time.Minute)
		record("checkout", "v3-during", clk.Now()) // goes on the open incident's timeline too
		got, err := cs.ForIncident(ctx, inc, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var versions []string
		for _, c := range got {
			versions = append(versions, c.Version)
		}
		if strings.Join(versions, ",") != "v2,v3-during" {
			t.Errorf("changes of the incident = %v, want v2 then v3-during (not the other service's, not the one 2 days before)", versions)
		}
		tl, err := incs.Timeline(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		last := tl[len(tl)-1]
		if last.Type != change.EventChange || !strings.Contains(string(last.Data), "v3-during") {
			t.Errorf("last timeline event = %s %s, want the change made while the incident was open", last.Type, last.Data)
		}
	})
}

// directory is the config incidents are declared against: services checkout and search.
func directory(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse("nines.yaml", []byte("services: [{id: checkout}, {id: search}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
