package postmortem_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

// pastIncidents is the relevance fixture: each past incident with its notes and, for some, the
// root cause its postmortem found.
var pastIncidents = []struct {
	service, title string
	notes          []string
	rootCause      string
}{
	{"checkout", "Database connection pool exhausted on checkout",
		[]string{"Raised the pool size from 20 to 50 to get orders through."},
		"Connections leaked whenever a payment retry timed out, so the pool drained within an hour."},
	{"search", "Search latency high after index rebuild", []string{"Rebuilt the index with fewer shards; latency back to normal."}, ""},
	{"checkout", "TLS certificate expired on api.example.com", []string{"Renewed the certificate by hand.", "The cert-manager renewal job had been failing for weeks."}, ""},
	{"checkout", "Checkout 500s after deploy of v2.4.1", []string{"Rolled back to v2.4.0; errors stopped."}, "A nil map in the new discount code."},
	{"search", "Disk full on the Postgres primary", []string{"Deleted old WAL files and added a disk usage alert."}, ""},
	{"checkout", "Payment provider timeouts", []string{"Provider had an outage; switched to the fallback provider."}, ""},
}

func TestSearchFindsTheRightPastIncident(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC))
		for _, p := range pastIncidents {
			inc, err := w.incidents.Declare(ctx, incident.DeclareParams{ServiceID: p.service, Title: p.title, SEV: "SEV3", Actor: alice}, w.cfg.Get())
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range p.notes {
				w.clock.Advance(time.Minute)
				if _, err := w.incidents.AddNote(ctx, inc.ID, n, bob); err != nil {
					t.Fatal(err)
				}
			}
			w.clock.Advance(time.Minute)
			if _, err := w.incidents.Resolve(ctx, inc.ID, alice); err != nil {
				t.Fatal(err)
			}
			if p.rootCause != "" {
				if _, _, err := w.pm.Draft(ctx, inc.ID, alice); err != nil {
					t.Fatal(err)
				}
				rc := p.rootCause
				if _, err := w.pm.Edit(ctx, inc.ID, postmortem.Patch{RootCause: &rc}, alice); err != nil {
					t.Fatal(err)
				}
			}
			w.clock.Advance(time.Hour)
		}
		cases := []struct {
			query string
			want  int64 // the incident that must come first; 0 for no result at all
			kind  string
		}{
			{"connection pool", 1, ""},
			{"certificate expired", 3, ""},
			{"renewal job failing", 3, "note"},
			{"leaked connections", 1, "postmortem"},
			{"rolled back v2.4.1", 4, ""},
			{"WAL files", 5, "note"},
			{"fallback provider", 6, "note"},
			{"index shards", 2, "note"},
			{"kubernetes", 0, ""},
			{"connection certificate", 0, ""}, // every word must match in one document
		}
		for _, c := range cases {
			t.Run(c.query, func(t *testing.T) {
				hits, err := w.pm.Search(ctx, c.query, 10)
				if err != nil {
					t.Fatal(err)
				}
				if c.want == 0 {
					if len(hits) != 0 {
						t.Errorf("got %d hits, want none: %+v", len(hits), hits)
					}
					return
				}
				if len(hits) == 0 || hits[0].IncidentID != c.want {
					t.Fatalf("top hit = %+v, want incident %d", hits, c.want)
				}
				if c.kind != "" && hits[0].Kind != c.kind {
					t.Errorf("top hit is a %s, want a %s", hits[0].Kind, c.kind)
				}
			})
		}

		t.Run("query syntax from users is searched as words, never run", func(t *testing.T) {
			for _, q := range []string{`"`, `AND OR NOT`, `pool*`, `-pool`, `NEAR(pool`, `'; DROP TABLE search_docs; --`, `title:pool`, `!!`, `pool & | !`} {
				if _, err := w.pm.Search(ctx, q, 5); err != nil {
					t.Errorf("search %q: %v", q, err)
				}
				inc := incident.Incident{ID: 999, Title: q}
				if _, err := w.pm.SimilarTo(ctx, inc, 5); err != nil {
					t.Errorf("similar to %q: %v", q, err)
				}
			}
		})

		t.Run("a new incident is shown similar past ones with how they were resolved", func(t *testing.T) {
			inc, err := w.incidents.Declare(ctx, incident.DeclareParams{ServiceID: "checkout", Title: "Connection pool exhausted on the orders database", SEV: "SEV2", Actor: alice}, w.cfg.Get())
			if err != nil {
				t.Fatal(err)
			}
			sim, err := w.pm.SimilarTo(ctx, inc, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(sim) == 0 || sim[0].Incident.ID != 1 {
				t.Fatalf("similar = %+v, want incident 1 first", sim)
			}
			if !sim[0].Postmortem || !strings.HasPrefix(sim[0].Resolution, "Root cause: Connections leaked") {
				t.Errorf("resolution = %q, want the postmortem's root cause", sim[0].Resolution)
			}
			for _, s := range sim {
				if s.Incident.ID == inc.ID {
					t.Error("an incident is listed as similar to itself")
				}
			}
			tls, _ := w.incidents.Get(ctx, 3)
			sim, err = w.pm.SimilarTo(ctx, tls, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range sim {
				if s.Incident.ID == 3 {
					t.Error("an incident is listed as similar to itself")
				}
			}
		})
	})
}

func TestIncidentsACrashLeftUnindexedAreFoundAfterTheCatchUp(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC))
		w.trigger(t, "checkout", "pool", "Database connection pool exhausted", "critical")
		w.trigger(t, "search", "disk", "Disk full on the Postgres primary", "error")
		w.pm.WaitIndexed()
		// What a crash between an incident's commit and its indexing leaves: no document.
		if db.Dialect == store.SQLite {
			if _, err := db.Exec(ctx, `DELETE FROM search_fts`); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Exec(ctx, `DELETE FROM search_docs`); err != nil {
			t.Fatal(err)
		}
		if hits, err := w.pm.Search(ctx, "connection pool", 10); err != nil || len(hits) != 0 {
			t.Fatalf("before the catch-up: %+v, %v; want nothing found", hits, err)
		}
		for range 2 { // a second catch-up finds nothing left to do
			if err := w.pm.CatchUp(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range []string{"connection pool", "disk full"} {
			hits, err := w.pm.Search(ctx, q, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != 1 || hits[0].Kind != "incident" {
				t.Errorf("%q after the catch-up: %+v, want the one incident once", q, hits)
			}
		}
	})
}

func TestAQueryIsOneTo500CharactersOnceTrimmed(t *testing.T) {
	for _, c := range []struct {
		name, query, want string
		refused           bool
	}{
		{"a word is searched, trimmed", "  pool  ", "pool", false},
		{"500 characters are searched", strings.Repeat("a", 500), strings.Repeat("a", 500), false},
		{"nothing but spaces is refused", "   ", "", true},
		{"501 characters are refused", strings.Repeat("a", 501), "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := postmortem.CheckQuery(c.query)
			if c.refused {
				if ie, ok := invalid.As(err); !ok || ie.Problems[0].Field != "q" {
					t.Fatalf("CheckQuery(%q) = %v, want input refused for q", c.query, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("CheckQuery(%q) = %q, %v; want %q", c.query, got, err, c.want)
			}
		})
	}
}
