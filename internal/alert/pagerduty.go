package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/invalid"
)

// PagerDutyEvent is a body of either PagerDuty Events API: an alert event (/v2/enqueue) or a
// change event (/v2/change/enqueue). The two share routing_key, the payload's summary, source,
// timestamp and custom_details, and links; DecodePagerDuty reads and checks those once for
// both, so a timestamp or a link one API accepts the other accepts too.
type PagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"`
	DedupKey    string            `json:"dedup_key"`
	Payload     *PagerDutyPayload `json:"payload"`
	Client      string            `json:"client"`
	ClientURL   string            `json:"client_url"`
	Links       json.RawMessage   `json:"links"`
	Images      json.RawMessage   `json:"images"`

	// At is payload.timestamp read by ParseTimestamp; zero when absent or unreadable.
	At time.Time `json:"-"`
	// LinkList is links read as a list of links (empty when absent or malformed).
	LinkList []Link `json:"-"`
	// Warnings say what was left out of the event as sent (a link that is not http(s)); the
	// event is kept without it, and the answer says so.
	Warnings []string `json:"-"`
}

// PagerDutyPayload is the payload object of an Events API body.
type PagerDutyPayload struct {
	Summary       string          `json:"summary"`
	Source        string          `json:"source"`
	Severity      string          `json:"severity"`
	Timestamp     string          `json:"timestamp"`
	Component     string          `json:"component"`
	Group         string          `json:"group"`
	Class         string          `json:"class"`
	CustomDetails json.RawMessage `json:"custom_details"`
}

// Link is a link sent with an event (a dashboard, the build, the pull request).
type Link struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// Limits from the Events API v2.
const (
	maxSummary  = 1024
	maxDedupKey = 255
	maxSource   = 255
)

// DecodePagerDuty reads an Events API body and checks what both APIs require of the fields
// they share. The problems it finds are in bad (never nil), to which each API adds its own
// rules before it decides. An error means the body could not be read (malformed JSON, values
// of the wrong type); it is an *invalid.Error that already names every such problem.
func DecodePagerDuty(body []byte) (PagerDutyEvent, *invalid.Error, error) {
	ev, plain := scanPagerDuty(body)
	if !plain {
		ev = PagerDutyEvent{}
		if err, wrongTypes := decodeJSONTypes(body, &ev); err != nil {
			return ev, nil, wrongShape(ev, err, wrongTypes)
		}
	}
	return checkPagerDuty(ev)
}

// wrongShape adds to a decoding error the problems of links and images of the wrong shape.
func wrongShape(ev PagerDutyEvent, err error, wrongTypes bool) error {
	var wrong *invalid.Error
	if errors.As(err, &wrong) && wrongTypes {
		// Values of the wrong type: name lists of links of the wrong shape too, then refuse.
		for _, l := range [][3]string{{string(ev.Links), "links", "href"}, {string(ev.Images), "images", "src"}} {
			if _, problem := readLinks(json.RawMessage(l[0]), l[1], l[2]); problem != "" {
				wrong.Add("", "%s", problem)
			}
		}
	}
	return err
}

// checkPagerDuty checks what both APIs require of the fields they share.
func checkPagerDuty(ev PagerDutyEvent) (PagerDutyEvent, *invalid.Error, error) {
	bad := &invalid.Error{What: "Event object is invalid"}
	switch {
	case ev.RoutingKey == "":
		bad.Add("", "'routing_key' is missing")
	case len(ev.RoutingKey) != 32:
		bad.Add("", "Length of 'routing_key' is incorrect (should be 32 characters)")
	}
	if p := ev.Payload; p != nil {
		if n := utf8.RuneCountInString(p.Summary); n > maxSummary {
			bad.Add("", "'payload.summary' is too long: %d characters (maximum %d)", n, maxSummary)
		}
		if n := utf8.RuneCountInString(p.Source); n > maxSource {
			bad.Add("", "'payload.source' is too long: %d characters (maximum %d)", n, maxSource)
		}
		if p.Timestamp != "" {
			t, err := ParseTimestamp(p.Timestamp)
			if err != nil {
				bad.Add("", "'payload.timestamp' is not an ISO 8601 date-time: %q (e.g. 2015-07-17T08:42:58.315+0000)", p.Timestamp)
			}
			ev.At = t
		}
	}
	var problem string
	if ev.LinkList, problem = readLinks(ev.Links, "links", "href"); problem != "" {
		bad.Add("", "%s", problem)
	} else {
		ev.Links, ev.LinkList = keepSafe(ev.Links, ev.LinkList, "links", "link", &ev.Warnings)
	}
	if _, problem = readLinks(ev.Images, "images", "src"); problem != "" {
		bad.Add("", "%s", problem)
	} else {
		ev.Images, _ = keepSafe(ev.Images, nil, "images", "image", &ev.Warnings)
	}
	return ev, bad, nil
}

// SafeHref reports whether a link nines keeps may point at href: an absolute http or https URL.
// Any other (javascript:, data:, vbscript:, file:, a relative path) could run script, or reach
// what the reader did not mean to, wherever the link is shown or followed.
func SafeHref(href string) bool {
	u, err := url.Parse(href)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// keepSafe leaves out of a list of links or images (read by readLinks) every item whose href
// or src is not SafeHref, with a warning for each; the items kept are kept as sent. list, when
// given, is the same items read as links, and is filtered alike.
func keepSafe(raw json.RawMessage, list []Link, name, what string, warnings *[]string) (json.RawMessage, []Link) {
	if isNull(raw) {
		return raw, list
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return raw, list
	}
	var kept []json.RawMessage
	var keptList []Link
	for i, item := range items {
		var fields map[string]any
		json.Unmarshal(item, &fields)
		safe := true
		for _, f := range []string{"href", "src"} {
			v, present := fields[f]
			if !present || v == nil {
				continue
			}
			if s, ok := v.(string); !ok || !SafeHref(s) {
				*warnings = append(*warnings, fmt.Sprintf("'%s[%d].%s' is not an absolute http(s) URL; the %s is left out", name, i, f, what))
				safe = false
				break
			}
		}
		if safe {
			kept = append(kept, item)
			if list != nil {
				keptList = append(keptList, list[i])
			}
		}
	}
	if len(kept) == len(items) {
		return raw, list
	}
	if kept == nil {
		kept = []json.RawMessage{}
	}
	out, _ := json.Marshal(kept)
	return out, keptList
}

// readLinks reads raw as absent or a list of objects each with a non-empty string field
// (href of a link, src of an image) and, for links, an optional string text.
func readLinks(raw json.RawMessage, name, field string) ([]Link, string) {
	if isNull(raw) {
		return nil, ""
	}
	var items []map[string]any
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Sprintf("'%s' must be a list of objects", name)
	}
	out := make([]Link, 0, len(items))
	for i, it := range items {
		s, ok := it[field].(string)
		if !ok || s == "" {
			return nil, fmt.Sprintf("'%s[%d].%s' is missing or not a string", name, i, field)
		}
		text, ok := it["text"].(string)
		if _, present := it["text"]; present && it["text"] != nil && !ok {
			return nil, fmt.Sprintf("'%s[%d].text' must be a string", name, i)
		}
		out = append(out, Link{Href: s, Text: text})
	}
	return out, ""
}

// isNull reports whether a raw member is absent or null.
func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}
