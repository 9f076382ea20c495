package config

import (
	"fmt"
	"strings"
)

// CounterSelectors reads the counter forms nines counts exactly from a Prometheus SLI query: a
// selector (http_requests_total{code=~"5.."}), the sum of one (sum(x), sum by (code) (x),
// sum without (instance) (x), sum(x) by (code)), or several of those added with +. It returns
// the selectors, whose series nines reads and counts one by one before adding them up, so a
// series born inside the window is seen being born (an aggregation would hide it). It reports
// false for anything else.
func CounterSelectors(q string) ([]string, bool) {
	p := &promParser{s: q}
	var out []string
	for {
		p.space()
		sel, ok := p.term()
		if !ok {
			return nil, false
		}
		out = append(out, sel)
		p.space()
		if p.eof() {
			return out, true
		}
		if !p.take("+") {
			return nil, false
		}
	}
}

type promParser struct {
	s string
	i int
}

func (p *promParser) eof() bool { return p.i >= len(p.s) }

func (p *promParser) space() {
	for !p.eof() && strings.ContainsRune(" \t\r\n", rune(p.s[p.i])) {
		p.i++
	}
}

func (p *promParser) take(tok string) bool {
	p.space()
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

func isIdent(c byte, first bool) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

func (p *promParser) ident() string {
	p.space()
	start := p.i
	for !p.eof() && isIdent(p.s[p.i], p.i == start) {
		p.i++
	}
	return p.s[start:p.i]
}

// term is a selector or sum(selector) with an optional grouping before or after.
func (p *promParser) term() (string, bool) {
	save := p.i
	if p.ident() == "sum" {
		p.grouping()
		if p.take("(") {
			sel, ok := p.selector()
			if !ok || !p.take(")") {
				return "", false
			}
			p.grouping()
			return sel, true
		}
	}
	p.i = save
	return p.selector()
}

// grouping skips by (...) or without (...).
func (p *promParser) grouping() {
	save := p.i
	if kw := p.ident(); kw == "by" || kw == "without" {
		if p.take("(") {
			for {
				p.ident()
				if p.take(")") {
					return
				}
				if !p.take(",") {
					break
				}
			}
		}
	}
	p.i = save
}

// selector is a metric name with optional matchers in braces, or matchers alone; strings in the
// matchers may hold any character.
func (p *promParser) selector() (string, bool) {
	p.space()
	start := p.i
	name := p.ident()
	if name == "sum" || name == "by" || name == "without" || name == "offset" {
		return "", false
	}
	p.space()
	if !p.eof() && p.s[p.i] == '{' {
		p.i++
		for {
			if p.eof() {
				return "", false
			}
			c := p.s[p.i]
			switch {
			case c == '}':
				p.i++
				return strings.TrimSpace(p.s[start:p.i]), true
			case c == '"' || c == '\'' || c == '`':
				end := p.i + 1
				for end < len(p.s) && p.s[end] != c {
					if p.s[end] == '\\' && c != '`' {
						end++
					}
					end++
				}
				if end >= len(p.s) {
					return "", false
				}
				p.i = end + 1
			case c == '{' || c == '(' || c == ')' || c == '[':
				return "", false
			default:
				p.i++
			}
		}
	}
	if name == "" {
		return "", false
	}
	return strings.TrimSpace(p.s[start:p.i]), true
}

// checkPrometheusQuery says why nines cannot count a query's events exactly, or "".
func checkPrometheusQuery(q string) string {
	if strings.Contains(q, "{{.window}}") {
		return ""
	}
	if _, ok := CounterSelectors(q); ok {
		return ""
	}
	return fmt.Sprintf("%q: nines counts counters exactly from a selector (http_requests_total{code=~\"5..\"}), "+
		"sum(selector) with or without by/without, or several of those added with +; an aggregation of anything else hides "+
		"when a series is born or reset, and loses events. Write one of those, or an expression with {{.window}} that "+
		"returns the events of a window itself", q)
}
