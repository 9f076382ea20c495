package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Object is one config object held in the database beside the YAML: an item of one of the
// list sections (ObjectKinds), written in the config's own format. The config in force is the
// YAML files with the database's objects merged in (With), checked whole by the same checks,
// so an object made in the browser may name one declared in a file and the other way round.
type Object struct {
	// Kind is the section the object belongs to, as the config spells its key: services,
	// escalation_policies...
	Kind string
	// ID is the object's id, the same as the id its document holds.
	ID string
	// Doc is the object as YAML (JSON is YAML too), as one item of its section's list.
	Doc []byte
}

// ObjectKinds are the sections whose objects may live in the database, in the order an export
// writes them: people first, as a file declares them before what names them.
var ObjectKinds = []string{"users", "services", "escalation_policies", "schedules", "teams", "monitors", "status_pages", "slos"}

// IsObjectKind says whether kind is one of ObjectKinds.
func IsObjectKind(kind string) bool { return slices.Contains(ObjectKinds, kind) }

// DatabasePrefix starts the file name of a database object's positions: its errors read
// db:services/checkout:3:5, the line and column within its document.
const DatabasePrefix = "db:"

// File is what the object's positions name as their file.
func (o Object) File() string { return DatabasePrefix + o.Kind + "/" + o.ID }

// FromDatabase says whether a position is within a database object rather than a file.
func (p Pos) FromDatabase() bool { return strings.HasPrefix(p.File, DatabasePrefix) }

// Retired is a database object that a file now declares with the same content: the
// declaration wins, and the database's copy is to be removed (its history stays).
type Retired struct {
	Object
	// DeclaredAt is where the file declares it.
	DeclaredAt Pos
}

// Declared is an object of one of ObjectKinds as a file declares it.
type Declared struct {
	Kind, ID string
	Pos      Pos
	// Value is the object as written (maps, lists and scalars), for showing it.
	Value any
	node  *yaml.Node
}

type source struct {
	name string
	data []byte
}

// Objects returns the database objects merged into c.
func (c *Config) Objects() []Object { return c.objects }

// Retired returns the database objects With left out because a file declares them alike.
func (c *Config) Retired() []Retired { return c.retired }

// With returns c's files merged with objs, checked whole; c is not changed. A database object
// whose kind and id a file declares with the same content gives way to the file's (Retired);
// declared with other content, it is an error naming both places. Without objects it returns
// c itself.
func (c *Config) With(objs []Object) (*Config, error) {
	if len(objs) == 0 && len(c.objects) == 0 && c.checked {
		return c, nil
	}
	n := &Config{own: c.own}
	var errs Errors
	declared := map[string]Declared{}
	for _, d := range c.Declared() {
		declared[d.Kind+"/"+d.ID] = d
	}
	for _, s := range c.sources {
		n.Files = append(n.Files, s.name)
		n.sources = append(n.sources, s)
		n.parse(s.name, s.data, &errs)
	}
	for _, o := range objs {
		if d, ok := declared[o.Kind+"/"+o.ID]; ok && sameObject(d.node, o.Doc) {
			n.retired = append(n.retired, Retired{Object: o, DeclaredAt: d.Pos})
			continue
		}
		n.objects = append(n.objects, o)
	}
	for _, o := range n.objects {
		n.parseObject(o, &errs)
	}
	return n.check(&errs)
}

// parseObject reads one database object as an item of its section.
func (c *Config) parseObject(o Object, errs *Errors) {
	at := Pos{File: o.File(), Line: 1, Col: 1}
	if !IsObjectKind(o.Kind) {
		errs.add(at, "%q is not a kind of object nines keeps in the database (want one of %s)", o.Kind, strings.Join(ObjectKinds, ", "))
		return
	}
	root, err := objectNode(o.Doc)
	if err != nil {
		errs.add(at, "%v", err)
		return
	}
	if id := scalarAt(root, "id"); id != o.ID {
		errs.add(at, "%s: the document's id %q is not the object's id %q", o.Kind, id, o.ID)
		return
	}
	guard(errs, func() Pos { return at }, func() {
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: o.Kind, Line: root.Line, Column: root.Column}
		list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{root}, Line: root.Line, Column: root.Column}
		doc := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{key, list}, Line: root.Line, Column: root.Column}
		c.parseDocument(o.File(), doc, &at, errs)
	})
}

// objectNode reads an object's document: one YAML (or JSON) mapping.
func objectNode(doc []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	var n yaml.Node
	if err := dec.Decode(&n); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("the object is empty")
		}
		return nil, fmt.Errorf("line %d: %s", syntaxPos("", doc, err).Line, syntaxMessage(err))
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("an object is one YAML document")
	}
	if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("an object is a mapping of its fields (id: ..., name: ...)")
	}
	if at := nulAt(n.Content[0]); at != nil {
		return nil, fmt.Errorf("line %d, column %d: a value holds a NUL character (\\u0000), which nines does not keep", at.Line, at.Column)
	}
	return n.Content[0], nil
}

// ObjectID reads the id an object's document holds, or "" when it is not a mapping with one.
// CheckObjectDoc says what is wrong with doc as an object's document before anything is read
// from it: not YAML or JSON, not one mapping, or a value holding a NUL character (which no
// text nines stores may hold). Nil when it is one mapping.
func CheckObjectDoc(doc []byte) error {
	_, err := objectNode(doc)
	return err
}

func ObjectID(doc []byte) string {
	n, err := objectNode(doc)
	if err != nil {
		return ""
	}
	return scalarAt(n, "id")
}

func scalarAt(m *yaml.Node, key string) string {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.ScalarNode {
			return m.Content[i+1].Value
		}
	}
	return ""
}

// sameObject says whether a file's declaration holds what a database document holds: the
// same fields with the same values, however each is laid out.
func sameObject(declared *yaml.Node, doc []byte) bool {
	n, err := objectNode(doc)
	if err != nil {
		return false
	}
	var a, b any
	if declared.Decode(&a) != nil || n.Decode(&b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}

// Declared lists the objects of ObjectKinds the files declare, in file order. Documents of
// other formats (OpenSLO) are not listed.
func (c *Config) Declared() []Declared {
	var out []Declared
	for _, s := range c.sources {
		dec := yaml.NewDecoder(bytes.NewReader(s.data))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); err != nil {
				break
			}
			if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode || apiVersion(doc.Content[0]) != "" {
				continue
			}
			root := doc.Content[0]
			for i := 0; i+1 < len(root.Content); i += 2 {
				kind, list := root.Content[i].Value, root.Content[i+1]
				if !IsObjectKind(kind) || list.Kind != yaml.SequenceNode {
					continue
				}
				for _, item := range list.Content {
					if item.Kind != yaml.MappingNode {
						continue
					}
					d := Declared{Kind: kind, ID: scalarAt(item, "id"), Pos: Pos{File: s.name, Line: item.Line, Col: item.Column}, node: item}
					_ = item.Decode(&d.Value)
					out = append(out, d)
				}
			}
		}
	}
	return out
}

// FormatObject writes an object's document as the config's files write it (YAML, in block
// style, two spaces an indent), whatever layout it came in (JSON included).
func FormatObject(doc []byte) ([]byte, error) {
	n, err := objectNode(doc)
	if err != nil {
		return nil, err
	}
	blockStyle(n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func blockStyle(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle
	if n.Kind == yaml.ScalarNode && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		// JSON quotes every string; YAML needs quotes only where a plain scalar would read
		// as something else, and the encoder adds them there.
		n.Style &^= yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// nulAt is the first node under n whose value holds a NUL character, or nil.
func nulAt(n *yaml.Node) *yaml.Node {
	if strings.ContainsRune(n.Value, 0) {
		return n
	}
	for _, c := range n.Content {
		if at := nulAt(c); at != nil {
			return at
		}
	}
	return nil
}
