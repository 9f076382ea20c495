package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/escalate"
	"github.com/nines-dev/nines/internal/incident"
	"github.com/nines-dev/nines/internal/store"
)

// timelineLog writes what happens to incidents to the log as well as to their timelines, once
// committed, each line carrying the incident id (and the alert id where there is one), so a log
// search for an incident or an alert finds what nines did about it. Repeats of an alert, the
// bulk of ingest, are not logged.
var timelineLog = map[string]slog.Level{
	incident.EventTriggered:    slog.LevelInfo,
	incident.EventAcknowledged: slog.LevelInfo,
	incident.EventResolved:     slog.LevelInfo,
	incident.EventDeclared:     slog.LevelInfo,
	alert.EventTriggered:       slog.LevelInfo,
	alert.EventResolved:        slog.LevelDebug,
	alert.EventInhibited:       slog.LevelInfo,
	escalate.EventStep:         slog.LevelInfo,
	escalate.EventSkipped:      slog.LevelWarn,
	escalate.EventNobody:       slog.LevelError,
	escalate.EventStepHeld:     slog.LevelInfo,
	escalate.EventSent:         slog.LevelInfo,
	escalate.EventFailed:       slog.LevelWarn,
	escalate.EventHeld:         slog.LevelInfo,
	escalate.EventDeferred:     slog.LevelInfo,
	escalate.EventNoPolicy:     slog.LevelWarn,
}

// logged are the fields of timeline data worth a log attribute (decoded into a struct, not a
// map: this runs for every new alert).
type logged struct {
	AlertID  int64  `json:"alert_id"`
	DedupKey string `json:"dedup_key"`
	Policy   string `json:"policy"`
	Round    int    `json:"round"`
	Step     int    `json:"step"`
	User     string `json:"user"`
	Method   string `json:"method"`
	Type     string `json:"type"`
	Key      string `json:"key"`
	Attempt  int    `json:"attempt"`
	Error    string `json:"error"`
	Reason   string `json:"reason"`
	RetryIn  string `json:"retry_in"`
}

func (d logged) attrs(incidentID int64) []any {
	attrs := []any{"incident", incidentID}
	add := func(k string, v any, set bool) {
		if set {
			attrs = append(attrs, k, v)
		}
	}
	add("alert", d.AlertID, d.AlertID != 0)
	add("dedup_key", d.DedupKey, d.DedupKey != "")
	add("policy", d.Policy, d.Policy != "")
	add("round", d.Round, d.Round != 0)
	add("step", d.Step, d.Step != 0)
	add("user", d.User, d.User != "")
	add("method", d.Method, d.Method != "")
	add("type", d.Type, d.Type != "")
	add("key", d.Key, d.Key != "")
	add("attempt", d.Attempt, d.Attempt != 0)
	add("error", d.Error, d.Error != "")
	add("reason", d.Reason, d.Reason != "")
	add("retry_in", d.RetryIn, d.RetryIn != "")
	return attrs
}

func logTimeline(log *slog.Logger) incident.AppendHook {
	return func(ctx context.Context, tx *store.Tx, incidentID int64, typ string, at time.Time, data string) error {
		level, ok := timelineLog[typ]
		if !ok || !log.Enabled(ctx, level) {
			return nil
		}
		var d logged
		json.Unmarshal([]byte(data), &d) // a field of another shape is left out, the rest logged
		attrs := d.attrs(incidentID)
		tx.AfterCommit(func() { log.Log(context.Background(), level, typ, attrs...) })
		return nil
	}
}
