package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Pos is where something was written: file, line and column, all 1-based.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Node is embedded in every config object. It remembers where the object and each of its keys
// were written, so validation can point at the exact spot.
type Node struct {
	Pos  Pos
	keys map[string]Pos
}

// At is the position of the value of key, or of the object itself when the key is absent.
func (n Node) At(key string) Pos {
	if p, ok := n.keys[key]; ok {
		return p
	}
	return n.Pos
}

// Has reports whether key was written.
func (n Node) Has(key string) bool { _, ok := n.keys[key]; return ok }

// Error is one problem in a config file.
type Error struct {
	Pos Pos
	Msg string
}

func (e Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errors is every problem found, in file order.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es *Errors) add(p Pos, format string, args ...any) {
	*es = append(*es, Error{Pos: p, Msg: oneLine(fmt.Sprintf(format, args...))})
}

// oneLine keeps an error on one line: a control character in it (a newline in a value quoted
// raw, in an id or in another parser's message) is written as Go writes it in a string, so
// `nines validate` prints one line per error and a terminal shows no escape sequence it holds.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, escaped) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if escaped(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func escaped(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }

func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i].Pos, es[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return es
}

// Unmarshaler is implemented by config types that parse their own scalar form (durations,
// times of day). The error message is reported at the node's position.
type Unmarshaler interface {
	UnmarshalYAML(n *yaml.Node) error
}

var (
	nodeType        = reflect.TypeOf(Node{})
	unmarshalerType = reflect.TypeOf((*Unmarshaler)(nil)).Elem()
)

// decoder maps YAML nodes onto config structs strictly: an unknown key, a wrong type or a
// duplicate key is an error at its position, and decoding goes on to find the rest.
type decoder struct {
	file string
	errs *Errors
	// at, when set, follows the node being decoded, so a failure can say where it happened.
	at *Pos
	// tainted, when set, collects the values that could not be decoded and the objects
	// holding them.
	tainted map[Pos]bool
	// path names the value being decoded as it is written (services[0].integrations[1].key),
	// so a value of the wrong type is reported with the field it is the value of.
	path string
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

// fail reports a value that cannot be decoded, naming its field.
func (d *decoder) fail(n *yaml.Node, format string, args ...any) {
	if d.path != "" {
		format = "%s: " + format
		args = append([]any{d.path}, args...)
	}
	d.errs.add(d.pos(n), format, args...)
}

// enter makes path the value decoded next, until the returned function is called.
func (d *decoder) enter(path string) (leave func()) {
	old := d.path
	d.path = path
	return func() { d.path = old }
}

func (d *decoder) field(name string) string {
	if d.path == "" {
		return name
	}
	return d.path + "." + name
}

// YAMLNode keeps a piece of YAML as written, for fields that are either a reference or an
// inline document. The decoder always sets Node, to a null node for an empty item.
type YAMLNode struct{ Node *yaml.Node }

var yamlNodeType = reflect.TypeOf(YAMLNode{})

func (d *decoder) decode(n *yaml.Node, v reflect.Value) {
	if d.at != nil {
		*d.at = d.pos(n)
	}
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	// A YAMLNode keeps what was written, an empty item ("- ") included, for its owner to judge.
	if v.Type() == yamlNodeType {
		v.Set(reflect.ValueOf(YAMLNode{Node: n}))
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if isNull(n) {
			return
		}
		if err := v.Addr().Interface().(Unmarshaler).UnmarshalYAML(n); err != nil {
			d.fail(n, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem())
	case reflect.Struct:
		d.decodeStruct(n, v)
	case reflect.Slice:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.fail(n, "expected a list, found %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			leave := d.enter(fmt.Sprintf("%s[%d]", d.path, i))
			d.decode(c, s.Index(i))
			leave()
		}
		v.Set(s)
	case reflect.Map:
		if isNull(n) {
			return
		}
		if v.Type().Key().Kind() != reflect.String {
			panic("config: only string-keyed maps are supported")
		}
		if v.Type().Elem().Kind() == reflect.Interface {
			if resolveAlias(n).Kind != yaml.MappingNode {
				d.fail(n, "expected a mapping, found %s", describe(resolveAlias(n)))
				return
			}
			var m map[string]any
			if err := n.Decode(&m); err != nil {
				d.fail(n, "expected a mapping: %v", err)
				return
			}
			v.Set(reflect.ValueOf(m))
			return
		}
		if n.Kind != yaml.MappingNode {
			d.fail(n, "expected a mapping, found %s", describe(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			ev := reflect.New(v.Type().Elem()).Elem()
			leave := d.enter(d.field(n.Content[i].Value))
			d.decode(n.Content[i+1], ev)
			leave()
			m.SetMapIndex(reflect.ValueOf(n.Content[i].Value).Convert(v.Type().Key()), ev)
		}
		v.Set(m)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.fail(n, "%v", err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		d.decodeScalar(n, v)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value) {
	t := v.Type()
	fields := map[string]int{}
	var known []string
	nodeField := -1
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type == nodeType && f.Anonymous {
			nodeField = i
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		fields[name] = i
		known = append(known, name)
	}
	var node *Node
	if nodeField >= 0 {
		node = v.Field(nodeField).Addr().Interface().(*Node)
		node.Pos = d.pos(n)
		node.keys = map[string]Pos{}
		// Objects inside this one that are not written are where this one is, so a check
		// that finds one missing or empty points into the file.
		defer placeUnwritten(v, node.Pos)
	}
	if n.Kind != yaml.MappingNode && !isNull(n) {
		d.fail(n, "expected a mapping, found %s", describe(n))
		return
	}
	// An empty item ("- " in a list) is an object with nothing set, which validation reports
	// at the item's position.
	if isNull(n) {
		return
	}
	d.decodeKeys(n, v, fields, known, node)
}

// decodeKeys decodes the keys of mapping n into v. Mappings merged in with "<<" are decoded
// first, so the mapping's own keys override them, as YAML merge keys mean; of several merged
// mappings the first wins.
func (d *decoder) decodeKeys(n *yaml.Node, v reflect.Value, fields map[string]int, known []string, node *Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Tag != "!!merge" {
			continue
		}
		srcs := []*yaml.Node{n.Content[i+1]}
		if val := resolveAlias(n.Content[i+1]); val.Kind == yaml.SequenceNode {
			srcs = val.Content
		}
		for j := len(srcs) - 1; j >= 0; j-- {
			src := resolveAlias(srcs[j])
			if src.Kind != yaml.MappingNode {
				d.fail(srcs[j], "<<: expected a mapping or a list of mappings to merge, found %s", describe(src))
				continue
			}
			d.decodeKeys(src, v, fields, known, node)
		}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			continue
		}
		idx, ok := fields[k.Value]
		if !ok {
			d.errs.add(d.pos(k), "unknown field %q (known fields: %s)", k.Value, strings.Join(known, ", "))
			continue
		}
		if seen[k.Value] {
			d.errs.add(d.pos(k), "field %q is set twice", k.Value)
			continue
		}
		seen[k.Value] = true
		if node != nil {
			node.keys[k.Value] = d.pos(val)
		}
		before := len(*d.errs)
		leave := d.enter(d.field(k.Value))
		d.decode(val, v.Field(idx))
		leave()
		if len(*d.errs) > before && d.tainted != nil {
			d.tainted[d.pos(val)] = true
			if node != nil {
				d.tainted[node.Pos] = true
			}
		}
	}
}

// placeUnwritten gives every object field of v (and theirs) that was not decoded the position p.
func placeUnwritten(v reflect.Value, p Pos) {
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() != reflect.Struct || !v.Type().Field(i).IsExported() || v.Type().Field(i).Type == nodeType {
			continue
		}
		nf, ok := f.Type().FieldByName("Node")
		if !ok || nf.Type != nodeType || !nf.Anonymous {
			continue
		}
		if n := f.FieldByIndex(nf.Index).Addr().Interface().(*Node); n.Pos.Line == 0 {
			n.Pos = p
			placeUnwritten(f, p)
		}
	}
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, "expected %s, found %s", kindName(v.Kind()), describe(n))
		return
	}
	if isNull(n) {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if err != nil || n.Tag != "!!bool" {
			d.fail(n, "expected true or false, found %q", n.Value)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil || v.OverflowInt(i) {
			d.fail(n, "expected a whole number, found %q", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, err := strconv.ParseUint(n.Value, 0, 64)
		if err != nil || v.OverflowUint(i) {
			d.fail(n, "expected a whole number of zero or more, found %q", n.Value)
			return
		}
		v.SetUint(i)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			d.fail(n, "expected a number, found %q", n.Value)
			return
		}
		v.SetFloat(f)
	default:
		panic("config: unsupported field kind " + v.Kind().String())
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a whole number"
}
