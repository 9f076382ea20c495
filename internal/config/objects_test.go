package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/config"
)

const objectsBase = `users:
  - {id: alice, contact_methods: [{type: webhook, address: "https://example.com/page"}]}
escalation_policies:
  - id: ops
    steps: [{targets: [{user: alice}]}]
services:
  - id: checkout
    escalation_policy: ops
    integrations: [{type: events_v2, key: 0123456789abcdef0123456789abcdef}]
`

func TestDatabaseObjectsMergeWithTheFiles(t *testing.T) {
	base, err := config.Parse("nines.yaml", []byte(objectsBase))
	if err != nil {
		t.Fatal(err)
	}
	key := "fedcba9876543210fedcba9876543210"
	web := config.Object{Kind: "services", ID: "web", Doc: []byte("id: web\nescalation_policy: ops\nintegrations:\n  - type: events_v2\n    key_hash: " + config.HashKey(key) + "\n")}
	for _, c := range []struct {
		name string
		objs []config.Object
		want string // an error it holds; "" for a config accepted
		then func(t *testing.T, c *config.Config)
	}{
		{"an object naming a policy of the files is in force, found by its key", []config.Object{web}, "", func(t *testing.T, c *config.Config) {
			if svc, _ := c.IntegrationByKey(key); svc == nil || svc.ID != "web" {
				t.Errorf("the key finds %v", svc)
			}
			if svc, _ := c.IntegrationByKey(config.HashKey(key)); svc != nil {
				t.Error("the key's hash works as a key")
			}
			if got := c.Service("web").Pos; got.String() != "db:services/web:1:1" || !got.FromDatabase() {
				t.Errorf("the object's position: %s", got)
			}
		}},
		{"an object of an id the files declare otherwise is an error naming both", []config.Object{{Kind: "services", ID: "checkout", Doc: []byte("id: checkout\nescalation_policy: ops\nurgency: low\n")}},
			`db:services/checkout:1:5: service id "checkout" is declared at nines.yaml:7:5 and held in the database as db:services/checkout with other content`, nil},
		{"an object the files declare alike gives way to them", []config.Object{{Kind: "services", ID: "checkout",
			Doc: []byte("{id: checkout, escalation_policy: ops, integrations: [{type: events_v2, key: 0123456789abcdef0123456789abcdef}]}")}}, "", func(t *testing.T, c *config.Config) {
			if r := c.Retired(); len(r) != 1 || r[0].DeclaredAt.String() != "nines.yaml:7:5" || len(c.Objects()) != 0 {
				t.Errorf("retired %+v, kept %d", r, len(c.Objects()))
			}
		}},
		{"an object is checked by the section's checks", []config.Object{{Kind: "services", ID: "web", Doc: []byte("id: web\nurgency: sometimes\n")}},
			`db:services/web:2:10: service web: urgency "sometimes": want high or low`, nil},
		{"an object whose document holds another id is refused", []config.Object{{Kind: "teams", ID: "a", Doc: []byte("id: b\n")}},
			`db:teams/a:1:1: teams: the document's id "b" is not the object's id "a"`, nil},
		{"a kind the database does not keep is refused", []config.Object{{Kind: "notifications", ID: "bob", Doc: []byte("id: bob\n")}},
			`"notifications" is not a kind of object nines keeps in the database`, nil},
		{"a key and its hash are one key", []config.Object{{Kind: "services", ID: "web", Doc: []byte("id: web\nintegrations: [{type: events_v2, key_hash: \"" + config.HashKey("0123456789abcdef0123456789abcdef") + "\"}]\n")}},
			"db:services/web:2:44: service web: integration key is already used at nines.yaml:9:43", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := base.With(c.objs)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
			if c.then != nil {
				c.then(t, got)
			}
		})
	}
}

func TestAnObjectIsWrittenAsTheFilesWriteIt(t *testing.T) {
	got, err := config.FormatObject([]byte(`{"id": "web", "name": "123", "on": "yes", "integrations": [{"type": "events_v2"}], "n": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	want := "id: web\nname: \"123\"\non: yes\nintegrations:\n  - type: events_v2\nn: 3\n"
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// A file may name what was made in nines: a reload of files whose service names a policy the
// database holds is in force; files that are wrong alone and with the objects are refused, and
// the config in force stays.
func TestAReloadedFileMayNameObjectsMadeInNines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nines.yaml")
	users := "users:\n  - {id: alice, contact_methods: [{type: webhook, address: \"https://example.com/page\"}]}\n"
	if err := os.WriteFile(path, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	live := config.NewLive(cfg)
	policy := config.Object{Kind: "escalation_policies", ID: "dbpol", Doc: []byte("id: dbpol\nsteps: [{targets: [{user: alice}]}]\n")}
	if err := live.SetObjects([]config.Object{policy}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte(users+"services:\n  - {id: filesvc, escalation_policy: dbpol}\n"), 0o600)
	if err := live.Reload(path); err != nil {
		t.Fatalf("a file naming a policy made in nines: %v", err)
	}
	if s := live.Get().Service("filesvc"); s == nil || s.EscalationPolicy != "dbpol" {
		t.Fatalf("the file's service is not in force: %+v", s)
	}
	// Wrong with the objects too: refused, naming the file's line, and nothing changes.
	os.WriteFile(path, []byte(users+"services:\n  - {id: filesvc, escalation_policy: nopol}\n"), 0o600)
	err = live.Reload(path)
	if err == nil || !strings.Contains(err.Error(), "nines.yaml:4:") || !strings.Contains(err.Error(), `unknown escalation policy "nopol"`) {
		t.Fatalf("a file naming a policy nobody made: %v", err)
	}
	if live.Get().Service("filesvc").EscalationPolicy != "dbpol" {
		t.Fatal("a refused reload changed the config in force")
	}
	// Without any object, a file that is wrong alone is refused as before.
	if err := live.SetObjects(nil); err == nil {
		t.Fatal("dropping the policy the files name was accepted")
	}
}

// A YAML syntax error is reported at the line it is on, whether the YAML library's parser or its
// scanner found it (the library counts the parser's lines from 0).
func TestAYAMLSyntaxErrorNamesItsLine(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"a flow sequence left open", "teams:\n  - id: [bad\n", "nines.yaml:2:"},
		{"a flow mapping left open", "server: {}\nteams: {x: 1\nusers: []\n", "nines.yaml:2:"},
		{"a mapping value where none may be", "a: 1\nb:\n  - x\n   y: 2\n", "nines.yaml:4:"},
		// The library names the line its block began on; the line out of step is the one.
		{"a tab in an indentation", "services:\n  - id: a\n    name: A\n\t- id: b\n", "nines.yaml:4:1:"},
		{"a tab after spaces", "services:\n  - id: a\n  \t name: A\n", "nines.yaml:3:3:"},
		{"a field indented between its block's levels", "services:\n  - id: a\n    name: A\n   urgency: low\n", "nines.yaml:4:4:"},
		{"a list item out of step", "users:\n  - id: a\n  - id: b\n - id: c\n", "nines.yaml:4:2:"},
		{"a key at its list's dash column", "services:\n  - id: a\n    name: A\n    urgency: low\n  runbook: x\n", "nines.yaml:5:3:"},
		{"a key at a nested list's dash column", "id: s\nname: S\nintegrations:\n  - type: generic\n    key: abc\n  description: x\n", "nines.yaml:6:3:"},
		{"an indentless list, then a key at a list's dash column", "teams:\n- id: t\n  name: T\nservices:\n  - id: a\n    name: A\n  urgency: low\n", "nines.yaml:7:3:"},
		{"a key out of step in an indentless list", "services:\n- id: a\n  name: A\n urgency: low\n", "nines.yaml:4:2:"},
		{"a key out of step at the top", "teams:\n  - id: web\nservices:\n - id: a\n   name: A\n  urgency: low\n", "nines.yaml:6:3:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.Parse("nines.yaml", []byte(c.yaml))
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("got %v, want an error at %s", err, c.want)
			}
		})
	}
}
