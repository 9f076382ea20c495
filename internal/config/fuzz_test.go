package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
				owner, got := c.IntegrationByKey(in.Key)
				if owner == nil || owner.ID != s.ID || got.Type != in.Type {
					t.Fatalf("key %q of %s leads to %v", in.Key, s.ID, owner)
				}
			}
		}
	})
}
