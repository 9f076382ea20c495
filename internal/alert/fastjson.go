package alert

import (
	"encoding/json"
	"unicode/utf8"
)

// A storm is made of Events API bodies that all look alike: one object, the known members,
// plain strings. scanPagerDuty reads such a body in one pass, for a fraction of what
// encoding/json's reflection costs; anything else (an unknown or differently cased member, a
// repeated one, an escape in a string, a null, a value of an unexpected type, invalid JSON)
// makes it give up, and encoding/json reads the body as before. Where it succeeds it gives
// exactly what encoding/json gives (FuzzScanPagerDutyAgreesWithEncodingJSON holds it to that).

// jsonScanner walks a JSON text.
type jsonScanner struct {
	b []byte
	i int
}

func (s *jsonScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c, consuming it if so.
func (s *jsonScanner) next(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// plainString reads a string without escapes, control characters or invalid UTF-8.
func (s *jsonScanner) plainString() (string, bool) {
	if !s.next('"') {
		return "", false
	}
	start := s.i
	ascii := true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			str := s.b[start:s.i]
			s.i++
			if !ascii && !utf8.Valid(str) {
				return "", false
			}
			return string(str), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
		s.i++
	}
	return "", false
}

// rawValue reads any JSON value and returns its bytes. It only finds where the value ends: the
// caller checks the bytes with json.Valid unless the whole text is known to be valid.
func (s *jsonScanner) rawValue() (json.RawMessage, bool) {
	s.space()
	start := s.i
	if s.i >= len(s.b) {
		return nil, false
	}
	switch s.b[s.i] {
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if !s.skipString() {
					return nil, false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return s.b[start:s.i], true
				}
			}
			s.i++
		}
		return nil, false
	case '"':
		if !s.skipString() {
			return nil, false
		}
		return s.b[start:s.i], true
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return s.b[start:s.i], s.i > start
		}
		s.i++
	}
	return s.b[start:s.i], s.i > start
}

// skipString moves past the string that starts at the current byte.
func (s *jsonScanner) skipString() bool {
	s.i++
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
			continue
		case '"':
			s.i++
			return true
		}
		s.i++
	}
	return false
}

// members reads an object, calling member for each name; member reads the value. It gives up
// on a name seen twice.
func (s *jsonScanner) members(member func(name string) bool) bool {
	if !s.next('{') {
		return false
	}
	if s.next('}') {
		return true
	}
	var seen [16]string
	n := 0
	for {
		name, ok := s.plainString()
		if !ok || !s.next(':') {
			return false
		}
		for _, prev := range seen[:n] {
			if prev == name {
				return false
			}
		}
		if n == len(seen) {
			return false
		}
		seen[n] = name
		n++
		if !member(name) {
			return false
		}
		if s.next('}') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

// raw reads a value that is kept as it was sent, and checks it is valid JSON.
func (s *jsonScanner) raw(into *json.RawMessage) bool {
	v, ok := s.rawValue()
	if !ok || !json.Valid(v) {
		return false
	}
	*into = append(json.RawMessage(nil), v...)
	return true
}

func (s *jsonScanner) str(into *string) bool {
	v, ok := s.plainString()
	*into = v
	return ok
}

// scanPagerDuty reads a plain Events API body; ok is false when encoding/json must read it.
func scanPagerDuty(body []byte) (ev PagerDutyEvent, ok bool) {
	s := &jsonScanner{b: body}
	ok = s.members(func(name string) bool {
		switch name {
		case "routing_key":
			return s.str(&ev.RoutingKey)
		case "event_action":
			return s.str(&ev.EventAction)
		case "dedup_key":
			return s.str(&ev.DedupKey)
		case "client":
			return s.str(&ev.Client)
		case "client_url":
			return s.str(&ev.ClientURL)
		case "links":
			return s.raw(&ev.Links)
		case "images":
			return s.raw(&ev.Images)
		case "payload":
			p := &PagerDutyPayload{}
			ev.Payload = p
			return s.members(func(name string) bool {
				switch name {
				case "summary":
					return s.str(&p.Summary)
				case "source":
					return s.str(&p.Source)
				case "severity":
					return s.str(&p.Severity)
				case "timestamp":
					return s.str(&p.Timestamp)
				case "component":
					return s.str(&p.Component)
				case "group":
					return s.str(&p.Group)
				case "class":
					return s.str(&p.Class)
				case "custom_details":
					return s.raw(&p.CustomDetails)
				}
				return false
			})
		}
		return false
	})
	s.space()
	if !ok || s.i != len(s.b) {
		return PagerDutyEvent{}, false
	}
	return ev, true
}

// scanMembers reads a JSON object's members as encoding/json reads it into a map of raw
// messages; ok is false when encoding/json must read it.
func scanMembers(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	s := &jsonScanner{b: raw}
	m := map[string]json.RawMessage{}
	ok := s.members(func(name string) bool {
		v, ok := s.rawValue()
		m[name] = v
		return ok
	})
	s.space()
	return m, ok && s.i == len(s.b)
}
