package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/nines-dev/nines/internal/config"
)

// FuzzParse checks that no config, however broken, panics the loader, that a refused one is
// refused with positioned errors, and that an accepted one keeps the invariants the rest of
// nines relies on (unique, well-formed service ids; one service per integration key).
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.y*ml")
	seeds = append(seeds, "../../examples/nines.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("services:\n  - <<: [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse("fuzz.yaml", data)
		if err != nil {
			if c != nil {
				t.Fatal("a config came back with errors")
			}
			var errs config.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %v is a %T, not config.Errors", err, err)
			}
			for _, e := range errs {
				if e.Pos.File != "fuzz.yaml" || e.Pos.Line < 1 || e.Pos.Col < 1 || strings.TrimSpace(e.Msg) == "" {
					t.Fatalf("error without a position or a message: %q", e.Error())
				}
				if strings.ContainsFunc(e.Msg, unicode.IsControl) {
					t.Fatalf("an error that is not one line of text: %q", e.Error())
				}
			}
			return
		}
		ids := map[string]bool{}
		for _, s := range c.Services {
			if s.ID == "" || ids[s.ID] || strings.ContainsAny(s.ID, " /?#") {
				t.Fatalf("accepted service id %q (seen before: %v)", s.ID, ids[s.ID])
			}
			ids[s.ID] = true
			if c.Service(s.ID) == nil {
				t.Fatalf("Service(%q) finds nothing", s.ID)
			}
			for _, in := range s.Integrations {
				if in.Key == "" {
					if owner, _ := c.IntegrationByKey(in.KeyHash); owner != nil {
						t.Fatalf("key_hash %q works as a key", in.KeyHash)
					}
					continue
				}
				owner, got := c.IntegrationByKey(in.Key)
				if owner == nil || owner.ID != s.ID || got.Type != in.Type {
					t.Fatalf("key %q of %s leads to %v", in.Key, s.ID, owner)
				}
			}
		}
	})
}

// FuzzObject checks that no database object, however broken, panics the merge, and that a
// refused one is refused with positioned errors, its own within its document (db:kind/id).
func FuzzObject(f *testing.F) {
	base, err := config.Parse("nines.yaml", []byte("escalation_policies:\n  - {id: p, steps: [{targets: [{user: a}]}]}\nusers:\n  - {id: a, contact_methods: [{type: webhook, address: \"https://example.com/x\"}]}\n"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("services", "web", []byte("id: web\nescalation_policy: p\nintegrations: [{type: events_v2, key_hash: \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"}]\n"))
	f.Add("services", "web", []byte(`{"id": "web", "urgency": 3}`))
	f.Add("schedules", "s", []byte("id: s\nlayers: [{users: [a], rotation: {length: 1d}}]\n"))
	f.Add("monitors", "m", []byte("id: m\ntype: http\nurl: http://x/\n"))
	f.Add("teams", "t", []byte("- a\n- b\n"))
	f.Add("slos", "x", []byte("id: x\n---\nid: y\n"))
	f.Fuzz(func(t *testing.T, kind, id string, doc []byte) {
		c, err := base.With([]config.Object{{Kind: kind, ID: id, Doc: doc}})
		if err != nil {
			if c != nil {
				t.Fatal("a config came back with errors")
			}
			var errs config.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %v is a %T, not config.Errors", err, err)
			}
			for _, e := range errs {
				if e.Pos.File == "" || e.Pos.Line < 1 || e.Pos.Col < 1 || strings.TrimSpace(e.Msg) == "" {
					t.Fatalf("error without a position or a message: %q", e.Error())
				}
			}
			return
		}
		if len(c.Objects()) != 1 || c.Objects()[0].ID != id {
			t.Fatalf("accepted, the object is not among the config's: %+v", c.Objects())
		}
	})
}

// FuzzReadMonitor checks that no monitor sent to be checked once, however broken, panics the
// reader, that a refused one names a field for every problem, and that an accepted one is a
// monitor of a known kind and service.
func FuzzReadMonitor(f *testing.F) {
	cfg, err := config.Parse("nines.yaml", []byte("services: [{id: shop}]\n"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		`{"service": "shop", "type": "http", "url": "https://shop.example.com/health", "expect": {"status": 200}}`,
		`{"service": "shop", "type": "tcp", "address": "127.0.0.1:5432", "timeout": "3s"}`,
		`{"service": "shop", "type": "dns", "address": "127.0.0.1:53", "query": "shop.example.com", "record_type": "A"}`,
		`{"service": "shop", "type": "heartbeat", "uuid": "0d3f5a4e-6d1c-4b8e-9f4a-2a1b3c4d5e6f", "period": "1h"}`,
		`{"service": 1, "type": ["http"], "expect": {"json": {"path": "$.a[", "equals": 2}}}`,
		`[1, 2]`, `null`, `{"a": &a [*a]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, problems := cfg.ReadMonitor(data)
		if len(problems) > 0 {
			if m != nil {
				t.Fatal("a monitor came back with problems")
			}
			for _, p := range problems {
				if p.Field == "" || strings.TrimSpace(p.Msg) == "" {
					t.Fatalf("a problem without a field or a message: %+v", p)
				}
			}
			return
		}
		if m == nil || cfg.Service(m.Service) == nil || m.Type == "" {
			t.Fatalf("accepted %+v", m)
		}
	})
}
