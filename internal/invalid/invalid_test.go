package invalid

import (
	"errors"
	"fmt"
	"testing"
)

func TestAnErrorSaysEveryProblemWithItsField(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  *Error
		want string
		msgs []string
	}{
		{"one problem names its field", Field("text", "a note is at most %d KiB", 64), "text: a note is at most 64 KiB", []string{"text: a note is at most 64 KiB"}},
		{"a problem of the whole input has no field", Field("", "the body is empty"), "the body is empty", []string{"the body is empty"}},
		{"several problems are said in order", &Error{Problems: []Problem{{"service", "unknown service \"x\""}, {"title", "at most 1024 characters"}}},
			`service: unknown service "x"; title: at most 1024 characters`, []string{`service: unknown service "x"`, "title: at most 1024 characters"}},
		{"what was refused comes first", &Error{What: "Event object is invalid", Problems: []Problem{{"", "'routing_key' is missing"}}},
			"Event object is invalid: 'routing_key' is missing", []string{"'routing_key' is missing"}},
		{"what was refused alone", &Error{What: "Malformed JSON"}, "Malformed JSON", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
			if got := fmt.Sprint(tc.err.Messages()); got != fmt.Sprint(tc.msgs) {
				t.Errorf("Messages() = %q, want %q", got, tc.msgs)
			}
		})
	}
}

func TestErrIsNilWithoutProblems(t *testing.T) {
	var e Error
	if e.Err() != nil {
		t.Fatal("an error with no problem is not nil")
	}
	e.Add("end", "is not after start")
	wrapped := fmt.Errorf("scheduling: %w", e.Err())
	if got, ok := As(wrapped); !ok || got.Problems[0].Field != "end" || !errors.Is(wrapped, got) {
		t.Fatalf("As(%v) = %v, %v", wrapped, got, ok)
	}
}
