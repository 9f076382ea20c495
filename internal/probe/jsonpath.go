package probe

import (
	"encoding/json"
	"strconv"
	"strings"
)

// jsonPath finds the value at a path such as $.status or $.checks[0].state (the forms
// config validation accepts) and returns it as text: strings as they are, other values as JSON.
func jsonPath(doc any, path string) (string, bool) {
	p := strings.TrimPrefix(path, "$")
	cur := doc
	for p != "" {
		switch p[0] {
		case '.':
			end := strings.IndexAny(p[1:], ".[")
			if end < 0 {
				end = len(p) - 1
			}
			key := p[1 : end+1]
			m, ok := cur.(map[string]any)
			if !ok {
				return "", false
			}
			if cur, ok = m[key]; !ok {
				return "", false
			}
			p = p[end+1:]
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return "", false
			}
			i, err := strconv.Atoi(p[1:end])
			a, ok := cur.([]any)
			if err != nil || !ok || i < 0 || i >= len(a) {
				return "", false
			}
			cur, p = a[i], p[end+1:]
		default:
			return "", false
		}
	}
	if s, ok := cur.(string); ok {
		return s, true
	}
	b, _ := json.Marshal(cur)
	return string(b), true
}
