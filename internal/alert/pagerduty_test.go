package alert_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/alert"
)

// TimestampForm is one entry of testdata/pagerduty-timestamps.json.
type timestampForm struct {
	Timestamp string    `json:"timestamp"`
	UTC       time.Time `json:"utc"`
	WrittenBy string    `json:"written_by"`
}

func timestampForms(t testing.TB) []timestampForm {
	t.Helper()
	var f struct{ Forms []timestampForm }
	if err := json.Unmarshal(readTestdata(t, "pagerduty-timestamps.json"), &f); err != nil {
		t.Fatal(err)
	}
	return f.Forms
}

// withTimestamp rewrites a fixture's payload.timestamp.
func withTimestamp(t testing.TB, body []byte, ts string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["payload"].(map[string]any)["timestamp"] = ts
	b, _ := json.Marshal(m)
	return b
}

func TestEventsV2AcceptsTheExamplesOfPagerDutysDocs(t *testing.T) {
	t.Parallel()
	key, ev, err := alert.DecodeEventsV2(readTestdata(t, "pagerduty-docs-trigger.json"))
	if err != nil {
		t.Fatalf("PagerDuty's own trigger example refused: %v", err)
	}
	if key != routingKey || ev.Action != alert.Trigger || ev.DedupKey != "samplekeyhere" || ev.Summary != "Example alert on host1.example.com" ||
		ev.Severity != "info" || ev.Component != "postgres" || ev.Group != "prod-datapipe" || ev.Class != "deploy" ||
		!ev.Timestamp.Equal(time.Date(2015, 7, 17, 8, 42, 58, 315e6, time.UTC)) {
		t.Errorf("trigger = %+v", ev)
	}
	for _, name := range []string{"pagerduty-docs-acknowledge.json", "pagerduty-docs-resolve.json"} {
		if _, ev, err := alert.DecodeEventsV2(readTestdata(t, name)); err != nil || ev.DedupKey != "samplekeyhere" {
			t.Errorf("%s: %+v, %v", name, ev, err)
		}
	}
}

func TestEventsV2AcceptsEveryTimestampFormThePagerDutyAPIAccepts(t *testing.T) {
	t.Parallel()
	doc := readTestdata(t, "pagerduty-docs-trigger.json")
	for _, f := range timestampForms(t) {
		t.Run(f.WrittenBy, func(t *testing.T) {
			_, ev, err := alert.DecodeEventsV2(withTimestamp(t, doc, f.Timestamp))
			if err != nil {
				t.Fatalf("%q refused: %v", f.Timestamp, err)
			}
			if !ev.Timestamp.Equal(f.UTC) || ev.Timestamp.Location() != time.UTC {
				t.Errorf("%q read as %v, want %v", f.Timestamp, ev.Timestamp, f.UTC)
			}
		})
	}
}

func TestTimestampsThatAreNotDatesAreRefusedWithTheFieldNamed(t *testing.T) {
	t.Parallel()
	doc := readTestdata(t, "pagerduty-docs-trigger.json")
	for _, ts := range []string{"yesterday", "2015-07-17", "17/07/2015 08:42:58", "2015-07-17T08:42:58+2", "2015-07-17T25:42:58Z", "2015-07-17T08:42:58.315+00:00:00", "1437122578",
		"2015-07-17T08:42:58+24:00", "2015-07-17T08:42:58-2400", "2015-07-17T08:42:58+24", "2015-07-17T08:42:58+23:60", "2015-07-17T08:42:58+0060",
		"2015-07-17T08:42:61Z"} {
		_, _, err := alert.DecodeEventsV2(withTimestamp(t, doc, ts))
		if err == nil {
			t.Errorf("%q accepted", ts)
			continue
		}
		if errs := invalidErrors(t, err); len(errs) != 1 || !strings.Contains(errs[0], fmt.Sprintf("'payload.timestamp' is not an ISO 8601 date-time: %q", ts)) {
			t.Errorf("%q: errors = %q", ts, errs)
		}
	}
}

func TestAWrongTypedBodyHasEveryBadFieldNamed(t *testing.T) {
	t.Parallel()
	body := `{"routing_key": 12, "event_action": ["trigger"], "dedup_key": {"k": 1},
		"payload": {"summary": 42, "source": true, "severity": "critical", "timestamp": 1437122578, "component": ["db"]},
		"client": 7}`
	_, _, err := alert.DecodeEventsV2([]byte(body))
	if err == nil {
		t.Fatal("accepted")
	}
	got := invalidErrors(t, err)
	want := []string{ // in the order the Events API documents the fields
		"'routing_key' must be a string, not number",
		"'event_action' must be a string, not array",
		"'dedup_key' must be a string, not object",
		"'payload.summary' must be a string, not number",
		"'payload.source' must be a string, not boolean",
		"'payload.timestamp' must be a string, not number",
		"'payload.component' must be a string, not array",
		"'client' must be a string, not number",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestALeapSecondIsTheLastInstantOfItsMinute: 23:59:60 (RFC 3339 allows it; a clock that
// follows UTC prints it) is read as 23:59:59.999999999, so the alert is kept, in order.
func TestALeapSecondIsTheLastInstantOfItsMinute(t *testing.T) {
	t.Parallel()
	last := time.Date(2016, 12, 31, 23, 59, 59, 999999999, time.UTC)
	for _, ts := range []string{"2016-12-31T23:59:60Z", "2016-12-31T23:59:60.5Z", "2016-12-31 23:59:60+0000", "2017-01-01T00:59:60+01:00", "2016-12-31T23:59:60"} {
		got, err := alert.ParseTimestamp(ts)
		if err != nil || !got.Equal(last) {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %v", ts, got, err, last)
		}
	}
}

func TestParseTimestampFuzzSeeds(t *testing.T) {
	t.Parallel()
	for _, f := range timestampForms(t) {
		got, err := alert.ParseTimestamp(f.Timestamp)
		if err != nil || !got.Equal(f.UTC) {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %v", f.Timestamp, got, err, f.UTC)
		}
	}
}

func FuzzParseTimestamp(f *testing.F) {
	for _, form := range timestampForms(f) {
		f.Add(form.Timestamp)
	}
	f.Add("2015-07-17t08:42:58z")
	f.Add("2015-07-17 08:42:58")
	f.Add("0000-00-00T00:00:00+99")
	f.Add("2016-12-31T23:59:60Z")
	f.Add("2016-12-31T23:59:60.25+24:00")
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := alert.ParseTimestamp(s)
		if err != nil {
			if !ts.IsZero() {
				t.Fatalf("refused %q but returned %v", s, ts)
			}
			return
		}
		if ts.Location() != time.UTC {
			t.Fatalf("%q read in %v, not UTC", s, ts.Location())
		}
		// What is accepted reads the same once written back in RFC 3339.
		again, err := alert.ParseTimestamp(ts.Format(time.RFC3339Nano))
		if err != nil || !again.Equal(ts) {
			t.Fatalf("%q -> %v -> %v, %v", s, ts, again, err)
		}
	})
}
