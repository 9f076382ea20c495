package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// InvalidError lists everything wrong with an event, one message per bad field.
type InvalidError struct {
	Message string
	Errors  []string
}

func (e *InvalidError) Error() string {
	if len(e.Errors) == 0 {
		return e.Message
	}
	return e.Message + ": " + strings.Join(e.Errors, "; ")
}

func (e *InvalidError) add(format string, args ...any) {
	e.Errors = append(e.Errors, fmt.Sprintf(format, args...))
}

// EventsV2 is a PagerDuty Events API v2 event, as sent to /v2/enqueue.
type EventsV2 struct {
	RoutingKey  string          `json:"routing_key"`
	EventAction string          `json:"event_action"`
	DedupKey    string          `json:"dedup_key"`
	Payload     *EventsV2Body   `json:"payload"`
	Client      string          `json:"client"`
	ClientURL   string          `json:"client_url"`
	Links       json.RawMessage `json:"links"`
	Images      json.RawMessage `json:"images"`
}

// EventsV2Body is the payload object of a trigger.
type EventsV2Body struct {
	Summary       string          `json:"summary"`
	Source        string          `json:"source"`
	Severity      string          `json:"severity"`
	Timestamp     string          `json:"timestamp"`
	Component     string          `json:"component"`
	Group         string          `json:"group"`
	Class         string          `json:"class"`
	CustomDetails json.RawMessage `json:"custom_details"`
}

// Limits from the Events API v2.
const (
	maxSummary  = 1024
	maxDedupKey = 255
	maxSource   = 255
)

// DecodeEventsV2 parses and validates an Events API v2 body. It returns the routing key and
// the event; every problem is named in an *InvalidError.
func DecodeEventsV2(body []byte) (string, Event, error) {
	var in EventsV2
	if err := decodeJSON(body, &in); err != nil {
		return "", Event{}, err
	}
	bad := &InvalidError{Message: "Event object is invalid"}
	switch {
	case in.RoutingKey == "":
		bad.add("'routing_key' is missing")
	case len(in.RoutingKey) != 32:
		bad.add("Length of 'routing_key' is incorrect (should be 32 characters)")
	}
	action := Action(in.EventAction)
	switch action {
	case Trigger, Acknowledge, Resolve:
	case "":
		bad.add("'event_action' is missing (trigger, acknowledge or resolve)")
	default:
		bad.add("'event_action' is invalid: %q (must be one of trigger, acknowledge, resolve)", in.EventAction)
	}
	if utf8.RuneCountInString(in.DedupKey) > maxDedupKey {
		bad.add("'dedup_key' is too long (maximum %d characters)", maxDedupKey)
	}
	if (action == Acknowledge || action == Resolve) && in.DedupKey == "" {
		bad.add("'dedup_key' is required to %s an alert", action)
	}
	ev := Event{Action: action, DedupKey: in.DedupKey}
	details := map[string]json.RawMessage{}
	if action == Trigger || in.Payload != nil {
		p := in.Payload
		if p == nil {
			if action == Trigger {
				bad.add("'payload' is missing")
			}
			p = &EventsV2Body{}
		}
		if action == Trigger {
			switch n := utf8.RuneCountInString(p.Summary); {
			case strings.TrimSpace(p.Summary) == "":
				bad.add("'payload.summary' is missing")
			case n > maxSummary:
				bad.add("'payload.summary' is too long: %d characters (maximum %d)", n, maxSummary)
			}
			if strings.TrimSpace(p.Source) == "" {
				bad.add("'payload.source' is missing")
			}
			if p.Severity == "" {
				bad.add("'payload.severity' is missing (critical, error, warning or info)")
			}
		}
		if utf8.RuneCountInString(p.Source) > maxSource {
			bad.add("'payload.source' is too long (maximum %d characters)", maxSource)
		}
		if p.Severity != "" && !validSeverity(p.Severity) {
			bad.add("'payload.severity' is invalid: %q (must be one of critical, error, warning, info)", p.Severity)
		}
		if p.Timestamp != "" {
			ts, err := time.Parse(time.RFC3339Nano, p.Timestamp)
			if err != nil {
				bad.add("'payload.timestamp' is not an ISO 8601 date-time: %q", p.Timestamp)
			}
			ev.Timestamp = ts
		}
		if len(p.CustomDetails) > 0 && !bytes.Equal(bytes.TrimSpace(p.CustomDetails), []byte("null")) {
			details["custom_details"] = p.CustomDetails
		}
		ev.Summary, ev.Source, ev.Severity = p.Summary, p.Source, p.Severity
		ev.Component, ev.Group, ev.Class = p.Component, p.Group, p.Class
		for k, v := range map[string]string{"component": p.Component, "group": p.Group, "class": p.Class} {
			if v != "" {
				details[k], _ = json.Marshal(v)
			}
		}
	}
	if err := checkList(in.Links, "links", "href"); err != "" {
		bad.add("%s", err)
	} else if len(in.Links) > 0 && string(in.Links) != "null" {
		details["links"] = in.Links
	}
	if err := checkList(in.Images, "images", "src"); err != "" {
		bad.add("%s", err)
	} else if len(in.Images) > 0 && string(in.Images) != "null" {
		details["images"] = in.Images
	}
	if in.Client != "" {
		details["client"], _ = json.Marshal(in.Client)
	}
	if in.ClientURL != "" {
		details["client_url"], _ = json.Marshal(in.ClientURL)
	}
	if len(bad.Errors) > 0 {
		return in.RoutingKey, Event{}, bad
	}
	if ev.DedupKey == "" {
		ev.DedupKey = NewDedupKey()
	}
	ev.Details, _ = json.Marshal(details)
	return in.RoutingKey, ev, nil
}

// checkList checks that raw is absent or a list of objects each with a string field.
func checkList(raw json.RawMessage, name, field string) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var items []map[string]any
	if err := json.Unmarshal(raw, &items); err != nil {
		return fmt.Sprintf("'%s' must be a list of objects", name)
	}
	for i, it := range items {
		if s, ok := it[field].(string); !ok || s == "" {
			return fmt.Sprintf("'%s[%d].%s' is missing or not a string", name, i, field)
		}
	}
	return ""
}

func validSeverity(s string) bool {
	return s == "critical" || s == "error" || s == "warning" || s == "info"
}

// decodeJSON decodes one JSON object and names the field when a type is wrong.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return &InvalidError{Message: "Event object is invalid", Errors: []string{"body has data after the JSON object"}}
	}
	return nil
}

func jsonError(err error) error {
	bad := &InvalidError{Message: "Event object is invalid"}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			bad.add("the body must be a JSON object, not %s", withArticle(te.Value))
		} else {
			bad.add("'%s' must be %s, not %s", field, typeName(te.Type.String()), te.Value)
		}
	case errors.As(err, &se):
		bad.Message = "Malformed JSON"
		bad.add("invalid JSON at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.EOF):
		bad.Message = "Malformed JSON"
		bad.add("the body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		bad.Message = "Malformed JSON"
		bad.add("the body ends in the middle of its JSON (unexpected EOF)")
	default:
		bad.Message = "Malformed JSON"
		bad.add("%v", err)
	}
	return bad
}

func withArticle(jsonType string) string {
	if jsonType == "array" || jsonType == "object" {
		return "an " + jsonType
	}
	return "a " + jsonType
}

func typeName(t string) string {
	switch {
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "[]"), strings.Contains(t, "RawMessage"):
		return "a list or object"
	case strings.HasPrefix(t, "map"), strings.HasPrefix(t, "*alert."), strings.HasPrefix(t, "alert."):
		return "an object"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	}
	return t
}
