package store

import (
	"database/sql"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Text from outside (an alert's summary, a label, a mail's subject, an id in a URL) may hold a
// NUL byte or bytes that are not UTF-8. PostgreSQL refuses both in text and SQLite stores them,
// so a write that works on one backend failed on the other, and a sender retrying failed
// forever. Every string a statement is given is stored as ValidText makes it, on both
// backends: what a caller refuses it refuses before, and what it keeps is kept. Blobs
// ([]byte) are bytes and untouched.

// ValidText is s with each NUL byte and each run of bytes that are not UTF-8 replaced by
// U+FFFD, the replacement character; s itself when it has neither.
func ValidText(s string) string {
	if validText(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\ufffd"), "\x00", "\ufffd")
}

func validText(s string) bool { return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) }

// validArgs returns args with every string in them made ValidText; args itself when none
// needs it (the usual case, with no allocation).
func validArgs(args []any) []any {
	for i, a := range args {
		if v, ok := validArg(a); ok {
			out := make([]any, len(args))
			copy(out, args)
			out[i] = v
			for j := i + 1; j < len(out); j++ {
				if v, ok := validArg(out[j]); ok {
					out[j] = v
				}
			}
			return out
		}
	}
	return args
}

// validArg returns a in valid text and true when a is text that needs it.
func validArg(a any) (any, bool) {
	switch v := a.(type) {
	case nil, int, int64, int32, bool, float64, []byte:
		return nil, false
	case string:
		if validText(v) {
			return nil, false
		}
		return ValidText(v), true
	case *string:
		if v == nil || validText(*v) {
			return nil, false
		}
		return ValidText(*v), true
	case sql.NullString:
		if !v.Valid || validText(v.String) {
			return nil, false
		}
		return sql.NullString{String: ValidText(v.String), Valid: true}, true
	}
	// A named string type (a package's own kind of id or state), which the driver stores as
	// its string.
	if rv := reflect.ValueOf(a); rv.Kind() == reflect.String && !validText(rv.String()) {
		return ValidText(rv.String()), true
	}
	return nil, false
}
