package change_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/change"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/incident"
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
		{name: "a link that is not http is refused", body: `{"routing_key":"` + key + `","payload":{"summary":"x"},"links":[{"href":"javascript:alert(1)"}]}`, wantErr: "'links[0].href' must be an absolute http(s) URL"},
		{name: "custom_details must be an object", body: `{"routing_key":"` + key + `","payload":{"summary":"x","custom_details":"text"}}`, wantErr: "'payload.custom_details' must be an object"},
		{name: "a summary over 1024 characters is refused", body: `{"routing_key":"` + key + `","payload":{"summary":"` + strings.Repeat("x", 1025) + `"}}`, wantErr: "'payload.summary' is too long"},
		{name: "malformed JSON is named", body: `{"routing_key":`, wantErr: "Malformed JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, got, err := change.DecodeEnqueue([]byte(c.body))
			if c.wantErr != "" {
				var inv *alert.InvalidError
				if !errors.As(err, &inv) || !strings.Contains(inv.Error(), c.wantErr) {
					t.Fatalf("error = %v, want one naming %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k != key || got.Kind != c.want.Kind || got.Summary != c.want.Summary || got.Source != c.want.Source ||
				got.Version != c.want.Version || got.Commit != c.want.Commit || !got.At.Equal(c.want.At) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
			if got.Kind == change.KindDeploy && (got.CommitAt == nil || !got.CommitAt.Equal(time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC))) {
				t.Errorf("commit time = %v", got.CommitAt)
			}
		})
	}
}

func FuzzDecodeEnqueue(f *testing.F) {
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
			_, bad := c.in.Change()
			if !strings.Contains(strings.Join(bad, "; "), c.want) {
				t.Errorf("problems %q do not name %q", bad, c.want)
			}
		})
	}
	c, bad := change.Deploy{Service: "checkout", Version: "v9"}.Change()
	if len(bad) != 0 || c.Summary != "Deployed checkout v9" || c.Kind != change.KindDeploy {
		t.Errorf("a good deploy became %+v, %q", c, bad)
	}
}

func TestADeployShowsOnTheIncidentThatFollowsIt(t *testing.T) {
	storetest.Each(t, []store.Schema{incident.Schema, change.Schema}, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
		incs := incident.New(db, clk)
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
		inc, err := incs.Declare(ctx, incident.DeclareParams{ServiceID: "checkout", Title: "Checkout is slow", SEV: "SEV2", Actor: ci})
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
