package ui

import (
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/invalid"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// Refill is refill for one problem with field, for the tests of package ui_test.
func Refill(page []byte, action string, form map[string][]string, field, msg string) []byte {
	e := &httpx.Error{Status: 400, Msg: msg, Problems: []invalid.Problem{{Field: field, Message: msg}}}
	return refill(page, &httpx.Refused{Action: action, Form: form, Err: e}, action)
}

// TellAudit is tellAudit's outcome and diff, for the tests of package ui_test.
func TellAudit(detail string) (string, string) {
	r := tellAudit(auth.Entry{Detail: detail})
	return r.Outcome, string(r.Diff)
}
