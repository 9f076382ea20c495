// Package invalid is the one error nines refuses input with: every problem found at once, each
// naming the field that was wrong and why. Domain packages return it from the rules they own,
// so the API, the pages and the CLI refuse the same input in the same words; the HTTP layer
// answers it 400 with the problems listed.
package invalid

import (
	"errors"
	"fmt"
	"strings"
)

// Problem is one thing wrong with the input: the field (a JSON field, a path such as
// events[3].timestamp, or "" for the input as a whole) and what is wrong with it.
type Problem struct {
	Field   string
	Message string
}

// String is the problem as people read it: "field: message".
func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// Error is input refused: every problem found. What, when set, names what was refused as a
// whole ("Event object is invalid"), as the PagerDuty Events API does. Summary, when set, is
// the refusal said in one line in place of the problems joined (a long list says how many
// there are and the first); Messages still lists every one.
type Error struct {
	What     string
	Problems []Problem
	Summary  string
}

// Field is input refused for one problem with field.
func Field(field, format string, args ...any) *Error {
	e := &Error{}
	e.Add(field, format, args...)
	return e
}

// Add records a problem with field.
func (e *Error) Add(field, format string, args ...any) {
	e.Problems = append(e.Problems, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Err is e, or nil when it records no problem.
func (e *Error) Err() error {
	if len(e.Problems) == 0 {
		return nil
	}
	return e
}

// Messages are the problems as people read them, one each.
func (e *Error) Messages() []string {
	out := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p.String()
	}
	return out
}

func (e *Error) Error() string {
	if e.Summary != "" {
		return e.Summary
	}
	msgs := strings.Join(e.Messages(), "; ")
	switch {
	case e.What == "":
		return msgs
	case msgs == "":
		return e.What
	}
	return e.What + ": " + msgs
}

// As is the *Error of err, if it is one.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
