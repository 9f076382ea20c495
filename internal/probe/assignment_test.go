package probe

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// serverOnly are the fields of a monitor the agent does not need: whether and how the server
// alerts, where the monitor runs, and the heartbeat's settings (heartbeats are not probed).
var serverOnly = map[string]bool{
	"Node": true, "Service": true, "Paused": true, "FailuresBeforeDown": true, "SuccessesBeforeUp": true,
	"Locations": true, "Quorum": true, "UUID": true, "Period": true, "Cron": true, "TimeZone": true, "Grace": true, "Slug": true, "Severity": true,
}

// fill sets every exported field of v (a struct) to a value that is not its zero, recursively.
func fill(t *testing.T, v reflect.Value, path string) {
	for i := 0; i < v.NumField(); i++ {
		f, sf := v.Field(i), v.Type().Field(i)
		if !sf.IsExported() || sf.Name == "Node" {
			continue
		}
		name := path + sf.Name
		switch f.Kind() {
		case reflect.String:
			f.SetString(strings.ToLower(sf.Name) + "-value")
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(i + 7))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Map:
			f.Set(reflect.ValueOf(map[string]string{sf.Name: "v"}))
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{sf.Name}))
		case reflect.Pointer:
			p := reflect.New(f.Type().Elem())
			if p.Elem().Kind() == reflect.Struct {
				fill(t, p.Elem(), name+".")
			} else {
				p.Elem().Set(reflect.ValueOf(true))
			}
			f.Set(p)
		case reflect.Struct:
			fill(t, f, name+".")
		default:
			t.Fatalf("%s: the test cannot fill a %s", name, f.Kind())
		}
	}
}

// TestAnAssignmentCarriesEveryFieldAProbeReads: every field of a monitor reaches the agent
// through its assignment, except the fields named server-only. A field added to monitors fails
// here until it is carried or named server-only.
func TestAnAssignmentCarriesEveryFieldAProbeReads(t *testing.T) {
	var mon config.Monitor
	fill(t, reflect.ValueOf(&mon).Elem(), "")
	mon.Interval, mon.Timeout = config.Duration(30*time.Second), config.Duration(5*time.Second)
	wire, err := json.Marshal(NewAssignment(&mon))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(wire), `"Pos"`) || strings.Contains(string(wire), `"Line"`) {
		t.Fatalf("an assignment carries the config's positions: %s", wire)
	}
	var back Assignment
	if err := json.Unmarshal(wire, &back); err != nil {
		t.Fatal(err)
	}
	got := back.Monitor()
	want := reflect.ValueOf(mon)
	for i := 0; i < want.NumField(); i++ {
		sf := want.Type().Field(i)
		if !sf.IsExported() || serverOnly[sf.Name] {
			continue
		}
		if g := reflect.ValueOf(got).Field(i).Interface(); !reflect.DeepEqual(stripNodes(g), stripNodes(want.Field(i).Interface())) {
			t.Errorf("%s: the agent gets %#v, the config says %#v", sf.Name, g, want.Field(i).Interface())
		}
	}
	for name := range serverOnly {
		if _, ok := want.Type().FieldByName(name); !ok {
			t.Errorf("%s is named server-only but monitors have no such field", name)
		}
	}
}

// stripNodes zeroes the config positions inside v, which an assignment drops on purpose.
func stripNodes(v any) any {
	switch x := v.(type) {
	case config.Expect:
		x.Node = config.Node{}
		if x.JSON != nil {
			j := *x.JSON
			j.Node = config.Node{}
			x.JSON = &j
		}
		return x
	}
	return v
}
