package incident_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

var alice = incident.Actor{Name: "user:alice", Source: "api"}

func TestMigrationTwoGivesExistingIncidentsASEV(t *testing.T) {
	storetest.Each(t, nil, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		v1 := store.Schema{Component: incident.Schema.Component, Migrations: incident.Schema.Migrations[:1]}
		if _, err := db.Migrate(ctx, []store.Schema{v1}); err != nil {
			t.Fatal(err)
		}
		for _, sev := range []string{"critical", "warning", "whatever"} {
			if _, err := db.Exec(ctx, `INSERT INTO incidents (service_id, state, severity, urgency, title, alert_count, created_at, updated_at)
				VALUES ('s', 'resolved', ?, 'high', 't', 1, 0, 0)`, sev); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Migrate(ctx, []store.Schema{incident.Schema}); err != nil {
			t.Fatal(err)
		}
		incs := incident.New(db, clock.NewFake(time.Unix(0, 0)), nil)
		for id, want := range map[int64]string{1: "SEV1", 2: "SEV3", 3: "SEV5"} {
			inc, err := incs.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if inc.SEV != want || inc.Roles != nil || inc.ImpactStartedAt != nil {
				t.Errorf("incident %d after migration: %+v, want %s and nothing else new", id, inc, want)
			}
		}
	})
}

func TestSEVFollowsTheAlertsUntilSetByHand(t *testing.T) {
	storetest.Each(t, []store.Schema{incident.Schema}, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
		incs := incident.New(db, clk, nil)
		var inc incident.Incident
		err := db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			inc, err = incs.Open(ctx, tx, incident.OpenParams{ServiceID: "s", Severity: "warning", Title: "t", At: clk.Now(), Actor: alice})
			if err != nil {
				return err
			}
			return incs.AlertAdded(ctx, tx, inc.ID, "warning", clk.Now(), alice)
		})
		if err != nil || inc.SEV != "SEV3" {
			t.Fatalf("opened at %s (%v), want SEV3 from a warning", inc.SEV, err)
		}
		raise := func(sev string) string {
			t.Helper()
			if err := db.Tx(ctx, func(tx *store.Tx) error { return incs.AlertAdded(ctx, tx, inc.ID, sev, clk.Now(), alice) }); err != nil {
				t.Fatal(err)
			}
			got, _ := incs.Get(ctx, inc.ID)
			return got.SEV
		}
		if got := raise("critical"); got != "SEV1" {
			t.Errorf("a critical alert left the incident at %s, want SEV1", got)
		}
		if got := raise("info"); got != "SEV1" {
			t.Errorf("an info alert lowered the incident to %s", got)
		}
		if _, err := incs.SetSEV(ctx, inc.ID, "SEV3", "only one region", alice); err != nil {
			t.Fatal(err)
		}
		if got := raise("critical"); got != "SEV3" {
			t.Errorf("an alert moved a SEV set by hand to %s", got)
		}
		tl, _ := incs.Timeline(ctx, inc.ID)
		if last := tl[len(tl)-1]; last.Type != incident.EventSEVChanged {
			t.Errorf("the change by hand is not on the timeline: %+v", last)
		}
		if _, err := incs.SetSEV(ctx, inc.ID, "SEV0", "", alice); err == nil {
			t.Error("SEV0 was accepted")
		}
	})
}

func TestImpactStartAndRoles(t *testing.T) {
	storetest.Each(t, []store.Schema{incident.Schema}, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
		incs := incident.New(db, clk, nil)
		early := clk.Now().Add(-30 * time.Minute)
		inc, err := incs.Declare(ctx, incident.DeclareParams{ServiceID: "s", Title: "t", SEV: "SEV2", ImpactStartedAt: &early,
			Roles: map[string]string{"commander": "alice", "scribe": "bob"}, Actor: alice}, directory(t))
		if err != nil {
			t.Fatal(err)
		}
		if inc.DeclaredBy != "user:alice" || !inc.ImpactStartedAt.Equal(early) || inc.Roles["scribe"] != "bob" || inc.Severity != "error" {
			t.Fatalf("declared: %+v", inc)
		}
		var ie *invalid.Error
		if _, err := incs.SetImpactStart(ctx, inc.ID, clk.Now().Add(time.Hour), alice); !errors.As(err, &ie) {
			t.Errorf("an impact start in the future: %v", err)
		}
		inc, err = incs.AssignRole(ctx, inc.ID, "scribe", "", alice, directory(t))
		if err != nil || inc.Roles["scribe"] != "" || inc.Roles["commander"] != "alice" {
			t.Errorf("after freeing the scribe: %v, %v", inc.Roles, err)
		}
		got, _ := incs.Get(ctx, inc.ID)
		if len(got.Roles) != 1 || got.Roles["commander"] != "alice" {
			t.Errorf("stored roles = %v", got.Roles)
		}
		tl, _ := incs.Timeline(ctx, inc.ID)
		var types []string
		for _, e := range tl {
			types = append(types, e.Type)
		}
		want := []string{"incident.triggered", "incident.declared", "impact.start_set", "role.assigned", "role.assigned", "role.assigned"}
		if len(types) != len(want) {
			t.Fatalf("timeline = %v, want %v", types, want)
		}
		for i := range want {
			if types[i] != want[i] {
				t.Errorf("timeline = %v, want %v", types, want)
				break
			}
		}
		if _, err := incs.AssignRole(ctx, 999, "scribe", "x", alice, directory(t)); !errors.Is(err, incident.ErrNotFound) {
			t.Errorf("role on a missing incident: %v", err)
		}
	})
}

// directory is the config the tests declare incidents against: service s, alice and bob.
func directory(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse("nines.yaml", []byte("services: [{id: s}]\nusers: [{id: alice}, {id: bob}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
