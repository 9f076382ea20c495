package ui

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
)

// TestAnEditInAFormKeepsWhatTheFormDoesNotShow: the form's fields are merged into the
// object's document; what the form does not show stays as it was, and what it owns and leaves
// empty goes.
func TestAnEditInAFormKeepsWhatTheFormDoesNotShow(t *testing.T) {
	for _, c := range []struct {
		name, kind, base string
		form             url.Values
		want             string
	}{
		{"a service's new name keeps its integrations' key hashes and its runbook", "services",
			"id: shop\nname: Shop\nrunbook: https://wiki/shop\nintegrations:\n  - type: events_v2\n    key_hash: sha256:ab\n",
			url.Values{"id": {"shop"}, "name": {"Shop front"}, "urgency": {"high"}},
			"id: shop\nname: Shop front\nrunbook: https://wiki/shop\nintegrations:\n  - type: events_v2\n    key_hash: sha256:ab\nurgency: high\n"},
		{"a monitor turned from http to tcp loses its URL and expected status, keeps its headers and body check", "monitors",
			"id: m\nservice: s\ntype: http\nurl: http://a/\nheaders:\n  X-A: b\nexpect:\n  status: 204\n  body_contains: ok\n",
			url.Values{"id": {"m"}, "service": {"s"}, "type": {"tcp"}, "url": {"http://a/"}, "expect_status": {"204"}, "address": {"a:80"}},
			"id: m\nservice: s\ntype: tcp\nheaders:\n  X-A: b\nexpect:\n  body_contains: ok\naddress: a:80\n"},
		{"a status page's components keep their ids, descriptions and groups, and an emptied row goes", "status_pages",
			"id: p\ntitle: P\ncomponents:\n  - id: api\n    name: API\n    group: Core\n    service: a\n  - name: Old\n    service: b\n",
			url.Values{"id": {"p"}, "title": {"P"}, "comp1_name": {"Public API"}, "comp1_target": {"monitor:m"}, "comp2_name": {""}, "comp2_target": {""}},
			"id: p\ntitle: P\ncomponents:\n  - id: api\n    name: Public API\n    group: Core\n    monitor: m\n"},
		{"an SLO's source is replaced whole, its alerts kept", "slos",
			"id: o\nservice: s\nobjective: 99\nsli:\n  events:\n    source: push\nalerts:\n  page: false\n",
			url.Values{"id": {"o"}, "service": {"s"}, "objective": {"99.9"}, "sli": {"probe:m"}},
			"id: o\nservice: s\nobjective: 99.9\nalerts:\n  page: false\nsli:\n  probe: m\n"},
		{"a team's members emptied are removed, its working hours kept", "teams",
			"id: t\nmembers: [a, b]\nworking_hours:\n  days: [mon]\n",
			url.Values{"id": {"t"}},
			"id: t\nworking_hours:\n  days:\n    - mon\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := buildDocument(c.kind, c.form, []byte(c.base))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// TestAProblemAtALineOfAFormsDocumentIsNamedByItsField: the config names a line and column of
// the document the form built; the problem is said beside the field written there.
func TestAProblemAtALineOfAFormsDocumentIsNamedByItsField(t *testing.T) {
	f := url.Values{"id": {"p"}, "title": {"P"}, "comp1_name": {"A"}, "comp1_target": {"service:a"}, "comp2_name": {"B"}, "comp2_target": {"monitor:gone"}}
	doc, err := buildDocument("status_pages", f, nil)
	if err != nil {
		t.Fatal(err)
	}
	line := 0
	for i, l := range strings.Split(string(doc), "\n") {
		if strings.Contains(l, "monitor: gone") {
			line = i + 1
		}
	}
	col := strings.Index(strings.Split(string(doc), "\n")[line-1], "gone") + 1
	for _, c := range []struct {
		name  string
		in    invalid.Problem
		typed bool
		want  string
	}{
		{"a value's line and column name its field", invalid.Problem{Field: "db:status_pages/p:" + itoa(line) + ":" + itoa(col), Message: "unknown monitor"}, false, "comp2_target"},
		{"a field the check names is kept", invalid.Problem{Field: "id", Message: "taken"}, false, "id"},
		{"a place the form wrote nothing at stays where it was", invalid.Problem{Field: "db:status_pages/p:99:1", Message: "x"}, false, "db:status_pages/p:99:1"},
		{"a problem of a document typed is beside the editor", invalid.Problem{Field: "db:status_pages/p:" + itoa(line) + ":" + itoa(col), Message: "unknown monitor"}, true, "doc"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fieldProblems("status_pages", doc, c.typed, []invalid.Problem{c.in}); got[0].Field != c.want {
				t.Errorf("%q is named %q, want %q", c.in.Field, got[0].Field, c.want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// FuzzFormDocument: no form, with any document beneath it, crashes the building of an object.
func FuzzFormDocument(f *testing.F) {
	f.Add("monitors", "type=http&url=x&expect_status=200", "id: m\nexpect: 3\n")
	f.Add("status_pages", "comp1_name=a&comp1_target=monitor:x&comp2_name=", "components: [1, {a: b}]\n")
	f.Add("slos", "objective=99%25&sli=events", "sli: [x]\n")
	f.Fuzz(func(t *testing.T, kind, form, base string) {
		v, err := url.ParseQuery(form)
		if err != nil {
			return
		}
		v.Set("id", "x")
		doc, err := buildDocument(kind, v, []byte(base))
		if err == nil {
			fieldProblems(kind, doc, false, []invalid.Problem{{Field: "db:x/x:1:1"}, {Field: "db:x/x:a:b"}})
		}
	})
}

// TestSavingAFormUnchangedLeavesTheObjectAsItWas: each kind's form, filled from the object as
// the config reads it and saved without a change, writes back the document it came from.
func TestSavingAFormUnchangedLeavesTheObjectAsItWas(t *testing.T) {
	objects := map[string]string{
		"users":               "id: bob\nname: Bob\ntime_zone: Europe/Paris\ncontact_methods:\n  - type: webhook\n    address: https://example.com/b\n",
		"services":            "id: shop\nname: Shop\ndescription: The shop\nteam: web\nescalation_policy: ops\nurgency: low\nintegrations:\n  - type: events_v2\n    key_hash: sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
		"escalation_policies": "id: ops\nname: Ops\nrepeat: 2\nsteps:\n  - targets:\n      - schedule: rota\n    escalate_after: 10m\n  - targets:\n      - user: bob\n    escalate_after: 5m\n",
		"schedules":           "id: rota\nname: Rota\ntime_zone: Europe/Paris\nlayers:\n  - name: primary\n    rotation:\n      length: 1w\n      handoff: 2026-01-05T09:00\n    users:\n      - bob\n",
		"teams":               "id: web\nname: Web\nmembers:\n  - bob\n",
		"monitors":            "id: home\nname: Home\nservice: shop\ntype: http\nurl: http://127.0.0.1:9/\nexpect:\n  status: 204\ninterval: 2m\ntimeout: 5s\n",
		"status_pages":        "id: public\ntitle: Public\ncomponents:\n  - name: Shop\n    service: shop\n  - name: Home\n    monitor: home\n",
		"slos":                "id: avail\nname: Availability\nservice: shop\nobjective: 99.9\nwindow: 28d\nsli:\n  probe: home\n",
	}
	var all strings.Builder
	for _, kind := range config.ObjectKinds {
		all.WriteString(kind + ":\n")
		for _, l := range strings.Split(strings.TrimSuffix(objects[kind], "\n"), "\n") {
			prefix := "    "
			if strings.HasPrefix(l, "id: ") {
				prefix = "  - "
			}
			all.WriteString(prefix + l + "\n")
		}
	}
	cfg, err := config.Parse("nines.yaml", []byte(all.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, all.String())
	}
	for _, kind := range config.ObjectKinds {
		t.Run(kind, func(t *testing.T) {
			doc := objects[kind]
			f := formValues(cfg, kind, config.ObjectID([]byte(doc)))
			if f == nil {
				t.Fatal("no form for the object")
			}
			got, err := buildDocument(kind, f, []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != doc {
				t.Errorf("saved unchanged, the document became\n%s\nwant\n%s", got, doc)
			}
		})
	}
}
