// Package labels holds alert labels and the matchers that select alerts by them, written as
// Alertmanager writes them (`severity="critical"`, `job=~"api|web"`), so inhibit rules copied
// from an alertmanager.yml mean in nines what they meant there.
package labels

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Set is the labels of one alert. A label that is absent and a label with an empty value are
// the same thing, as in Alertmanager.
type Set map[string]string

// Op is how a matcher compares a label's value.
type Op string

const (
	Equal     Op = "="
	NotEqual  Op = "!="
	Regexp    Op = "=~"
	NotRegexp Op = "!~"
)

// Matcher selects alerts by one label.
type Matcher struct {
	Name  string
	Op    Op
	Value string
	re    *regexp.Regexp
}

// Matches reports whether the set satisfies the matcher. A regular expression must match the
// whole value (it is anchored, as in Alertmanager and PromQL).
func (m *Matcher) Matches(s Set) bool {
	v := s[m.Name]
	switch m.Op {
	case Equal:
		return v == m.Value
	case NotEqual:
		return v != m.Value
	case Regexp:
		return m.re.MatchString(v)
	case NotRegexp:
		return !m.re.MatchString(v)
	}
	return false
}

// String writes the matcher back in the form Parse reads.
func (m *Matcher) String() string {
	name := m.Name
	if !isLiteral(name) {
		name = strconv.Quote(name)
	}
	return name + string(m.Op) + strconv.Quote(m.Value)
}

// Matchers are matched together: all of them must match.
type Matchers []*Matcher

// Matches reports whether every matcher matches the set.
func (ms Matchers) Matches(s Set) bool {
	for _, m := range ms {
		if !m.Matches(s) {
			return false
		}
	}
	return true
}

// ParseError says what is wrong with a matcher and where in its text (Offset, 0-based, in bytes).
type ParseError struct {
	Input  string
	Offset int
	Msg    string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("matcher %q: %s (at character %d)", e.Input, e.Msg, utf8.RuneCountInString(e.Input[:e.Offset])+1)
}

// maxContent bounds the names and values Parse takes, together: a matcher is a line of config,
// not a document. maxInput bounds the text that spells them, loosely enough that whatever
// Parse takes, written back by String (where a byte may take four, \x1a), is read again.
const (
	maxContent = 4096
	maxInput   = 8 * maxContent
)

// Parse reads one or more matchers separated by commas, optionally inside braces, in
// Alertmanager's syntax: a label name (a literal or a double-quoted string), one of =, !=, =~
// or !~, and a value (a literal, a double-quoted string with Go's escapes, or nothing, which
// is the empty string). Literals are made of any characters but space and
// { } ! = ~ , \ " ' `. Regular expressions must compile (RE2) and are anchored.
//
//	severity = critical
//	{alertname="Watchdog", severity=~"warning|critical"}
func Parse(input string) (Matchers, error) {
	fail := func(at int, format string, args ...any) (Matchers, error) {
		return nil, &ParseError{Input: input, Offset: at, Msg: fmt.Sprintf(format, args...)}
	}
	if len(input) > maxInput {
		return fail(maxInput, "longer than %d bytes", maxInput)
	}
	if !utf8.ValidString(input) {
		return fail(0, "not valid UTF-8")
	}
	p := &parser{s: input}
	p.space()
	braced := !p.done() && p.peek() == '{'
	if braced {
		p.i++
	}
	var out Matchers
	for {
		p.space()
		if p.done() || (braced && p.peek() == '}') {
			if len(out) == 0 {
				return fail(p.i, "expected a label name")
			}
			break
		}
		start := p.i
		name, err := p.token("label name")
		if err != nil {
			return nil, err
		}
		if name == "" {
			return fail(start, "expected a label name")
		}
		p.space()
		opAt := p.i
		var op Op
		switch {
		case strings.HasPrefix(p.s[p.i:], "=~"):
			op = Regexp
		case strings.HasPrefix(p.s[p.i:], "!~"):
			op = NotRegexp
		case strings.HasPrefix(p.s[p.i:], "!="):
			op = NotEqual
		case strings.HasPrefix(p.s[p.i:], "="):
			op = Equal
		default:
			return fail(opAt, "expected one of =, !=, =~ or !~ after the label name %q", name)
		}
		p.i += len(op)
		p.space()
		valueAt := p.i
		value, err := p.token("value")
		if err != nil {
			return nil, err
		}
		m := &Matcher{Name: name, Op: op, Value: value}
		if op == Regexp || op == NotRegexp {
			re, err := regexp.Compile("^(?:" + value + ")$")
			if err != nil {
				return fail(valueAt, "the regular expression %q does not compile: %v", value, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			}
			m.re = re
		}
		out = append(out, m)
		p.space()
		if p.done() || (braced && p.peek() == '}') {
			continue
		}
		if p.peek() == '}' {
			return fail(p.i, "a '}' closes no '{'")
		}
		if p.peek() != ',' {
			return fail(p.i, "expected a comma between matchers")
		}
		p.i++
	}
	if braced {
		if p.done() {
			return fail(p.i, "a '{' is never closed")
		}
		p.i++ // }
	}
	p.space()
	if !p.done() {
		return fail(p.i, "unexpected %q after the matchers", p.s[p.i:])
	}
	n := 0
	for _, m := range out {
		n += len(m.Name) + len(m.Value)
	}
	if n > maxContent {
		return fail(0, "its names and values hold %d bytes, more than %d", n, maxContent)
	}
	return out, nil
}

type parser struct {
	s string
	i int
}

func (p *parser) done() bool { return p.i >= len(p.s) }
func (p *parser) peek() byte { return p.s[p.i] }

func (p *parser) space() {
	for !p.done() {
		r, n := utf8.DecodeRuneInString(p.s[p.i:])
		if !unicode.IsSpace(r) {
			return
		}
		p.i += n
	}
}

// token reads a double-quoted string or a literal (possibly empty).
func (p *parser) token(what string) (string, error) {
	if p.done() {
		return "", nil
	}
	if p.peek() == '"' {
		start := p.i
		p.i++
		for !p.done() {
			switch p.peek() {
			case '\\':
				p.i += 2
				continue
			case '"':
				p.i++
				v, err := strconv.Unquote(p.s[start:p.i])
				if err != nil {
					return "", &ParseError{Input: p.s, Offset: start, Msg: fmt.Sprintf("the quoted %s %s has a bad escape (use \\\\ for a backslash, \\\" for a quote)", what, p.s[start:p.i])}
				}
				return v, nil
			}
			p.i++
		}
		return "", &ParseError{Input: p.s, Offset: start, Msg: fmt.Sprintf("the quoted %s is never closed", what)}
	}
	start := p.i
	for !p.done() {
		r, n := utf8.DecodeRuneInString(p.s[p.i:])
		if unicode.IsSpace(r) || strings.ContainsRune(reserved, r) {
			break
		}
		p.i += n
	}
	if p.i == start && !p.done() && strings.ContainsRune(`'`+"`\\", rune(p.peek())) {
		return "", &ParseError{Input: p.s, Offset: p.i, Msg: fmt.Sprintf("%q cannot start a %s; quote it with double quotes", string(p.peek()), what)}
	}
	return p.s[start:p.i], nil
}

// reserved are the characters a literal cannot hold, as in Alertmanager's matcher syntax.
const reserved = "{}!=~,\\\"'`"

func isLiteral(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || strings.ContainsRune(reserved, r) {
			return false
		}
	}
	return true
}

// EqualOn reports whether a and b have the same value (absent counting as empty) for every name.
func EqualOn(a, b Set, names []string) bool {
	for _, n := range names {
		if a[n] != b[n] {
			return false
		}
	}
	return true
}

// String writes the set as {a="1", b="2"}, names in order.
func (s Set) String() string {
	names := make([]string, 0, len(s))
	for k := range s {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + "=" + strconv.Quote(s[k]))
	}
	b.WriteByte('}')
	return b.String()
}
