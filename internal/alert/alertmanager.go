package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/invalid"
)

// AlertmanagerPayload is the body of an Alertmanager webhook (payload version 4).
type AlertmanagerPayload struct {
	Version           string              `json:"version"`
	GroupKey          string              `json:"groupKey"`
	TruncatedAlerts   int                 `json:"truncatedAlerts"`
	Status            string              `json:"status"`
	Receiver          string              `json:"receiver"`
	GroupLabels       map[string]string   `json:"groupLabels"`
	CommonLabels      map[string]string   `json:"commonLabels"`
	CommonAnnotations map[string]string   `json:"commonAnnotations"`
	ExternalURL       string              `json:"externalURL"`
	Alerts            []AlertmanagerAlert `json:"alerts"`
}

// AlertmanagerAlert is one alert of a webhook payload.
type AlertmanagerAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// DecodeAlertmanager parses a webhook payload into one event per alert: firing alerts trigger,
// resolved ones resolve, and the alert's fingerprint is the dedup key.
func DecodeAlertmanager(body []byte) ([]Event, error) {
	var in AlertmanagerPayload
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	bad := &invalid.Error{What: "Alertmanager payload is invalid"}
	if in.Version != "" && in.Version != "4" {
		bad.Add("", "'version' is %q; nines reads webhook payload version 4", in.Version)
	}
	if len(in.Alerts) == 0 {
		bad.Add("", "'alerts' is missing or empty")
	}
	events := make([]Event, 0, len(in.Alerts))
	for i, a := range in.Alerts {
		var action Action
		switch a.Status {
		case "firing":
			action = Trigger
		case "resolved":
			action = Resolve
		default:
			bad.Add("", "'alerts[%d].status' is %q (must be firing or resolved)", i, a.Status)
			continue
		}
		key := a.Fingerprint
		if n := utf8.RuneCountInString(key); n > maxDedupKey {
			bad.Add("", "'alerts[%d].fingerprint' is too long: %d characters (maximum %d)", i, n, maxDedupKey)
			continue
		}
		if key == "" {
			key = labelsFingerprint(a.Labels)
		}
		var started time.Time
		if a.StartsAt != "" {
			t, err := time.Parse(time.RFC3339Nano, a.StartsAt)
			if err != nil {
				bad.Add("", "'alerts[%d].startsAt' is not an RFC 3339 time: %q", i, a.StartsAt)
				continue
			}
			started = t
		}
		details := map[string]any{
			"labels":      a.Labels,
			"annotations": a.Annotations,
			"startsAt":    a.StartsAt,
			"receiver":    in.Receiver,
		}
		if a.GeneratorURL != "" {
			details["links"] = []map[string]string{{"href": a.GeneratorURL, "text": "Source"}}
		}
		if in.ExternalURL != "" {
			details["alertmanager_url"] = in.ExternalURL
		}
		raw, _ := json.Marshal(details)
		ls := make(map[string]string, len(a.Labels))
		for k, v := range a.Labels {
			ls[k] = v
		}
		events = append(events, Event{
			Labels:    ls,
			Action:    action,
			DedupKey:  key,
			Summary:   amSummary(a),
			Source:    firstNonEmpty(a.Labels["instance"], a.Labels["job"], "alertmanager"),
			Severity:  amSeverity(a.Labels["severity"]),
			Component: a.Labels["job"],
			Group:     a.Labels["namespace"],
			Class:     a.Labels["alertname"],
			Timestamp: started,
			Details:   raw,
		})
	}
	if len(bad.Problems) > 0 {
		return nil, bad
	}
	return events, nil
}

func amSummary(a AlertmanagerAlert) string {
	s := firstNonEmpty(a.Annotations["summary"], a.Annotations["description"], a.Annotations["message"])
	name := a.Labels["alertname"]
	switch {
	case s != "" && name != "" && !strings.Contains(s, name):
		s = name + ": " + s
	case s == "":
		s = firstNonEmpty(name, "Alertmanager alert")
		if inst := a.Labels["instance"]; inst != "" {
			s += " on " + inst
		}
	}
	return truncateRunes(s, maxSummary)
}

// amSeverity maps a severity label onto the four Events API severities.
func amSeverity(label string) string {
	switch strings.ToLower(label) {
	case "critical", "page", "fatal", "emergency", "alert":
		return "critical"
	case "warning", "warn":
		return "warning"
	case "info", "informational", "notice", "none":
		return "info"
	}
	return "error"
}

// labelsFingerprint identifies an alert by its label set when the sender left out the
// fingerprint.
func labelsFingerprint(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, k := range names {
		h.Write([]byte(k))
		h.Write([]byte{0xff})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0xff})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
