package alert

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/invalid"
)

// GenericEvent is the body of the generic JSON webhook.
type GenericEvent struct {
	Summary   string          `json:"summary"`
	DedupKey  string          `json:"dedup_key"`
	Action    string          `json:"action"`
	Severity  string          `json:"severity"`
	Source    string          `json:"source"`
	Timestamp string          `json:"timestamp"`
	Details   json.RawMessage `json:"details"`
}

// DecodeGeneric parses the generic webhook. action defaults to trigger and severity to error.
func DecodeGeneric(body []byte) (Event, error) {
	var in GenericEvent
	if err := decodeJSON(body, &in); err != nil {
		return Event{}, err
	}
	bad := &invalid.Error{What: "Event is invalid"}
	action := Action(in.Action)
	switch action {
	case "":
		action = Trigger
	case Trigger, Acknowledge, Resolve:
	default:
		bad.Add("", "'action' is invalid: %q (must be one of trigger, acknowledge, resolve)", in.Action)
	}
	if action == Trigger {
		switch n := utf8.RuneCountInString(in.Summary); {
		case strings.TrimSpace(in.Summary) == "":
			bad.Add("", "'summary' is missing")
		case n > maxSummary:
			bad.Add("", "'summary' is too long: %d characters (maximum %d)", n, maxSummary)
		}
	}
	if action != Trigger && in.DedupKey == "" {
		bad.Add("", "'dedup_key' is required to %s an alert", action)
	}
	if n := utf8.RuneCountInString(in.DedupKey); n > maxDedupKey {
		bad.Add("", "'dedup_key' is too long: %d characters (maximum %d)", n, maxDedupKey)
	}
	severity := in.Severity
	if severity == "" {
		severity = "error"
	} else if !validSeverity(severity) {
		bad.Add("", "'severity' is invalid: %q (must be one of critical, error, warning, info)", in.Severity)
	}
	var ts time.Time
	if in.Timestamp != "" {
		t, err := ParseTimestamp(in.Timestamp)
		if err != nil {
			bad.Add("", "'timestamp' is not an ISO 8601 date-time: %q", in.Timestamp)
		}
		ts = t
	}
	details := json.RawMessage("{}")
	if len(in.Details) > 0 && string(in.Details) != "null" {
		if in.Details[0] != '{' {
			bad.Add("", "'details' must be an object")
		} else {
			details, _ = json.Marshal(map[string]json.RawMessage{"details": in.Details})
		}
	}
	if len(bad.Problems) > 0 {
		return Event{}, bad
	}
	if in.DedupKey == "" {
		in.DedupKey = NewDedupKey()
	}
	source := firstNonEmpty(in.Source, "webhook")
	ls := map[string]string{}
	detailLabels(in.Details, ls)
	setLabel(ls, "severity", severity)
	setLabel(ls, "source", source)
	return Event{Action: action, DedupKey: in.DedupKey, Summary: in.Summary, Severity: severity,
		Source: source, Timestamp: ts, Details: details, Labels: ls}, nil
}
