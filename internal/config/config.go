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
	Auth               Auth               `yaml:"auth"`

	// OpenSLO holds the OpenSLO v1 documents found beside the native config.
	OpenSLO []OpenSLODocument `yaml:"-"`
	// Files lists the files the config was read from.
	Files []string `yaml:"-"`

	services     map[string]*Service
	integrations map[string]integrationRef
}

// Load reads a YAML file, or every *.yaml and *.yml file of a directory (in name order), and
// validates the result. On any problem it returns Errors and no config.
func Load(path string) (*Config, error) {
	files, err := configFiles(path)
	if err != nil {
		return nil, err
	}
	c := &Config{}
	var errs Errors
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		c.Files = append(c.Files, f)
		c.parse(f, data, &errs)
	}
	if len(errs) == 0 {
		c.validate(&errs)
	}
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	return c, nil
}

// Parse reads config from bytes, as if from a file called name, and validates it.
func Parse(name string, data []byte) (*Config, error) {
	c := &Config{Files: []string{name}}
	var errs Errors
	c.parse(name, data, &errs)
	if len(errs) == 0 {
		c.validate(&errs)
	}
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	return c, nil
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
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			errs.add(syntaxPos(file, err), "%s", syntaxMessage(err))
			return
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if isNull(root) {
			continue
		}
		// OpenSLO tools also write a list of documents as one YAML document.
		if root.Kind == yaml.SequenceNode && len(root.Content) > 0 && strings.HasPrefix(apiVersion(root.Content[0]), "openslo/") {
			for _, item := range root.Content {
				c.OpenSLO = append(c.OpenSLO, parseOpenSLO(file, item, errs))
			}
			continue
		}
		if api := apiVersion(root); api != "" {
			if !strings.HasPrefix(api, "openslo/") {
				errs.add(Pos{file, root.Line, root.Column}, "unsupported apiVersion %q (nines reads openslo/v1 documents and its own format, which has no apiVersion)", api)
				continue
			}
			c.OpenSLO = append(c.OpenSLO, parseOpenSLO(file, root, errs))
			continue
		}
		part := &Config{}
		d := &decoder{file: file, errs: errs}
		d.decode(root, reflect.ValueOf(part).Elem())
		c.merge(part, errs)
	}
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
		default:
			if !part.Has(tag) {
				continue
			}
			if c.Has(tag) {
				errs.add(part.At(tag), "%s is already set at %s; write it in one file only", tag, c.At(tag))
				continue
			}
			dst.Set(src)
			if c.keys == nil {
				c.keys = map[string]Pos{}
			}
			c.keys[tag] = part.At(tag)
		}
	}
}

func syntaxPos(file string, err error) Pos {
	var te *yaml.TypeError
	_ = te
	var line int
	if _, scanErr := fmt.Sscanf(strings.TrimPrefix(err.Error(), "yaml: "), "line %d:", &line); scanErr != nil {
		line = 1
	}
	return Pos{File: file, Line: line, Col: 1}
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
	c.validateAuth(errs)
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
			errs.add(n.At("id"), "%s id %q is used twice (first at %s)", what, id, first.Pos)
		default:
			out[id] = &items[i]
		}
	}
	return out
}

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
