package alert

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
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
	bad := &InvalidError{Message: "Event is invalid"}
	action := Action(in.Action)
	switch action {
	case "":
		action = Trigger
	case Trigger, Acknowledge, Resolve:
	default:
		bad.add("'action' is invalid: %q (must be one of trigger, acknowledge, resolve)", in.Action)
	}
	if action == Trigger {
		switch n := utf8.RuneCountInString(in.Summary); {
		case strings.TrimSpace(in.Summary) == "":
			bad.add("'summary' is missing")
		case n > maxSummary:
			bad.add("'summary' is too long: %d characters (maximum %d)", n, maxSummary)
		}
	}
	if action != Trigger && in.DedupKey == "" {
		bad.add("'dedup_key' is required to %s an alert", action)
	}
	if utf8.RuneCountInString(in.DedupKey) > maxDedupKey {
		bad.add("'dedup_key' is too long (maximum %d characters)", maxDedupKey)
	}
	severity := in.Severity
	if severity == "" {
		severity = "error"
	} else if !validSeverity(severity) {
		bad.add("'severity' is invalid: %q (must be one of critical, error, warning, info)", in.Severity)
	}
	var ts time.Time
	if in.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, in.Timestamp)
		if err != nil {
			bad.add("'timestamp' is not an RFC 3339 time: %q", in.Timestamp)
		}
		ts = t
	}
	details := json.RawMessage("{}")
	if len(in.Details) > 0 && string(in.Details) != "null" {
		if in.Details[0] != '{' {
			bad.add("'details' must be an object")
		} else {
			details, _ = json.Marshal(map[string]json.RawMessage{"details": in.Details})
		}
	}
	if len(bad.Errors) > 0 {
		return Event{}, bad
	}
	if in.DedupKey == "" {
		in.DedupKey = NewDedupKey()
	}
	return Event{Action: action, DedupKey: in.DedupKey, Summary: in.Summary, Severity: severity,
		Source: firstNonEmpty(in.Source, "webhook"), Timestamp: ts, Details: details}, nil
}
