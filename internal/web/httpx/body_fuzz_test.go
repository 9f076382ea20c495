package httpx

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// FuzzTextPeopleWriteIsRefusedOnlyForANUL: a JSON body is refused exactly when a string or a
// key in it holds a NUL, and a form exactly when a field or value holds a NUL or is not UTF-8;
// never a panic.
func FuzzTextPeopleWriteIsRefusedOnlyForANUL(f *testing.F) {
	for _, seed := range []string{`{"title": "a\u0000b"}`, `{"a": [{"b": "\u0000"}]}`, `{"\u0000": 1}`, `{"title": "\\u0000"}`, `"\u0000"`, `[1, "x"]`,
		`text=a%00b`, `a=%ff`, `%00=x`, `x=y`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v any
		if json.Unmarshal([]byte(body), &v) == nil {
			want := strings.Contains(flatten(v), "\x00")
			if err := refuseNUL([]byte(body)); (err != nil) != want {
				t.Fatalf("refuseNUL(%q) = %v; holds a NUL: %v", body, err, want)
			}
		}
		if form, err := url.ParseQuery(body); err == nil {
			want := false
			for k, vs := range form {
				for _, s := range append(vs, k) {
					want = want || badText(s) != ""
				}
			}
			if err := refuseFormText(form); (err != nil) != want {
				t.Fatalf("refuseFormText(%q) = %v; want refused: %v", body, err, want)
			}
		}
	})
}

// flatten joins every string and key of a decoded JSON value.
func flatten(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var b strings.Builder
		for _, e := range x {
			b.WriteString(flatten(e))
		}
		return b.String()
	case map[string]any:
		var b strings.Builder
		for k, e := range x {
			b.WriteString(k)
			b.WriteString(flatten(e))
		}
		return b.String()
	}
	return ""
}
