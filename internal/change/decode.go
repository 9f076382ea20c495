package change

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/alert"
	"github.com/nines-dev/nines/internal/invalid"
)

// Limits, as the Change Events API has them.
const (
	maxSummary = 1024
	maxShort   = 255
	maxLinks   = 20
)

// DecodeEnqueue parses and validates a change event. It returns the routing key and the
// change (without its service); every problem is named in an *invalid.Error, in the
// Events API's words. The fields change events share with alert events (routing_key, the
// payload's summary, source and timestamp, links) are read by alert.DecodePagerDuty, as
// /v2/enqueue reads them. A deploy is recognized by a version in custom_details; commit and
// commit_time there give DORA its lead time.
func DecodeEnqueue(body []byte) (string, Change, error) {
	in, bad, err := alert.DecodePagerDuty(body)
	if err != nil {
		return "", Change{}, err
	}
	c := Change{Kind: KindChange}
	if in.Payload == nil {
		bad.Add("", "'payload' is missing")
		return in.RoutingKey, c, bad
	}
	p := in.Payload
	c.Summary, c.Source, c.At = strings.TrimSpace(p.Summary), strings.TrimSpace(p.Source), in.At
	if c.Summary == "" {
		bad.Add("", "'payload.summary' is missing")
	}
	if len(p.CustomDetails) > 0 && string(p.CustomDetails) != "null" {
		var d map[string]any
		if err := json.Unmarshal(p.CustomDetails, &d); err != nil {
			bad.Add("", "'payload.custom_details' must be an object")
		} else {
			c.Details = p.CustomDetails
			c.Version, _ = d["version"].(string)
			c.Commit, _ = d["commit"].(string)
			if ct, ok := d["commit_time"].(string); ok && ct != "" {
				t, err := alert.ParseTimestamp(ct)
				if err != nil {
					bad.Add("", "'payload.custom_details.commit_time' is not an ISO 8601 date-time: %q", ct)
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
	c.Links, c.Warnings = in.LinkList, in.Warnings
	checkLinks(bad, c.Links)
	if len(bad.Problems) > 0 {
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

// Change validates the deploy and turns it into a change; every problem is listed. known says
// whether a service id is one of the config in force.
func (d Deploy) Change(known func(serviceID string) bool) (Change, error) {
	bad := &invalid.Error{}
	c := Change{ServiceID: d.Service, Kind: KindDeploy, Version: strings.TrimSpace(d.Version), Commit: strings.TrimSpace(d.Commit),
		Source: strings.TrimSpace(d.Source), Summary: strings.TrimSpace(d.Summary), Links: d.Links}
	if d.Service == "" {
		bad.Add("service", "which service was deployed? (a service id)")
	} else if !known(d.Service) {
		bad.Add("service", "unknown service %q", d.Service)
	}
	checkText(bad, "version", c.Version, maxShort, true)
	checkText(bad, "commit", c.Commit, maxShort, false)
	checkText(bad, "source", c.Source, maxShort, false)
	checkText(bad, "summary", c.Summary, maxSummary, false)
	if c.Summary == "" {
		c.Summary = "Deployed " + d.Service + " " + c.Version
	}
	if d.Timestamp != "" {
		t, err := alert.ParseTimestamp(d.Timestamp)
		if err != nil {
			bad.Add("timestamp", "%q is not an ISO 8601 date-time", d.Timestamp)
		}
		c.At = t
	}
	if d.CommitTime != "" {
		t, err := alert.ParseTimestamp(d.CommitTime)
		if err != nil {
			bad.Add("commit_time", "%q is not an ISO 8601 date-time", d.CommitTime)
		} else {
			c.CommitAt = &t
		}
	}
	checkLinks(bad, c.Links)
	return c, bad.Err()
}

func checkText(bad *invalid.Error, field, v string, max int, required bool) {
	switch n := utf8.RuneCountInString(v); {
	case required && v == "":
		bad.Add("", "'%s' is missing", field)
	case n > max:
		bad.Add("", "'%s' is too long: %d characters (maximum %d)", field, n, max)
	case !utf8.ValidString(v):
		bad.Add("", "'%s' is not valid UTF-8", field)
	}
}

func checkLinks(bad *invalid.Error, links []Link) {
	if len(links) > maxLinks {
		bad.Add("", "'links' has %d entries (maximum %d)", len(links), maxLinks)
		return
	}
	for i, l := range links {
		if !alert.SafeHref(l.Href) {
			bad.Add("", "'links[%d].href' must be an absolute http(s) URL", i)
		}
		if n := utf8.RuneCountInString(l.Text); n > maxShort {
			bad.Add("", "'links[%d].text' is too long: %d characters (maximum %d)", i, n, maxShort)
		}
	}
}
