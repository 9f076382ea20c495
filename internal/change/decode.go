package change

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/alert"
)

// Enqueue is a PagerDuty Change Events API body, as sent to /v2/change/enqueue.
type Enqueue struct {
	RoutingKey string          `json:"routing_key"`
	Payload    *EnqueuePayload `json:"payload"`
	Links      []Link          `json:"links"`
}

// EnqueuePayload is the payload of a change event.
type EnqueuePayload struct {
	Summary       string          `json:"summary"`
	Timestamp     string          `json:"timestamp"`
	Source        string          `json:"source"`
	CustomDetails json.RawMessage `json:"custom_details"`
}

// Limits, as the Change Events API has them.
const (
	maxSummary = 1024
	maxShort   = 255
	maxLinks   = 20
)

// DecodeEnqueue parses and validates a change event. It returns the routing key and the
// change (without its service); every problem is named in an *alert.InvalidError, in the
// Events API's words. A deploy is recognized by a version in custom_details; commit and
// commit_time there give DORA its lead time.
func DecodeEnqueue(body []byte) (string, Change, error) {
	bad := &alert.InvalidError{Message: "Event object is invalid"}
	var in Enqueue
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&in); err != nil {
		bad.Message = "Malformed JSON"
		bad.Errors = append(bad.Errors, jsonProblem(err))
		return "", Change{}, bad
	}
	switch {
	case in.RoutingKey == "":
		bad.Errors = append(bad.Errors, "'routing_key' is missing")
	case len(in.RoutingKey) != 32:
		bad.Errors = append(bad.Errors, "Length of 'routing_key' is incorrect (should be 32 characters)")
	}
	c := Change{Kind: KindChange}
	if in.Payload == nil {
		bad.Errors = append(bad.Errors, "'payload' is missing")
		return in.RoutingKey, c, bad
	}
	p := in.Payload
	c.Summary, c.Source = strings.TrimSpace(p.Summary), strings.TrimSpace(p.Source)
	checkText(bad, "payload.summary", c.Summary, maxSummary, true)
	checkText(bad, "payload.source", c.Source, maxShort, false)
	if p.Timestamp != "" {
		t, err := ParseTime(p.Timestamp)
		if err != nil {
			bad.Errors = append(bad.Errors, fmt.Sprintf("'payload.timestamp' is not an ISO 8601 date-time: %q", p.Timestamp))
		}
		c.At = t
	}
	if len(p.CustomDetails) > 0 && string(p.CustomDetails) != "null" {
		var d map[string]any
		if err := json.Unmarshal(p.CustomDetails, &d); err != nil {
			bad.Errors = append(bad.Errors, "'payload.custom_details' must be an object")
		} else {
			c.Details = p.CustomDetails
			c.Version, _ = d["version"].(string)
			c.Commit, _ = d["commit"].(string)
			if ct, ok := d["commit_time"].(string); ok && ct != "" {
				t, err := ParseTime(ct)
				if err != nil {
					bad.Errors = append(bad.Errors, fmt.Sprintf("'payload.custom_details.commit_time' is not an ISO 8601 date-time: %q", ct))
				} else {
					c.CommitAt = &t
				}
			}
			if c.Version != "" {
				c.Kind = KindDeploy
			}
		}
	}
	checkText(bad, "payload.custom_details.version", c.Version, maxShort, false)
	checkText(bad, "payload.custom_details.commit", c.Commit, maxShort, false)
	c.Links = in.Links
	checkLinks(bad, c.Links)
	if len(bad.Errors) > 0 {
		return in.RoutingKey, Change{}, bad
	}
	return in.RoutingKey, c, nil
}

// Deploy is a deploy reported by a pipeline (`nines deploy`) through the API.
type Deploy struct {
	Service    string `json:"service"`
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commit_time,omitempty"`
	Summary    string `json:"summary,omitempty"`
	Source     string `json:"source,omitempty"`
	Timestamp  string `json:"timestamp,omitempty"`
	Links      []Link `json:"links,omitempty"`
}

// Change validates the deploy and turns it into a change; every problem is listed.
func (d Deploy) Change() (Change, []string) {
	bad := &alert.InvalidError{}
	c := Change{ServiceID: d.Service, Kind: KindDeploy, Version: strings.TrimSpace(d.Version), Commit: strings.TrimSpace(d.Commit),
		Source: strings.TrimSpace(d.Source), Summary: strings.TrimSpace(d.Summary), Links: d.Links}
	if d.Service == "" {
		bad.Errors = append(bad.Errors, "service: which service was deployed? (a service id)")
	}
	checkText(bad, "version", c.Version, maxShort, true)
	checkText(bad, "commit", c.Commit, maxShort, false)
	checkText(bad, "source", c.Source, maxShort, false)
	checkText(bad, "summary", c.Summary, maxSummary, false)
	if c.Summary == "" {
		c.Summary = "Deployed " + d.Service + " " + c.Version
	}
	if d.Timestamp != "" {
		t, err := ParseTime(d.Timestamp)
		if err != nil {
			bad.Errors = append(bad.Errors, fmt.Sprintf("timestamp: %q is not an ISO 8601 date-time", d.Timestamp))
		}
		c.At = t
	}
	if d.CommitTime != "" {
		t, err := ParseTime(d.CommitTime)
		if err != nil {
			bad.Errors = append(bad.Errors, fmt.Sprintf("commit_time: %q is not an ISO 8601 date-time", d.CommitTime))
		} else {
			c.CommitAt = &t
		}
	}
	checkLinks(bad, c.Links)
	return c, bad.Errors
}

func checkText(bad *alert.InvalidError, field, v string, max int, required bool) {
	switch n := utf8.RuneCountInString(v); {
	case required && v == "":
		bad.Errors = append(bad.Errors, fmt.Sprintf("'%s' is missing", field))
	case n > max:
		bad.Errors = append(bad.Errors, fmt.Sprintf("'%s' is too long: %d characters (maximum %d)", field, n, max))
	case !utf8.ValidString(v):
		bad.Errors = append(bad.Errors, fmt.Sprintf("'%s' is not valid UTF-8", field))
	}
}

func checkLinks(bad *alert.InvalidError, links []Link) {
	if len(links) > maxLinks {
		bad.Errors = append(bad.Errors, fmt.Sprintf("'links' has %d entries (maximum %d)", len(links), maxLinks))
		return
	}
	for i, l := range links {
		u, err := url.Parse(l.Href)
		if l.Href == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad.Errors = append(bad.Errors, fmt.Sprintf("'links[%d].href' must be an absolute http(s) URL", i))
		}
		if utf8.RuneCountInString(l.Text) > maxShort {
			bad.Errors = append(bad.Errors, fmt.Sprintf("'links[%d].text' is too long (maximum %d characters)", i, maxShort))
		}
	}
}

// ParseTime reads an ISO 8601 date-time as change events carry them: RFC 3339, or with the
// offset written +0000 as PagerDuty's own examples do.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date-time", s)
}

func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case asType(err, &te):
		if te.Field == "" {
			return fmt.Sprintf("the body must be a JSON object, not a %s", te.Value)
		}
		return fmt.Sprintf("'%s' has the wrong type: %s", te.Field, te.Value)
	case asType(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)
	}
	return err.Error()
}

func asType[T error](err error, target *T) bool { return errors.As(err, target) }
