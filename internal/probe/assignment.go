package probe

import (
	"time"

	"github.com/nines-dev/nines/internal/config"
)

// Assignment is a monitor as the server hands it to an agent: what to check and how often, and
// nothing else of its config (not its service, its alerting, or where in the config it was
// written). Its headers may hold the target's credentials: only agent tokens get assignments.
type Assignment struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	Type            string            `json:"type"`
	URL             string            `json:"url,omitempty"`
	Method          string            `json:"method,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	Body            string            `json:"body,omitempty"`
	FollowRedirects *bool             `json:"follow_redirects,omitempty"`
	MaxRedirects    int               `json:"max_redirects,omitempty"`
	VerifyTLS       *bool             `json:"verify_tls,omitempty"`
	Address         string            `json:"address,omitempty"`
	ServerName      string            `json:"server_name,omitempty"`
	ExpiryWarningNS time.Duration     `json:"expiry_warning_ns,omitempty"`
	Query           string            `json:"query,omitempty"`
	RecordType      string            `json:"record_type,omitempty"`
	Expect          AssignedExpect    `json:"expect"`
	IntervalNS      time.Duration     `json:"interval_ns"`
	TimeoutNS       time.Duration     `json:"timeout_ns"`
}

// AssignedExpect is what a successful check of an assignment looks like.
type AssignedExpect struct {
	Status            int               `json:"status,omitempty"`
	BodyContains      string            `json:"body_contains,omitempty"`
	JSONPath          string            `json:"json_path,omitempty"`
	JSONEquals        string            `json:"json_equals,omitempty"`
	MaxResponseTimeNS time.Duration     `json:"max_response_time_ns,omitempty"`
	Answer            string            `json:"answer,omitempty"`
	Headers           map[string]string `json:"headers,omitempty"`
}

// NewAssignment is what an agent needs of mon.
func NewAssignment(mon *config.Monitor) Assignment {
	a := Assignment{ID: mon.ID, Name: mon.Name, Type: mon.Type, URL: mon.URL, Method: mon.Method, Headers: mon.Headers, Body: mon.Body,
		FollowRedirects: mon.FollowRedirects, MaxRedirects: mon.MaxRedirects, VerifyTLS: mon.VerifyTLS, Address: mon.Address,
		ServerName: mon.ServerName, ExpiryWarningNS: mon.ExpiryWarning.D(), Query: mon.Query, RecordType: mon.RecordType,
		IntervalNS: mon.Interval.D(), TimeoutNS: mon.Timeout.D(),
		Expect: AssignedExpect{Status: mon.Expect.Status, BodyContains: mon.Expect.BodyContains, MaxResponseTimeNS: mon.Expect.MaxResponseTime.D(),
			Answer: mon.Expect.Answer, Headers: mon.Expect.Headers}}
	if j := mon.Expect.JSON; j != nil {
		a.Expect.JSONPath, a.Expect.JSONEquals = j.Path, j.Equals
	}
	return a
}

// Monitor is the monitor an agent runs for a.
func (a Assignment) Monitor() config.Monitor {
	mon := config.Monitor{ID: a.ID, Name: a.Name, Type: a.Type, URL: a.URL, Method: a.Method, Headers: a.Headers, Body: a.Body,
		FollowRedirects: a.FollowRedirects, MaxRedirects: a.MaxRedirects, VerifyTLS: a.VerifyTLS, Address: a.Address,
		ServerName: a.ServerName, ExpiryWarning: config.Duration(a.ExpiryWarningNS), Query: a.Query, RecordType: a.RecordType,
		Interval: config.Duration(a.IntervalNS), Timeout: config.Duration(a.TimeoutNS),
		Expect: config.Expect{Status: a.Expect.Status, BodyContains: a.Expect.BodyContains, MaxResponseTime: config.Duration(a.Expect.MaxResponseTimeNS),
			Answer: a.Expect.Answer, Headers: a.Expect.Headers}}
	if a.Expect.JSONPath != "" {
		mon.Expect.JSON = &config.JSONExpect{Path: a.Expect.JSONPath, Equals: a.Expect.JSONEquals}
	}
	return mon
}
