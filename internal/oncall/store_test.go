package oncall

import (
	"context"
	"errors"
	"testing"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

func TestOverridesAreStoredAndApplied(t *testing.T) {
	storetest.Each(t, []store.Schema{store.OwnSchema, Schema}, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := New(db, config.NewLive(loadConfig(t)), clock.NewFake(ts("2026-03-30T00:00:00Z")))
		o, err := svc.AddOverride(ctx, Override{ScheduleID: "ops", UserID: "bob", Start: ts("2026-03-31T12:00:00Z"), End: ts("2026-04-01T12:00:00Z"), CreatedBy: "token:ci"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := svc.OnCall(ctx, "ops", ts("2026-04-01T00:00:00Z"))
		if err != nil || len(got) != 1 || got[0].UserID != "bob" || got[0].OverrideID != o.ID {
			t.Fatalf("on call = %+v, %v; want bob by override %d", got, err, o.ID)
		}
		list, _ := svc.Overrides(ctx, "ops", ts("2026-01-01T00:00:00Z"), ts("2027-01-01T00:00:00Z"))
		if len(list) != 1 || list[0].CreatedBy != "token:ci" || !list[0].End.Equal(o.End) {
			t.Fatalf("overrides = %+v", list)
		}
		if err := svc.DeleteOverride(ctx, "ops", o.ID); err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteOverride(ctx, "ops", o.ID); !errors.Is(err, ErrOverrideNotFound) {
			t.Fatalf("second delete: %v, want not found", err)
		}
		got, _ = svc.OnCall(ctx, "ops", ts("2026-04-01T00:00:00Z"))
		if len(got) != 1 || got[0].UserID != "alice" {
			t.Fatalf("after delete on call = %+v, want alice", got)
		}

		bad := []struct {
			name string
			o    Override
		}{
			{"an unknown user", Override{ScheduleID: "ops", UserID: "zed", Start: ts("2026-04-01T00:00:00Z"), End: ts("2026-04-02T00:00:00Z")}},
			{"an end before the start", Override{ScheduleID: "ops", UserID: "bob", Start: ts("2026-04-02T00:00:00Z"), End: ts("2026-04-01T00:00:00Z")}},
			{"no times", Override{ScheduleID: "ops", UserID: "bob"}},
			{"a year-long cover", Override{ScheduleID: "ops", UserID: "bob", Start: ts("2026-04-01T00:00:00Z"), End: ts("2027-04-01T00:00:00Z")}},
		}
		for _, b := range bad {
			var ie *invalid.Error
			if _, err := svc.AddOverride(ctx, b.o); !errors.As(err, &ie) {
				t.Errorf("%s: err = %v, want an input error", b.name, err)
			}
		}
		if _, err := svc.AddOverride(ctx, Override{ScheduleID: "nope", UserID: "bob", Start: ts("2026-04-01T00:00:00Z"), End: ts("2026-04-02T00:00:00Z")}); !errors.Is(err, ErrUnknownSchedule) {
			t.Errorf("unknown schedule: %v", err)
		}
		list, _ = svc.Overrides(ctx, "ops", ts("2026-01-01T00:00:00Z"), ts("2028-01-01T00:00:00Z"))
		if len(list) != 0 {
			t.Errorf("refused overrides were stored: %+v", list)
		}
	})
}
