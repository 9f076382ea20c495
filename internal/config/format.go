package config

import (
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Formats other than nines' own. nines' config is loaded and cross-checked here; documents of
// another format (OpenSLO v1) are read and translated by the package that owns the format, which
// registers it with Register when it is imported.

// A Format reads the documents of one format other than nines' own, told apart by their
// apiVersion, and adds what they declare to the config. Load makes one per load.
type Format interface {
	// Read decodes one document, written at n, reporting its problems to d.Errors().
	Read(d *Decoder, n *yaml.Node)
	// Translate runs as the config is checked, once every file is read and its services and
	// monitors are checked, before its SLOs are: it checks what holds the documents together and
	// adds what they declare to c (its SLOs), which is then checked as if written in nines' own
	// form.
	Translate(c *Config, errs *Errors)
}

// foreignFormats are the formats nines reads besides its own, by the prefix of their apiVersion,
// with the package that reads them: a document of one whose package the program does not import
// is refused, naming the package, rather than ignored.
var foreignFormats = []struct{ prefix, name, pkg string }{
	{"openslo/", "OpenSLO", "github.com/nines-dev/nines/internal/slo/openslo"},
}

var registered = map[string]func() Format{}

// Register makes Load read documents whose apiVersion starts with prefix with a Format made by
// newFormat. The package owning the format calls it from its init; a prefix not listed in
// foreignFormats, or registered twice, is a mistake of nines and panics.
func Register(prefix string, newFormat func() Format) {
	if foreignFormat(prefix) == "" {
		panic("config: no format with apiVersion prefix " + prefix)
	}
	if registered[prefix] != nil {
		panic("config: format " + prefix + " registered twice")
	}
	registered[prefix] = newFormat
}

// foreignFormat returns the prefix of the format of documents of apiVersion api, or "".
func foreignFormat(api string) string {
	for _, f := range foreignFormats {
		if strings.HasPrefix(api, f.prefix) {
			return f.prefix
		}
	}
	return ""
}

// Format returns the reader of this config's documents of the format with the apiVersion prefix,
// or nil when none was read.
func (c *Config) Format(prefix string) Format { return c.formats[prefix] }

// formatFor returns the reader of documents of the format prefix for this load, made at its first
// document; when the program does not read the format it reports so at p and returns nil.
func (c *Config) formatFor(prefix string, p Pos, errs *Errors) Format {
	if f := c.formats[prefix]; f != nil {
		return f
	}
	mk := registered[prefix]
	if mk == nil {
		for _, f := range foreignFormats {
			if f.prefix == prefix {
				errs.add(p, "%s documents are read by %s, which this program does not import (a mistake of nines, not of the file)", f.name, f.pkg)
			}
		}
		return nil
	}
	if c.formats == nil {
		c.formats = map[string]Format{}
	}
	f := mk()
	c.formats[prefix] = f
	c.formatOrder = append(c.formatOrder, f)
	return f
}

// translate lets every format read add what its documents declare.
func (c *Config) translate(errs *Errors) {
	for _, f := range c.formatOrder {
		f.Translate(c, errs)
	}
}

// Checking says that checks run at p now, so a failure of nines there is reported at p.
func (c *Config) Checking(p Pos) { c.checking = p }

// Decoder reads YAML into config structures as nines' own sections are read: strictly (an
// unknown field, a value of the wrong type or a key set twice is an error at its position,
// naming the field) and on to the end, so one run reports every problem. Formats read their
// documents with it.
type Decoder struct{ d decoder }

// NewDecoder reads what was written in file, reporting problems to errs.
func NewDecoder(file string, errs *Errors) *Decoder {
	return &Decoder{d: decoder{file: file, errs: errs}}
}

// Pos is where n was written.
func (d *Decoder) Pos(n *yaml.Node) Pos { return d.d.pos(n) }

// Errors is where problems are reported.
func (d *Decoder) Errors() *Errors { return d.d.errs }

// Decode decodes n into the structure v points to; path names it in errors ("spec").
func (d *Decoder) Decode(n *yaml.Node, path string, v any) {
	leave := d.d.enter(path)
	d.d.decode(n, reflect.ValueOf(v).Elem())
	leave()
}

// Add reports a problem at p.
func (es *Errors) Add(p Pos, format string, args ...any) { es.add(p, format, args...) }

// SetAt records that key was written at p.
func (n *Node) SetAt(key string, p Pos) {
	if n.keys == nil {
		n.keys = map[string]Pos{}
	}
	n.keys[key] = p
}

// IsNull reports whether n is written as null or left empty.
func IsNull(n *yaml.Node) bool { return isNull(n) }

// Describe names what n is, for an error: "a mapping", "a list" or its value quoted.
func Describe(n *yaml.Node) string { return describe(n) }
