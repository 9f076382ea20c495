package ui

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/internal/config"
	"github.com/nines-dev/nines/internal/invalid"
)

// monitorTypes are the types the monitor form offers, and the fields each shows besides the
// ones every monitor has.
var monitorTypes = []struct {
	Type   string
	Fields []string
}{
	{"http", []string{"url", "expect_status"}},
	{"tcp", []string{"address"}},
	{"dns", []string{"address", "query", "record_type"}},
	{"tls", []string{"address"}},
	{config.MonitorHeartbeat, []string{"period", "grace"}},
}

// monitorTypeFields are every type's own fields, the keys the form owns in a monitor's document.
var monitorTypeFields = []string{"url", "expect.status", "address", "query", "record_type", "period", "grace"}

// formComponentRows is how many empty component rows a status page's form offers beyond the
// components it has: more are added by saving and editing again.
const formComponentRows = 2

// formDoc is what a kind's form says of its object: the fields it sets (a mapping, in the
// form's order), and the paths of the fields it owns, removed from the document when the form
// leaves them empty.
type formDoc struct {
	set   yaml.Node
	owned []string
	// bad holds the fields the form itself could not read (a number that is none); the
	// document is built without them, so the config's checks can name the rest's problems too.
	bad invalid.Error
}

func (d *formDoc) add(key string, v any) {
	var val yaml.Node
	if err := val.Encode(v); err != nil {
		return
	}
	d.set.Content = append(d.set.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, &val)
}

// str sets key to the form's field when it is written; the form owns key either way.
func (d *formDoc) str(key, v string) {
	d.owned = append(d.owned, key)
	if v = strings.TrimSpace(v); v != "" {
		d.add(key, v)
	}
}

// hasForm says whether a kind's objects are made and edited with a form of their fields.
func hasForm(kind string) bool { return config.IsObjectKind(kind) }

// formFields reads the form of kind into what it sets and owns; nil when kind has no form.
func formFields(kind string, f url.Values) (*formDoc, error) {
	d := &formDoc{set: yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}}
	d.str("id", f.Get("id"))
	switch kind {
	case "status_pages":
		d.str("title", f.Get("title"))
	default:
		d.str("name", f.Get("name"))
	}
	switch kind {
	case "users":
		d.str("time_zone", f.Get("time_zone"))
	case "services":
		d.str("description", f.Get("description"))
		d.str("team", f.Get("team"))
		d.str("escalation_policy", f.Get("escalation_policy"))
		d.str("urgency", f.Get("urgency"))
		var ins []any
		for _, t := range f["integrations"] {
			ins = append(ins, map[string]any{"type": t})
		}
		if len(ins) > 0 {
			d.add("integrations", ins)
		}
	case "escalation_policies":
		d.owned = append(d.owned, "repeat", "steps")
		if v := strings.TrimSpace(f.Get("repeat")); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				d.bad.Add("repeat", "%q: want a whole number", v)
			} else {
				d.add("repeat", n)
			}
		}
		var steps []any
		for i := 1; i <= 3; i++ {
			n := strconv.Itoa(i)
			var targets []any
			for _, t := range f["step"+n+"_targets"] {
				what, id, _ := strings.Cut(t, ":")
				targets = append(targets, map[string]any{what: id})
			}
			after := strings.TrimSpace(f.Get("step" + n + "_after"))
			if len(targets) == 0 && after == "" {
				continue
			}
			step := map[string]any{"targets": targets}
			if after != "" {
				step["escalate_after"] = after
			}
			steps = append(steps, step)
		}
		d.add("steps", steps)
	case "schedules":
		d.str("time_zone", f.Get("time_zone"))
		layer := map[string]any{}
		if v := strings.TrimSpace(f.Get("layer_name")); v != "" {
			layer["name"] = v
		}
		rotation := map[string]any{}
		if v := strings.TrimSpace(f.Get("rotation_length")); v != "" {
			rotation["length"] = v
		}
		if v := strings.TrimSpace(f.Get("handoff")); v != "" {
			rotation["handoff"] = v
		}
		layer["rotation"] = rotation
		var users []string
		for _, u := range strings.Split(f.Get("users"), ",") {
			if u = strings.TrimSpace(u); u != "" {
				users = append(users, u)
			}
		}
		layer["users"] = users
		d.add("layers", []any{layer})
	case "teams":
		d.owned = append(d.owned, "members")
		var members []string
		for _, m := range f["members"] {
			if m = strings.TrimSpace(m); m != "" && !slices.Contains(members, m) {
				members = append(members, m)
			}
		}
		if len(members) > 0 {
			d.add("members", members)
		}
	case "monitors":
		d.str("service", f.Get("service"))
		typ := strings.TrimSpace(f.Get("type"))
		d.str("type", typ)
		d.owned = append(d.owned, monitorTypeFields...)
		for _, t := range monitorTypes {
			if t.Type != typ {
				continue
			}
			for _, field := range t.Fields {
				v := strings.TrimSpace(f.Get(field))
				if v == "" {
					continue
				}
				if field == "expect_status" {
					n, err := strconv.Atoi(v)
					if err != nil {
						d.bad.Add(field, "%q: want an HTTP status code such as 200", v)
						continue
					}
					d.add("expect", map[string]any{"status": n})
					continue
				}
				d.add(field, v)
			}
		}
		d.str("interval", f.Get("interval"))
		d.str("timeout", f.Get("timeout"))
	case "status_pages":
		d.owned = append(d.owned, "components")
		var comps []any
		for i := 1; ; i++ {
			n := strconv.Itoa(i)
			name, has := f["comp"+n+"_name"]
			if !has {
				break
			}
			target := strings.TrimSpace(f.Get("comp" + n + "_target"))
			if strings.TrimSpace(name[0]) == "" && target == "" {
				continue
			}
			c := map[string]any{"name": strings.TrimSpace(name[0])}
			if what, id, ok := strings.Cut(target, ":"); ok && (what == "service" || what == "monitor") {
				c[what] = id
			}
			comps = append(comps, c)
		}
		if len(comps) > 0 {
			d.add("components", comps)
		}
	case "slos":
		d.str("service", f.Get("service"))
		d.owned = append(d.owned, "objective", "sli")
		if v := strings.TrimSpace(f.Get("objective")); v != "" {
			o, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
			if err != nil {
				d.bad.Add("objective", "%q: want a percentage such as 99.9", v)
			} else {
				d.add("objective", o)
			}
		}
		d.str("window", f.Get("window"))
		switch sli := strings.TrimSpace(f.Get("sli")); {
		case sli == "events":
			d.add("sli", map[string]any{"events": map[string]any{"source": "push"}})
		case strings.HasPrefix(sli, "probe:"):
			d.add("sli", map[string]any{"probe": strings.TrimPrefix(sli, "probe:")})
		}
	default:
		return nil, nil
	}
	return d, nil
}

// buildDocument is the document a form makes: its fields alone for a new object, or merged
// into base, the object's document, for an edit: what the form does not show is kept as it
// was, and what it owns and leaves empty is removed.
func buildDocument(kind string, f url.Values, base []byte) ([]byte, error) {
	d, err := formFields(kind, f)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, invalid.Field("doc", "write the object in YAML")
	}
	root := &d.set
	if base != nil {
		var n yaml.Node
		if err := yaml.Unmarshal(base, &n); err != nil || len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
			return nil, invalid.Field("doc", "the object's document is not a mapping of its fields: edit it as YAML")
		}
		root = n.Content[0]
		for _, key := range d.owned {
			first, _, _ := strings.Cut(key, ".")
			if valueOf(&d.set, first) == nil || slices.Contains(replacedKeys, key) {
				removePath(root, key)
			}
		}
		mergeMap(root, &d.set)
	}
	b, err := yaml.Marshal(root)
	if err != nil {
		return nil, err
	}
	doc, err := config.FormatObject(b)
	if err != nil {
		return nil, err
	}
	return doc, d.bad.Err()
}

// removePath removes a key (a.b for a key of a mapping under a) from a mapping.
func removePath(m *yaml.Node, path string) {
	first, rest, nested := strings.Cut(path, ".")
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != first {
			continue
		}
		if nested {
			if v := m.Content[i+1]; v.Kind == yaml.MappingNode {
				removePath(v, rest)
				if len(v.Content) == 0 {
					m.Content = slices.Delete(m.Content, i, i+2)
				}
			}
			return
		}
		m.Content = slices.Delete(m.Content, i, i+2)
		return
	}
}

// mergeMap sets src's keys in dst: a mapping into a mapping key by key, a list of mappings into
// a list item by item (the form's list is the list; each item keeps the keys it does not set),
// anything else replaced.
func mergeMap(dst, src *yaml.Node) {
	for i := 0; i+1 < len(src.Content); i += 2 {
		key, val := src.Content[i], src.Content[i+1]
		var old *yaml.Node
		for j := 0; j+1 < len(dst.Content); j += 2 {
			if dst.Content[j].Value == key.Value {
				old = dst.Content[j+1]
			}
		}
		switch {
		case old == nil:
			dst.Content = append(dst.Content, key, val)
		case old.Kind == yaml.MappingNode && val.Kind == yaml.MappingNode:
			mergeMap(old, val)
		case old.Kind == yaml.SequenceNode && val.Kind == yaml.SequenceNode && slices.Contains(mergedLists, key.Value):
			*old = *mergeList(old, val, itemOwned[key.Value])
		default:
			*old = *val
		}
	}
}

// mergeList is how a list the form owns keeps what its items hold beyond the form's fields:
// item i of the form's list is merged into item i of the document's.
func mergeList(old, val *yaml.Node, owned []string) *yaml.Node {
	out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for i, item := range val.Content {
		if i < len(old.Content) && old.Content[i].Kind == yaml.MappingNode && item.Kind == yaml.MappingNode {
			for _, key := range owned {
				removePath(old.Content[i], key)
			}
			mergeMap(old.Content[i], item)
			out.Content = append(out.Content, old.Content[i])
			continue
		}
		out.Content = append(out.Content, item)
	}
	return out
}

// replacedKeys are set whole by the form, never merged: an SLI is one source or another.
var replacedKeys = []string{"sli"}

// mergedLists are the lists whose items the form merges into the document's, item by item: a
// component keeps its id, description and group; a layer its restrictions; a step what it
// holds beyond its targets and wait.
var mergedLists = []string{"components", "layers", "steps"}

// itemOwned are the keys of a merged list's items the form owns: removed from an item when the
// form's item leaves them out (a component shows a service or a monitor, not both).
var itemOwned = map[string][]string{"components": {"service", "monitor"}, "steps": {"escalate_after"}}

func valueOf(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

var indexRE = regexp.MustCompile(`\[(\d+)\]`)

// formField is the field of kind's form a path in the document it built came from, or "".
func formField(kind, path string) string {
	index := -1
	if m := indexRE.FindStringSubmatch(path); m != nil {
		index, _ = strconv.Atoi(m[1])
	}
	plain := indexRE.ReplaceAllString(path, "")
	n := strconv.Itoa(index + 1)
	switch {
	case kind == "status_pages" && strings.HasPrefix(plain, "components."):
		if strings.HasSuffix(plain, ".service") || strings.HasSuffix(plain, ".monitor") {
			return "comp" + n + "_target"
		}
		return "comp" + n + "_name"
	case kind == "status_pages" && plain == "components" && index >= 0:
		return "comp" + n + "_name"
	case kind == "escalation_policies" && strings.HasPrefix(plain, "steps.escalate_after"):
		return "step" + n + "_after"
	case kind == "escalation_policies" && strings.HasPrefix(plain, "steps"):
		return "step" + n + "_targets"
	case kind == "schedules" && strings.HasPrefix(plain, "layers."):
		switch plain {
		case "layers.name":
			return "layer_name"
		case "layers.rotation.length":
			return "rotation_length"
		case "layers.rotation.handoff":
			return "handoff"
		case "layers.users":
			return "users"
		}
		return ""
	case plain == "expect.status":
		return "expect_status"
	case strings.HasPrefix(plain, "sli"):
		return "sli"
	case strings.HasPrefix(plain, "integrations"):
		return "integrations"
	}
	first, _, _ := strings.Cut(plain, ".")
	return first
}

// fieldProblems names each problem of a document a form built by the form's field it is about:
// the config says where in the document (db:kind/id:line:col), and the form knows which field
// it wrote there. A document typed in the editor has its problems beside the editor.
func fieldProblems(kind string, doc []byte, typed bool, problems []invalid.Problem) []invalid.Problem {
	at := map[[2]int]string{}
	lines := map[int]string{}
	var n yaml.Node
	if yaml.Unmarshal(doc, &n) == nil && len(n.Content) > 0 {
		var visit func(node *yaml.Node, path string)
		visit = func(node *yaml.Node, path string) {
			if path != "" {
				field := formField(kind, path)
				if typed {
					field = "doc"
				}
				if _, seen := at[[2]int{node.Line, node.Column}]; !seen {
					at[[2]int{node.Line, node.Column}] = field
				}
				if _, seen := lines[node.Line]; !seen {
					lines[node.Line] = field
				}
			}
			switch node.Kind {
			case yaml.MappingNode:
				for i := 0; i+1 < len(node.Content); i += 2 {
					p := node.Content[i].Value
					if path != "" {
						p = path + "." + p
					}
					visit(node.Content[i+1], p)
				}
			case yaml.SequenceNode:
				for i, c := range node.Content {
					visit(c, fmt.Sprintf("%s[%d]", path, i))
				}
			}
		}
		visit(n.Content[0], "")
	}
	out := make([]invalid.Problem, len(problems))
	for i, p := range problems {
		out[i] = p
		if !strings.HasPrefix(p.Field, config.DatabasePrefix) {
			if typed && p.Field != "id" {
				out[i].Field = "doc"
			}
			continue
		}
		parts := strings.Split(p.Field, ":")
		if len(parts) < 3 {
			continue
		}
		line, _ := strconv.Atoi(parts[len(parts)-2])
		col, _ := strconv.Atoi(parts[len(parts)-1])
		field, ok := at[[2]int{line, col}]
		if !ok {
			field, ok = lines[line]
		}
		if ok && field != "" {
			out[i].Field = field
			out[i].Message = p.Message
		} else if typed {
			out[i].Field = "doc"
			out[i].Message = p.String()
		}
	}
	return out
}

// formValues are the fields of kind's form filled with the object id's values, read as the
// config in force reads it; nil when the config holds no such object.
func formValues(cfg *config.Config, kind, id string) url.Values {
	f := url.Values{"id": {id}}
	// A value the config defaulted is not the object's: only what its document writes is shown.
	str := func(n config.Node, key, v string) {
		if n.Has(key) {
			f.Set(key, v)
		}
	}
	dur := func(n config.Node, key string, d config.Duration) {
		if n.Has(key) {
			f.Set(key, config.FormatDuration(d.D()))
		}
	}
	switch kind {
	case "users":
		u := cfg.User(id)
		if u == nil {
			return nil
		}
		str(u.Node, "name", u.Name)
		str(u.Node, "time_zone", u.TimeZone)
	case "services":
		s := cfg.Service(id)
		if s == nil {
			return nil
		}
		str(s.Node, "name", s.Name)
		f.Set("description", s.Description)
		f.Set("team", s.Team)
		f.Set("escalation_policy", s.EscalationPolicy)
		f.Set("urgency", s.Urgency)
	case "escalation_policies":
		// The form has three steps of people and schedules: a policy beyond it is edited in YAML.
		p := cfg.EscalationPolicy(id)
		if p == nil || len(p.Steps) > 3 {
			return nil
		}
		str(p.Node, "name", p.Name)
		if p.Repeat != 0 {
			f.Set("repeat", strconv.Itoa(p.Repeat))
		}
		for i, st := range p.Steps {
			n := strconv.Itoa(i + 1)
			for _, t := range st.Targets {
				switch {
				case t.User != "" && t.Schedule == "" && t.Team == "":
					f.Add("step"+n+"_targets", "user:"+t.User)
				case t.Schedule != "" && len(t.Layers) == 0 && t.User == "" && t.Team == "":
					f.Add("step"+n+"_targets", "schedule:"+t.Schedule)
				default:
					return nil
				}
			}
			dur(st.Node, "escalate_after", st.EscalateAfter)
			if v := f.Get("escalate_after"); v != "" {
				f.Del("escalate_after")
				f.Set("step"+n+"_after", v)
			}
		}
	case "schedules":
		// The form has one layer: a schedule of several is edited in YAML.
		sc := cfg.Schedule(id)
		if sc == nil || len(sc.Layers) != 1 {
			return nil
		}
		l := sc.Layers[0]
		str(sc.Node, "name", sc.Name)
		str(sc.Node, "time_zone", sc.TimeZone)
		f.Set("layer_name", l.Name)
		switch r := l.Rotation.Length; {
		case r.Hours == 0 && r.Days%7 == 0 && r.Days > 0:
			f.Set("rotation_length", strconv.Itoa(r.Days/7)+"w")
		case r.Hours == 0:
			f.Set("rotation_length", strconv.Itoa(r.Days)+"d")
		case r.Days == 0:
			f.Set("rotation_length", strconv.Itoa(r.Hours)+"h")
		default:
			return nil
		}
		if h := l.Rotation.Handoff; h.Set {
			f.Set("handoff", fmt.Sprintf("%04d-%02d-%02dT%02d:%02d", h.Year, h.Month, h.Day, h.Hour, h.Min))
		}
		f.Set("users", strings.Join(l.Users, ", "))
	case "teams":
		t := cfg.Team(id)
		if t == nil {
			return nil
		}
		str(t.Node, "name", t.Name)
		f["members"] = t.Members
	case "monitors":
		m := cfg.Monitor(id)
		if m == nil {
			return nil
		}
		str(m.Node, "name", m.Name)
		f.Set("service", m.Service)
		f.Set("type", m.Type)
		f.Set("url", m.URL)
		if m.Expect.Status != 0 {
			f.Set("expect_status", strconv.Itoa(m.Expect.Status))
		}
		f.Set("address", m.Address)
		f.Set("query", m.Query)
		f.Set("record_type", m.RecordType)
		dur(m.Node, "period", m.Period)
		dur(m.Node, "grace", m.Grace)
		dur(m.Node, "interval", m.Interval)
		dur(m.Node, "timeout", m.Timeout)
	case "status_pages":
		p := cfg.StatusPage(id)
		if p == nil {
			return nil
		}
		str(p.Node, "title", p.Title)
		for i, c := range p.Components {
			n := strconv.Itoa(i + 1)
			f.Set("comp"+n+"_name", c.Name)
			switch {
			case c.Monitor != "":
				f.Set("comp"+n+"_target", "monitor:"+c.Monitor)
			case c.Service != "":
				f.Set("comp"+n+"_target", "service:"+c.Service)
			}
		}
	case "slos":
		s := cfg.SLO(id)
		if s == nil {
			return nil
		}
		str(s.Node, "name", s.Name)
		f.Set("service", s.Service)
		f.Set("objective", strconv.FormatFloat(s.Objective, 'f', -1, 64))
		dur(s.Node, "window", s.Window)
		switch {
		case s.SLI.Events != nil:
			f.Set("sli", "events")
		case s.SLI.Probe != "":
			f.Set("sli", "probe:"+s.SLI.Probe)
		}
	default:
		return nil
	}
	return f
}

// componentRows are the numbers of a status page form's component rows: one a component
// typed, and a few empty ones.
func componentRows(f url.Values) []string {
	n := 0
	for i := 1; ; i++ {
		if _, ok := f["comp"+strconv.Itoa(i)+"_name"]; !ok {
			break
		}
		n = i
	}
	rows := make([]string, 0, n+formComponentRows)
	for i := 1; i <= n+formComponentRows; i++ {
		rows = append(rows, strconv.Itoa(i))
	}
	return rows
}

// withHeartbeatUUID gives a new heartbeat without a uuid one, made here (122 random bits, as
// version 4 has them): the uuid is the secret part of its ping URL, which the form does not ask
// for. A document that is not a heartbeat's, or has its uuid, is left as it is.
func withHeartbeatUUID(doc []byte) []byte {
	root := blockMapping(doc)
	if root == nil {
		return doc
	}
	typ, has := "", false
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "type":
			typ = root.Content[i+1].Value
		case "uuid":
			has = true
		}
	}
	if typ != config.MonitorHeartbeat || has {
		return doc
	}
	var b [16]byte
	rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b[:])
	return []byte(strings.TrimRight(string(doc), "\n") + "\nuuid: " + h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:] + "\n")
}
