package postmortem_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/postmortem"
	"github.com/nines-dev/nines/internal/store"
	"github.com/nines-dev/nines/internal/storetest"
)

const reminderKind = "postmortem.action_reminder"

func TestActionItemsGetBusinessDayDueDatesAndReminders(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// Friday 20 November 2026, 10:00 UTC; Thanksgiving (26th) and the day after are holidays.
		w := newWorld(t, db, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
		inc, err := w.incidents.Declare(ctx, incident.DeclareParams{ServiceID: "checkout", Title: "Payments fail", SEV: "SEV2", Actor: alice}, w.cfg.Get())
		if err != nil {
			t.Fatal(err)
		}
		item, err := w.pm.AddAction(ctx, inc.ID, postmortem.NewAction{Title: "Retry card authorization once", Owner: "alice", Kind: "fix"}, alice)
		if err != nil {
			t.Fatal(err)
		}
		if item.Due != "2026-12-01" || item.State != postmortem.Open || item.Team != "payments" {
			t.Fatalf("item = %+v, want open, team payments, due Tuesday 2026-12-01 (5 business days, holidays skipped)", item)
		}
		pending, err := w.runner.Pending(ctx, reminderKind)
		if err != nil || len(pending) != 1 {
			t.Fatalf("pending reminders = %v, %v; want one", pending, err)
		}
		if want := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC); !pending[0].Due.Equal(want) {
			t.Errorf("first reminder at %s, want the business day before the due date at 09:00 (%s)", pending[0].Due, want)
		}

		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { w.runner.Run(runCtx); close(done) }()
		defer func() { stop(); <-done }()
		reminders := func() []string {
			tl, err := w.incidents.Timeline(ctx, inc.ID)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range tl {
				if e.Type == postmortem.EventActionReminder {
					out = append(out, string(e.Data))
				}
			}
			return out
		}
		w.clock.Set(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
		storetest.Eventually(t, 5*time.Second, "the before-due reminder", func() bool { return len(reminders()) == 1 })
		if r := reminders()[0]; !strings.Contains(r, `"when":"before"`) || !strings.Contains(r, `"owner":"alice"`) {
			t.Errorf("reminder = %s, want one before the due date to alice", r)
		}
		storetest.Eventually(t, 5*time.Second, "the overdue reminder to be scheduled", func() bool {
			p, _ := w.runner.Pending(ctx, reminderKind)
			return len(p) == 1 && p[0].Due.Equal(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
		})
		w.clock.Set(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC))
		storetest.Eventually(t, 5*time.Second, "the overdue reminder", func() bool { return len(reminders()) == 2 })
		if r := reminders()[1]; !strings.Contains(r, `"when":"overdue"`) {
			t.Errorf("second reminder = %s, want an overdue one", r)
		}
		storetest.Eventually(t, 5*time.Second, "the next overdue reminder five business days on", func() bool {
			p, _ := w.runner.Pending(ctx, reminderKind)
			return len(p) == 1 && p[0].Due.Equal(time.Date(2026, 12, 9, 9, 0, 0, 0, time.UTC))
		})

		report, err := w.pm.OpenByTeam(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(report) != 1 || report[0].Team != "payments" || report[0].Open != 1 || report[0].Overdue != 1 {
			t.Errorf("open by team = %+v, want payments with 1 open, 1 overdue", report)
		}

		doneState := postmortem.Done
		item, err = w.pm.UpdateAction(ctx, item.ID, postmortem.ActionPatch{State: &doneState}, alice)
		if err != nil || item.State != postmortem.Done || item.DoneAt == nil || item.Overdue {
			t.Fatalf("after done: %+v, %v", item, err)
		}
		if p, _ := w.runner.Pending(ctx, reminderKind); len(p) != 0 {
			t.Errorf("a done item still has reminders: %v", p)
		}
		if report, _ := w.pm.OpenByTeam(ctx, "payments"); len(report) != 0 {
			t.Errorf("open by team after done = %+v, want none", report)
		}
	})
}

func TestBadActionItemsAreRefusedWithTheirProblemsNamed(t *testing.T) {
	storetest.Each(t, schemas, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db, time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC))
		inc, err := w.incidents.Declare(ctx, incident.DeclareParams{ServiceID: "checkout", Title: "x", SEV: "SEV4", Actor: alice}, w.cfg.Get())
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name string
			in   postmortem.NewAction
			want string
		}{
			{"an unknown kind", postmortem.NewAction{Title: "t", Owner: "o", Kind: "refactor"}, `kind: "refactor" is not one of fix, test, alert, docs, visibility`},
			{"no owner", postmortem.NewAction{Title: "t", Kind: "fix"}, "owner: who will do it?"},
			{"no title", postmortem.NewAction{Owner: "o", Kind: "docs"}, "title: what should be done?"},
			{"a due date that is not a date", postmortem.NewAction{Title: "t", Owner: "o", Kind: "test", Due: "next week"}, `due: "next week" is not a date`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := w.pm.AddAction(ctx, inc.ID, c.in, alice)
				var inv *invalid.Error
				if !errors.As(err, &inv) || !strings.Contains(inv.Error(), c.want) {
					t.Errorf("error = %v, want one naming %q", err, c.want)
				}
			})
		}
		if items, _ := w.pm.Actions(ctx, inc.ID); len(items) != 0 {
			t.Errorf("refused items were stored: %+v", items)
		}
	})
}
