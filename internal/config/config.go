// Package config reads nines.yaml (or a directory of YAML files): what a team declares and
// changes by review. Every problem is reported as file:line:col, unknown fields are errors, and a
// config is used only once all of it is valid, so a bad file never half-applies.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Config is the whole declared configuration. Each section's types live in the file named after
// its domain (services.go, oncall.go, monitors.go, slo.go, statuspage.go, response.go).
type Config struct {
	Node
	Server             Server             `yaml:"server"`
	Services           []Service          `yaml:"services"`
	Teams              []Team             `yaml:"teams"`
	Users              []User             `yaml:"users"`
	Schedules          []Schedule         `yaml:"schedules"`
	EscalationPolicies []EscalationPolicy `yaml:"escalation_policies"`
	Notifications      Notifications      `yaml:"notifications"`
	Monitors           []Monitor          `yaml:"monitors"`
	Maintenance        []Maintenance      `yaml:"maintenance"`
	Probes             Probes             `yaml:"probes"`
	SLOs               []SLO              `yaml:"slos"`
	StatusPages        []StatusPage       `yaml:"status_pages"`
	Incidents          IncidentSettings   `yaml:"incidents"`
	InhibitRules       []InhibitRule      `yaml:"inhibit_rules"`
	Auth               Auth               `yaml:"auth"`
	Readiness          Readiness          `yaml:"readiness"` // production readiness checklist
	Drills             []Drill            `yaml:"drills"`    // chaos drills

	// Fallback are the users paged when an escalation policy without its own fallback reached
	// nobody.
	Fallback []string `yaml:"fallback"`

	// Files lists the files the config was read from.
	Files []string `yaml:"-"`

	// formats read the documents of other formats found beside nines' own (Format), in the
	// order of their first document.
	formats     map[string]Format
	formatOrder []Format

	// sources are the files' contents as read, and objects the database's objects merged in
	// (objects.go): With merges another set of objects into the same files.
	sources []source
	objects []Object
	retired []Retired
	// own completes a person with what they set up on their profile, for the checks of who
	// can be reached (Live.SetOwnMethods); nil counts the config's contact methods only.
	own func(*User) *User
	// ownSeen holds what own answered during this config's checks: each person is read once.
	ownSeen map[*User]*User

	services     map[string]*Service
	integrations map[string]integrationRef
	hashedKeys   map[string]integrationRef // by key_hash
	// checking is where validation is: a check that fails unexpectedly is reported there.
	checking Pos
	// tainted holds where values could not be decoded, and the objects holding them: checks of
	// those read a value that is not what was written, so their errors would only repeat it.
	tainted map[Pos]bool
	// unreadable is set when a file is not YAML at all: nothing can be checked against it.
	unreadable bool
	// checked is set once the config passed its checks (Read returns files not yet checked).
	checked bool
}

// Load reads a YAML file, or every *.yaml and *.yml file of a directory (in name order), and
// validates the result. On any problem it returns Errors and no config. Only regular files (or
// symlinks to them) of at most MaxFileSize bytes are read, MaxConfigSize in all (readFile).
func Load(path string) (*Config, error) {
	c, errs, err := read(path)
	if err != nil {
		return nil, err
	}
	return c.check(&errs)
}

// Read reads the files as Load does and reports what cannot be read or decoded, but checks
// nothing across them: the files of nines serve may name objects made in nines, and are checked
// with those (With).
func Read(path string) (*Config, error) {
	c, errs, err := read(path)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	return c, nil
}

// read reads and decodes the files of path; errs holds what could not be read or decoded.
func read(path string) (*Config, Errors, error) {
	files, err := configFiles(path)
	if err != nil {
		return nil, nil, err
	}
	c := &Config{}
	var errs Errors
	total := 0
	for _, f := range files {
		at := Pos{File: f, Line: 1, Col: 1}
		data, err := readFile(f)
		if err != nil {
			errs.add(at, "%v", err)
			c.unreadable = true // what is missing would only make the checks complain
			continue
		}
		if total += len(data); total > MaxConfigSize {
			errs.add(at, "the config's files are larger than 32 MiB together; a config is at most %d bytes", MaxConfigSize)
			c.unreadable = true
			break
		}
		c.Files = append(c.Files, f)
		c.sources = append(c.sources, source{name: f, data: data})
		c.parse(f, data, &errs)
	}
	return c, errs, nil
}

// Parse reads config from bytes, as if from a file called name, and validates it.
func Parse(name string, data []byte) (*Config, error) {
	c := &Config{Files: []string{name}, sources: []source{{name: name, data: data}}}
	var errs Errors
	c.parse(name, data, &errs)
	return c.check(&errs)
}

// check validates a parsed config and returns it, or every error found. Validation runs even
// when some values could not be decoded, so one run reports every problem of a file; a check's
// error about a value that could not be decoded (or the object holding it) is left out, since it
// only repeats the decoding error.
func (c *Config) check(errs *Errors) (*Config, error) {
	if !c.unreadable && (len(c.Files) > 0 || len(c.objects) > 0) {
		decoded := map[Pos]bool{}
		for _, e := range *errs {
			decoded[e.Pos] = true
		}
		var verrs Errors
		if len(c.Files) > 0 {
			c.checking = Pos{File: c.Files[0], Line: 1, Col: 1}
		} else {
			c.checking = Pos{File: c.objects[0].File(), Line: 1, Col: 1}
		}
		guard(&verrs, func() Pos { return c.checking }, func() { c.validate(&verrs) })
		for _, e := range verrs {
			if len(*errs) == 0 || !(decoded[e.Pos] || c.tainted[e.Pos]) {
				*errs = append(*errs, e)
			}
		}
	}
	if len(*errs) > 0 {
		return nil, errs.sorted()
	}
	c.checked = true
	return c, nil
}

// guard runs f and turns a panic into an error at(): a mistake of nines in reading some odd
// input must refuse the config, never take the process (and the paging it does) down.
func guard(errs *Errors, at func() Pos, f func()) {
	defer func() {
		if r := recover(); r != nil {
			errs.add(at(), "nines failed to read this (internal error: %v); the config is refused, and the file and this message are worth a bug report", r)
		}
	}()
	f()
}

func configFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var files []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") && !strings.HasPrefix(e.Name(), ".") {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("config: no .yaml or .yml files in directory %s", path)
	}
	return files, nil
}

// parse decodes every YAML document in data and merges it into c.
func (c *Config) parse(file string, data []byte, errs *Errors) {
	at := Pos{File: file, Line: 1, Col: 1}
	guard(errs, func() Pos { return at }, func() {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc yaml.Node
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				errs.add(syntaxPos(file, data, err), "%s", syntaxMessage(err))
				c.unreadable = true
				return
			}
			if len(doc.Content) == 0 {
				continue
			}
			root := doc.Content[0]
			at = Pos{File: file, Line: root.Line, Col: root.Column}
			c.parseDocument(file, root, &at, errs)
		}
	})
}

// parseDocument decodes one YAML document; at follows the node being read.
func (c *Config) parseDocument(file string, root *yaml.Node, at *Pos, errs *Errors) {
	if isNull(root) {
		return
	}
	// OpenSLO tools also write a list of documents as one YAML document.
	if root.Kind == yaml.SequenceNode && len(root.Content) > 0 {
		if prefix := foreignFormat(apiVersion(root.Content[0])); prefix != "" {
			f := c.formatFor(prefix, Pos{file, root.Line, root.Column}, errs)
			for _, item := range root.Content {
				*at = Pos{File: file, Line: item.Line, Col: item.Column}
				if f != nil {
					f.Read(c.decoder(file, errs), item)
				}
			}
			return
		}
	}
	if api := apiVersion(root); api != "" {
		prefix := foreignFormat(api)
		if prefix == "" {
			errs.add(Pos{file, root.Line, root.Column}, "unsupported apiVersion %q (nines reads openslo/v1 documents and its own format, which has no apiVersion)", api)
			return
		}
		if f := c.formatFor(prefix, Pos{file, root.Line, root.Column}, errs); f != nil {
			f.Read(c.decoder(file, errs), root)
		}
		return
	}
	part := &Config{}
	d := &decoder{file: file, errs: errs, at: at, tainted: c.taints()}
	d.decode(root, reflect.ValueOf(part).Elem())
	c.merge(part, errs)
}

// decoder reads a document of another format from file, as the config's own are read.
func (c *Config) decoder(file string, errs *Errors) *Decoder {
	return &Decoder{d: decoder{file: file, errs: errs, tainted: c.taints()}}
}

func (c *Config) taints() map[Pos]bool {
	if c.tainted == nil {
		c.tainted = map[Pos]bool{}
	}
	return c.tainted
}

func apiVersion(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "apiVersion" {
			return n.Content[i+1].Value
		}
	}
	return ""
}

// merge adds the lists of part to c; a section that is one object (server, notifications...)
// may be written in one file only.
func (c *Config) merge(part *Config, errs *Errors) {
	cv, pv := reflect.ValueOf(c).Elem(), reflect.ValueOf(part).Elem()
	t := cv.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		src, dst := pv.Field(i), cv.Field(i)
		switch f.Type.Kind() {
		case reflect.Slice:
			dst.Set(reflect.AppendSlice(dst, src))
			if part.Has(tag) && !c.Has(tag) {
				c.SetAt(tag, part.At(tag)) // where the list first appears, for its errors
			}
		default:
			if !part.Has(tag) {
				continue
			}
			if c.Has(tag) {
				errs.add(part.At(tag), "%s is already set at %s; write it in one file only", tag, c.At(tag))
				continue
			}
			dst.Set(src)
			c.SetAt(tag, part.At(tag))
		}
	}
}

func syntaxPos(file string, data []byte, err error) Pos {
	var line int
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr != nil {
		return Pos{File: file, Line: 1, Col: 1}
	}
	// The YAML library counts the lines of its parser's errors from 0 (those of its scanner
	// from 1): the parser's problems are these.
	for _, p := range parserProblems {
		if strings.HasSuffix(msg, p) {
			line++
			break
		}
	}
	lines := strings.Split(string(data), "\n")
	switch {
	case strings.HasSuffix(msg, "found a tab character that violates indentation"):
		// The library names the line before the tab's, or the block's first.
		for i := max(line-1, 0); i < len(lines); i++ {
			lead := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]
			if j := strings.IndexByte(lead, '\t'); j >= 0 {
				return Pos{File: file, Line: i + 1, Col: j + 1}
			}
		}
	case strings.HasSuffix(msg, "did not find expected '-' indicator"), strings.HasSuffix(msg, "did not find expected key"):
		l, c := outOfStep(lines, line)
		return Pos{File: file, Line: l, Col: c}
	}
	return Pos{File: file, Line: line, Col: 1}
}

// outOfStep finds the line of a block that begins at line (1-based) indented at none of the
// block's levels: the library names the block's first line when one of its lines is indented
// between two of its levels. It answers the block's first line when none is.
func outOfStep(lines []string, line int) (int, int) {
	if line < 1 || line > len(lines) {
		return max(line, 1), 1
	}
	indent := func(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }
	// levels adds the columns a line's content starts at: its indentation, and after each
	// "- " of a list item; dashes, the columns of a list's "- ", where every line is an item.
	levels, dashes := map[int]bool{}, map[int]bool{}
	deepest := 0
	add := func(s string) {
		i := indent(s)
		for {
			levels[i], deepest = true, max(deepest, i)
			rest := s[i:]
			if !strings.HasPrefix(rest, "- ") {
				return
			}
			dashes[i] = true
			i += 2 + indent(rest[2:])
		}
	}
	first := lines[line-1]
	add(first)
	// The block ends at a line no deeper than the key that holds it (a list written at its
	// key's own column ends at the next key there).
	parent := -1
	for n := line - 2; n >= 0; n-- {
		if t := strings.TrimSpace(lines[n]); t != "" && !strings.HasPrefix(t, "#") {
			parent = indent(lines[n])
			break
		}
	}
	for n := line; n < len(lines); n++ {
		s := lines[n]
		t := strings.TrimSpace(s)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		i := indent(s)
		switch {
		case i < indent(first) || i <= parent && !strings.HasPrefix(s[i:], "- "):
			return line, indent(first) + 1
		case dashes[i] && !strings.HasPrefix(s[i:], "- ") && s[i:] != "-":
			// A field at the column of a list's items, written as none.
			return n + 1, i + 1
		case levels[i] || i > deepest:
			add(s)
		default:
			return n + 1, i + 1
		}
	}
	return line, indent(first) + 1
}

// parserProblems are the errors of the YAML library's parser, as opposed to its scanner.
var parserProblems = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'", "did not find expected '-' indicator",
	"did not find expected <document start>", "did not find expected <stream-start>", "did not find expected key",
	"did not find expected node content", "found duplicate %TAG directive", "found duplicate %YAML directive",
	"found incompatible YAML document", "found undefined tag handle",
}

func syntaxMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "line ") {
		msg = msg[i+2:]
	}
	return "YAML syntax: " + msg
}

// validate runs every section's checks. Checks that cross sections (a service naming an
// escalation policy) belong to the section that holds the reference.
func (c *Config) validate(errs *Errors) {
	c.validateServer(errs)
	c.validateServices(errs)
	c.validateOnCall(errs)
	c.validateMonitors(errs)
	c.validateSLOs(errs)
	c.validateStatusPages(errs)
	c.validateIncidents(errs)
	c.validateInhibitRules(errs)
	c.validateAuth(errs)
	c.validateReadiness(errs) // after monitors: checks name them
	c.validateDrills(errs)
}

// ids checks that every id of a section is set, well-formed and unique, and returns the set.
func ids[T any](errs *Errors, what string, items []T, get func(*T) (string, Node)) map[string]*T {
	out := make(map[string]*T, len(items))
	for i := range items {
		id, n := get(&items[i])
		switch {
		case id == "":
			errs.add(n.Pos, "%s: id is required", what)
		case !validID(id):
			errs.add(n.At("id"), "%s id %q: use letters, digits, '-', '_' and '.' only", what, id)
		case out[id] != nil:
			_, first := get(out[id])
			if first.Pos.FromDatabase() != n.Pos.FromDatabase() {
				file, db := first.Pos, n.Pos
				if file.FromDatabase() {
					file, db = db, file
				}
				errs.add(n.At("id"), "%s id %q is declared at %s and held in the database as %s with other content; "+
					"make the declaration equal to the database's (nines export prints it) to move it into the file, or use another id", what, id, file, db.File)
				break
			}
			errs.add(n.At("id"), "%s id %q is used twice (first at %s)", what, id, first.Pos)
		default:
			out[id] = &items[i]
		}
	}
	return out
}

// ValidID says whether s may be the id of an object of the config: letters, digits, '-', '_'
// and '.', at most 128 of them.
func ValidID(s string) bool { return validID(s) }

func validID(s string) bool {
	if len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
