package alert_test

import (
	"testing"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// TestASourceIsFoundWhateverCharactersItsLabelsHold: label values with the characters SQL's
// LIKE and JSON treat specially (% _ \ " < and capitals) still find their source, and only it.
func TestASourceIsFoundWhateverCharactersItsLabelsHold(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		s := newSpine(t, db)
		cfg, err := config.Parse("nines.yaml", []byte(`
inhibit_rules:
  - source_matchers: ['msg="50%_done \\ \"<x>\" Ok"']
    target_matchers: [kind=symptom]
`))
		if err != nil {
			t.Fatal(err)
		}
		s.p.Config = config.NewLive(cfg)
		with := func(key string, ls map[string]string) alert.Event {
			ev := trigger(key, "error", key)
			ev.Labels = ls
			return ev
		}
		// Near misses first: a LIKE without escapes, or one that ignores case, would take them.
		s.one(byAlert, with("near-1", map[string]string{"msg": `50X-done \ "<x>" Ok`}))
		s.one(byAlert, with("near-2", map[string]string{"msg": `50%_done \ "<x>" OK`}))
		symptom := s.one(byAlert, with("symptom-1", map[string]string{"kind": "symptom"}))
		if got := s.alerts(symptom.IncidentID)[0].InhibitedBy; got != nil {
			t.Fatalf("inhibited by alert %d, which is no source", *got)
		}
		source := s.one(byAlert, with("source", map[string]string{"msg": `50%_done \ "<x>" Ok`}))
		symptom = s.one(byAlert, with("symptom-2", map[string]string{"kind": "symptom"}))
		if got := s.alerts(symptom.IncidentID)[0].InhibitedBy; got == nil || *got != source.AlertID {
			t.Fatalf("inhibited by %v, want the source %d", got, source.AlertID)
		}
		if types := s.types(symptom.IncidentID); types != "incident.triggered alert.triggered alert.inhibited" {
			t.Errorf("timeline = %s", types)
		}
	})
}
