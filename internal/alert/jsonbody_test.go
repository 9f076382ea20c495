package alert

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The stored JSON that the pipeline writes by hand must be byte for byte what encoding/json
// writes, whatever the sender put in its strings.
func FuzzStoredJSONIsWhatEncodingJSONWrites(f *testing.F) {
	for _, seed := range [][3]string{
		{"region", "eu-west-1", `{"error_rate":0.124,"threshold":0.05}`},
		{"a<b>&c", "line\nbreak \"quoted\" \\ \u2028 é \xff", `{ "html": "<script>&amp;</script>", "n": [1, 2.50, {"x": null}] }`},
		{"", "", `"just a string"`},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, name, value, raw string) {
		ls := map[string]string{name: value, "source": value + name}
		want, _ := json.Marshal(ls)
		if got := labelsJSON(ls); got != string(want) {
			t.Errorf("labelsJSON(%q) = %s, want %s", ls, got, want)
		}
		q, _ := json.Marshal(value)
		var unq string
		json.Unmarshal(q, &unq)
		if got := stringValue(q); got != unq {
			t.Errorf("stringValue(%s) = %q, want %q", q, got, unq)
		}
		if !json.Valid([]byte(raw)) {
			return
		}
		m := map[string]json.RawMessage{"client": quoted("nines " + value), "custom_details": json.RawMessage(raw)}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := objectJSON([]member{{"client", m["client"]}, {"custom_details", m["custom_details"]}})
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("objectJSON = %s (%v), want %s", got, err, want)
		}
	})
}

// Where scanPagerDuty reads a body, encoding/json reads it too and to the same event; where it
// gives up, encoding/json decides. The same holds of scanMembers against a map of raw members.
func FuzzScanPagerDutyAgreesWithEncodingJSON(f *testing.F) {
	for _, seed := range []string{
		`{"routing_key":"bench0routing0key0events0v20001a","event_action":"trigger","dedup_key":"r0t1-123","payload":{"summary":"High 5xx rate on checkout-api (r0t1-123)","source":"checkout-api-1.prod","severity":"error","component":"checkout-api","group":"prod-eu","custom_details":{"error_rate":0.124,"threshold":0.05,"region":"eu-west-1"}}}`,
		` { "routing_key" : "k", "payload" : { "summary" : "s", "custom_details" : [1, {"a": "}"}, "x\"y"] } , "links": [{"href":"h"}], "images": null } `,
		`{"routing_key":"k","payload":null}`,
		`{"Routing_Key":"k"}`,
		`{"routing_key":"k","routing_key":"l"}`,
		`{"routing_key":"\u0041","payload":{"summary":"é"}}`,
		`{"routing_key":"k"}}`,
		`{"client": 5}`,
		`{"links": [}`,
		`{"payload":{"custom_details":{"n":1e5,"t":true,"s":"v","o":{"p":[]}}}}`,
		`[]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := scanPagerDuty(body)
		if ok {
			var want PagerDutyEvent
			if err := decodeJSON(body, &want); err != nil {
				t.Fatalf("scanPagerDuty read %q, which encoding/json refuses: %v", body, err)
			}
			if !samePagerDuty(got, want) {
				t.Fatalf("scanPagerDuty(%q) = %+v (payload %+v), encoding/json %+v (payload %+v)", body, got, got.Payload, want, want.Payload)
			}
		}
		if !json.Valid(body) {
			return
		}
		if m, ok := scanMembers(body); ok {
			var want map[string]json.RawMessage
			if err := json.Unmarshal(body, &want); err != nil {
				t.Fatalf("scanMembers read %q, which encoding/json refuses: %v", body, err)
			}
			if len(m) != len(want) {
				t.Fatalf("scanMembers(%q) = %q, encoding/json %q", body, m, want)
			}
			for k, v := range want {
				if !bytes.Equal(m[k], v) {
					t.Fatalf("scanMembers(%q)[%q] = %s, encoding/json %s", body, k, m[k], v)
				}
			}
		}
	})
}

func samePagerDuty(a, b PagerDutyEvent) bool {
	if a.RoutingKey != b.RoutingKey || a.EventAction != b.EventAction || a.DedupKey != b.DedupKey || a.Client != b.Client ||
		a.ClientURL != b.ClientURL || !bytes.Equal(a.Links, b.Links) || !bytes.Equal(a.Images, b.Images) || (a.Payload == nil) != (b.Payload == nil) {
		return false
	}
	if a.Payload == nil {
		return true
	}
	p, q := *a.Payload, *b.Payload
	return p.Summary == q.Summary && p.Source == q.Source && p.Severity == q.Severity && p.Timestamp == q.Timestamp &&
		p.Component == q.Component && p.Group == q.Group && p.Class == q.Class && bytes.Equal(p.CustomDetails, q.CustomDetails)
}

func TestAStormsBodyIsReadWithoutEncodingJSON(t *testing.T) {
	body := []byte(`{"routing_key":"bench0routing0key0events0v20001a","event_action":"trigger","dedup_key":"r0t1-123",` +
		`"payload":{"summary":"High 5xx rate","source":"api-1","severity":"error","custom_details":{"error_rate":0.124,"region":"eu-west-1"}}}`)
	ev, ok := scanPagerDuty(body)
	if !ok || ev.DedupKey != "r0t1-123" || ev.Payload == nil || string(ev.Payload.CustomDetails) != `{"error_rate":0.124,"region":"eu-west-1"}` {
		t.Fatalf("scanPagerDuty = %+v, %v", ev, ok)
	}
	if m, ok := scanMembers(ev.Payload.CustomDetails); !ok || string(m["region"]) != `"eu-west-1"` || string(m["error_rate"]) != "0.124" {
		t.Errorf("scanMembers = %q, %v", m, ok)
	}
}
