package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/nines-dev/nines/internal/invalid"
)

// decodeJSON decodes one JSON object into v. A body of the wrong shape is refused with every
// field whose type is wrong named at once (encoding/json names only the first), so a sender
// fixes its payload in one round trip.
func decodeJSON(body []byte, v any) error {
	err, _ := decodeJSONTypes(body, v)
	return err
}

// decodeJSONTypes is decodeJSON, and says whether the body was refused for values of the
// wrong JSON type: then its values cannot be trusted, and a decoder names every problem it
// can see before it refuses it.
func decodeJSONTypes(body []byte, v any) (err error, wrongTypes bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	err = dec.Decode(v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		// The value was read whole before it was unmarshalled, so it is valid JSON.
		raw := json.RawMessage(bytes.TrimSpace(body[:dec.InputOffset()]))
		bad := &invalid.Error{What: "Event object is invalid"}
		typeProblems(bad, raw, reflect.TypeOf(v).Elem(), "")
		if len(bad.Problems) == 0 { // never refuse without saying why
			bad.Add("", "%v", err)
		}
		return bad, true
	}
	if err != nil {
		return jsonError(err), false
	}
	if dec.More() {
		return &invalid.Error{What: "Event object is invalid", Problems: []invalid.Problem{{Message: "body has data after the JSON object"}}}, false
	}
	return nil, false
}

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))

// typeProblems adds one problem per value of raw whose JSON type does not fit t, naming it by
// its path (payload.summary, alerts[2].labels.severity). null fits anything, as it does for
// encoding/json.
func typeProblems(bad *invalid.Error, raw json.RawMessage, t reflect.Type, path string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || t == rawMessageType {
		return
	}
	kind := jsonKind(raw)
	wrong := func(want string) {
		if path == "" {
			bad.Add("", "the body must be a JSON %s, not %s", strings.TrimPrefix(strings.TrimPrefix(want, "an "), "a "), withArticle(kind))
			return
		}
		bad.Add("", "'%s' must be %s, not %s", path, want, kind)
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		if kind != "string" {
			wrong("a string")
		}
	case reflect.Bool:
		if kind != "boolean" {
			wrong("true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		if kind != "number" {
			wrong("a number")
		}
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if kind != "array" || json.Unmarshal(raw, &items) != nil {
			wrong("a list")
			return
		}
		for i, it := range items {
			typeProblems(bad, it, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		var members map[string]json.RawMessage
		if kind != "object" || json.Unmarshal(raw, &members) != nil {
			wrong("an object")
			return
		}
		for _, k := range sortedKeys(members) {
			typeProblems(bad, members[k], t.Elem(), join(path, k))
		}
	case reflect.Struct:
		var members map[string]json.RawMessage
		if kind != "object" || json.Unmarshal(raw, &members) != nil {
			wrong("an object")
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			// encoding/json matches member names to fields without regard to case.
			for _, k := range sortedKeys(members) {
				if strings.EqualFold(k, name) {
					typeProblems(bad, members[k], f.Type, join(path, k))
				}
			}
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// jsonKind names the JSON type of a valid value by its first byte.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func jsonError(err error) error {
	bad := &invalid.Error{What: "Malformed JSON"}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		bad.Add("", "invalid JSON at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.EOF):
		bad.Add("", "the body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		bad.Add("", "the body ends in the middle of its JSON (unexpected EOF)")
	default:
		bad.Add("", "%v", err)
	}
	return bad
}

func withArticle(jsonType string) string {
	if jsonType == "array" || jsonType == "object" {
		return "an " + jsonType
	}
	return "a " + jsonType
}

// appendJSONString appends s as encoding/json writes it. Plain printable ASCII, which is
// nearly every key and label, is copied as it is; anything else is left to encoding/json, so
// the two never differ.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// stringValue reads a JSON string value as encoding/json would; a string without escapes is
// its bytes between the quotes (the body was checked to be valid JSON already).
func stringValue(raw json.RawMessage) string {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw[1 : len(raw)-1])
	}
	var s string
	json.Unmarshal(raw, &s)
	return s
}

// member is one member of a JSON object being written.
type member struct {
	name  string
	value json.RawMessage
}

// objectJSON writes members, already in name order, as a compact JSON object, as
// json.Marshal of a map of raw messages does.
func objectJSON(members []member) ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, '{')
	for i, m := range members {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, m.name)
		b = append(b, ':')
		var buf bytes.Buffer
		if err := json.Compact(&buf, m.value); err != nil {
			return nil, err
		}
		if bytes.ContainsAny(buf.Bytes(), "<>&\u2028\u2029") {
			var esc bytes.Buffer
			json.HTMLEscape(&esc, buf.Bytes())
			buf = esc
		}
		b = append(b, buf.Bytes()...)
	}
	return append(b, '}'), nil
}
