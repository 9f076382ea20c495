package alert

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// DecodeEventsV2 parses and validates an Events API v2 body. It returns the routing key and
// the event; every problem is named in an *invalid.Error.
func DecodeEventsV2(body []byte) (string, Event, error) {
	in, bad, err := DecodePagerDuty(body)
	if err != nil {
		return "", Event{}, err
	}
	action := Action(in.EventAction)
	switch action {
	case Trigger, Acknowledge, Resolve:
	case "":
		bad.Add("", "'event_action' is missing (trigger, acknowledge or resolve)")
	default:
		bad.Add("", "'event_action' is invalid: %q (must be one of trigger, acknowledge, resolve)", in.EventAction)
	}
	if n := utf8.RuneCountInString(in.DedupKey); n > maxDedupKey {
		bad.Add("", "'dedup_key' is too long: %d characters (maximum %d)", n, maxDedupKey)
	}
	if (action == Acknowledge || action == Resolve) && in.DedupKey == "" {
		bad.Add("", "'dedup_key' is required to %s an alert", action)
	}
	ev := Event{Action: action, DedupKey: in.DedupKey, Timestamp: in.At, Warnings: in.Warnings}
	// details in name order, as stored: class, client, client_url, component, custom_details,
	// group, images, links.
	var class, component, customDetails, group json.RawMessage
	if action == Trigger || in.Payload != nil {
		p := in.Payload
		if p == nil {
			if action == Trigger {
				bad.Add("", "'payload' is missing")
			}
			p = &PagerDutyPayload{}
		}
		if action == Trigger {
			if strings.TrimSpace(p.Summary) == "" {
				bad.Add("", "'payload.summary' is missing")
			}
			if strings.TrimSpace(p.Source) == "" {
				bad.Add("", "'payload.source' is missing")
			}
			if p.Severity == "" {
				bad.Add("", "'payload.severity' is missing (critical, error, warning or info)")
			}
		}
		if p.Severity != "" && !validSeverity(p.Severity) {
			bad.Add("", "'payload.severity' is invalid: %q (must be one of critical, error, warning, info)", p.Severity)
		}
		if !isNull(p.CustomDetails) {
			customDetails = p.CustomDetails
		}
		ev.Summary, ev.Source, ev.Severity = p.Summary, p.Source, p.Severity
		ev.Component, ev.Group, ev.Class = p.Component, p.Group, p.Class
		ev.Labels = map[string]string{}
		detailLabels(p.CustomDetails, ev.Labels)
		for _, l := range [][2]string{{"component", p.Component}, {"group", p.Group}, {"class", p.Class}, {"severity", p.Severity}, {"source", p.Source}} {
			setLabel(ev.Labels, l[0], l[1])
		}
		class, component, group = quoted(p.Class), quoted(p.Component), quoted(p.Group)
	}
	if len(bad.Problems) > 0 {
		return in.RoutingKey, Event{}, bad
	}
	if ev.DedupKey == "" {
		ev.DedupKey = NewDedupKey()
	}
	var details []member
	for _, m := range []member{{"class", class}, {"client", quoted(in.Client)}, {"client_url", quoted(in.ClientURL)},
		{"component", component}, {"custom_details", customDetails}, {"group", group}, {"images", in.Images}, {"links", in.Links}} {
		if !isNull(m.value) {
			details = append(details, m)
		}
	}
	if ev.Details, err = objectJSON(details); err != nil {
		return in.RoutingKey, Event{}, err
	}
	return in.RoutingKey, ev, nil
}

// quoted is s as a JSON string, or nothing when s is empty.
func quoted(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return appendJSONString(nil, s)
}

func validSeverity(s string) bool {
	return s == "critical" || s == "error" || s == "warning" || s == "info"
}
